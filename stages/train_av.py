"""Stage train_av: ONE encoder instance for both the spectrogram and the face of a clip, fused features
(fusion.method: concat or mean) and one classifier head, with modality dropout (fusion.modality_dropout)
so the model still works when a modality is missing.

One model per fold of the split and seed of train.seeds (avemo.training): each chooses its epoch on
its fold's validation part; the test parts are never read here (eval_cross scores them). Writes the
checkpoints (models/av/fold<k>_seed<s>.pt), the means over the repeats (metrics/train_av.json), and the
first repeat's per-epoch curves and every repeat's outcome (dvclive/train_av).
"""

import sys

from avemo.params import load_section
from avemo.training import folders_of, train_repeats, training_parser


def main() -> int:
    args = training_parser("av", __doc__).parse_args()
    train_repeats("av", split_path=args.split, folders=folders_of("av", args), embeddings_dir=args.embeddings,
                  models_dir=args.models, metrics_path=args.metrics, live_dir=args.live, lr=float(load_section("lr", args.params)),
                  encoder=load_section("encoder", args.params), train=load_section("train", args.params),
                  fusion=load_section("fusion", args.params))
    return 0


if __name__ == "__main__":
    sys.exit(main())

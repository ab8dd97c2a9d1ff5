"""Stage train_av: ONE encoder instance for both the spectrogram and the face of a clip, fused features
(fusion.method: concat or mean) and one classifier head, with modality dropout (fusion.modality_dropout)
so the model still works when a modality is missing.

The epoch is chosen on the validation part; the test part is never read here (eval_cross scores it).
Writes the best checkpoint (models/av.pt), metrics/train_av.json and per-epoch curves (dvclive/train_av).
"""

import sys

from avemo.params import load_section
from avemo.training import folders_of, train_and_save, training_parser


def main() -> int:
    args = training_parser("av", __doc__).parse_args()
    train_and_save("av", split_path=args.split, folders=folders_of("av", args), model_path=args.model,
                   metrics_path=args.metrics, live_dir=args.live, lr=float(load_section("lr", args.params)),
                   encoder=load_section("encoder", args.params), train=load_section("train", args.params),
                   fusion=load_section("fusion", args.params))
    return 0


if __name__ == "__main__":
    sys.exit(main())

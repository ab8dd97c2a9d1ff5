"""Stage train_video: the shared encoder + a classifier head on face crops.

One model per fold of the split and seed of train.seeds (avemo.training): each chooses its epoch on
its fold's validation part; the test parts are never read here (eval_cross scores them). Writes the
checkpoints (models/video/fold<k>_seed<s>.pt), the means over the repeats (metrics/train_video.json), and the
first repeat's per-epoch curves and every repeat's outcome (dvclive/train_video).
"""

import sys

from avemo.params import load_section
from avemo.training import folders_of, train_repeats, training_parser


def main() -> int:
    args = training_parser("video", __doc__).parse_args()
    train_repeats("video", split_path=args.split, folders=folders_of("video", args), embeddings_dir=args.embeddings,
                  models_dir=args.models, metrics_path=args.metrics, live_dir=args.live, lr=float(load_section("lr", args.params)),
                  encoder=load_section("encoder", args.params), train=load_section("train", args.params))
    return 0


if __name__ == "__main__":
    sys.exit(main())

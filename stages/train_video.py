"""Stage train_video: the shared encoder + a classifier head on face crops.

The epoch is chosen on the validation part; the test part is never read here (eval_cross scores it).
Writes the best checkpoint (models/video.pt), metrics/train_video.json and per-epoch curves (dvclive/train_video).
"""

import sys

from avemo.params import load_section
from avemo.training import folders_of, train_and_save, training_parser


def main() -> int:
    args = training_parser("video", __doc__).parse_args()
    train_and_save("video", split_path=args.split, folders=folders_of("video", args), model_path=args.model,
                   metrics_path=args.metrics, live_dir=args.live, lr=float(load_section("lr", args.params)),
                   encoder=load_section("encoder", args.params), train=load_section("train", args.params))
    return 0


if __name__ == "__main__":
    sys.exit(main())

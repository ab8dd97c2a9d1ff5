"""Stage train_audio: the shared encoder + a classifier head on log-Mel spectrograms.

Spectrograms enter the encoder as 3-channel images with a fixed normalisation (see avemo.inputs). The
epoch is chosen on the validation part; the test part is never read here (eval_cross scores it).
Writes the best checkpoint (models/audio.pt), metrics/train_audio.json and per-epoch curves (dvclive/train_audio).
"""

import sys

from avemo.params import load_section
from avemo.training import folders_of, train_and_save, training_parser


def main() -> int:
    args = training_parser("audio", __doc__).parse_args()
    train_and_save("audio", split_path=args.split, folders=folders_of("audio", args), model_path=args.model,
                   metrics_path=args.metrics, live_dir=args.live, lr=float(load_section("lr", args.params)),
                   encoder=load_section("encoder", args.params), train=load_section("train", args.params))
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Stage train_audio: the shared encoder + a classifier head on log-Mel spectrograms.

Spectrograms enter the encoder as 3-channel images with a fixed normalisation (see avemo.modeling.inputs).

One model per fold of the split and seed of train.seeds (avemo.modeling.training): each chooses its epoch on
its fold's validation part; the test parts are never read here (eval_cross scores them). Writes the
checkpoints (models/audio/fold<k>_seed<s>.pt), the means over the repeats (metrics/train_audio.json), and the
first repeat's per-epoch curves and every repeat's outcome (dvclive/train_audio).
"""

import avemo.kernels  # noqa: F401  (first: holds numpy's and torch's CPU kernels; see its docstring)

import sys

from avemo.errors import run_stage
from avemo.modeling.training_command import run_training, training_parser
from avemo.params import read_params


def main() -> int:
    args = training_parser("audio", __doc__).parse_args()
    return run_training("audio", args, read_params(args.params, "lr", "encoder", "train"))


if __name__ == "__main__":
    sys.exit(run_stage("train_audio", main))

"""Stage train_av: ONE encoder instance for both the spectrogram and the face of a clip, fused features
(fusion.method: concat or mean) and one classifier head, with modality dropout (fusion.modality_dropout)
so the model still works when a modality is missing.

One model per fold of the split and seed of train.seeds (avemo.modeling.training): each chooses its epoch on
its fold's validation part; the test parts are never read here (eval_cross scores them). Writes the
checkpoints (models/av/fold<k>_seed<s>.pt), the means over the repeats (metrics/train_av.json), and the
first repeat's per-epoch curves and every repeat's outcome (dvclive/train_av).
"""

import avemo.kernels  # noqa: F401  (first: holds numpy's and torch's CPU kernels; see its docstring)

import sys

from avemo.errors import run_stage
from avemo.modeling.training_command import run_training, training_parser
from avemo.params import read_params


def main() -> int:
    args = training_parser("av", __doc__).parse_args()
    return run_training("av", args, read_params(args.params, "lr", "encoder", "train", "fusion"))


if __name__ == "__main__":
    sys.exit(run_stage("train_av", main))

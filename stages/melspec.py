"""Stage melspec: a fixed-duration log-Mel spectrogram of every WAV, saved as a float32 .npy array.

Each clip is centre-cropped or zero-padded to melspec.duration seconds (never stretched), so every
array has shape (n_mels, 1 + duration*sample_rate // hop_length), in dB within [-top_db, 0]. Beside
the arrays: index.csv (every clip) and settings.json (the sample rate and every melspec setting; the
models read the dB range from there). A greyscale PNG preview of each goes to --previews, an output of
its own, so that looking at spectrograms never reruns training.
"""

import avemo.kernels  # noqa: F401  (first: holds numpy's and torch's CPU kernels; see its docstring)

import sys

from avemo.errors import run_stage
from avemo.params import read_params
from avemo.preprocess.clipindex import read_index
from avemo.preprocess.command import stage_parser, summarize
from avemo.preprocess.melspec import run_melspec


def main() -> int:
    parser = stage_parser(__doc__, "melspec", "--audio", "data/audio", "output folder of extract_audio", "data/melspec")
    parser.add_argument(
        "--previews",
        default="data/melspec_previews",
        help="folder for the PNG previews (default: data/melspec_previews)",
    )
    args = parser.parse_args()
    params = read_params(args.params, "melspec", "strict")
    results = run_melspec(
        read_index(args.audio), args.audio, args.out, args.previews, params=params["melspec"], jobs=args.jobs
    )
    return summarize("melspec", results, strict=params["strict"])


if __name__ == "__main__":
    sys.exit(run_stage("melspec", main))

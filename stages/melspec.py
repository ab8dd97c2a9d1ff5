"""Stage melspec: a fixed-duration log-Mel spectrogram of every WAV, saved as a float32 .npy array.

Each clip is centre-cropped or zero-padded to melspec.duration seconds (never stretched), so every
array has shape (n_mels, 1 + duration*sample_rate // hop_length), in dB within [-top_db, 0]. With
melspec.previews, a greyscale PNG of each goes to --out/previews. index.csv covers every clip.
"""

import sys

from avemo.params import load_section
from avemo.perclip import read_index, stage_parser, summarize
from avemo.preprocess import run_melspec


def main() -> int:
    parser = stage_parser(__doc__, "melspec", "data/melspec", reads_clips=False)
    parser.add_argument("--audio", default="data/audio", help="output folder of extract_audio")
    args = parser.parse_args()
    params = load_section("melspec", args.params)
    results = run_melspec(read_index(args.audio), args.audio, args.out, params=params, jobs=args.jobs)
    return summarize("melspec", results, strict=bool(load_section("strict", args.params)))


if __name__ == "__main__":
    sys.exit(main())

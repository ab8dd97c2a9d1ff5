"""Stage extract_audio: each clip's audio track as a 16-bit mono WAV at audio.sample_rate.

Decodes in-process (PyAV), resamples with libswresample and writes the WAV with pydub, one file per
clip in --out, plus index.csv (clip, status, reason, duration_s) covering every clip of the clip list.
"""

import sys

from avemo.dataset import read_clip_list
from avemo.params import load_section
from avemo.perclip import stage_parser, summarize
from avemo.preprocess import run_extract_audio


def main() -> int:
    args = stage_parser(__doc__, "audio", "data/audio", reads_clips=True).parse_args()
    audio = load_section("audio", args.params)
    results = run_extract_audio(read_clip_list(args.clips), args.raw_dir, args.out, sample_rate=int(audio["sample_rate"]), jobs=args.jobs)
    return summarize("extract_audio", results, strict=bool(load_section("strict", args.params)))


if __name__ == "__main__":
    sys.exit(main())

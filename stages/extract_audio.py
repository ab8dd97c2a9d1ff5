"""Stage extract_audio: each clip's audio track as a 16-bit mono WAV at audio.sample_rate.

Decodes in-process (PyAV), resamples with libswresample and writes the WAV with pydub, one file per
clip in --out, plus index.csv (clip, status, reason, duration_s) covering every clip of the clip list.
"""

import argparse
import sys

from avemo.dataset import read_clip_list
from avemo.params import load_section
from avemo.perclip import default_jobs, summarize
from avemo.preprocess import run_extract_audio


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--params", default="params.yaml", help="params file (reads `audio` and `strict`)")
    parser.add_argument("--clips", default="data/clips.csv", help="clip list from the list_clips stage")
    parser.add_argument("--raw-dir", required=True, help="folder of the clips (params.yaml data.raw_dir)")
    parser.add_argument("--out", default="data/audio", help="output folder for <clip>.wav and index.csv")
    parser.add_argument("--jobs", type=int, default=default_jobs(), help="worker processes (default: all cores, or $AVEMO_JOBS)")
    args = parser.parse_args()

    audio = load_section("audio", args.params)
    results = run_extract_audio(read_clip_list(args.clips), args.raw_dir, args.out, sample_rate=int(audio["sample_rate"]), jobs=args.jobs)
    return summarize("extract_audio", results, strict=bool(load_section("strict", args.params)))


if __name__ == "__main__":
    sys.exit(main())

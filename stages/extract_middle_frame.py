"""Stage extract_middle_frame: the middle video frame of every clip as an RGB PNG.

The frame is chosen by frame count: index floor(frame.position * frames), counted from the clip's video
packets and decoded from the first frame (no inexact seeking). index.csv records the index, the count
and the frame's time for every clip.
"""

import argparse
import sys

from avemo.dataset import read_clip_list
from avemo.params import load_section
from avemo.perclip import default_jobs, summarize
from avemo.preprocess import run_extract_middle_frame


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--params", default="params.yaml", help="params file (reads `frame` and `strict`)")
    parser.add_argument("--clips", default="data/clips.csv", help="clip list from the list_clips stage")
    parser.add_argument("--raw-dir", required=True, help="folder of the clips (params.yaml data.raw_dir)")
    parser.add_argument("--out", default="data/frames", help="output folder for <clip>.png and index.csv")
    parser.add_argument("--jobs", type=int, default=default_jobs(), help="worker processes (default: all cores, or $AVEMO_JOBS)")
    args = parser.parse_args()

    frame = load_section("frame", args.params)
    results = run_extract_middle_frame(read_clip_list(args.clips), args.raw_dir, args.out, position=float(frame["position"]), jobs=args.jobs)
    return summarize("extract_middle_frame", results, strict=bool(load_section("strict", args.params)))


if __name__ == "__main__":
    sys.exit(main())

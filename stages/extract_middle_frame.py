"""Stage extract_middle_frame: the middle video frame of every clip as an RGB PNG.

The frame is chosen by frame count: index floor(frame.position * frames), counted from the clip's video
packets and decoded from the first frame (no inexact seeking). index.csv records the index, the count
and the frame's time for every clip.
"""

import sys

from avemo.dataset import read_clip_list
from avemo.params import load_section
from avemo.perclip import stage_parser, summarize
from avemo.preprocess import run_extract_middle_frame


def main() -> int:
    args = stage_parser(__doc__, "frame", "data/frames", reads_clips=True).parse_args()
    frame = load_section("frame", args.params)
    results = run_extract_middle_frame(read_clip_list(args.clips), args.raw_dir, args.out, position=float(frame["position"]), jobs=args.jobs)
    return summarize("extract_middle_frame", results, strict=bool(load_section("strict", args.params)))


if __name__ == "__main__":
    sys.exit(main())

"""Stage face_crop: the most confident MTCNN face of every middle frame, as a square RGB PNG.

The face box is squared, widened by face.margin (a fraction of its side), kept inside the frame and
resized to face.image_size. With no face at face.min_confidence, face.fallback decides: `centre` writes
a centre crop marked `fallback` in index.csv, `drop` marks the clip failed. One detector per worker.
"""

import sys

from avemo.params import load_section
from avemo.perclip import read_index, stage_parser, summarize
from avemo.preprocess import run_face_crop


def main() -> int:
    parser = stage_parser(__doc__, "face", "data/faces", reads_clips=False)
    parser.add_argument("--frames", default="data/frames", help="output folder of extract_middle_frame")
    args = parser.parse_args()
    params = load_section("face", args.params)
    results = run_face_crop(read_index(args.frames), args.frames, args.out, params=params, jobs=args.jobs)
    return summarize("face_crop", results, strict=bool(load_section("strict", args.params)))


if __name__ == "__main__":
    sys.exit(main())

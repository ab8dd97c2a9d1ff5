"""Stage face_crop: the most confident MTCNN face of every middle frame, as a square RGB PNG.

The face box is squared, widened by face.margin (a fraction of its side), kept inside the frame and
resized to face.image_size. With no face at face.min_confidence, face.fallback decides: `centre` writes
a centre crop marked `fallback` in index.csv, `drop` marks the clip failed. With frame.count K > 1 (the
frames folder's settings.json says), each of a clip's K frames gets its face, <clip>_<k>.png; the clip is
ok when all K show one, else `fallback` (centre) or `failed` (drop), the reason counting the frames
without a face. One detector per worker, which detects the frames of several clips in one pass.
"""

import avemo.kernels  # noqa: F401  (first: holds numpy's and torch's CPU kernels; see its docstring)

import sys

from avemo.errors import run_stage
from avemo.params import read_params
from avemo.preprocess.clipindex import read_index
from avemo.preprocess.command import stage_parser, summarize
from avemo.preprocess.face_crop import run_face_crop


def main() -> int:
    args = stage_parser(
        __doc__, "face", "--frames", "data/frames", "output folder of extract_middle_frame", "data/faces"
    ).parse_args()
    params = read_params(args.params, "face", "strict")
    results = run_face_crop(read_index(args.frames), args.frames, args.out, params=params["face"], jobs=args.jobs)
    return summarize("face_crop", results, strict=params["strict"])


if __name__ == "__main__":
    sys.exit(run_stage("face_crop", main))

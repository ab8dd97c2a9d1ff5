"""Stage extract_middle_frame: the middle video frame of every clip as an RGB PNG, or its frame.count frames.

The frame is chosen by frame count: index floor(frame.position * frames), counted from the clip's video
packets and decoded from the first frame (no inexact seeking). With frame.count K > 1, K frames evenly
spaced over frame.spread of the clip around frame.position (moved inside the clip near an end), all decoded
in one pass, as <clip>_0.png .. <clip>_<K-1>.png. index.csv records the index (of each frame, `;` between
them), the count and the frame's time for every clip. The clips are opened at the paths the clip list
holds. A clip whose video lasts longer than frame.max_duration seconds fails, with the reason (CREMA-D's
clips last a few seconds; a longer one may hold several takes, whose middle frame would show any of them).
"""

import avemo.kernels  # noqa: F401  (first: holds numpy's and torch's CPU kernels; see its docstring)

import sys

from avemo.corpus.clips import read_clip_list
from avemo.errors import run_stage
from avemo.params import read_params
from avemo.preprocess.command import stage_parser, summarize
from avemo.preprocess.extract_middle_frame import run_extract_middle_frame


def main() -> int:
    args = stage_parser(
        __doc__, "frame", "--clips", "data/clips.csv", "clip list from the list_clips stage", "data/frames"
    ).parse_args()
    params = read_params(args.params, "frame", "strict")
    results = run_extract_middle_frame(
        read_clip_list(args.clips),
        args.out,
        position=float(params["frame"]["position"]),
        count=int(params["frame"]["count"]),
        spread=float(params["frame"]["spread"]),
        max_duration=float(params["frame"]["max_duration"]),
        jobs=args.jobs,
    )
    return summarize("extract_middle_frame", results, strict=params["strict"])


if __name__ == "__main__":
    sys.exit(run_stage("extract_middle_frame", main))

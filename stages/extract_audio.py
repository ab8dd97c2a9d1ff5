"""Stage extract_audio: each clip's audio track as a 16-bit mono WAV at audio.sample_rate.

Decodes in-process (PyAV), resamples with libswresample and writes the WAV with pydub, one file per
clip in --out, plus index.csv (clip, status, reason, duration_s) covering every clip of the clip list,
and settings.json. The clips are opened at the paths the clip list holds. A clip whose audio lasts longer
than audio.max_duration seconds fails, with the reason (CREMA-D's clips last a few seconds).
"""

import avemo.kernels  # noqa: F401  (first: holds numpy's and torch's CPU kernels; see its docstring)

import sys

from avemo.corpus.clips import read_clip_list
from avemo.errors import run_stage
from avemo.params import read_params
from avemo.preprocess.command import stage_parser, summarize
from avemo.preprocess.extract_audio import run_extract_audio


def main() -> int:
    args = stage_parser(
        __doc__, "audio", "--clips", "data/clips.csv", "clip list from the list_clips stage", "data/audio"
    ).parse_args()
    params = read_params(args.params, "audio", "strict")
    results = run_extract_audio(
        read_clip_list(args.clips),
        args.out,
        sample_rate=params["audio"]["sample_rate"],
        max_duration=float(params["audio"]["max_duration"]),
        jobs=args.jobs,
    )
    return summarize("extract_audio", results, strict=params["strict"])


if __name__ == "__main__":
    sys.exit(run_stage("extract_audio", main))

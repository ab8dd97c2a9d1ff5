"""Stage sample: generate the embedded synthetic corpus in CREMA-D's layout.

The corpus is SYNTHETIC (rendered faces, synthetic voices): it lets every user, test and CI run exercise
the pipeline without the real dataset, and its statistics let the pipeline's comparisons mean something
(actor-independent vs clip-level splits, audio vs video vs audio-visual, intensity levels). Its
accuracies say nothing about real emotion recognition.

Writes OUT/VideoFlash/<ActorID>_<Sentence>_<Emotion>_<Level>.flv (480x360 FLV: a rendered talking face in
Sorenson H.263 video, a speech-like voice in mono 44.1 kHz MP3), OUT/VideoDemographics.csv in CREMA-D's
format, and OUT/VideoFlash/.avemo-synthetic-sample, the mark that tells list_clips (and through it every
model and the report) that these clips are synthetic. The bytes are a deterministic function of the
`sample` params, whatever --jobs is.

The `sample` params (params.yaml; a key left out takes its default) are listed below.
"""

from __future__ import annotations

import avemo.kernels  # noqa: F401  (first: holds numpy's and torch's CPU kernels; see its docstring)

import argparse
import textwrap
import time
from pathlib import Path

from avemo.corpus.provenance import mark_sample
from avemo.errors import UserError, run_stage
from avemo.machine import default_jobs
from avemo.params import SCHEMA, read_params
from avemo.synth import PARAM_HELP, generate_corpus


def params_help() -> str:
    """Every `sample` param: what it controls (avemo.synth) and what the schema allows (avemo.params);
    the values are params.yaml's."""
    lines = ["sample params (their values: params.yaml's `sample` section):"]
    for key, text in PARAM_HELP.items():
        lines += textwrap.wrap(
            f"{key}: {text} ({SCHEMA['sample'][key].allowed})",
            width=100,
            initial_indent="  ",
            subsequent_indent="      ",
        )
    return "\n".join(lines)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, epilog=params_help(), formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--params", default="params.yaml", help="params file (reads `sample`; default: params.yaml)")
    parser.add_argument("--out", default="data/sample", help="output folder (default: data/sample)")
    parser.add_argument(
        "--jobs", type=int, default=default_jobs(), help="worker processes (default: all cores, or $AVEMO_JOBS)"
    )
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    params = read_params(args.params, "sample")["sample"]
    start = time.perf_counter()
    try:
        clips = generate_corpus(args.out, **params, jobs=args.jobs)
    except ValueError as error:  # a combination of values the generator cannot render: one line naming it
        raise UserError(f"{args.params}: {error}") from None
    mark_sample(Path(args.out) / "VideoFlash")
    print(
        f"sample: wrote {len(clips)} clips and VideoDemographics.csv to {args.out} in "
        f"{time.perf_counter() - start:.1f} s"
    )


if __name__ == "__main__":
    raise SystemExit(run_stage("sample", main))

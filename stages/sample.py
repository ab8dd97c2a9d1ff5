"""Stage sample: generate the embedded synthetic corpus in CREMA-D's layout.

Writes OUT/VideoFlash/<ActorID>_<Sentence>_<Emotion>_XX.flv for every actor x sentence x
emotion (480x360 FLV: a rendered talking face in Sorenson H.263 video, a speech-like voice in
mono 44.1 kHz MP3) and OUT/VideoDemographics.csv in CREMA-D's format. Face and voice each
carry the emotion; the bytes are a deterministic function of the `sample` params
(actors, sentences, emotions, duration, fps, noise, seed).
"""

from __future__ import annotations

import argparse
import time

from avemo.cli import run_stage
from avemo.params import read_params
from avemo.pool import default_jobs
from avemo.synth import generate_corpus


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--params", default="params.yaml", help="params file (reads `sample`; default: params.yaml)")
    parser.add_argument("--out", default="data/sample", help="output folder (default: data/sample)")
    parser.add_argument("--jobs", type=int, default=default_jobs(), help="worker processes (default: all cores, or $AVEMO_JOBS)")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    params = read_params(args.params, "sample")["sample"]
    start = time.perf_counter()
    clips = generate_corpus(args.out, **params, jobs=args.jobs)  # keys left out take generate_corpus's defaults
    print(f"sample: wrote {len(clips)} clips and VideoDemographics.csv to {args.out} "
          f"in {time.perf_counter() - start:.1f} s")


if __name__ == "__main__":
    raise SystemExit(run_stage("sample", main))

"""DVC stage `sample`: generate the embedded synthetic CREMA-D-shaped corpus.

Writes <out>/VideoFlash/<ActorID>_<Sentence>_<Emotion>_XX.flv (480x360 FLV,
Sorenson H.263 video + mono 44.1 kHz MP3 voice) for every actor x sentence x
emotion, and <out>/VideoDemographics.csv in CREMA-D's format. Faces and voices
carry the emotion independently; everything is deterministic in the params.
"""

from __future__ import annotations

import argparse
import time

from avemo.params import load_section
from avemo.synth import generate_corpus


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=(
            "Generate the deterministic synthetic sample corpus (CREMA-D layout): "
            "OUT/VideoFlash/<ActorID>_<Sentence>_<Emotion>_XX.flv clips (480x360 FLV video "
            "with a rendered talking face, mono 44.1 kHz MP3 speech-like voice) and "
            "OUT/VideoDemographics.csv. Reads the `sample` section of the params file "
            "(actors, sentences, emotions, duration, fps, noise, seed)."
        ),
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    parser.add_argument("--params", default="params.yaml", help="params file holding a `sample` section")
    parser.add_argument("--out", default="data/sample", help="output folder")
    parser.add_argument("--jobs", type=int, default=None, help="worker processes (default: all CPU cores)")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    params = load_section("sample", args.params)
    start = time.perf_counter()
    clips = generate_corpus(
        args.out,
        actors=int(params["actors"]),
        sentences=int(params["sentences"]),
        emotions=tuple(params["emotions"]),
        duration=float(params["duration"]),
        fps=params["fps"],
        seed=int(params["seed"]),
        noise=float(params["noise"]),
        jobs=args.jobs,
    )
    print(f"sample: wrote {len(clips)} clips and VideoDemographics.csv to {args.out} "
          f"in {time.perf_counter() - start:.1f} s")


if __name__ == "__main__":
    main()

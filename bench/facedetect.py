"""Milliseconds a frame of face detection (avemo.preprocess.facedetect, as face_crop runs it): frames one at a
time (best_face) against batches of equal-sized frames (best_faces), with the networks' weights channels-last
(as FaceDetector makes them) and in torch's default NCHW layout, alternately, in one run; the baseline is NCHW
one frame at a time, the way face_crop detected before.

    python bench/facedetect.py                          # the six real clips, frames at 3 positions each
    python bench/facedetect.py --batch-sizes 2 3 6 9 --positions 0.2 0.35 0.5 0.65 0.8 --rounds 5

The frames are those at --positions of every clip of --clips (CREMA-D's frames all have one size), at
params.yaml's face settings (min_face_size, detect_scale, min_confidence) and the stage's one torch thread a
worker. Each line gives ms a frame, the median of --rounds rounds (every way once per round, in turn, so that
a machine's load hits all alike), its ratio to the baseline, and the largest distance between a way's box
and the baseline's for the same frame (pixels of the frame) with how many frames found a face in one way only.
face_crop detects the frames of face_crop.CLIPS_PER_BATCH clips in one pass (8 frames at frame.count 1, 8 K
at frame.count K).
"""

from __future__ import annotations

import avemo.kernels  # noqa: F401  (first: holds numpy's and torch's CPU kernels; see its docstring)

import argparse
import statistics
import sys
import time
from pathlib import Path

from avemo.params import read_params
from avemo.preprocess import media
from avemo.preprocess.facedetect import FaceDetector


def detections(detector: FaceDetector, frames: list, batch_size: int, min_confidence: float) -> tuple[list, float]:
    """best_face of every frame, `batch_size` at a time (1: one at a time, as best_face), and the seconds it took."""
    start = time.perf_counter()
    found = []
    for first in range(0, len(frames), batch_size):
        found += detector.best_faces(frames[first : first + batch_size], min_confidence)
    return found, time.perf_counter() - start


def disagreement(alone: list, batched: list) -> tuple[float, int]:
    """The largest box distance (px) over the frames both ways found a face in, and how many found one in one way."""
    distance = max(
        (max(abs(x - y) for x, y in zip(a.box, b.box)) for a, b in zip(alone, batched) if a and b), default=0.0
    )
    return distance, sum((a is None) != (b is None) for a, b in zip(alone, batched))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clips", default="../shared/crema-d/VideoFlash", help="folder of .flv clips")
    parser.add_argument("--params", default="params.yaml", help="params file (its `face` section)")
    parser.add_argument("--positions", type=float, nargs="+", default=[0.3, 0.5, 0.7], help="frames of each clip")
    parser.add_argument("--batch-sizes", type=int, nargs="+", default=[3, 6, 8], help="frames per detection")
    parser.add_argument("--rounds", type=int, default=3, help="rounds (each way once per round)")
    args = parser.parse_args()

    clips = sorted(Path(args.clips).glob("*.flv"))
    if not clips:
        sys.exit(f"no .flv clips in {args.clips}: pass --clips")
    face = read_params(args.params, "face")["face"]
    frames = [frame.image for clip in clips for frame in media.frames_at(clip, args.positions)]
    detectors = {
        "channels-last": FaceDetector(face["min_face_size"], face["detect_scale"]),
        "NCHW": FaceDetector(face["min_face_size"], face["detect_scale"], channels_last=False),
    }
    for detector in detectors.values():
        detections(detector, frames[:1], 1, face["min_confidence"])  # the first call pays torch's warm-up

    sizes = [1, *(b for b in args.batch_sizes if b != 1)]
    ways = [(layout, b) for layout in ("NCHW", "channels-last") for b in sizes]
    seconds = {way: [] for way in ways}
    found = {}
    for _ in range(args.rounds):
        for way in ways:
            found[way], took = detections(detectors[way[0]], frames, way[1], face["min_confidence"])
            seconds[way].append(took)
    baseline = ("NCHW", 1)
    base = statistics.median(seconds[baseline])
    print(
        f"{len(frames)} frames ({len(clips)} clips x {len(args.positions)} positions, {frames[0].width}x"
        f"{frames[0].height}), detect_scale {face['detect_scale']}, 1 torch thread, median of {args.rounds} rounds"
    )
    columns = ("weights", "frames a call", "ms/frame", "x baseline", "max box diff px", "found in one way only")
    widths = (14, 13, 9, 11, 16, 22)
    print(" ".join(f"{c:>{w}}" for c, w in zip(columns, widths)))
    for way in ways:
        median = statistics.median(seconds[way])
        distance, only_one = disagreement(found[baseline], found[way])
        print(
            f"{way[0]:>14} {way[1]:>13} {1000 * median / len(frames):>9.1f} {base / median:>11.2f} "
            f"{distance:>16.4f} {only_one:>22}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Benchmark the four preprocessing stages against the course project's sequential way.

Copies the six real CREMA-D clips under new names to --clips clips, runs extract_audio, melspec,
extract_middle_frame and face_crop as the pipeline does (all cores), then the course project's
baseline in one process (ffmpeg program to a 22,050 Hz WAV, a 10x10-inch matplotlib spectrogram PNG,
OpenCV's middle frame, a new MTCNN per frame), and prints clips/s and peak RSS (the whole process
tree, sampled every 20 ms) for each. Run from the repository root:

    python bench/preprocess.py                  # 120 clips, baseline on 30 of them
    python bench/preprocess.py --clips 240 --baseline-clips 0
"""

from __future__ import annotations

import avemo.kernels  # noqa: F401  (first: holds numpy's and torch's CPU kernels; see its docstring)

import argparse
import os
import shutil
import subprocess
import tempfile
import threading
import time
from contextlib import contextmanager
from pathlib import Path

import psutil

from avemo.corpus import clips as dataset
from avemo.machine import default_jobs
from avemo.params import read_params
from avemo.preprocess.clipindex import read_index
from avemo.preprocess.extract_audio import run_extract_audio
from avemo.preprocess.extract_middle_frame import run_extract_middle_frame
from avemo.preprocess.face_crop import run_face_crop
from avemo.preprocess.media import ffmpeg_binary
from avemo.preprocess.melspec import run_melspec

FULL_DATASET_CLIPS = 7442
DEFAULT_CREMA_D = Path(__file__).resolve().parents[1].parent / "shared" / "crema-d"


@contextmanager
def measured(results: dict, name: str, clips: int):
    """Time a block and sample the RSS of this process and all its children while it runs."""
    me, peak, done = psutil.Process(), [0], threading.Event()

    def sample():
        while not done.is_set():
            try:
                procs = [me, *me.children(recursive=True)]
                peak[0] = max(peak[0], sum(p.memory_info().rss for p in procs if p.is_running()))
            except psutil.Error:
                pass
            time.sleep(0.02)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    start = time.perf_counter()
    try:
        yield
    finally:
        seconds = time.perf_counter() - start
        done.set()
        sampler.join()
        results[name] = {"clips": clips, "seconds": seconds, "peak_rss_mb": peak[0] / 2**20}


def make_corpus(source: Path, target: Path, count: int) -> None:
    """`count` copies of the real clips, named as distinct CREMA-D clips (actor 2001 on)."""
    originals = sorted(source.glob("*.flv"))
    target.mkdir(parents=True)
    for i in range(count):
        original = originals[i % len(originals)]
        name = dataset.parse_clip_name(original.name)
        shutil.copyfile(
            original, target / f"{2001 + i // len(originals)}_{name.sentence}_{name.emotion}_{name.level}.flv"
        )


def run_pipeline(raw_dir: Path, out: Path, jobs: int, results: dict) -> None:
    params = read_params("params.yaml", "audio", "melspec", "frame", "face")
    clips, _ = dataset.list_clips(raw_dir)
    n = len(clips)
    with measured(results, "extract_audio", n):
        run_extract_audio(
            clips,
            out / "audio",
            sample_rate=params["audio"]["sample_rate"],
            max_duration=params["audio"]["max_duration"],
            jobs=jobs,
        )
    with measured(results, "melspec", n):
        run_melspec(
            read_index(out / "audio"),
            out / "audio",
            out / "melspec",
            out / "melspec_previews",
            params=params["melspec"],
            jobs=jobs,
        )
    with measured(results, "extract_middle_frame", n):
        run_extract_middle_frame(
            clips,
            out / "frames",
            position=params["frame"]["position"],
            max_duration=params["frame"]["max_duration"],
            jobs=jobs,
        )
    with measured(results, "face_crop", n):
        run_face_crop(read_index(out / "frames"), out / "frames", out / "faces", params=params["face"], jobs=jobs)
    for stage in ("audio", "melspec", "frames", "faces"):
        bad = read_index(out / stage).query("status == 'failed'")
        if len(bad):
            raise SystemExit(f"{stage}: {len(bad)} clips failed, the benchmark is not valid:\n{bad}")


def run_baseline(raw_dir: Path, out: Path, count: int, results: dict) -> None:
    """The course project's way, one clip after another in one process."""
    import cv2
    import librosa
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np
    from facenet_pytorch import MTCNN
    from PIL import Image

    out.mkdir(parents=True)
    ffmpeg = ffmpeg_binary()
    clips = sorted(raw_dir.glob("*.flv"))[:count]
    with measured(results, "baseline (course project)", len(clips)):
        for clip in clips:
            wav = out / f"{clip.stem}.wav"
            subprocess.run([ffmpeg, "-loglevel", "error", "-y", "-i", str(clip), "-ar", "22050", str(wav)], check=True)
            samples, rate = librosa.load(wav, sr=None)
            mel = librosa.power_to_db(librosa.feature.melspectrogram(y=samples, sr=rate), ref=np.max)
            figure = plt.figure(figsize=(10, 10))
            plt.imshow(mel, origin="lower", aspect="auto")
            plt.axis("off")
            figure.savefig(out / f"{clip.stem}_spec.png")
            plt.close(figure)

            capture = cv2.VideoCapture(str(clip))
            capture.set(cv2.CAP_PROP_POS_FRAMES, int(capture.get(cv2.CAP_PROP_FRAME_COUNT)) // 2)
            ok, frame = capture.read()
            capture.release()
            if not ok:
                raise SystemExit(f"OpenCV could not read the middle frame of {clip}")
            image = Image.fromarray(cv2.cvtColor(frame, cv2.COLOR_BGR2RGB))
            detector = MTCNN(keep_all=True, device="cpu")  # a new detector per frame, as the course project did
            boxes, _ = detector.detect(image)
            box = boxes[0] if boxes is not None else (0, 0, image.width, image.height)
            image.crop(tuple(int(v) for v in box)).resize((224, 224)).save(out / f"{clip.stem}_face.png")


def report(results: dict, jobs: int) -> None:
    stages = ["extract_audio", "melspec", "extract_middle_frame", "face_crop"]
    total_s = sum(results[s]["seconds"] for s in stages)
    clips = results["extract_audio"]["clips"]
    results["all four stages"] = {
        "clips": clips,
        "seconds": total_s,
        "peak_rss_mb": max(results[s]["peak_rss_mb"] for s in stages),
    }
    print(f"\n{'step':<28}{'clips':>7}{'seconds':>10}{'clips/s':>10}{'ms/clip':>10}{'peak RSS MB':>13}")
    for name, r in results.items():
        print(
            f"{name:<28}{r['clips']:>7}{r['seconds']:>10.1f}{r['clips'] / r['seconds']:>10.2f}"
            f"{1000 * r['seconds'] / r['clips']:>10.0f}{r['peak_rss_mb']:>13.0f}"
        )
    rate = clips / total_s
    print(
        f"\npipeline: {jobs} worker(s) on {os.cpu_count()} cores; {rate:.2f} clips/s for the four stages; the full "
        f"dataset ({FULL_DATASET_CLIPS} clips) would take {FULL_DATASET_CLIPS / rate / 60:.1f} min"
    )
    baseline = results.get("baseline (course project)")
    if baseline:
        base_rate = baseline["clips"] / baseline["seconds"]
        print(f"baseline: {base_rate:.2f} clips/s; the pipeline is {rate / base_rate:.1f}x faster")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument(
        "--crema-d",
        type=Path,
        default=Path(os.environ.get("AVEMO_CREMA_D", DEFAULT_CREMA_D)),
        help="folder with VideoFlash/ (default ../shared/crema-d)",
    )
    parser.add_argument("--clips", type=int, default=120, help="clips in the benchmark corpus")
    parser.add_argument("--baseline-clips", type=int, default=30, help="clips the (slow) baseline runs on; 0 skips it")
    parser.add_argument("--jobs", type=int, default=default_jobs(), help="worker processes of the pipeline")
    args = parser.parse_args()

    results: dict = {}
    with tempfile.TemporaryDirectory(prefix="avemo-bench-") as work:
        raw_dir = Path(work) / "VideoFlash"
        make_corpus(args.crema_d / "VideoFlash", raw_dir, args.clips)
        run_pipeline(raw_dir, Path(work) / "pipeline", args.jobs, results)
        if args.baseline_clips:
            run_baseline(raw_dir, Path(work) / "baseline", min(args.baseline_clips, args.clips), results)
    report(results, args.jobs)


if __name__ == "__main__":
    main()

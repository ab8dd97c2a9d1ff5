"""The whole pipeline at the release's shape and two sizes: every stage's time and peak memory per clip.

    python bench/scale.py                           # 30 and 91 actors, all 12 sentences, 3 emotions
    python bench/scale.py --actors 10 20 --sentences 3   # a quick look
    python bench/scale.py --emotions ANG DIS FEA HAP NEU SAD   # the six emotions

For each size, a clone of this repository's HEAD in a temporary folder renders a synthetic corpus shaped
like CREMA-D (`--actors` actors, the first `--sentences` of its 12 sentences, the IEO sentence at three
levels, the others at XX; data.classes = `--emotions`), then `dvc repro` runs, each stage timed, with the
peak resident memory of DVC's process tree sampled every 0.1 s while it ran. It prints a
table per size and then, per stage, the cost per clip at both sizes and their ratio: a cost that is flat
as the corpus grows has a ratio near 1. The clone shares nothing with this workspace (its own DVC cache).
"""

from __future__ import annotations

import avemo.kernels  # noqa: F401  (first: holds numpy's and torch's CPU kernels; see its docstring)

import argparse
import json
import re
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import psutil

from avemo.params import SENTENCES

REPO = Path(__file__).resolve().parents[1]
STAGE_START = re.compile(r"^Running stage '([^']+)'")


def timed_repro(repo: Path) -> dict[str, tuple[float, float]]:
    """`dvc repro` in `repro`: each stage's wall seconds and the peak resident memory (GiB) of DVC's process
    tree while it ran, sampled every 0.1 s (a stage starts where DVC prints `Running stage`)."""
    process = subprocess.Popen(
        ["dvc", "repro"], cwd=repo, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, bufsize=1
    )
    costs: dict[str, list[float]] = {}
    current = []  # [stage, start time], set by the reader thread
    output = []

    def read():
        for line in process.stdout:
            output.append(line)
            match = STAGE_START.match(line)
            if match:
                now = time.perf_counter()
                if current:
                    costs[current[0]][0] = now - current[1]
                current[:] = [match.group(1), now]
                costs[current[0]] = [0.0, 0.0]
                print(f"  {current[0]}", flush=True)

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    root = psutil.Process(process.pid)
    while process.poll() is None:
        try:
            rss = sum(p.memory_info().rss for p in [root, *root.children(recursive=True)])
        except psutil.Error:
            rss = 0
        if current:
            costs[current[0]][1] = max(costs[current[0]][1], rss / 2**30)
        time.sleep(0.1)
    reader.join()
    if current:
        costs[current[0]][0] = time.perf_counter() - current[1]
    if process.returncode:
        raise SystemExit(f"dvc repro failed in {repo}:\n{''.join(output[-40:])}")
    return {stage: (seconds, peak) for stage, (seconds, peak) in costs.items()}


def run_size(actors: int, sentences: int, emotions: list[str], folder: Path) -> tuple[int, dict]:
    """Clone, set the corpus' shape, run the pipeline; (clips, {stage: (seconds, peak GiB)})."""
    repo = folder / f"actors{actors}"
    subprocess.run(["git", "clone", "-q", str(REPO), str(repo)], check=True)
    overrides = [
        f"sample.actors={actors}",
        f"sample.sentences={sentences}",
        f"sample.emotions=[{','.join(emotions)}]",
        f"data.classes=[{','.join(emotions)}]",
    ]
    from dvc.utils.hydra import apply_overrides  # DVC's own -S code: the params keep their form

    apply_overrides(str(repo / "params.yaml"), overrides)
    costs = timed_repro(repo)
    clips = sum(1 for _ in (repo / "data" / "sample" / "VideoFlash").glob("*.flv"))
    return clips, costs


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--actors", type=int, nargs=2, default=[30, 91], help="actors at the two sizes (<= 91)")
    parser.add_argument("--sentences", type=int, default=len(SENTENCES), help="sentences a clip set has (<= 12)")
    parser.add_argument("--emotions", nargs="+", default=["ANG", "HAP", "SAD"], help="emotions rendered and kept")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args()
    print(f"machine: {psutil.cpu_count()} CPUs, load average {psutil.getloadavg()[0]:.1f}")
    sizes = {}
    with tempfile.TemporaryDirectory(prefix="avemo-scale-") as folder:
        for actors in args.actors:
            print(f"{actors} actors, {args.sentences} sentences, {' '.join(args.emotions)}:")
            sizes[actors] = run_size(actors, args.sentences, args.emotions, Path(folder))
    (small, (small_clips, small_costs)), (large, (large_clips, large_costs)) = sizes.items()
    print(f"\nper clip: {small_clips} clips ({small} actors) against {large_clips} clips ({large} actors)")
    print(f"{'stage':<22}{'ms a clip':>12}{'ms a clip':>12}{'ratio':>8}{'peak GiB':>10}{'peak GiB':>10}")
    for stage in (stage for stage in small_costs if stage in large_costs):
        a = 1000 * small_costs[stage][0] / small_clips
        b = 1000 * large_costs[stage][0] / large_clips
        print(
            f"{stage:<22}{a:>12.1f}{b:>12.1f}{b / a:>8.2f}{small_costs[stage][1]:>10.2f}{large_costs[stage][1]:>10.2f}"
        )
    if args.json:
        args.json.write_text(json.dumps({str(k): {"clips": c, "stages": s} for k, (c, s) in sizes.items()}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())

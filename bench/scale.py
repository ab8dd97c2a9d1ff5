"""The whole pipeline at the release's shape and three sizes: every stage's time and peak memory per clip,
and what each clip more costs.

    python bench/scale.py                           # 8, 30 and 91 actors, all 12 sentences, 3 emotions
    python bench/scale.py --actors 6 10 20 --sentences 3   # a quick look
    python bench/scale.py --emotions ANG DIS FEA HAP NEU SAD   # the six emotions

For each size, a clone of this repository's HEAD in a temporary folder renders a synthetic corpus shaped
like CREMA-D (`--actors` actors, the first `--sentences` of its 12 sentences, the IEO sentence at three
levels, the others at XX; data.classes = `--emotions`), then `dvc repro` runs, each stage timed, with the
peak resident memory of DVC's process tree sampled every 0.1 s while it ran. It prints, per stage, the
cost per clip at each size, which falls as the corpus grows wherever a stage has a fixed cost (start-up,
imports, workers), with `x`, its ratio between the two largest sizes; and the marginal cost: the seconds a
stage took more from one size to the next over the clips it had more. A stage whose cost is linear in the
corpus (fixed + marginal x clips) has the same marginal cost between every two sizes: the `ratio` column
compares the last with the first, near 1 when the cost grows linearly (differences of timings: noisier than
either). Stages whose marginal cost is under 1 ms a clip are fixed costs (their ratio is noise).
`--from-json` prints the report of an earlier run's `--json`. The clones share nothing with this workspace
(each has its own DVC cache).
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


MARGINAL_FLOOR_MS = 1.0  # below this a stage's cost is fixed: its marginal ratio is timing noise


def report(sizes: dict[int, tuple[int, dict]]) -> None:
    """Per stage: ms a clip at each size and the ratio of the last two (`x`), the marginal ms a clip between
    consecutive sizes and the ratio of the last to the first."""
    runs = [(actors, clips, costs) for actors, (clips, costs) in sizes.items()]
    stages = [stage for stage in runs[0][2] if all(stage in costs for _, _, costs in runs)]
    clips = [n for _, n, _ in runs]
    header = "".join(f"{f'{clips} clips':>12}" for _, clips, _ in runs)
    steps = [f"{a}->{b}" for (_, a, _), (_, b, _) in zip(runs, runs[1:])]
    marginal_header = " ".join(f"{step:>11}" for step in steps)
    print(f"\n{'ms a clip at':<22}{header}      x  | marginal ms a clip {marginal_header}  ratio  peak GiB")
    for stage in stages:
        seconds = [costs[stage][0] for _, _, costs in runs]
        per_clip = [1000 * t / n for t, n in zip(seconds, clips)]
        marginal = [1000 * (t2 - t1) / (n2 - n1) for t1, t2, n1, n2 in zip(seconds, seconds[1:], clips, clips[1:])]
        fixed = max(marginal) < MARGINAL_FLOOR_MS
        ratio = "fixed" if fixed else f"{marginal[-1] / marginal[0]:.2f}" if marginal[0] > 0 else "-"
        peak = max(costs[stage][1] for _, _, costs in runs)
        print(
            f"{stage:<22}{''.join(f'{v:>12.1f}' for v in per_clip)}{per_clip[-1] / per_clip[-2]:>7.2f}  | {'':<18}"
            f"{' '.join(f'{v:>11.1f}' for v in marginal)}  {ratio:>5}  {peak:>8.2f}"
        )
    total = [sum(t for t, _ in costs.values()) for _, _, costs in runs]
    print(f"{'all stages (minutes)':<22}{''.join(f'{t / 60:>12.1f}' for t in total)}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument(
        "--actors", type=int, nargs="+", default=[8, 30, 91], help="actors at each size, at least two sizes (<= 91)"
    )
    parser.add_argument("--sentences", type=int, default=len(SENTENCES), help="sentences a clip set has (<= 12)")
    parser.add_argument("--emotions", nargs="+", default=["ANG", "HAP", "SAD"], help="emotions rendered and kept")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    parser.add_argument("--from-json", type=Path, help="print the report of an earlier run's --json; run nothing")
    args = parser.parse_args()
    if args.from_json:
        saved = json.loads(args.from_json.read_text())
        report({int(actors): (size["clips"], size["stages"]) for actors, size in saved.items()})
        return 0
    if len(args.actors) < 2 or sorted(set(args.actors)) != args.actors:
        parser.error("--actors needs at least two sizes, growing")
    print(f"machine: {psutil.cpu_count()} CPUs, load average {psutil.getloadavg()[0]:.1f}")
    sizes = {}
    with tempfile.TemporaryDirectory(prefix="avemo-scale-") as folder:
        for actors in args.actors:
            print(f"{actors} actors, {args.sentences} sentences, {' '.join(args.emotions)}:")
            sizes[actors] = run_size(actors, args.sentences, args.emotions, Path(folder))
    report(sizes)
    if args.json:
        args.json.write_text(json.dumps({str(k): {"clips": c, "stages": s} for k, (c, s) in sizes.items()}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())

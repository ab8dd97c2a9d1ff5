"""Benchmark the whole pipeline: `dvc repro --force` from the repository root, timing every stage.

Reruns every stage (the sample too) as a fresh `dvc repro` would, prints each stage's wall time as DVC
runs it, then the test accuracies from metrics/. Run from the repository root with the environment
active (`python bench/repro.py`); add stage names to time only those and what they need.
"""

from __future__ import annotations

import avemo.kernels  # noqa: F401  (first: holds numpy's and torch's CPU kernels; see its docstring)

import argparse
import json
import re
import subprocess
import sys
import time
from pathlib import Path

from avemo.corpus.split_table import read_split
from avemo.evaluation.crosstest import results_text

STAGE_START = re.compile(r"^Running stage '([^']+)'")


def run_timed(targets: list[str]) -> dict[str, float]:
    """Run `dvc repro --force`, echo its output, and return each stage's seconds in run order."""
    command = ["dvc", "repro", "--force", *targets]
    print("$", " ".join(command), flush=True)
    times: dict[str, float] = {}
    current, started = None, time.perf_counter()
    with subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, bufsize=1) as proc:
        for line in proc.stdout:
            sys.stdout.write(line)
            match = STAGE_START.match(line)
            if match:
                now = time.perf_counter()
                if current:
                    times[current] = now - started
                current, started = match.group(1), now
    if current:
        times[current] = time.perf_counter() - started
    if proc.returncode:
        raise SystemExit(f"dvc repro failed with exit status {proc.returncode}")
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("targets", nargs="*", help="stages to reproduce (default: all)")
    args = parser.parse_args()

    start = time.perf_counter()
    times = run_timed(args.targets)
    total = time.perf_counter() - start
    print(f"\n{'stage':<24}{'seconds':>9}")
    for stage, seconds in times.items():
        print(f"{stage:<24}{seconds:>9.1f}")
    print(f"{'total (dvc repro)':<24}{total:>9.1f}  ({total / 60:.1f} min)")

    cross = Path("metrics/eval_cross.json")
    if cross.exists():
        classes = read_split("data/split.csv")["emotion"].nunique()  # as eval_cross counts them
        print(f"\n{results_text(json.loads(cross.read_text()), classes)}")


if __name__ == "__main__":
    main()

"""Benchmark the whole pipeline: `dvc repro --force` from the repository root, timing every stage.

Reruns every stage (the sample too) as a fresh `dvc repro` would, prints each stage's wall time as DVC
runs it, then the test accuracies from metrics/. Run from the repository root with the environment
active (`python bench/repro.py`); add stage names to time only those and what they need.
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
import time
from pathlib import Path

from avemo.evaluation import format_p

STAGE_START = re.compile(r"^Running stage '([^']+)'")
SHOWN = ["audio_on_audio", "video_on_faces", "av_on_both", "av_on_audio_only", "av_on_faces_only", "audio_on_faces", "video_on_audio"]


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
        metrics = json.loads(cross.read_text())
        print(f"\n{'test parts':<20}{'accuracy':>17}{'95% interval':>17}{'macro-F1':>10}{'UAR':>7}{'repeats':>9}{'p vs chance':>13}")
        for key in SHOWN:
            m = metrics.get(key)
            if m:
                low, high = m["accuracy_ci95"]
                print(f"{key:<20}{m['accuracy']:>9.3f} +- {m['accuracy_std']:.3f}{f'[{low:.3f}, {high:.3f}]':>17}"
                      f"{m['macro_f1']:>10.3f}{m['uar']:>7.3f}{m['repeats']:>9}{format_p(m['chance_p_value']):>13}")
        av = metrics.get("av_vs_best_single")
        if av:
            low, high = av["difference_ci95"]
            print(f"AV on both minus {av['best_single']}: {av['difference']:+.3f} [{low:+.3f}, {high:+.3f}], McNemar p {format_p(av['p_value'])}")

if __name__ == "__main__":
    main()

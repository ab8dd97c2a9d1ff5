"""What holding the CPU kernels costs: the encoder's and the face detector's benchmarks, run with the kernels
and threads avemo.kernels holds (the default of every stage) and with AVEMO_NATIVE_KERNELS=1 (the libraries'
own choice), alternately, in one run.

    python bench/kernels.py                      # bench/finetune.py --depths and bench/preprocess.py
    python bench/kernels.py --rounds 2           # each pair twice

Each benchmark line is printed once with every figure as `held / native (ratio)`: a ratio above 1 is what
the held kernels cost. The figures are the benchmarks' own (bench/finetune.py, bench/preprocess.py).
"""

from __future__ import annotations

import avemo.kernels  # first: holds numpy's and torch's CPU kernels; see its docstring

import argparse
import os
import re
import subprocess
import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parent
BENCHMARKS = {
    "encoder": [str(BENCH / "finetune.py"), "--depths", "--arch", "efficientnet_lite0", "--image-size", "128"],
    "preprocessing": [str(BENCH / "preprocess.py"), "--clips", "60", "--baseline-clips", "0"],
}
NUMBER = re.compile(r"\d+(?:\.\d+)?")


def run(command: list[str], native: bool) -> list[str]:
    env = {name: value for name, value in os.environ.items() if name != "AVEMO_NATIVE_KERNELS"}
    if native:
        env["AVEMO_NATIVE_KERNELS"] = "1"
        # the variables this process's own avemo.kernels set, so that the libraries choose
        for name in (*avemo.kernels.AVX2_KERNELS, *avemo.kernels.THREAD_VARIABLES):
            env.pop(name, None)
    done = subprocess.run([sys.executable, *command], env=env, capture_output=True, text=True, check=True)
    return done.stdout.splitlines()


def side_by_side(held: list[str], native: list[str]) -> list[str]:
    """Each line with its figures as `held / native (ratio)` where the two lines differ only in figures."""
    lines = []
    for a, b in zip(held, native):
        if NUMBER.split(a) != NUMBER.split(b):
            lines += [f"held:   {a}", f"native: {b}"]
            continue
        pairs = iter(zip(NUMBER.findall(a), NUMBER.findall(b)))

        def figure(_match, pairs=pairs):
            x, y = next(pairs)
            ratio = f" ({float(x) / float(y):.2f}x)" if float(y) and x != y else ""
            return x if x == y else f"{x} / {y}{ratio}"

        lines.append(NUMBER.sub(figure, a))
    return lines


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=1, help="times each benchmark runs in each mode")
    parser.add_argument("--only", choices=sorted(BENCHMARKS), help="one benchmark")
    args = parser.parse_args()
    print(
        f"held kernels: {avemo.kernels.AVX2_KERNELS if avemo.kernels.cpu_has_avx2() else 'none (no AVX2)'}, "
        f"{avemo.kernels.THREADS} threads; native: the libraries' choice, their default threads"
    )
    for name, command in BENCHMARKS.items():
        if args.only and name != args.only:
            continue
        for round_ in range(args.rounds):
            held, native = run(command, native=False), run(command, native=True)
            print(f"\n{name} (round {round_ + 1}): held / native")
            print("\n".join(side_by_side(held, native)))
    return 0


if __name__ == "__main__":
    sys.exit(main())

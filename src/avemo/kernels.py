"""The CPU kernels and threads every stage runs with, so that a stage writes the same bytes on every x86-64
CPU with AVX2: numpy's, OpenBLAS's, ATen's and oneDNN's AVX2 kernels, MKL's compatible branch, 2 threads.
Imported first by every stage script and by the `avemo` command (ruff sorts it there: pyproject.toml), before
numpy or torch loads and chooses.

Why: these libraries pick their kernels by the CPU they find, and an AVX-512 kernel sums in another order
than an AVX2 one; how a sum is split between threads changes its order too. The last bits differ, and once
rounded to 8-bit pixels, to a face box or to the epoch that validation keeps they are other bytes and other
metrics. Measured on an AVX-512 CPU: oneDNN's AVX-512 convolutions moved face boxes and every trained model,
numpy's AVX-512 kernels moved bytes of 3 of the sample's 450 clips, MKL's branch and the thread count moved
trained weights (docs/pipeline.md#the-same-bytes-on-every-cpu).

Every variable is set whatever the environment says (a cluster's OMP_NUM_THREADS would change the bytes).
Where the CPU lacks AVX2 or FMA, or /proc/cpuinfo cannot say, only the threads are held: AVX2 kernels would
crash there, so such a machine gets its own bytes. `AVEMO_NATIVE_KERNELS=1` (a machine setting,
docs/settings.md) lets the libraries choose, for speed: results then differ in last digits, as on a GPU.
"""

from __future__ import annotations

import os

AVX2_KERNELS = {
    "NPY_DISABLE_CPU_FEATURES": "X86_V4 AVX512_ICL AVX512_SPR",  # numpy: no dispatch above x86-64-v3
    "OPENBLAS_CORETYPE": "Haswell",  # numpy's OpenBLAS (matrix products): its AVX2 kernels
    "ATEN_CPU_CAPABILITY": "avx2",  # torch's vectorised element-wise and reduction kernels
    "ONEDNN_MAX_CPU_ISA": "AVX2",  # torch's convolutions and pooling (oneDNN)
    # torch's matrix products: MKL's branch that gives the same results on every x86 CPU, Intel's or AMD's (its
    # AVX2 branch is Intel's only); MKL computes only the heads' small products here, so it costs little
    "MKL_CBWR": "COMPATIBLE",
}


def cpu_has_avx2(cpuinfo: str = "/proc/cpuinfo") -> bool:
    """Whether the CPU has AVX2 and FMA, from the kernel's flags; False where there is no such file."""
    try:
        with open(cpuinfo, encoding="ascii", errors="replace") as info:
            for line in info:
                if line.startswith("flags"):
                    flags = set(line.split(":", 1)[1].split())
                    return {"avx2", "fma"} <= flags
    except OSError:
        pass
    return False


THREADS = 2  # intra-op threads of torch, MKL and OpenBLAS in every stage (what CI's 2-core machine runs)
THREAD_VARIABLES = ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS")


def pin_kernels(environ=os.environ, cpuinfo: str = "/proc/cpuinfo") -> dict[str, str]:
    """Hold `environ` to the reproducible kernels and THREADS (see the module docstring); what it set."""
    if environ.get("AVEMO_NATIVE_KERNELS", "").strip() not in ("", "0"):
        return {}
    pinned = dict.fromkeys(THREAD_VARIABLES, str(THREADS))
    if cpu_has_avx2(cpuinfo):
        pinned.update(AVX2_KERNELS)
    environ.update(pinned)
    return pinned


pin_kernels()

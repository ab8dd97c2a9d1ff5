"""avemo.kernels: every stage holds numpy's and torch's CPU kernels and threads, so that another CPU (emulated
here through the variables the libraries read) computes the same bytes."""

import ast
import os
import subprocess
import sys

import pytest

from avemo import kernels
from helpers import OTHER_CPU, REPO_ROOT

# numpy's float64 exp, log1p and power, and a few training steps of a block like the encoder's top on
# channels-last maps (oneDNN convolutions, ATen batch norm, the MKL head, fused AdamW): the arithmetic whose
# results moved between CPUs.
ARITHMETIC = """
import avemo.kernels
import hashlib, numpy as np, torch
x = np.linspace(-50, 50, 200001)
digest = hashlib.md5()
for values in (np.exp(x / 10), np.log1p(np.abs(x)), np.power(np.abs(x), 0.37)):
    digest.update(values.tobytes())
torch.manual_seed(0)
maps = torch.randn(32, 96, 4, 4).contiguous(memory_format=torch.channels_last)
labels = torch.randint(0, 3, (32,))
model = torch.nn.Sequential(
    torch.nn.Conv2d(96, 384, 1, bias=False), torch.nn.BatchNorm2d(384), torch.nn.ReLU6(),
    torch.nn.Conv2d(384, 384, 3, padding=1, groups=384, bias=False), torch.nn.BatchNorm2d(384), torch.nn.ReLU6(),
    torch.nn.Conv2d(384, 640, 1, bias=False), torch.nn.AdaptiveAvgPool2d(1), torch.nn.Flatten(),
    torch.nn.Linear(640, 3),
).to(memory_format=torch.channels_last)
optimiser = torch.optim.AdamW(model.parameters(), lr=1e-3, fused=True)
for _ in range(3):
    optimiser.zero_grad()
    torch.nn.functional.cross_entropy(model(maps), labels).backward()
    optimiser.step()
for parameter in model.parameters():
    digest.update(parameter.detach().numpy().tobytes())
print(digest.hexdigest())
"""


def write_cpuinfo(path, flags: str):
    path.write_text(f"processor\t: 0\nflags\t\t: {flags}\n\nprocessor\t: 1\nflags\t\t: {flags}\n")
    return str(path)


def test_an_avx2_cpu_gets_every_kernel_and_the_threads_whatever_the_environment_says(tmp_path):
    cpuinfo = write_cpuinfo(tmp_path / "cpuinfo", "fpu sse4_2 avx fma avx2 avx512f")
    environ = dict(OTHER_CPU)
    pinned = kernels.pin_kernels(environ, cpuinfo)
    assert pinned == {**kernels.AVX2_KERNELS, **dict.fromkeys(kernels.THREAD_VARIABLES, "2")}
    assert environ == {**OTHER_CPU, **pinned}  # every value OTHER_CPU set for the libraries is overridden


def test_a_cpu_without_avx2_or_without_cpuinfo_gets_only_the_threads(tmp_path):
    for cpuinfo in (write_cpuinfo(tmp_path / "cpuinfo", "fpu sse4_2 avx"), str(tmp_path / "absent")):
        environ = {"ONEDNN_MAX_CPU_ISA": "SSE41"}
        kernels.pin_kernels(environ, cpuinfo)
        assert environ == {"ONEDNN_MAX_CPU_ISA": "SSE41", **dict.fromkeys(kernels.THREAD_VARIABLES, "2")}


def test_native_kernels_leave_the_environment_alone(tmp_path):
    cpuinfo = write_cpuinfo(tmp_path / "cpuinfo", "avx2 fma")
    environ = {"AVEMO_NATIVE_KERNELS": "1", "OMP_NUM_THREADS": "7"}
    assert kernels.pin_kernels(environ, cpuinfo) == {} and environ == {
        "AVEMO_NATIVE_KERNELS": "1",
        "OMP_NUM_THREADS": "7",
    }


def test_every_stage_and_the_avemo_command_import_the_kernels_first():
    scripts = sorted((REPO_ROOT / "stages").glob("*.py")) + [REPO_ROOT / "src" / "avemo" / "__main__.py"]
    for script in scripts:
        imports = [
            node
            for node in ast.parse(script.read_text()).body
            if isinstance(node, ast.Import | ast.ImportFrom) and getattr(node, "module", None) != "__future__"
        ]
        first = imports[0]
        assert isinstance(first, ast.Import) and first.names[0].name == "avemo.kernels", script.name


@pytest.mark.skipif(not kernels.cpu_has_avx2(), reason="this CPU has no AVX2: avemo.kernels holds only the threads")
def test_another_cpu_computes_the_same_bytes_and_native_kernels_do_not():
    def digest(extra_env):
        env = {name: value for name, value in os.environ.items() if name != "AVEMO_NATIVE_KERNELS"} | extra_env
        done = subprocess.run([sys.executable, "-c", ARITHMETIC], env=env, capture_output=True, text=True, check=True)
        return done.stdout.strip()

    here = digest({})
    assert digest(OTHER_CPU) == here
    # The same arithmetic with the libraries' own choice differs: the test can see what the kernels change.
    assert digest({**OTHER_CPU, "AVEMO_NATIVE_KERNELS": "1"}) != here

"""avemo.synth.container: FFmpeg's conversion and encoders (swscale, Sorenson H.263, LAME) write the same
bytes whatever x86 SIMD FFmpeg finds: its CPU flags are forced here to SSE4's, as on an older CPU."""

import subprocess
import sys

import pytest

# FFmpeg picks its SIMD functions from av_get_cpu_flags(); av_force_cpu_flags() overrides what it found.
ENCODE = """
import ctypes, glob, hashlib, sys, tempfile
from pathlib import Path
import av, numpy as np
forced = int(sys.argv[1], 0)
if forced >= 0:
    libavutil = glob.glob(str(Path(av.__file__).parent.parent / "av.libs" / "libavutil-*.so*"))
    ctypes.CDLL(libavutil[0]).av_force_cpu_flags(forced)
from avemo.synth.container import blend, encode_flv, yuv420
rng = np.random.default_rng(0)
noise = (rng.random((96, 128, 3)) * 255).astype(np.uint8)
ramps = (np.cumsum(rng.normal(0, 3, (96, 128, 3)), axis=1) % 256).astype(np.uint8)
planes = [yuv420(noise), yuv420(ramps), blend(yuv420(noise), yuv420(ramps), 0.3)]
voice = rng.normal(0, 0.1, 44100).astype(np.float32)
with tempfile.TemporaryDirectory() as folder:
    clip = Path(folder) / "clip.flv"
    encode_flv(clip, planes, np.array([0, 1, 2, 1] * 4), voice, 30.0, 44100)
    print(hashlib.sha256(b"".join(p.tobytes() for p in planes) + clip.read_bytes()).hexdigest())
"""
SSE4_FLAGS = 0x3FF  # AV_CPU_FLAG_MMX .. AV_CPU_FLAG_SSE42: no AVX, AVX2 or AVX-512 function


@pytest.mark.skipif(sys.platform != "linux", reason="PyAV's libraries are found by their Linux wheel's folder")
def test_the_clip_has_the_same_bytes_with_ffmpeg_held_to_sse4():
    def digest(flags: int) -> str:
        done = subprocess.run([sys.executable, "-c", ENCODE, str(flags)], capture_output=True, text=True, check=True)
        return done.stdout.strip()

    native = digest(-1)  # -1: not forced
    assert len(native) == 64 and digest(SSE4_FLAGS) == native
    # FFmpeg's plain C functions (no SIMD at all, which no x86-64 CPU runs) round otherwise: the test can see it.
    assert digest(0) != native

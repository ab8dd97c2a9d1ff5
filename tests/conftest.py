"""Shared fixtures: where the real CREMA-D clips are, damaged inputs, and params shrunk for the CPU
(the helpers they use live in tests/helpers.py)."""

from __future__ import annotations

import copy
import os
import random
import shutil
from pathlib import Path

import pytest
from helpers import REPO_ROOT, TINY_PARAMS, folder_state, run_ffmpeg, run_preprocessing


@pytest.fixture
def tiny_params() -> dict:
    return copy.deepcopy(TINY_PARAMS)


@pytest.fixture(scope="session")
def crema_d_dir() -> Path:
    """The real CREMA-D material beside the checkout (../shared/crema-d), or $AVEMO_CREMA_D."""
    path = Path(os.environ.get("AVEMO_CREMA_D", REPO_ROOT.parent / "shared" / "crema-d"))
    if not (path / "VideoFlash").is_dir():
        message = f"real CREMA-D clips not found at {path} (set AVEMO_CREMA_D)"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    return path


@pytest.fixture(scope="session")
def real_clips_dir(crema_d_dir) -> Path:
    return crema_d_dir / "VideoFlash"


@pytest.fixture(scope="session")
def real_clip(real_clips_dir) -> Path:
    return real_clips_dir / "1001_DFA_ANG_XX.flv"


@pytest.fixture(scope="session")
def bad_clips_dir(tmp_path_factory, real_clips_dir) -> Path:
    """A clip folder holding one good real clip and every kind of damaged input of helpers.BAD_INPUTS."""
    folder = tmp_path_factory.mktemp("bad_clips")
    good = real_clips_dir / "1001_DFA_HAP_XX.flv"
    shutil.copyfile(real_clips_dir / "1001_DFA_ANG_XX.flv", folder / "1001_DFA_ANG_XX.flv")
    (folder / "1002_DFA_ANG_XX.flv").write_bytes(b"")
    (folder / "1003_DFA_HAP_XX.flv").write_bytes(good.read_bytes()[:100_000])
    (folder / "1005_DFA_ANG_XX.flv").write_text("hello, not a video\n")
    (folder / "1006_DFA_SAD_XX.flv").write_bytes(bytes(range(256)) * 200)
    run_ffmpeg("-i", str(good), "-c", "copy", "-an", str(folder / "1007_DFA_HAP_XX.flv"))
    run_ffmpeg("-i", str(good), "-c", "copy", "-vn", "-f", "flv", str(folder / "1008_DFA_HAP_XX.flv"))
    damaged = bytearray((real_clips_dir / "1001_DFA_NEU_XX.flv").read_bytes())
    noise = random.Random(0)  # bytes overwritten all through the file, past its header
    for i in range(2000, len(damaged), 97):
        damaged[i] = noise.randrange(256)
    (folder / "1009_DFA_ANG_XX.flv").write_bytes(bytes(damaged))
    shutil.copyfile(good, folder / "angry_clip.flv")
    (folder / "notes.txt").write_text("not a clip\n")
    return folder


@pytest.fixture(scope="session")
def real_run(tmp_path_factory, real_clips_dir):
    """The four per-clip stages on the six real clips (tiny params, two workers): (output folder, clip list)."""
    out = tmp_path_factory.mktemp("real")
    before = folder_state(real_clips_dir)
    clips = run_preprocessing(real_clips_dir, out, jobs=2)
    assert folder_state(real_clips_dir) == before  # the input folder is never written to
    return out, clips


@pytest.fixture(scope="session")
def bad_run(tmp_path_factory, bad_clips_dir):
    """The four per-clip stages on bad_clips_dir: (output folder, clip list)."""
    out = tmp_path_factory.mktemp("bad")
    before = folder_state(bad_clips_dir)
    clips = run_preprocessing(bad_clips_dir, out, jobs=2)
    assert folder_state(bad_clips_dir) == before
    return out, clips

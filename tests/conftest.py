"""Shared fixtures: where the real CREMA-D clips are, damaged inputs, and params shrunk for the CPU."""

from __future__ import annotations

import copy
import os
import random
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

REPO_ROOT = Path(__file__).resolve().parents[1]

# Every section of params.yaml shrunk so that a test runs in seconds on a 2-core CPU.
TINY_PARAMS = {
    "lr": 0.001,
    "strict": False,
    "sample": {"actors": 2, "sentences": 1, "emotions": ["ANG", "HAP", "SAD"], "duration": 1.0, "fps": 15, "noise": 1.0, "seed": 0},
    "audio": {"sample_rate": 16000},
    "melspec": {"duration": 1.0, "n_fft": 256, "hop_length": 160, "n_mels": 16, "fmin": 50, "fmax": 8000, "top_db": 80, "previews": True},
    "frame": {"position": 0.5},
    "face": {"min_face_size": 60, "detect_scale": 0.5, "min_confidence": 0.9, "margin": 0.2, "image_size": 32, "fallback": "centre"},
}


def tiny(section: str) -> dict:
    return copy.deepcopy(TINY_PARAMS[section])


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


def run_ffmpeg(*args: str) -> bytes:
    from avemo.media import ffmpeg_binary

    return subprocess.run([ffmpeg_binary(), "-loglevel", "error", *args], check=True, capture_output=True).stdout


# Damaged inputs, each with the start of the reason it must get in index.csv (per stage kind).
BAD_INPUTS = {
    "1002_DFA_ANG_XX.flv": ("empty file", "empty file"),
    "1003_DFA_HAP_XX.flv": ("truncated", "truncated"),
    "1005_DFA_ANG_XX.flv": ("not a readable media file", "not a readable media file"),
    "1006_DFA_SAD_XX.flv": ("not a readable media file", "not a readable media file"),
    "1007_DFA_HAP_XX.flv": ("no audio track", None),
    "1008_DFA_HAP_XX.flv": (None, "no video track"),
    "1009_DFA_ANG_XX.flv": ("corrupt audio stream", "corrupt video stream"),
    "angry_clip.flv": ("clip list: name", "clip list: name"),
    "notes.txt": ("clip list: name", "clip list: name"),
}


@pytest.fixture(scope="session")
def bad_clips_dir(tmp_path_factory, real_clips_dir) -> Path:
    """A clip folder holding one good real clip and every kind of damaged input of BAD_INPUTS."""
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


def folder_state(folder: Path) -> dict[str, tuple[int, float]]:
    """Size and modification time of every file: proof that a folder was not written to."""
    return {p.name: (p.stat().st_size, p.stat().st_mtime) for p in sorted(folder.iterdir())}


def write_params(path: Path, params: dict) -> Path:
    path.write_text(yaml.safe_dump(params, sort_keys=False))
    return path


def run_stage(script: str, *args: str, cwd: Path = REPO_ROOT, env: dict | None = None) -> subprocess.CompletedProcess:
    """Run stages/<script>.py with this interpreter, as dvc.yaml does."""
    return subprocess.run(
        [sys.executable, str(REPO_ROOT / "stages" / f"{script}.py"), *args],
        cwd=cwd, capture_output=True, text=True, env={**os.environ, **(env or {})},
    )


def make_repo_copy(target: Path, params: dict) -> Path:
    """A fresh git repository at `target` holding this checkout's files (not data/, models/ or caches),
    with `params` merged over params.yaml section by section."""
    listed = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard"], cwd=REPO_ROOT, capture_output=True, text=True, check=True
    ).stdout.split("\n")
    for name in filter(None, listed):
        source = REPO_ROOT / name
        if source.is_file():
            (target / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target / name)
    merged = yaml.safe_load((REPO_ROOT / "params.yaml").read_text())
    for key, value in params.items():
        merged[key] = {**merged[key], **value} if isinstance(value, dict) and isinstance(merged.get(key), dict) else value
    write_params(target / "params.yaml", merged)
    for command in (["git", "init", "-q"], ["git", "add", "-A"], ["git", "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "copy"]):
        subprocess.run(command, cwd=target, check=True)
    return target


def dvc(repo: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess:
    """Run DVC in `repo` with this interpreter's environment first on PATH (as `python` in dvc.yaml)."""
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}", "DVC_NO_ANALYTICS": "1"}
    done = subprocess.run([str(Path(sys.executable).parent / "dvc"), *args], cwd=repo, capture_output=True, text=True, env=env)
    if check and done.returncode != 0:
        raise AssertionError(f"dvc {' '.join(args)} failed ({done.returncode}):\n{done.stdout}\n{done.stderr}")
    return done

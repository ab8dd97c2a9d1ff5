"""The official CREMA-D release's size and SHA-256 of every clip of VideoFlash, AudioWAV and AudioMP3
(shipped as package data, from the release's git-lfs pointers), and checking clips against it: a damaged
or partial download is a clip that fails, with the reason."""

from __future__ import annotations

import csv
import functools
import hashlib
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import pandas as pd

FOLDERS = {"VideoFlash": ".flv", "AudioWAV": ".wav", "AudioMP3": ".mp3"}  # media folder: its files' suffix
MANIFEST_TABLES = ("crema_d_videoflash_sha256.csv", "crema_d_audio_sha256.csv")  # columns file,size,sha256


@dataclass(frozen=True)
class Entry:
    """One file of the release: its path in the dataset (`VideoFlash/1001_DFA_ANG_XX.flv`), size and
    SHA-256 (both None for a file the release publishes no checksum for)."""

    path: str
    size: int | None
    sha256: str | None

    @property
    def verifiable(self) -> bool:
        return self.sha256 is not None


@functools.cache
def official_manifest() -> dict[str, Entry]:
    """Every clip of the official release by its path in the dataset, sorted by path."""
    entries = []
    for table in MANIFEST_TABLES:
        with (resources.files("avemo.corpus") / "resources" / table).open() as f:
            for row in csv.DictReader(f):
                folder = next(name for name, suffix in FOLDERS.items() if row["file"].endswith(suffix))
                entries.append(Entry(f"{folder}/{row['file']}", int(row["size"]), row["sha256"]))
    return {e.path: e for e in sorted(entries, key=lambda e: e.path)}


def official_checksums() -> dict[str, str]:
    """SHA-256 of every VideoFlash clip of the official CREMA-D release, by file name."""
    return {Path(e.path).name: e.sha256 for e in official_manifest().values() if e.path.startswith("VideoFlash/")}


def sha256_of(path: str | Path, chunk: int = 1 << 20) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(chunk):
            digest.update(block)
    return digest.hexdigest()


def verify_against_official(clips: pd.DataFrame) -> pd.DataFrame:
    """Mark clips whose bytes differ from the official release's SHA-256 as failed (a damaged download)."""
    official = official_checksums()
    clips = clips.copy()
    for i, row in clips[clips["status"] == "ok"].iterrows():
        expected = official.get(row["file"])
        if expected is None:
            clips.loc[i, ["status", "reason"]] = ["failed", "not a clip of the official CREMA-D release"]
        elif sha256_of(row["path"]) != expected:
            clips.loc[i, ["status", "reason"]] = ["failed", "SHA-256 differs from the official release (damaged copy)"]
    return clips


def mismatch(path: Path, entry: Entry) -> str | None:
    """Why the file at `path` is not `entry` of the release (its size, else its SHA-256), or None when it is."""
    size = path.stat().st_size
    if size != entry.size:
        return f"{size} bytes, expected {entry.size}"
    return None if sha256_of(path) == entry.sha256 else "SHA-256 differs from the official release"

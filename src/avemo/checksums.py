"""The official CREMA-D release's SHA-256 of every clip (shipped as package data), and checking a copy
against it: a damaged or partial download is a clip that fails, with the reason."""

from __future__ import annotations

import csv
import hashlib
from importlib import resources
from pathlib import Path

import pandas as pd


def official_checksums() -> dict[str, str]:
    """SHA-256 of every VideoFlash clip of the official CREMA-D release, by file name (shipped as data)."""
    table = resources.files("avemo") / "resources" / "crema_d_videoflash_sha256.csv"
    with table.open() as f:
        return {row["file"]: row["sha256"] for row in csv.DictReader(f)}


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

"""The per-clip output folder: one file per clip (one per frame with frame.count > 1), `index.csv` with a
row for every input clip, and `settings.json` with the settings the files were made with (later stages read
them from there, so a value such as the spectrogram's dB range has one source).

`index.csv` holds `clip,status,reason` plus the stage's own columns; `status` is one of ok, fallback,
failed, so nothing is skipped silently. A clip that failed upstream is carried through as failed with
the upstream reason, so every index covers every clip of the clip list.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from avemo.files import write_csv, write_json

if TYPE_CHECKING:  # pandas is imported where used: worker processes never need it
    import pandas as pd

STATUSES = ("ok", "fallback", "failed")
USABLE = ("ok", "fallback")  # statuses whose output later stages use (a fallback is counted, not dropped)
INDEX_NAME = "index.csv"
SETTINGS_NAME = "settings.json"
FRAME_SEPARATOR = ";"  # between the values of a clip's frames in one index.csv cell (frame.count > 1)


class ClipFailure(Exception):
    """A clip that cannot be processed; str(error) is the one-line reason for index.csv."""


@dataclass
class ClipResult:
    clip: str
    status: str
    reason: str = ""
    extra: dict = field(default_factory=dict)

    def __post_init__(self):
        if self.status not in STATUSES:
            raise ValueError(f"status must be one of {STATUSES}, got {self.status!r}")


def prepare_output_dir(out_dir: str | Path, suffixes: Iterable[str]) -> Path:
    """Create `out_dir` and remove what an earlier run left there (its index and files with `suffixes`)."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    suffixes = set(suffixes)
    for old in out_dir.iterdir():
        if old.is_file() and (old.name in (INDEX_NAME, SETTINGS_NAME) or old.suffix in suffixes or ".tmp" in old.name):
            old.unlink()
    return out_dir


def split_usable(rows: pd.DataFrame, upstream: str) -> tuple[pd.DataFrame, list[ClipResult]]:
    """The rows to process, and failed results (reason prefixed by `upstream`) for the rows that an
    earlier step already failed."""
    usable = rows["status"].isin(USABLE)
    carried = [ClipResult(r.clip, "failed", f"{upstream}: {r.reason}") for r in rows[~usable].itertuples()]
    return rows[usable], carried


def write_index(out_dir: str | Path, results: list[ClipResult], columns: Iterable[str] = ()) -> Path:
    """Write `index.csv` (sorted by clip) with clip, status, reason and the stage's own columns."""
    import pandas as pd

    columns = list(columns)
    rows = [
        {"clip": r.clip, "status": r.status, "reason": r.reason, **{c: r.extra.get(c, "") for c in columns}}
        for r in results
    ]
    frame = pd.DataFrame(rows, columns=["clip", "status", "reason", *columns]).sort_values("clip", kind="stable")
    return write_csv(Path(out_dir) / INDEX_NAME, frame)


def read_index(path: str | Path) -> pd.DataFrame:
    """A stage's index.csv (`path` is the file or its folder)."""
    import pandas as pd

    path = Path(path)
    if path.is_dir():
        path = path / INDEX_NAME
    return pd.read_csv(path, dtype={"clip": str, "status": str, "reason": str}, keep_default_na=False)


def usable_in_any(folders: Iterable[str | Path]) -> set[str]:
    """The clips with a usable output (USABLE) in at least one of these per-clip output folders."""
    return set().union(*(set(index.loc[index["status"].isin(USABLE), "clip"]) for index in map(read_index, folders)))


def frames_per_clip(settings: dict) -> int:
    """How many frames (frame.count) a clip has in a per-clip folder of frames or faces, from its settings.json:
    its `frames_per_clip`, absent when there is one (the folder then reads as before frame.count existed)."""
    return int(settings.get("frames_per_clip", 1))


def clip_files(clip: str, suffix: str, count: int = 1) -> list[str]:
    """The file names of a clip's outputs: `<clip><suffix>` for one; `<clip>_<k><suffix>` (k = 0..count-1, in
    the clip's time order) for the frames of frame.count > 1."""
    return [f"{clip}{suffix}"] if count == 1 else [f"{clip}_{k}{suffix}" for k in range(count)]


def per_frame(values: list):
    """An index.csv cell of a value per frame of a clip: the value itself for one frame, else the values
    joined by FRAME_SEPARATOR in the clip's time order."""
    return values[0] if len(values) == 1 else FRAME_SEPARATOR.join(str(v) for v in values)


def write_settings(out_dir: str | Path, settings: dict) -> Path:
    """`settings.json` in a per-clip output folder: what its files were made with."""
    return write_json(Path(out_dir) / SETTINGS_NAME, settings)


def read_settings(folder: str | Path) -> dict:
    """The settings a per-clip stage wrote beside its files."""
    path = Path(folder) / SETTINGS_NAME
    if not path.is_file():
        raise FileNotFoundError(f"{path} not found: rerun the stage that writes {folder} (dvc repro)")
    return json.loads(path.read_text())

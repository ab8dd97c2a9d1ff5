"""What a clip folder holds, the synthetic sample or real clips, so that no result or prediction of the
sample can pass for real.

The sample stage leaves SAMPLE_MARK in the clip folder it renders (data/sample/VideoFlash): a hidden file,
so list_clips lists no row for it, and inside the folder that is data.raw_dir, so it is part of what
list_clips depends on and travels with the clips wherever they are copied as a folder. A folder without
it (real CREMA-D wherever it lies, any other clips) is real. list_clips writes what it found to
data/corpus.json (`corpus_record`): the training stages record it in every checkpoint, the report names
it in its first line.
"""

from __future__ import annotations

import json
from pathlib import Path

from avemo.errors import UserError
from avemo.files import atomic_write, write_json

SAMPLE_MARK = ".avemo-synthetic-sample"
SAMPLE_MARK_TEXT = (
    "This folder is avemo's SYNTHETIC sample (rendered faces and voices, not CREMA-D's recordings), written by the\n"
    "`sample` stage. avemo's list_clips sees this file and every model trained on these clips says so.\n"
)


def mark_sample(clip_dir: str | Path) -> Path:
    """Mark a folder of rendered clips as the synthetic sample."""
    return atomic_write(Path(clip_dir) / SAMPLE_MARK, lambda tmp: tmp.write_text(SAMPLE_MARK_TEXT))


def is_sample(clip_dir: str | Path) -> bool:
    """Whether a clip folder is the synthetic sample (it holds SAMPLE_MARK, a regular file)."""
    return (Path(clip_dir) / SAMPLE_MARK).is_file()


def corpus_record(raw_dir: str | Path) -> dict:
    """What list_clips writes to data/corpus.json: the clip folder as params.yaml names it, and whether it
    is the synthetic sample."""
    return {"clips": str(raw_dir), "synthetic_sample": is_sample(raw_dir)}


def write_corpus(path: str | Path, raw_dir: str | Path) -> dict:
    """Write data/corpus.json (corpus_record) and return what it holds."""
    record = corpus_record(raw_dir)
    write_json(path, record)
    return record


def read_corpus(path: str | Path) -> dict:
    """data/corpus.json as list_clips wrote it."""
    record = json.loads(Path(path).read_text())
    if not isinstance(record, dict) or not isinstance(record.get("synthetic_sample"), bool):
        raise UserError(f"{path}: not a corpus record of list_clips (clips, synthetic_sample)")
    return record

"""The split table that the split stage writes and every training and evaluation stage reads: a row per clip
and fold (clip, actor, emotion, fold, part). Apart from avemo.corpus.splits, which makes it, so that a stage
that only reads a split does not depend on how splits are made."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from avemo.params import PARTS

SPLIT_COLUMNS = ["clip", "actor", "emotion", "fold", "part"]


def read_split(path: str | Path) -> pd.DataFrame:
    """The split table written by the split stage."""
    table = pd.read_csv(path, dtype={"clip": str, "emotion": str, "part": str}, keep_default_na=False)
    if list(table.columns) != SPLIT_COLUMNS:
        raise ValueError(f"{path}: expected columns {SPLIT_COLUMNS}, got {list(table.columns)}; rerun the split stage")
    unknown = set(table["part"]) - set(PARTS)
    if unknown:
        raise ValueError(f"{path}: unknown part(s) {sorted(unknown)}")
    return table


def folds_of(table: pd.DataFrame) -> list[int]:
    return sorted(int(f) for f in table["fold"].unique())

"""The published CREMA-D clip lists of the OGM-GE paper (split.scheme ogm_ge), shipped in resources/.

Every paper of the modality-balancing line (OGM-GE, PMR, AGM, MMPareto, ..., BalanceBenchmark) reports on
these lists: 6,698 train and 744 test clips of six emotions, all 91 actors in both (the speaker leaks), and no
validation part. `clip,label` without a header, with their MIT licence (resources/OGM-GE-LICENSE.txt).
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from avemo.corpus.clips import ClipNameError, parse_clip_name
from avemo.errors import UserError

RESOURCES = Path(__file__).resolve().parent / "resources"
OGM_GE_LISTS = {"train": "ogm_ge_train.csv", "test": "ogm_ge_test.csv"}


class ClipListError(UserError, ValueError):
    """A published clip list that cannot be read; str(error) says which file and why."""


def read_clip_lists(folder: str | Path = RESOURCES, files: dict[str, str] = OGM_GE_LISTS) -> pd.Series:
    """The part (train or test) of every clip the lists `files` (part -> file name in `folder`) hold, a Series
    indexed by clip name, sorted.

    Each list must hold `clip,label` lines whose label is the clip name's emotion code, and no clip may be in
    both lists."""
    parts = []
    for part, name in files.items():
        path = Path(folder) / name
        try:
            rows = pd.read_csv(path, header=None, names=["clip", "label"], dtype=str, keep_default_na=False)
        except (OSError, pd.errors.ParserError, UnicodeDecodeError) as error:
            raise ClipListError(f"{path}: not a clip,label list ({error})") from None
        for clip, label in zip(rows["clip"], rows["label"]):
            try:
                emotion = parse_clip_name(clip).emotion
            except ClipNameError as error:
                raise ClipListError(f"{path}: {error}") from None
            if label != emotion:
                raise ClipListError(f"{path}: clip {clip} labelled {label!r}, its name says {emotion!r}")
        parts.append(pd.Series(part, index=rows["clip"].to_numpy()))
    listed = pd.concat(parts)
    twice = sorted(set(listed.index[listed.index.duplicated()]))
    if twice:
        raise ClipListError(f"{folder}: {len(twice)} clip(s) listed twice or in both parts, e.g. {twice[0]}")
    return listed.sort_index()

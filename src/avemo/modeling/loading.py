"""Loading clips for the models: which clips of each part have each modality, their encoder inputs
as a torch Dataset, and batches (of images, or of the encoder's cached frozen-part outputs).

The split table (clip, actor, emotion, part) is joined with each modality's index.csv. A clip whose
preprocessing failed in a modality (status failed, or absent from the index) is left out of that
modality and counted; face crops with status `fallback` (centre crop, no face found) are used and
counted.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import torch

from avemo.modeling.inputs import ClipImages
from avemo.params import PARTS
from avemo.preprocess.clipindex import USABLE


def modality_table(split: pd.DataFrame, indexes: dict[str, pd.DataFrame]) -> tuple[pd.DataFrame, dict]:
    """The split table with `<modality>_present` columns, and per modality and part the counts of clips
    that are usable, failed (left out) and fallback."""
    table = split.copy()
    counts: dict = {}
    for modality, index in indexes.items():
        status = table["clip"].map(index.set_index("clip")["status"]).fillna("missing from index")
        table[f"{modality}_present"] = status.isin(USABLE)
        counts[modality] = {
            part: {
                "usable": int(status[table["part"] == part].isin(USABLE).sum()),
                "left_out_failed": int((~status[table["part"] == part].isin(USABLE)).sum()),
                "fallback": int((status[table["part"] == part] == "fallback").sum()),
            }
            for part in PARTS
        }
    return table, counts


def clips_for(table: pd.DataFrame, modalities, require: str = "all") -> pd.DataFrame:
    """Rows with every (`all`) or at least one (`any`) of `modalities` present."""
    present = table[[f"{m}_present" for m in modalities]]
    return table[present.all(axis=1) if require == "all" else present.any(axis=1)]


def image_dataset(
    rows: pd.DataFrame,
    modalities,
    folders: dict,
    classes: list[str],
    *,
    image_size: int,
    top_db: float | None = None,
    augment: bool = False,
    seed: int = 0,
    frames: int = 1,
) -> ClipImages:
    """Encoder inputs of `rows` for `modalities`; `top_db` is the spectrograms' dB range (melspec's settings),
    `frames` the faces per clip (the faces folder's clipindex.frames_per_clip)."""
    labels = [classes.index(e) for e in rows["emotion"]]
    return ClipImages(
        rows["clip"].tolist(),
        labels,
        {m: folders[m] for m in modalities},
        {m: rows[f"{m}_present"].tolist() for m in modalities},
        image_size=int(image_size),
        top_db=top_db,
        augment=augment,
        seed=seed,
        frames=frames,
    )


class FeatureBatches:
    """Batches of cached frozen-part outputs (dicts like a ClipImages batch, those outputs for images),
    cut by tensor indexing: per-clip collation would cost more than training the head. Shuffled by a
    seeded generator when `shuffle`; a last training batch of one clip is dropped, as in `loader`."""

    def __init__(self, items: dict[str, torch.Tensor], batch_size: int, shuffle: bool = False, seed: int = 0):
        self.items, self.batch_size, self.shuffle = items, batch_size, shuffle
        self.length = len(items["label"])
        self.generator = torch.Generator().manual_seed(seed)

    def __iter__(self):
        order = torch.randperm(self.length, generator=self.generator) if self.shuffle else torch.arange(self.length)
        for start in range(0, self.length, self.batch_size):
            index = order[start : start + self.batch_size]
            if self.shuffle and len(index) == 1 and self.length > 1:
                continue
            yield {k: v[index] for k, v in self.items.items()}


def frozen_items(rows: pd.DataFrame, modalities, embeddings: dict, classes: list[str]) -> dict[str, torch.Tensor]:
    """FeatureBatches items of `rows` from the embed stage's frozen-part outputs (avemo.modeling.embedding:
    one Embeddings per modality): per modality the outputs (zeros where the clip has none) and whether
    they are present."""
    items = {"label": torch.as_tensor([classes.index(e) for e in rows["emotion"]], dtype=torch.long)}
    for m in modalities:
        cached = embeddings[m]
        present = rows[f"{m}_present"].to_numpy(dtype=bool) & rows["clip"].isin(cached.clips).to_numpy()
        values = np.zeros((len(rows), *cached.values.shape[1:]), dtype=np.float32)
        values[present] = cached.of(rows["clip"][present])
        items[m], items[f"{m}_present"] = torch.from_numpy(values), torch.from_numpy(present)
    return items

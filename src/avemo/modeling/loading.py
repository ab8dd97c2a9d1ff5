"""Loading clips for the models: which clips of each part have each modality, their encoder inputs
as a torch Dataset, and batches (of images, or of cached encoder features).

The split table (clip, actor, emotion, part) is joined with each modality's index.csv. A clip whose
preprocessing failed in a modality (status failed, or absent from the index) is left out of that
modality and counted; face crops with status `fallback` (centre crop, no face found) are used and
counted.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import torch

from avemo.corpus.splits import PARTS
from avemo.modeling.inputs import ClipImages
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
) -> ClipImages:
    """Encoder inputs of `rows` for `modalities`; `top_db` is the spectrograms' dB range (melspec's settings)."""
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
    )


class FeatureBatches:
    """Batches of cached encoder features (dicts like a ClipImages batch, feature vectors for images),
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


def raw_feature_items(
    rows: pd.DataFrame, modalities, embeddings: dict[str, pd.DataFrame], classes: list[str]
) -> dict[str, torch.Tensor]:
    """FeatureBatches items of `rows` from cached raw encoder features (avemo.modeling.embedding): per modality the
    features (zeros where the clip has none) and whether they are present."""
    items = {"label": torch.as_tensor([classes.index(e) for e in rows["emotion"]], dtype=torch.long)}
    for m in modalities:
        table = embeddings[m]
        present = rows[f"{m}_present"].to_numpy(dtype=bool) & rows["clip"].isin(table.index).to_numpy()
        raw = np.zeros((len(rows), table.shape[1]), dtype=np.float32)
        raw[present] = table.loc[rows["clip"][present]].to_numpy(dtype=np.float32)
        items[m], items[f"{m}_present"] = torch.from_numpy(raw), torch.from_numpy(present)
    return items


def standardised(items: dict[str, torch.Tensor], encoder, modalities) -> dict[str, torch.Tensor]:
    """`items` with each modality's raw features standardised by `encoder` (zero where absent)."""
    out = dict(items)
    for m in modalities:
        out[m] = encoder.standardise(items[m]) * items[f"{m}_present"].unsqueeze(1)
    return out

"""Frozen-encoder features: the pretrained encoder's pooled features of every clip's spectrogram and
face, computed once (the embed stage) and reused by every fold, seed and model that keeps the encoder
frozen, so repeated evaluation costs only head training.

A folder of embeddings holds a subfolder per modality (a DVC output of its own, so that a change of
the faces does not rerun what reads only the spectrograms) with `features.npy` (float32, one row per
clip, the encoder's raw pooled features: see avemo.modeling.encoders.Encoder.raw), `clips.csv` (the clip of each row)
and settings.json (the encoder and the image size they were made with). Clips whose preprocessing
failed in a modality have no row there.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from tqdm import tqdm

from avemo.files import atomic_write, write_csv
from avemo.modeling.encoders import Encoder
from avemo.modeling.inputs import ClipImages, loader
from avemo.preprocess.clipindex import USABLE, read_index, read_settings, write_settings


@torch.no_grad()
def embed_modality(
    encoder: Encoder, modality: str, folder: str | Path, *, image_size: int, batch_size: int, device
) -> tuple[list[str], np.ndarray]:
    """Raw features (eval mode, no augmentation) of every usable clip of one preprocessing output folder."""
    index = read_index(folder)
    clips = index.loc[index["status"].isin(USABLE), "clip"].tolist()
    top_db = float(read_settings(folder)["top_db"]) if modality == "audio" else None
    images = ClipImages(
        clips,
        [0] * len(clips),
        {modality: folder},
        {modality: [True] * len(clips)},
        image_size=image_size,
        top_db=top_db,
    )
    encoder.eval()
    parts = []
    for batch in tqdm(
        loader(images, batch_size), desc=f"embed {modality}", unit="batch", file=sys.stderr, disable=None
    ):
        parts.append(encoder.raw(batch[modality].to(device)).cpu())
    features = torch.cat(parts).numpy().astype(np.float32) if parts else np.zeros((0, encoder.feature_dim), np.float32)
    return clips, features


def write_embeddings(out_dir: str | Path, modality: str, clips: list[str], features: np.ndarray, encoder: dict) -> None:
    """One modality's features, their clips and the encoder settings, in `out_dir`/<modality>."""
    folder = Path(out_dir) / modality
    atomic_write(folder / "features.npy", lambda tmp: np.save(tmp, features, allow_pickle=False))
    write_csv(folder / "clips.csv", pd.DataFrame({"clip": clips}))
    write_settings(
        folder,
        {
            "arch": str(encoder["arch"]),
            "pretrained": bool(encoder["pretrained"]),
            "image_size": int(encoder["image_size"]),
        },
    )


def read_embeddings(folder: str | Path, modality: str) -> pd.DataFrame:
    """One modality's raw features as a frame indexed by clip (one column per feature)."""
    folder = Path(folder) / modality
    clips = pd.read_csv(folder / "clips.csv", dtype={"clip": str}, keep_default_na=False)["clip"]
    features = np.load(folder / "features.npy", allow_pickle=False)
    return pd.DataFrame(features, index=pd.Index(clips, name="clip"))

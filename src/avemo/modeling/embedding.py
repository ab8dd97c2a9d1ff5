"""The frozen part's outputs: what the pretrained encoder's frozen layers (below encoder.trainable's cut)
make of every clip's spectrogram and face, computed once (the embed stage) and reused by every fold, seed
and model, so that repeated training runs only the trained layers and the head, and no image is decoded
again per epoch.

A folder of embeddings holds a subfolder per modality (a DVC output of its own, so that a change of
the faces does not rerun what reads only the spectrograms) with `features.npy` (float32, one entry per
clip: with encoder.trainable none the raw pooled features, (N, feature_dim); with N blocks trained the
feature maps entering them, (N, C, H, W); with all nothing is frozen, (N, 0); see
avemo.modeling.encoders.Encoder.frozen_part), `clips.csv` (the clip of each entry) and settings.json (the
encoder settings they were made with). Clips whose preprocessing failed in a modality have no entry there.
A clip of K faces (frame.count > 1) has one entry holding each face's output, (N, K, ...): each face is cached,
and the trained layers average them per clip (avemo.modeling.encoders.Encoder.clip_raw).
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from tqdm import tqdm

from avemo.files import atomic_write, write_csv
from avemo.modeling.encoders import Encoder
from avemo.modeling.inputs import ClipImages, loader
from avemo.preprocess.clipindex import USABLE, frames_per_clip, read_index, read_settings, write_settings

GRAD_MODE = torch.inference_mode  # no autograd bookkeeping at all; bench/embed.py sets torch.no_grad to compare


def embed_modality(
    encoder: Encoder, modality: str, folder: str | Path, *, image_size: int, batch_size: int, device
) -> tuple[list[str], np.ndarray]:
    """The frozen part's outputs (eval mode, no augmentation) of every usable clip of one preprocessing
    output folder, (N, K, ...) for clips of K faces; with nothing frozen (encoder.trainable all) an empty
    (N, 0) array."""
    index = read_index(folder)
    clips = index.loc[index["status"].isin(USABLE), "clip"].tolist()
    settings = read_settings(folder)
    top_db = float(settings["top_db"]) if modality == "audio" else None
    images = ClipImages(
        clips,
        [0] * len(clips),
        {modality: folder},
        {modality: [True] * len(clips)},
        image_size=image_size,
        top_db=top_db,
        frames=frames_per_clip(settings) if modality == "video" else 1,
    )
    if not encoder.frozen_modules():
        return clips, np.zeros((len(clips), 0), np.float32)
    encoder.eval()
    parts = []
    batches = tqdm(loader(images, batch_size), desc=f"embed {modality}", unit="batch", file=sys.stderr, disable=None)
    with GRAD_MODE():
        for batch in batches:
            # C order on the CPU: the encoder's channels-last maps are saved as numpy's usual arrays
            parts.append(encoder.frozen_part(batch[modality].to(device)).cpu().contiguous())
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
            "trainable": encoder["trainable"],
            "shape": list(features.shape[1:]),
        },
    )


@dataclass
class Embeddings:
    """One modality's frozen-part outputs: `values[i]` is clip `clips[i]`'s."""

    clips: pd.Index
    values: np.ndarray

    def of(self, clips) -> np.ndarray:
        """The entries of `clips` (each must have one), in their order."""
        return self.values[self.clips.get_indexer(list(clips))]


def read_embeddings(folder: str | Path, modality: str) -> Embeddings:
    """One modality's frozen-part outputs and their clips."""
    folder = Path(folder) / modality
    clips = pd.read_csv(folder / "clips.csv", dtype={"clip": str}, keep_default_na=False)["clip"]
    return Embeddings(pd.Index(clips, name="clip"), np.load(folder / "features.npy", allow_pickle=False))

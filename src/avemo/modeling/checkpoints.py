"""Checkpoints: a model's config (primitive values only) and its state dict, so a checkpoint loads with
`torch.load(..., weights_only=True)` and `load_checkpoint` rebuilds the model without any weights file;
one file per fold and seed of a training stage, named by `checkpoint_name`.
"""

from __future__ import annotations

import io
import re
from pathlib import Path

import torch
from torch import nn

from avemo.files import atomic_write
from avemo.modeling.classifiers import build_model

CHECKPOINT_FORMAT = 2
_CHECKPOINT_NAME = re.compile(r"^fold(\d+)_seed(\d+)\.pt$")  # checkpoint_name read back


def _pretrained_weight(key: str) -> bool:
    # The backbone's own weights; the standardisation buffers (encoder.feature_*) are learnt, so kept.
    return key.startswith("encoder.features.")


def checkpoint_name(fold: int, seed: int) -> str:
    """The file name of the checkpoint of one repeat in a training stage's models folder."""
    return f"fold{fold}_seed{seed}.pt"


def checkpoint_repeats(models_dir: str | Path) -> list[tuple[int, int]]:
    """(fold, seed) of every checkpoint named by checkpoint_name in a models folder."""
    found = [_CHECKPOINT_NAME.match(p.name) for p in Path(models_dir).glob("*.pt")]
    return sorted((int(m.group(1)), int(m.group(2))) for m in found if m)


def save_checkpoint(path: str | Path, model: nn.Module, config: dict, info: dict | None = None) -> Path:
    """Write config + state dict (+ `info`: primitive values, e.g. the chosen epoch) atomically. With a
    frozen encoder (config["frozen_encoder"]) the pretrained backbone weights are left out: they are the
    installed ImageNet weights, rebuilt on loading, and would make each checkpoint 13 MB instead of 20 kB."""
    frozen = config.get("frozen_encoder", False)
    checkpoint = {
        "format": CHECKPOINT_FORMAT,
        "config": config,
        "info": info or {},
        "state_dict": {
            k: v.detach().cpu() for k, v in model.state_dict().items() if not (frozen and _pretrained_weight(k))
        },
    }
    # Saved through a buffer: torch.save names the zip's folder after the file it writes, and the
    # temporary name holds the process id, so writing the file directly made every run's bytes differ.
    buffer = io.BytesIO()
    torch.save(checkpoint, buffer)
    return atomic_write(path, lambda tmp: tmp.write_bytes(buffer.getvalue()))


def load_checkpoint(path: str | Path, device: str | torch.device = "cpu") -> tuple[nn.Module, dict]:
    """Rebuild a saved model (in eval mode, on `device`) and return it with the whole checkpoint."""
    checkpoint = torch.load(path, map_location="cpu", weights_only=True)
    if checkpoint.get("format") != CHECKPOINT_FORMAT:
        raise ValueError(f"{path}: not an avemo checkpoint of format {CHECKPOINT_FORMAT}")
    frozen = checkpoint["config"].get("frozen_encoder", False)
    model = build_model(checkpoint["config"], pretrained=frozen)
    missing, unexpected = model.load_state_dict(checkpoint["state_dict"], strict=False)
    if unexpected or [k for k in missing if not (frozen and _pretrained_weight(k))]:
        raise ValueError(
            f"{path}: weights do not fit the model its config describes (missing {missing[:3]}, unexpected "
            f"{unexpected[:3]})"
        )
    return model.to(device).eval(), checkpoint

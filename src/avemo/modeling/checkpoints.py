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
from avemo.modeling.classifiers import build_model, frozen_state_keys, has_frozen_part

CHECKPOINT_FORMAT = 3  # 3: the encoder as stem, blocks and tail, with a frozen part (encoder.trainable)
_CHECKPOINT_NAME = re.compile(r"^fold(\d+)_seed(\d+)\.pt$")  # checkpoint_name read back


def checkpoint_name(fold: int, seed: int) -> str:
    """The file name of the checkpoint of one repeat in a training stage's models folder."""
    return f"fold{fold}_seed{seed}.pt"


def checkpoint_repeats(models_dir: str | Path) -> list[tuple[int, int]]:
    """(fold, seed) of every checkpoint named by checkpoint_name in a models folder."""
    found = [_CHECKPOINT_NAME.match(p.name) for p in Path(models_dir).glob("*.pt")]
    return sorted((int(m.group(1)), int(m.group(2))) for m in found if m)


def save_checkpoint(path: str | Path, model: nn.Module, config: dict, info: dict | None = None) -> Path:
    """Write config + state dict (+ `info`: primitive values, e.g. the chosen epoch) atomically. The
    frozen layers' weights are left out (the trained layers, the standardisation and the head are kept):
    they are the installed ImageNet weights, rebuilt on loading, and would make each checkpoint 13 MB
    instead of 20 kB to 2 MB."""
    frozen = frozen_state_keys(model)
    checkpoint = {
        "format": CHECKPOINT_FORMAT,
        "config": config,
        "info": info or {},
        "state_dict": {k: v.detach().cpu() for k, v in model.state_dict().items() if k not in frozen},
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
    config = checkpoint["config"]
    model = build_model(config, pretrained=config["pretrained"] and has_frozen_part(config))
    missing, unexpected = model.load_state_dict(checkpoint["state_dict"], strict=False)
    if unexpected or set(missing) - frozen_state_keys(model):
        raise ValueError(
            f"{path}: weights do not fit the model its config describes (missing {missing[:3]}, unexpected "
            f"{unexpected[:3]})"
        )
    return model.to(device).eval(), checkpoint

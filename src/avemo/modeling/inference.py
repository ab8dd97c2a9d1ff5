"""Running a model: logits for a batch given some modalities, predictions over a loader, and the
device to run on."""

from __future__ import annotations

import numpy as np
import torch
from torch import nn
from torch.utils.data import DataLoader

from avemo.modeling.classifiers import AVClassifier


def pick_device() -> torch.device:
    """CUDA when present, else the CPU."""
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def logits_of(model: nn.Module, batch: dict, modalities, device, from_frozen: bool = False) -> torch.Tensor:
    """The model's logits for a batch, given only `modalities` (an AV model is told the others are
    missing). `from_frozen`: the batch holds the encoder's cached frozen-part outputs instead of images."""
    if isinstance(model, AVClassifier):
        kwargs = {}
        for m in modalities:
            kwargs[m] = batch[m].to(device)
            kwargs[f"{m}_present"] = batch[f"{m}_present"].to(device)
        return model(**kwargs, from_frozen=from_frozen)
    if len(modalities) != 1:
        raise ValueError(f"a unimodal model takes one modality, got {modalities}")
    return model(batch[modalities[0]].to(device), from_frozen=from_frozen)


@torch.inference_mode()
def predict(
    model: nn.Module, data: DataLoader, modalities, device, from_frozen: bool = False
) -> tuple[np.ndarray, np.ndarray, float]:
    """True and predicted class indices, and the mean cross-entropy, over a whole loader (eval mode)."""
    model.eval()
    labels, predictions, loss_sum = [], [], 0.0
    for batch in data:
        logits = logits_of(model, batch, modalities, device, from_frozen)
        y = torch.as_tensor(batch["label"], device=device)
        loss_sum += nn.functional.cross_entropy(logits, y, reduction="sum").item()
        labels.append(y.cpu().numpy())
        predictions.append(logits.argmax(dim=1).cpu().numpy())
    labels, predictions = np.concatenate(labels), np.concatenate(predictions)
    return labels, predictions, loss_sum / max(len(labels), 1)


@torch.inference_mode()
def probabilities_of(model: nn.Module, data, modalities, device, from_frozen: bool = False) -> np.ndarray:
    """Each example's class probabilities (N, classes), the softmax of its logits in float64, over a whole
    loader (eval mode): what eval_cross saves and `avemo predict` prints."""
    model.eval()
    parts = [torch.softmax(logits_of(model, b, modalities, device, from_frozen).double(), 1).cpu() for b in data]
    return torch.cat(parts).numpy() if parts else np.zeros((0, 0))

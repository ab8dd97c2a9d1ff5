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


def logits_of(model: nn.Module, batch: dict, modalities, device, features: bool = False) -> torch.Tensor:
    """The model's logits for a batch, given only `modalities` (an AV model is told the others are
    missing). `features`: the batch holds cached encoder features instead of images."""
    if isinstance(model, AVClassifier):
        kwargs = {}
        for m in modalities:
            kwargs[m] = batch[m].to(device)
            kwargs[f"{m}_present"] = batch[f"{m}_present"].to(device)
        if features:
            return model.classify(
                kwargs.get("audio"), kwargs.get("video"), kwargs.get("audio_present"), kwargs.get("video_present")
            )
        return model(**kwargs)
    if len(modalities) != 1:
        raise ValueError(f"a unimodal model takes one modality, got {modalities}")
    images = batch[modalities[0]].to(device)
    return model.head(images) if features else model(images)


@torch.no_grad()
def predict(
    model: nn.Module, data: DataLoader, modalities, device, features: bool = False
) -> tuple[np.ndarray, np.ndarray, float]:
    """True and predicted class indices, and the mean cross-entropy, over a whole loader (eval mode)."""
    model.eval()
    labels, predictions, loss_sum = [], [], 0.0
    for batch in data:
        logits = logits_of(model, batch, modalities, device, features)
        y = torch.as_tensor(batch["label"], device=device)
        loss_sum += nn.functional.cross_entropy(logits, y, reduction="sum").item()
        labels.append(y.cpu().numpy())
        predictions.append(logits.argmax(dim=1).cpu().numpy())
    labels, predictions = np.concatenate(labels), np.concatenate(predictions)
    return labels, predictions, loss_sum / max(len(labels), 1)

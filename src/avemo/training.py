"""Training the audio, video and AV models: one entry point (`train_and_save`) for the three stages.

- Data: the split table (clip, actor, emotion, part) joined with each modality's index.csv. A clip
  whose preprocessing failed in a modality (status failed, or absent from the index) is left out of
  that modality and counted; face crops with status `fallback` (centre crop, no face found) are used
  and counted. A unimodal model uses the clips its modality has; the AV model uses the clips that have
  at least one modality (a missing one is marked absent, as modality dropout trains it to handle).
- Reproducibility: python, numpy and torch are seeded with `train.seed`, and the training order comes
  from a seeded generator, so two runs on the same machine give the same model.
- Model selection: after every epoch the model is scored on the validation part; the epoch with the
  best validation accuracy (ties: lower validation loss) is kept, and training stops after `patience`
  epochs without improvement. The test part is used once, after training, by the kept model.
- `train.freeze_encoder`: the encoder is not trained. Its features of every clip are computed once
  (encoder in eval mode, no augmentation), standardised per feature with the training part's mean
  and std (stored in the encoder), and only the head is trained on them (a linear or MLP probe, the
  DeepSpectrum way). The checkpoint still holds the whole model, so it runs on images.
- Logging: per-epoch train/val loss and accuracy go to dvclive (plots declared in dvc.yaml by hand).
"""

from __future__ import annotations

import copy
import random
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from torch import nn
from torch.utils.data import DataLoader, Dataset

from avemo.evaluation import score
from avemo.inputs import ClipImages
from avemo.models import AVClassifier, build_model, model_config, save_checkpoint
from avemo.perclip import USABLE, read_index, write_json
from avemo.splits import PARTS, read_split

MODALITIES_OF = {"audio": ("audio",), "video": ("video",), "av": ("audio", "video")}


def set_seed(seed: int) -> None:
    """Seed python, numpy and torch (and make torch pick deterministic kernels where it can)."""
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    torch.use_deterministic_algorithms(True, warn_only=True)


def pick_device() -> torch.device:
    """CUDA when present, else the CPU."""
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


# --- data ----------------------------------------------------------------------------------------


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


def image_dataset(rows: pd.DataFrame, modalities, folders: dict, classes: list[str], encoder: dict, augment: bool = False) -> ClipImages:
    labels = [classes.index(e) for e in rows["emotion"]]
    return ClipImages(
        rows["clip"].tolist(), labels, {m: folders[m] for m in modalities}, {m: rows[f"{m}_present"].tolist() for m in modalities},
        image_size=int(encoder["image_size"]), top_db=float(encoder["spectrogram_top_db"]), augment=augment,
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


def loader(dataset: Dataset, batch_size: int, shuffle: bool = False, seed: int = 0) -> DataLoader:
    """Batches in a fixed order, or shuffled by a seeded generator. A last training batch of one clip is
    dropped (batch norm cannot train on a single example)."""
    generator = torch.Generator().manual_seed(seed) if shuffle else None
    drop_last = shuffle and len(dataset) % batch_size == 1
    return DataLoader(dataset, batch_size=batch_size, shuffle=shuffle, generator=generator, drop_last=drop_last, num_workers=0)


# --- running a model -----------------------------------------------------------------------------


def logits_of(model: nn.Module, batch: dict, modalities, device, features: bool = False) -> torch.Tensor:
    """The model's logits for a batch, given only `modalities` (an AV model is told the others are
    missing). `features`: the batch holds cached encoder features instead of images."""
    if isinstance(model, AVClassifier):
        kwargs = {}
        for m in modalities:
            kwargs[m] = batch[m].to(device)
            kwargs[f"{m}_present"] = batch[f"{m}_present"].to(device)
        if features:
            return model.classify(kwargs.get("audio"), kwargs.get("video"), kwargs.get("audio_present"), kwargs.get("video_present"))
        return model(**kwargs)
    if len(modalities) != 1:
        raise ValueError(f"a unimodal model takes one modality, got {modalities}")
    images = batch[modalities[0]].to(device)
    return model.head(images) if features else model(images)


@torch.no_grad()
def predict(model: nn.Module, data: DataLoader, modalities, device, features: bool = False) -> tuple[np.ndarray, np.ndarray, float]:
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


@torch.no_grad()
def encode_all(model: nn.Module, data: DataLoader, modalities, device) -> dict[str, torch.Tensor]:
    """Encoder features (eval mode) of every clip of a loader, as FeatureBatches items."""
    model.eval()
    parts: dict[str, list] = {"label": []}
    for batch in data:
        parts["label"].append(torch.as_tensor(batch["label"]))
        for m in modalities:
            parts.setdefault(m, []).append(model.encoder(batch[m].to(device)).cpu())
            parts.setdefault(f"{m}_present", []).append(torch.as_tensor(batch[f"{m}_present"]))
    return {k: torch.cat(v) for k, v in parts.items()}


def standardise_features(encoder, cached: dict[str, dict], modalities) -> None:
    """Per-feature mean and std of the training part's features (the present ones, of every modality
    the model sees: one encoder, one scaling) go into the encoder, and every part's cached features are
    scaled alike, so the saved model gives the head the same inputs from images."""
    train = cached["train"]
    features = torch.cat([train[m][train[f"{m}_present"]] for m in modalities])
    encoder.set_standardisation(features)
    for items in cached.values():
        for m in modalities:
            items[m] = (items[m] - encoder.feature_mean.cpu()) / encoder.feature_std.cpu()


def fit(model, train_data, val_data, modalities, *, epochs, patience, lr, weight_decay, device, live=None, features=False) -> dict:
    """Train with AdamW on cross-entropy of logits; keep the epoch with the best validation accuracy
    (ties: lower validation loss), stop after `patience` epochs without improvement, and load the
    kept weights back into `model`. Returns the history and the chosen epoch (1-based)."""
    trainable = [p for p in model.parameters() if p.requires_grad]
    optimiser = torch.optim.AdamW(trainable, lr=lr, weight_decay=weight_decay)
    criterion = nn.CrossEntropyLoss()
    best = {"epoch": 0, "val_accuracy": -1.0, "val_loss": float("inf"), "state": None}
    history = []
    for epoch in range(1, int(epochs) + 1):
        model.train()
        loss_sum, correct, seen = 0.0, 0, 0
        for batch in train_data:
            y = torch.as_tensor(batch["label"], device=device)
            logits = logits_of(model, batch, modalities, device, features)
            loss = criterion(logits, y)
            optimiser.zero_grad(set_to_none=True)
            loss.backward()
            optimiser.step()
            loss_sum += loss.item() * len(y)
            correct += int((logits.argmax(dim=1) == y).sum())
            seen += len(y)
        labels, predictions, val_loss = predict(model, val_data, modalities, device, features)
        row = {
            "epoch": epoch,
            "train_loss": loss_sum / max(seen, 1),
            "train_accuracy": correct / max(seen, 1),
            "val_loss": val_loss,
            "val_accuracy": float((labels == predictions).mean()),
        }
        history.append(row)
        if live is not None:
            live.step = epoch  # x axis of the plots: the epoch, from 1
            for name in ("loss", "accuracy"):
                live.log_metric(f"train/{name}", row[f"train_{name}"])
                live.log_metric(f"val/{name}", row[f"val_{name}"])
            live.next_step()
        print(f"  epoch {epoch}: train loss {row['train_loss']:.4f} acc {row['train_accuracy']:.3f} | val loss {val_loss:.4f} acc {row['val_accuracy']:.3f}", file=sys.stderr)
        improved = row["val_accuracy"] > best["val_accuracy"] or (row["val_accuracy"] == best["val_accuracy"] and val_loss < best["val_loss"])
        if improved:
            best = {"epoch": epoch, "val_accuracy": row["val_accuracy"], "val_loss": val_loss, "state": copy.deepcopy(model.state_dict())}
        elif epoch - best["epoch"] >= int(patience):
            break
    model.load_state_dict(best["state"])
    return {"history": history, "best_epoch": best["epoch"], "epochs_run": len(history), "val_accuracy": best["val_accuracy"], "val_loss": best["val_loss"]}


# --- the stage entry point -----------------------------------------------------------------------


def train_and_save(
    kind: str,
    *,
    split_path: str | Path,
    folders: dict[str, str | Path],
    encoder: dict,
    train: dict,
    lr: float,
    fusion: dict | None = None,
    model_path: str | Path,
    metrics_path: str | Path,
    live_dir: str | Path | None = None,
) -> dict:
    """Train one model (`kind`: audio, video or av), save its best checkpoint and its metrics JSON.

    `folders` maps "audio" to the melspec folder and "video" to the faces folder (each with index.csv).
    """
    started = time.monotonic()
    modalities = MODALITIES_OF[kind]
    seed = int(train["seed"])
    set_seed(seed)
    device = pick_device()
    split = read_split(split_path)
    classes = sorted(split["emotion"].unique().tolist())
    table, counts = modality_table(split, {m: read_index(folders[m]) for m in modalities})
    rows = {part: clips_for(table[table["part"] == part], modalities, "all" if kind != "av" else "any") for part in PARTS}
    for part in PARTS:
        if rows[part].empty:
            raise ValueError(f"no {kind} clip in the {part} part (check the split and the preprocessing indexes)")

    config = model_config(kind, encoder, classes, train, fusion)
    model = build_model(config, pretrained=bool(encoder["pretrained"])).to(device)
    frozen = bool(train.get("freeze_encoder", False))
    batch_size = int(train["batch_size"])
    print(f"train_{kind}: {config['arch']} at {config['image_size']} px on {device}, encoder {'frozen' if frozen else 'fine-tuned'}; "
          f"clips " + ", ".join(f"{p} {len(rows[p])}" for p in PARTS), file=sys.stderr)

    def data(part, shuffle):
        augment = shuffle and bool(train.get("augmentation", False)) and not frozen
        return loader(image_dataset(rows[part], modalities, folders, classes, encoder, augment), batch_size, shuffle, seed)

    if frozen:
        model.encoder.requires_grad_(False)
        cached = {part: encode_all(model, data(part, False), modalities, device) for part in PARTS}
        standardise_features(model.encoder, cached, modalities)
        train_data = FeatureBatches(cached["train"], batch_size, shuffle=True, seed=seed)
        val_data, test_data = FeatureBatches(cached["validation"], batch_size), FeatureBatches(cached["test"], batch_size)
    else:
        train_data, val_data, test_data = data("train", True), data("validation", False), data("test", False)

    live = None
    if live_dir is not None:
        from dvclive import Live

        # No dvc.yaml rewriting and no experiment saving: DVC owns the pipeline, the plots are declared by hand.
        live = Live(dir=str(live_dir), save_dvc_exp=False, dvcyaml=None)
    try:
        result = fit(model, train_data, val_data, modalities, epochs=train["epochs"], patience=train["patience"], lr=float(lr),
                     weight_decay=float(train["weight_decay"]), device=device, live=live, features=frozen)
    finally:
        if live is not None:
            live.end()

    # The test part, once, with the kept model.
    labels, predictions, test_loss = predict(model, test_data, modalities, device, features=frozen)
    test = score([classes[i] for i in labels], [classes[i] for i in predictions], classes, seed=seed)
    info = {"best_epoch": result["best_epoch"], "epochs_run": result["epochs_run"], "val_accuracy": result["val_accuracy"]}
    save_checkpoint(model_path, model.cpu(), config, info)

    metrics = {
        "val_accuracy": result["val_accuracy"],
        "val_loss": result["val_loss"],
        "test_accuracy": test["accuracy"],
        "test_macro_f1": test["macro_f1"],
        "test_uar": test["uar"],
        "test_accuracy_ci95": test["accuracy_ci95"],
        "test_loss": test_loss,
        "best_epoch": result["best_epoch"],
        "epochs_run": result["epochs_run"],
        "train_accuracy": result["history"][result["best_epoch"] - 1]["train_accuracy"],
        "clips": {part: len(rows[part]) for part in PARTS},
        "modalities": counts,
        "freeze_encoder": frozen,
    }
    write_json(metrics_path, metrics)
    print(f"train_{kind}: epoch {result['best_epoch']} of {result['epochs_run']} kept (val acc {result['val_accuracy']:.3f}); "
          f"test acc {test['accuracy']:.3f}, macro-F1 {test['macro_f1']:.3f}; {time.monotonic() - started:.0f} s", file=sys.stderr)
    return metrics


# --- the three training stages' command line -----------------------------------------------------


def training_stage(kind: str, description: str, argv: list[str] | None = None) -> int:
    """The command line of stages/train_<kind>.py: parse arguments, read its params, train, save.

    It reads `lr` (top level), `encoder` and `train`, and `fusion` for the AV model, nothing else.
    """
    import argparse

    from avemo.params import load_section

    parser = argparse.ArgumentParser(description=description, formatter_class=argparse.RawDescriptionHelpFormatter)
    sections = "`lr`, `encoder`, `train`" + (" and `fusion`" if kind == "av" else "")
    parser.add_argument("--params", default="params.yaml", help=f"params file (reads {sections})")
    parser.add_argument("--split", default="data/split.csv", help="split table written by the split stage")
    if "audio" in MODALITIES_OF[kind]:
        parser.add_argument("--melspec", default="data/melspec", help="output folder of the melspec stage (<clip>.npy, index.csv)")
    if "video" in MODALITIES_OF[kind]:
        parser.add_argument("--faces", default="data/faces", help="output folder of the face_crop stage (<clip>.png, index.csv)")
    parser.add_argument("--model", default=f"models/{kind}.pt", help="where to write the best checkpoint")
    parser.add_argument("--metrics", default=f"metrics/train_{kind}.json", help="where to write the metrics JSON")
    parser.add_argument("--live", default=f"dvclive/train_{kind}", help="dvclive folder for the per-epoch curves")
    args = parser.parse_args(argv)

    folders = {m: getattr(args, "melspec" if m == "audio" else "faces") for m in MODALITIES_OF[kind]}
    train_and_save(
        kind,
        split_path=args.split,
        folders=folders,
        encoder=load_section("encoder", args.params),
        train=load_section("train", args.params),
        lr=float(load_section("lr", args.params)),
        fusion=load_section("fusion", args.params) if kind == "av" else None,
        model_path=args.model,
        metrics_path=args.metrics,
        live_dir=args.live,
    )
    return 0

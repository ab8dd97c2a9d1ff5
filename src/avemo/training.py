"""Training the audio, video and AV models: one entry point (`train_and_save`) for the three stages.

- Data (see avemo.loading): a unimodal model uses the clips its modality has; the AV model uses the
  clips that have at least one modality (a missing one is marked absent, as modality dropout trains it
  to handle). Only the train and validation parts are read: eval_cross alone scores the test part.
- Reproducibility: python, numpy and torch are seeded with `train.seed`, and the training order comes
  from a seeded generator, so two runs on the same machine give the same model.
- Model selection: after every epoch the model is scored on the validation part; the epoch with the
  best validation accuracy (ties: lower validation loss) is kept, and training stops after `patience`
  epochs without improvement.
- `train.freeze_encoder`: the encoder is not trained. Its features of every clip are computed once
  (encoder in eval mode, no augmentation), standardised per feature with the training part's mean
  and std (stored in the encoder), and only the head is trained on them (a linear or MLP probe, the
  DeepSpectrum way). The checkpoint still holds the whole model, so it runs on images.
- Logging: per-epoch train/val loss and accuracy go to dvclive (plots declared in dvc.yaml by hand),
  rounded like the metrics so that the git-tracked curves read the same on every machine.
"""

from __future__ import annotations

import argparse
import copy
import random
import sys
import time
from pathlib import Path

import numpy as np
import torch
from torch import nn

from avemo.clipindex import read_index, read_settings
from avemo.files import METRIC_DECIMALS, write_metrics
from avemo.inference import encode_all, logits_of, pick_device, predict
from avemo.loading import FeatureBatches, clips_for, image_dataset, loader, modality_table
from avemo.models import build_model, model_config, save_checkpoint
from avemo.splits import read_split

MODALITIES_OF = {"audio": ("audio",), "video": ("video",), "av": ("audio", "video")}
TRAINING_PARTS = ("train", "validation")  # never the test part


def set_seed(seed: int) -> None:
    """Seed python, numpy and torch (and make torch pick deterministic kernels where it can)."""
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    torch.use_deterministic_algorithms(True, warn_only=True)


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
                live.log_metric(f"train/{name}", round(row[f"train_{name}"], METRIC_DECIMALS))
                live.log_metric(f"val/{name}", round(row[f"val_{name}"], METRIC_DECIMALS))
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

    `folders` maps "audio" to the melspec folder and "video" to the faces folder (each with index.csv
    and settings.json; the spectrograms' dB range comes from the melspec folder's settings).
    """
    started = time.monotonic()
    modalities = MODALITIES_OF[kind]
    seed = int(train["seed"])
    set_seed(seed)
    device = pick_device()
    split = read_split(split_path)
    classes = sorted(split["emotion"].unique().tolist())
    table, counts = modality_table(split, {m: read_index(folders[m]) for m in modalities})
    rows = {part: clips_for(table[table["part"] == part], modalities, "all" if kind != "av" else "any") for part in TRAINING_PARTS}
    for part in TRAINING_PARTS:
        if rows[part].empty:
            raise ValueError(f"no {kind} clip in the {part} part (check the split and the preprocessing indexes)")

    preprocessing = {m: read_settings(folders[m]) for m in modalities}
    top_db = float(preprocessing["audio"]["top_db"]) if "audio" in preprocessing else None
    config = model_config(kind, encoder, classes, train, fusion, preprocessing)
    model = build_model(config, pretrained=bool(encoder["pretrained"])).to(device)
    frozen = bool(train.get("freeze_encoder", False))
    batch_size = int(train["batch_size"])
    print(f"train_{kind}: {config['arch']} at {config['image_size']} px on {device}, encoder {'frozen' if frozen else 'fine-tuned'}; "
          f"clips " + ", ".join(f"{p} {len(rows[p])}" for p in TRAINING_PARTS), file=sys.stderr)
    for m in modalities:
        print(f"  {m}: " + ", ".join(f"{p} {c['usable']} usable ({c['fallback']} fallback), {c['left_out_failed']} left out"
                                       for p, c in counts[m].items() if p in TRAINING_PARTS), file=sys.stderr)

    def data(part, shuffle):
        augment = shuffle and bool(train.get("augmentation", False)) and not frozen
        images = image_dataset(rows[part], modalities, folders, classes, image_size=config["image_size"], top_db=top_db, augment=augment)
        return loader(images, batch_size, shuffle, seed)

    if frozen:
        model.encoder.requires_grad_(False)
        cached = {part: encode_all(model, data(part, False), modalities, device) for part in TRAINING_PARTS}
        standardise_features(model.encoder, cached, modalities)
        train_data = FeatureBatches(cached["train"], batch_size, shuffle=True, seed=seed)
        val_data = FeatureBatches(cached["validation"], batch_size)
    else:
        train_data, val_data = data("train", True), data("validation", False)

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

    info = {"best_epoch": result["best_epoch"], "epochs_run": result["epochs_run"], "val_accuracy": result["val_accuracy"]}
    save_checkpoint(model_path, model.cpu(), config, info)
    metrics = {
        "val_accuracy": result["val_accuracy"],
        "val_loss": result["val_loss"],
        "train_accuracy": result["history"][result["best_epoch"] - 1]["train_accuracy"],
        "best_epoch": result["best_epoch"],
        "epochs_run": result["epochs_run"],
        "train_clips": len(rows["train"]),
        "validation_clips": len(rows["validation"]),
    }
    write_metrics(metrics_path, metrics)
    print(f"train_{kind}: epoch {result['best_epoch']} of {result['epochs_run']} kept (val acc {result['val_accuracy']:.3f}); "
          f"{time.monotonic() - started:.0f} s", file=sys.stderr)
    return metrics


def training_parser(kind: str, description: str) -> argparse.ArgumentParser:
    """The command line of stages/train_<kind>.py: its inputs and outputs."""
    parser = argparse.ArgumentParser(description=description, formatter_class=argparse.RawDescriptionHelpFormatter)
    sections = "`lr`, `encoder`, `train`" + (" and `fusion`" if kind == "av" else "")
    parser.add_argument("--params", default="params.yaml", help=f"params file (reads {sections})")
    parser.add_argument("--split", default="data/split.csv", help="split table written by the split stage")
    if "audio" in MODALITIES_OF[kind]:
        parser.add_argument("--melspec", default="data/melspec", help="output folder of the melspec stage (<clip>.npy, index.csv, settings.json)")
    if "video" in MODALITIES_OF[kind]:
        parser.add_argument("--faces", default="data/faces", help="output folder of the face_crop stage (<clip>.png, index.csv, settings.json)")
    parser.add_argument("--model", default=f"models/{kind}.pt", help="where to write the best checkpoint")
    parser.add_argument("--metrics", default=f"metrics/train_{kind}.json", help="where to write the metrics JSON")
    parser.add_argument("--live", default=f"dvclive/train_{kind}", help="dvclive folder for the per-epoch curves")
    return parser


def folders_of(kind: str, args: argparse.Namespace) -> dict[str, str]:
    """The input folder of each modality a model of `kind` reads, from its parsed command line."""
    return {m: args.melspec if m == "audio" else args.faces for m in MODALITIES_OF[kind]}

"""Training the audio, video and AV models, once per fold of the split and training seed: one entry
point (`train_repeats`) for the three stages.

- Data (see avemo.modeling.loading): a unimodal model uses the clips its modality has; the AV model uses the
  clips that have at least one modality (a missing one is marked absent, as modality dropout trains it
  to handle). Only the train and validation parts of each fold are read: eval_cross alone scores the
  test parts.
- Repeats: one model per fold of the split table and per seed of `train.seeds`, saved as
  `<models>/fold<k>_seed<s>.pt`. Python, numpy and torch are seeded with the seed, and the training
  order comes from a seeded generator, so two runs on the same machine give the same models.
- Model selection: after every epoch the model is scored on the fold's validation part; the epoch with
  the best validation accuracy (ties: lower validation loss) is kept, and training stops after
  `patience` epochs without improvement.
- `train.freeze_encoder`: the encoder stays in its pretrained state. Its raw features of every clip come
  from the embed stage (computed once for all repeats), are standardised with the fold's training part
  (see avemo.modeling.encoders.Encoder.set_standardisation), and only the head is trained on them (a linear or MLP
  probe, the DeepSpectrum way). Otherwise the whole model is fine-tuned on images, repeat by repeat.
- Logging: per-epoch train/val loss and accuracy of the first repeat (first fold, first seed) go to
  dvclive (plots declared in dvc.yaml by hand), every repeat's outcome to `repeats.csv` beside them,
  rounded like the metrics so that the git-tracked files read the same on every machine.
"""

from __future__ import annotations

import random
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from torch import nn

from avemo.corpus.splits import folds_of, read_split
from avemo.files import METRIC_DECIMALS, rounded, write_csv, write_metrics
from avemo.modeling.checkpoints import checkpoint_name, save_checkpoint
from avemo.modeling.classifiers import build_model, model_config
from avemo.modeling.embedding import read_embeddings
from avemo.modeling.inference import logits_of, pick_device, predict
from avemo.modeling.inputs import loader
from avemo.modeling.kinds import MODALITIES_OF
from avemo.modeling.loading import (
    FeatureBatches,
    clips_for,
    image_dataset,
    modality_table,
    raw_feature_items,
    standardised,
)
from avemo.preprocess.clipindex import read_index, read_settings

TRAINING_PARTS = ("train", "validation")  # never the test part


def set_seed(seed: int) -> None:
    """Seed python, numpy and torch (and make torch pick deterministic kernels where it can)."""
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    torch.use_deterministic_algorithms(True, warn_only=True)


def snapshot(model: nn.Module, features: bool) -> dict:
    """A copy of the weights training may change: on cached features, not the encoder's (13 MB a copy)."""
    return {k: v.detach().clone() for k, v in model.state_dict().items() if not (features and k.startswith("encoder."))}


def autocast_dtype(amp: str, device: torch.device) -> torch.dtype | None:
    """The autocast dtype a mixed-precision mode (avemo.machine.amp_mode) asks for on `device`: float16 on
    CUDA (`cuda`, `always`), bfloat16 on the CPU (`always` only: slower than float32 on many CPUs), None for
    full precision."""
    if device.type == "cuda" and amp in ("cuda", "always"):
        return torch.float16
    if device.type == "cpu" and amp == "always":
        return torch.bfloat16
    return None


def fit(
    model,
    train_data,
    val_data,
    modalities,
    *,
    epochs,
    patience,
    lr,
    encoder_lr,
    weight_decay,
    device,
    live=None,
    features=False,
    amp="off",
) -> dict:
    """Train with AdamW on cross-entropy of logits; keep the epoch with the best validation accuracy
    (ties: lower validation loss), stop after `patience` epochs without improvement, and load the
    kept weights back into `model`. Returns the history and the chosen epoch (1-based). `amp`: mixed
    precision (see autocast_dtype), with a gradient scaler for float16. The encoder's trainable weights
    learn at `encoder_lr` (pretrained weights want smaller steps than a new head), the rest at `lr`."""
    encoder = {id(p) for p in model.encoder.parameters()}
    groups = [
        {"params": [p for p in model.parameters() if p.requires_grad and id(p) not in encoder], "lr": lr},
        {"params": [p for p in model.encoder.parameters() if p.requires_grad], "lr": encoder_lr},
    ]
    optimiser = torch.optim.AdamW([g for g in groups if g["params"]], lr=lr, weight_decay=weight_decay)
    criterion = nn.CrossEntropyLoss()
    dtype = autocast_dtype(amp, device)
    scaler = torch.amp.GradScaler(device.type, enabled=dtype == torch.float16)
    best = {"epoch": 0, "val_accuracy": -1.0, "val_loss": float("inf"), "state": None}
    history = []
    for epoch in range(1, int(epochs) + 1):
        model.train()
        if hasattr(getattr(train_data, "dataset", None), "set_epoch"):
            train_data.dataset.set_epoch(epoch)
        loss_sum, correct, seen = 0.0, 0, 0
        for batch in train_data:
            y = torch.as_tensor(batch["label"], device=device)
            with torch.autocast(device.type, dtype=dtype or torch.float32, enabled=dtype is not None):
                logits = logits_of(model, batch, modalities, device, features)
                loss = criterion(logits.float(), y)
            optimiser.zero_grad(set_to_none=True)
            scaler.scale(loss).backward()
            scaler.step(optimiser)
            scaler.update()
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
        print(
            f"  epoch {epoch}: train loss {row['train_loss']:.4f} acc {row['train_accuracy']:.3f} | val loss "
            f"{val_loss:.4f} acc {row['val_accuracy']:.3f}",
            file=sys.stderr,
        )
        improved = row["val_accuracy"] > best["val_accuracy"] or (
            row["val_accuracy"] == best["val_accuracy"] and val_loss < best["val_loss"]
        )
        if improved:
            best = {
                "epoch": epoch,
                "val_accuracy": row["val_accuracy"],
                "val_loss": val_loss,
                "state": snapshot(model, features),
            }
        elif epoch - best["epoch"] >= int(patience):
            break
    model.load_state_dict(best["state"], strict=not features)
    return {
        "history": history,
        "best_epoch": best["epoch"],
        "epochs_run": len(history),
        "val_accuracy": best["val_accuracy"],
        "val_loss": best["val_loss"],
    }


# --- one repeat ------------------------------------------------------------------------------------


def train_one(
    kind: str,
    rows: dict,
    classes: list[str],
    config: dict,
    *,
    seed: int,
    train: dict,
    lr: float,
    folders: dict,
    embeddings: dict | None,
    pretrained: bool,
    device,
    loader_workers: int,
    amp: str,
    live=None,
) -> tuple[nn.Module, dict]:
    """One model of `kind` trained on rows["train"], its epoch chosen on rows["validation"]."""
    modalities = MODALITIES_OF[kind]
    set_seed(seed)
    model = build_model(config, pretrained=pretrained).to(device)
    batch_size = int(train["batch_size"])
    if embeddings is not None:  # frozen encoder: heads on cached features
        model.encoder.requires_grad_(False)
        raw = {part: raw_feature_items(rows[part], modalities, embeddings, classes) for part in TRAINING_PARTS}
        model.encoder.set_standardisation(
            torch.cat([raw["train"][m][raw["train"][f"{m}_present"]] for m in modalities]).to(device)
        )
        items = {
            part: standardised({k: v.to(device) for k, v in raw[part].items()}, model.encoder, modalities)
            for part in TRAINING_PARTS
        }
        train_data = FeatureBatches(items["train"], batch_size, shuffle=True, seed=seed)
        val_data = FeatureBatches(items["validation"], batch_size)
    else:  # fine-tuning on images
        top_db = float(config["preprocessing"]["audio"]["top_db"]) if "audio" in modalities else None

        if device.type == "cuda":  # convolutions run faster on NHWC tensors on recent GPUs
            model = model.to(memory_format=torch.channels_last)

        def data(part, shuffle):
            augment = shuffle and bool(train["augmentation"])
            images = image_dataset(
                rows[part],
                modalities,
                folders,
                classes,
                image_size=config["image_size"],
                top_db=top_db,
                augment=augment,
                seed=seed,
            )
            return loader(
                images, batch_size, shuffle, seed, num_workers=loader_workers, pin_memory=device.type == "cuda"
            )

        train_data, val_data = data("train", True), data("validation", False)
    result = fit(
        model,
        train_data,
        val_data,
        modalities,
        epochs=train["epochs"],
        patience=train["patience"],
        lr=float(lr),
        encoder_lr=float(lr) * float(train["encoder_lr_scale"]),
        weight_decay=float(train["weight_decay"]),
        device=device,
        live=live,
        features=embeddings is not None,
        amp=amp,
    )
    return model, result


# --- the stage entry point -----------------------------------------------------------------------


def train_repeats(
    kind: str,
    *,
    split_path: str | Path,
    folders: dict[str, str | Path],
    embeddings_dir: str | Path,
    encoder: dict,
    train: dict,
    lr: float,
    fusion: dict | None = None,
    loader_workers: int,
    amp: str,
    models_dir: str | Path,
    metrics_path: str | Path,
    live_dir: str | Path | None = None,
) -> dict:
    """Train one model of `kind` (audio, video or av) per fold and seed, save each checkpoint in
    `models_dir`, and write the means over the repeats as metrics (see the module docstring).

    `folders` maps "audio" to the melspec folder and "video" to the faces folder (each with index.csv
    and settings.json); `embeddings_dir` holds the embed stage's features (read when the encoder is frozen).
    `encoder`, `train`, `lr` and `fusion` are params.yaml's values, checked by its schema (`fusion` for the AV
    model only); `loader_workers` and `amp` are machine settings (avemo.machine) of fine-tuning.
    """
    started = time.monotonic()
    modalities = MODALITIES_OF[kind]
    device = pick_device()
    split = read_split(split_path)
    classes = sorted(split["emotion"].unique().tolist())
    indexes = {m: read_index(folders[m]) for m in modalities}
    frozen = bool(train["freeze_encoder"])
    embeddings = {m: read_embeddings(embeddings_dir, m) for m in modalities} if frozen else None
    config = model_config(kind, encoder, classes, train, fusion, {m: read_settings(folders[m]) for m in modalities})
    seeds = [int(s) for s in train["seeds"]]
    models_dir = Path(models_dir)
    models_dir.mkdir(parents=True, exist_ok=True)
    for old in models_dir.glob("*.pt"):  # a rerun with fewer folds or seeds leaves no stale model behind
        old.unlink()
    print(
        f"train_{kind}: {config['arch']} at {config['image_size']} px on {device}, encoder "
        f"{'frozen' if frozen else 'fine-tuned'}; {len(folds_of(split))} fold(s) x {len(seeds)} seed(s)",
        file=sys.stderr,
    )

    live = None
    if live_dir is not None:
        from dvclive import Live

        # No dvc.yaml rewriting and no experiment saving: DVC owns the pipeline, the plots are declared by hand.
        live = Live(dir=str(live_dir), save_dvc_exp=False, dvcyaml=None)
    repeats = []
    threads = torch.get_num_threads()
    if frozen:  # a head's small matrices: one thread was ten times faster here than two waiting on each other
        torch.set_num_threads(1)
    try:
        for fold in folds_of(split):
            table, _ = modality_table(split[split["fold"] == fold], indexes)
            rows = {
                part: clips_for(table[table["part"] == part], modalities, "all" if kind != "av" else "any")
                for part in TRAINING_PARTS
            }
            for part in TRAINING_PARTS:
                if rows[part].empty:
                    raise ValueError(
                        f"fold {fold}: no {kind} clip in the {part} part (check the split and the preprocessing "
                        "indexes)"
                    )
            for seed in seeds:
                model, result = train_one(
                    kind,
                    rows,
                    classes,
                    {**config, "fold": fold, "seed": seed},
                    seed=seed,
                    train=train,
                    lr=lr,
                    folders=folders,
                    embeddings=embeddings,
                    pretrained=bool(encoder["pretrained"]),
                    device=device,
                    loader_workers=loader_workers,
                    amp=amp,
                    live=live if not repeats else None,
                )
                best = result["history"][result["best_epoch"] - 1]
                outcome = {
                    "fold": fold,
                    "seed": seed,
                    "best_epoch": result["best_epoch"],
                    "epochs_run": result["epochs_run"],
                    "val_accuracy": result["val_accuracy"],
                    "val_loss": result["val_loss"],
                    "train_accuracy": best["train_accuracy"],
                    "train_clips": len(rows["train"]),
                    "validation_clips": len(rows["validation"]),
                }
                save_checkpoint(
                    models_dir / checkpoint_name(fold, seed),
                    model.cpu(),
                    {**config, "fold": fold, "seed": seed},
                    outcome,
                )
                repeats.append(outcome)
                print(
                    f"train_{kind}: fold {fold} seed {seed}: epoch {result['best_epoch']} of {result['epochs_run']} "
                    f"kept, val acc {result['val_accuracy']:.3f} ({len(rows['train'])} train, "
                    f"{len(rows['validation'])} validation clips)",
                    file=sys.stderr,
                )
    finally:
        torch.set_num_threads(threads)
        if live is not None:
            live.end()

    outcomes = pd.DataFrame(repeats)
    if live_dir is not None:
        write_csv(Path(live_dir) / "repeats.csv", pd.DataFrame(rounded(outcomes.to_dict("records"))))
    metrics = {
        "repeats": len(outcomes),
        "val_accuracy": float(outcomes["val_accuracy"].mean()),
        "val_accuracy_std": float(outcomes["val_accuracy"].std(ddof=1)) if len(outcomes) > 1 else 0.0,
        "val_loss": float(outcomes["val_loss"].mean()),
        "train_accuracy": float(outcomes["train_accuracy"].mean()),
        "best_epoch": float(outcomes["best_epoch"].mean()),
    }
    write_metrics(metrics_path, metrics)
    print(
        f"train_{kind}: {len(outcomes)} models, validation accuracy {metrics['val_accuracy']:.3f} +- "
        f"{metrics['val_accuracy_std']:.3f}; {time.monotonic() - started:.0f} s",
        file=sys.stderr,
    )
    return metrics

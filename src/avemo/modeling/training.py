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
- `encoder.trainable` none or N: the layers below the cut stay in their pretrained state; their outputs of
  every clip come from the embed stage (computed once for all repeats), and training runs the top N blocks
  (none: no block, a linear or MLP probe, the DeepSpectrum way) and the head on them. Before training, the
  pooled features of the training part set the standardisation (avemo.modeling.encoders.Encoder.
  set_standardisation) and, with fusion.sharing modality_norm, each modality's batch-norm statistics.
  `all`: the whole model is fine-tuned on images (with augmentation), repeat by repeat.
- Frames: a clip of K faces (frame.count) is one example, its video features the mean of its K faces'
  (avemo.modeling.encoders.Encoder.clip_raw), in training as in evaluation.
- Logging: per-epoch train/val loss and accuracy of the first repeat (first fold, first seed) go to
  dvclive (plots declared in dvc.yaml by hand), every repeat's outcome to `repeats.csv` beside them,
  rounded like the metrics so that the git-tracked files read the same on every machine.
"""

from __future__ import annotations

import math
import random
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from torch import nn

from avemo.corpus.split_table import folds_of, read_split
from avemo.errors import UserError
from avemo.files import METRIC_DECIMALS, rounded, write_csv, write_metrics
from avemo.modeling.checkpoints import RUN_REPEATS, SYNTHETIC_SAMPLE, checkpoint_name, save_checkpoint
from avemo.modeling.classifiers import (
    AVClassifier,
    build_model,
    frozen_state_keys,
    has_frozen_part,
    model_config,
    trainable_parameters,
)
from avemo.modeling.embedding import read_embeddings
from avemo.modeling.inference import logits_of, pick_device, predict
from avemo.modeling.inputs import loader
from avemo.modeling.kinds import MODALITIES_OF
from avemo.modeling.loading import FeatureBatches, clips_for, frozen_items, image_dataset, modality_table
from avemo.preprocess.clipindex import frames_per_clip, read_index, read_settings

TRAINING_PARTS = ("train", "validation")  # never the test part


class TrainingDiverged(UserError):
    """The training loss became inf or nan: a learning rate or weight decay too large for the data."""


def set_seed(seed: int) -> None:
    """Seed python, numpy and torch (and make torch pick deterministic kernels where it can)."""
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    torch.use_deterministic_algorithms(True, warn_only=True)


def snapshot(model: nn.Module) -> dict:
    """A copy of the weights training may change: not the frozen layers' (13 MB a copy when all are frozen)."""
    frozen = frozen_state_keys(model)
    return {k: v.detach().clone() for k, v in model.state_dict().items() if k not in frozen}


def nhwc(tensor: torch.Tensor) -> torch.Tensor:
    """A batch of feature maps in channels-last memory order; anything else as it is."""
    return tensor.contiguous(memory_format=torch.channels_last) if tensor.dim() == 4 else tensor


def trained_layers(config: dict) -> str:
    """What of the encoder a model's config trains, for the log."""
    if config["trainable"] == "none":
        return "no encoder layer (a probe)"
    if config["trainable"] == "all":
        return "the whole encoder"
    return f"the encoder's top {config['trainable']} block(s)"


def encoder_modalities(model: nn.Module, modalities) -> list[tuple[nn.Module, list[str]]]:
    """Each encoder instance of `model` with the modalities that pass it."""
    if isinstance(model, AVClassifier) and model.video_encoder is not None:
        return [(model.encoder, ["audio"]), (model.video_encoder, ["video"])]
    return [(model.encoders()[0], list(modalities))]


@torch.no_grad()
def prepare_on_frozen(model: nn.Module, items: dict[str, torch.Tensor], modalities, batch_size: int) -> None:
    """Before training on cached frozen-part outputs (`items`: the training part's FeatureBatches items):
    each modality's batch-norm statistics where the encoder has a norm per modality, then the
    standardisation of each encoder from the pooled features of the training part's inputs that pass it."""
    for encoder, passing in encoder_modalities(model, modalities):
        inputs = {m: items[m][items[f"{m}_present"]] for m in passing}
        if encoder.modality_norms():
            for m in passing:
                encoder.estimate_modality_statistics(m, inputs[m].split(batch_size))
        encoder.eval()
        raw = [
            encoder.for_modality(m).clip_raw(chunk, from_frozen=True)  # a clip's K frames: their mean (one vector)
            for m in passing
            for chunk in inputs[m].split(batch_size)
        ]
        encoder.set_standardisation(torch.cat(raw))


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
    from_frozen=False,
    amp="off",
) -> dict:
    """Train with AdamW on cross-entropy of logits; keep the epoch with the best validation accuracy
    (ties: lower validation loss), stop after `patience` epochs without improvement, and load the
    kept weights back into `model`. Returns the history and the chosen epoch (1-based). `amp`: mixed
    precision (see autocast_dtype), with a gradient scaler for float16. The encoder's trainable weights
    learn at `encoder_lr` (pretrained weights want smaller steps than a new head), the rest at `lr`.
    `from_frozen`: the batches hold the encoder's frozen-part outputs, not images."""
    encoder = {id(p) for e in model.encoders() for p in e.parameters()}
    groups = [
        {"params": [p for p in model.parameters() if p.requires_grad and id(p) not in encoder], "lr": lr},
        {"params": [p for p in model.parameters() if p.requires_grad and id(p) in encoder], "lr": encoder_lr},
    ]
    # fused: one kernel for all weights per step; the per-tensor loop was a quarter of a top block's step on a CPU
    optimiser = torch.optim.AdamW([g for g in groups if g["params"]], lr=lr, weight_decay=weight_decay, fused=True)
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
                logits = logits_of(model, batch, modalities, device, from_frozen)
                loss = criterion(logits.float(), y)
            optimiser.zero_grad(set_to_none=True)
            scaler.scale(loss).backward()
            scaler.step(optimiser)
            scaler.update()
            loss_sum += loss.item() * len(y)
            correct += int((logits.argmax(dim=1) == y).sum())
            seen += len(y)
        labels, predictions, val_loss = predict(model, val_data, modalities, device, from_frozen)
        row = {
            "epoch": epoch,
            "train_loss": loss_sum / max(seen, 1),
            "train_accuracy": correct / max(seen, 1),
            "val_loss": val_loss,
            "val_accuracy": float((labels == predictions).mean()),
        }
        if not math.isfinite(row["train_loss"]):
            raise TrainingDiverged(
                f"training diverged: the training loss is {row['train_loss']} at epoch {epoch}; lower lr or "
                "train.weight_decay (or train.encoder_lr_scale)"
            )
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
                "state": snapshot(model),
            }
        elif epoch - best["epoch"] >= int(patience):
            break
    model.load_state_dict(best["state"], strict=False)
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
    if embeddings is not None:  # the top of the encoder and the head on cached frozen-part outputs
        items = {
            part: {k: v.to(device) for k, v in frozen_items(rows[part], modalities, embeddings, classes).items()}
            for part in TRAINING_PARTS
        }
        prepare_on_frozen(model, items["train"], modalities, batch_size)
        if config["trainable"] != "none":  # NHWC feature maps: a fifth off a top block's step, measured on a CPU
            model = model.to(memory_format=torch.channels_last)
            items = {part: {k: nhwc(v) for k, v in part_items.items()} for part, part_items in items.items()}
        train_data = FeatureBatches(items["train"], batch_size, shuffle=True, seed=seed)
        val_data = FeatureBatches(items["validation"], batch_size)
    else:  # fine-tuning on images
        top_db = float(config["preprocessing"]["audio"]["top_db"]) if "audio" in modalities else None
        faces = frames_per_clip(config["preprocessing"].get("video", {}))

        if device.type == "cuda":  # convolutions run faster on NHWC tensors on recent GPUs
            model = model.to(memory_format=torch.channels_last)

        def data(part, shuffle, read=modalities):
            augment = shuffle and bool(train["augmentation"])
            images = image_dataset(
                rows[part],
                read,
                folders,
                classes,
                image_size=config["image_size"],
                top_db=top_db,
                augment=augment,
                seed=seed,
                frames=faces,
            )
            return loader(
                images, batch_size, shuffle, seed, num_workers=loader_workers, pin_memory=device.type == "cuda"
            )

        train_data, val_data = data("train", True), data("validation", False)
        for encoder, passing in encoder_modalities(model, modalities):
            if encoder.modality_norms():  # each modality's statistics, from its training images as they are
                for m in passing:  # a pass over that modality's images alone
                    plain = data("train", False, read=(m,))
                    batches = (encoder.frozen_part(b[m][b[f"{m}_present"]].to(device)) for b in plain)
                    encoder.estimate_modality_statistics(m, batches)
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
        from_frozen=embeddings is not None,
        amp=amp,
    )
    return model, result


# --- the stage entry point -----------------------------------------------------------------------


def train_repeats(
    kind: str,
    *,
    split_path: str | Path,
    synthetic_sample: bool,
    folders: dict[str, str | Path],
    embeddings_dir: str | Path,
    encoder: dict,
    train: dict,
    lr: float,
    frames_dir: str | Path | None = None,
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
    and settings.json); `embeddings_dir` holds the embed stage's frozen-part outputs (read unless
    encoder.trainable is all); `frames_dir` (models that read faces) is extract_middle_frame's folder, whose
    settings.json (the frames' position, and their number and spread) the checkpoints keep beside the face
    settings, as config["preprocessing"]["frames"] with `frames_per_clip` always written, so that `avemo
    predict` reads a clip's frames where the faces of training came from.
    `encoder`, `train`, `lr` and `fusion` are params.yaml's values, checked by its schema (`fusion` for the AV
    model only); `loader_workers` and `amp` are machine settings (avemo.machine) of fine-tuning.
    `synthetic_sample`: whether the clips are the synthetic sample (data/corpus.json). Every checkpoint's
    info records it and every (fold, seed) of this run (avemo.modeling.checkpoints), so that a folder a
    killed run left incomplete is named as such.
    """
    started = time.monotonic()
    modalities = MODALITIES_OF[kind]
    device = pick_device()
    split = read_split(split_path)
    classes = sorted(split["emotion"].unique().tolist())
    indexes = {m: read_index(folders[m]) for m in modalities}
    preprocessing = {m: read_settings(folders[m]) for m in modalities}
    if "video" in modalities:
        if frames_dir is None:
            raise ValueError(f"a {kind} model needs frames_dir, whose settings say which frames its faces are of")
        frames = read_settings(frames_dir)
        if frames_per_clip(frames) != frames_per_clip(preprocessing["video"]):
            raise ValueError(f"{frames_dir} and {folders['video']} hold other frames per clip: rerun face_crop")
        preprocessing["frames"] = {**frames, "frames_per_clip": frames_per_clip(frames)}
    config = model_config(kind, encoder, classes, train, fusion, preprocessing)
    cached = has_frozen_part(config)
    embeddings = {m: read_embeddings(embeddings_dir, m) for m in modalities} if cached else None
    seeds = [int(s) for s in train["seeds"]]
    models_dir = Path(models_dir)
    models_dir.mkdir(parents=True, exist_ok=True)
    for old in models_dir.glob("*.pt"):  # a rerun with fewer folds or seeds leaves no stale model behind
        old.unlink()
    run = {
        RUN_REPEATS: [[fold, seed] for fold in folds_of(split) for seed in seeds],
        SYNTHETIC_SAMPLE: synthetic_sample,
    }
    print(
        f"train_{kind}: {config['arch']} at {config['image_size']} px on {device}, {trained_layers(config)} trained; "
        f"{len(folds_of(split))} fold(s) x {len(seeds)} seed(s)",
        file=sys.stderr,
    )

    live = None
    if live_dir is not None:
        from dvclive import Live

        # No dvc.yaml rewriting and no experiment saving: DVC owns the pipeline, the plots are declared by hand.
        live = Live(dir=str(live_dir), save_dvc_exp=False, dvcyaml=None)
    repeats = []
    threads = torch.get_num_threads()
    if config["trainable"] == "none":  # a head's small matrices: one thread was ten times faster here than two
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
                    {**outcome, **run},
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
    trained = trainable_parameters(model)  # the same in every repeat
    if live_dir is not None:
        write_csv(Path(live_dir) / "repeats.csv", pd.DataFrame(rounded(outcomes.to_dict("records"))))
    metrics = {
        "repeats": len(outcomes),
        "val_accuracy": float(outcomes["val_accuracy"].mean()),
        "val_accuracy_std": float(outcomes["val_accuracy"].std(ddof=1)) if len(outcomes) > 1 else 0.0,
        "val_loss": float(outcomes["val_loss"].mean()),
        "train_accuracy": float(outcomes["train_accuracy"].mean()),
        "best_epoch": float(outcomes["best_epoch"].mean()),
        # weights training changes in one model: in all (with the head), and in its encoder (each instance)
        "trainable_parameters": trained["all"],
        "trainable_encoder_parameters": trained["encoder"],
    }
    write_metrics(metrics_path, metrics)
    print(
        f"train_{kind}: {len(outcomes)} models, validation accuracy {metrics['val_accuracy']:.3f} +- "
        f"{metrics['val_accuracy_std']:.3f}; {time.monotonic() - started:.0f} s",
        file=sys.stderr,
    )
    return metrics

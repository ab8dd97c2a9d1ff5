"""Checkpoints: a model's config (primitive values only) and its state dict, so a checkpoint loads with
`torch.load(..., weights_only=True)` and `load_checkpoint` rebuilds the model without any weights file;
one file per fold and seed of a training stage, named by `checkpoint_name`.

A checkpoint is checked before anything is built from it: every config value a model or its inputs are
made from must pass the params schema's rule for the params field it came from (CONFIG_FIELDS,
PREPROCESSING_SECTIONS), so a damaged or crafted file (an image size of 100000, an unknown arch) is refused
in one line instead of allocating gigabytes. Its `info` says which run it is of: every (fold, seed) that
run writes (RUN_REPEATS), so that `incomplete_run` can tell a folder a killed run left half full from a
whole one, and whether the run trained on the synthetic sample (SYNTHETIC_SAMPLE).
"""

from __future__ import annotations

import io
import pickle
import re
from pathlib import Path

import torch
from torch import nn

from avemo.errors import UserError
from avemo.files import atomic_write
from avemo.modeling.classifiers import build_model, frozen_state_keys, has_frozen_part
from avemo.modeling.kinds import KINDS
from avemo.params import SCHEMA, field_violations

CHECKPOINT_FORMAT = 3  # 3: the encoder as stem, blocks and tail, with a frozen part (encoder.trainable)
_CHECKPOINT_NAME = re.compile(r"^fold(\d+)_seed(\d+)\.pt$")  # checkpoint_name read back
# What torch.load raises on a file that is not a checkpoint (junk, a cut-off file, a pickle of other objects).
NOT_A_CHECKPOINT = (pickle.UnpicklingError, RuntimeError, EOFError, KeyError, IndexError, TypeError, ValueError)
# The config fields a model is built from -> the params field (section, key) whose schema rule each passes.
CONFIG_FIELDS = {
    "arch": ("encoder", "arch"),
    "pretrained": ("encoder", "pretrained"),
    "image_size": ("encoder", "image_size"),
    "trainable": ("encoder", "trainable"),
    "classes": ("data", "classes"),
    "head_hidden": ("train", "head_hidden"),
    "dropout": ("train", "dropout"),
}
AV_CONFIG_FIELDS = {
    "fusion": ("fusion", "method"),
    "modality_dropout": ("fusion", "modality_dropout"),
    "sharing": ("fusion", "sharing"),
}
# config["preprocessing"][modality] holds the settings.json its inputs were made with: the params sections
# each setting comes from (melspec's sample rate is audio.sample_rate).
PREPROCESSING_SECTIONS = {"audio": ("audio", "melspec"), "video": ("face",), "frames": ("frame",)}
# a preprocessing setting the training stage derives from a params field, checked by that field's rule
DERIVED_SETTINGS = {("frames", "frames_per_clip"): ("frame", "count")}
RUN_REPEATS = "run_repeats"  # info: [fold, seed] of every checkpoint the training run writes
SYNTHETIC_SAMPLE = "synthetic_sample"  # info: whether the run trained on the synthetic sample


class CheckpointError(UserError, ValueError):
    """A file that is not an avemo checkpoint this version loads, or whose config the params schema does not
    allow; str(error) is one line naming the file and what is wrong."""


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


def config_problem(config) -> str | None:
    """What keeps a model from being built from `config` (a few words naming the field), or None: every
    field CONFIG_FIELDS (and, for the AV model, AV_CONFIG_FIELDS) names, and every setting of its
    preprocessing, must pass the rule of the params field it came from."""
    if not isinstance(config, dict):
        return "its config is not a mapping"
    if config.get("kind") not in KINDS:
        return f"config kind is {config.get('kind')!r}; expected one of {', '.join(KINDS)}"
    fields = {**CONFIG_FIELDS, **(AV_CONFIG_FIELDS if config["kind"] == "av" else {})}
    absent = [key for key in (*fields, "preprocessing") if key not in config]
    if absent:
        return f"its config lacks {', '.join(absent)}"
    preprocessing = config["preprocessing"]
    if not isinstance(preprocessing, dict) or not all(isinstance(s, dict) for s in preprocessing.values()):
        return "config preprocessing is not a mapping of each modality to its settings"
    given = {f"config {key}": (*field, config[key]) for key, field in fields.items()}
    for modality, settings in preprocessing.items():
        for key, value in settings.items():
            # a setting no params field makes is not read, so not checked
            section = next((s for s in PREPROCESSING_SECTIONS.get(modality, ()) if key in SCHEMA[s]), None)
            field = DERIVED_SETTINGS.get((modality, key), (section, key))
            if field[0] is not None:
                given[f"config preprocessing.{modality}.{key}"] = (*field, value)
    problems = field_violations(given)
    return problems[0] if problems else None


def _info_problem(info) -> str | None:
    if not isinstance(info, dict):
        return "its info is not a mapping"
    repeats = info.get(RUN_REPEATS, [])
    if not isinstance(repeats, list) or not all(
        isinstance(r, list) and len(r) == 2 and all(type(x) is int and x >= 0 for x in r) for r in repeats
    ):
        return f"info {RUN_REPEATS} is not a list of [fold, seed] pairs of integers >= 0"
    if not isinstance(info.get(SYNTHETIC_SAMPLE, False), bool):
        return f"info {SYNTHETIC_SAMPLE} is {info[SYNTHETIC_SAMPLE]!r}; expected true or false"
    return None


def read_checkpoint(path: str | Path) -> dict:
    """A checkpoint file's contents (config, info, state dict), checked before anything is built from it
    (see the module docstring); a CheckpointError names the file and what is wrong."""
    try:
        checkpoint = torch.load(path, map_location="cpu", weights_only=True)
    except NOT_A_CHECKPOINT as err:
        detail = str(err).splitlines()[0] if str(err) else "empty or cut short"
        raise CheckpointError(
            f"{path}: cannot load it as an avemo checkpoint ({type(err).__name__}: {detail})"
        ) from None
    if not isinstance(checkpoint, dict) or checkpoint.get("format") != CHECKPOINT_FORMAT:
        raise CheckpointError(f"{path}: not an avemo checkpoint of format {CHECKPOINT_FORMAT}")
    problem = config_problem(checkpoint.get("config")) or _info_problem(checkpoint.get("info", {}))
    if problem is None and not isinstance(checkpoint.get("state_dict"), dict):
        problem = "its state_dict is not a mapping of weights"
    if problem:
        raise CheckpointError(f"{path}: refused before building its model: {problem}")
    return checkpoint


def load_checkpoint(path: str | Path, device: str | torch.device = "cpu") -> tuple[nn.Module, dict]:
    """Rebuild a saved model (in eval mode, on `device`) and return it with the whole checkpoint."""
    checkpoint = read_checkpoint(path)
    config = checkpoint["config"]
    model = build_model(config, pretrained=config["pretrained"] and has_frozen_part(config))
    try:
        missing, unexpected = model.load_state_dict(checkpoint["state_dict"], strict=False)
    except RuntimeError as err:  # a weight of another shape
        raise CheckpointError(
            f"{path}: weights do not fit the model its config describes ({str(err).splitlines()[-1].strip()})"
        ) from None
    if unexpected or set(missing) - frozen_state_keys(model):
        raise CheckpointError(
            f"{path}: weights do not fit the model its config describes (missing {missing[:3]}, unexpected "
            f"{unexpected[:3]})"
        )
    return model.to(device).eval(), checkpoint


def incomplete_run(folder: str | Path, checkpoints: dict[Path, dict]) -> str | None:
    """Why the checkpoints of a training stage's models folder (path -> read_checkpoint's contents) are not
    one whole training run, all of its checkpoints and only them (one line), or None. Each checkpoint
    names every repeat of its run (info RUN_REPEATS): a run stopped early leaves a few of them, a partial
    copy too, and a mix of two runs disagrees. Checkpoints that do not name their run (made before avemo
    wrote it) cannot be judged: None."""
    plans = {tuple(map(tuple, c.get("info", {}).get(RUN_REPEATS, []))) for c in checkpoints.values()}
    if not checkpoints or () in plans:
        return None
    rerun = "rerun its training stage (`dvc repro`)"
    if len(plans) > 1:
        return f"{folder}: holds checkpoints of {len(plans)} different training runs; {rerun}"
    plan = sorted(plans.pop())
    expected = {checkpoint_name(fold, seed) for fold, seed in plan}
    names = {Path(p).name for p in checkpoints}
    missing, foreign = sorted(expected - names), sorted(names - expected)
    if foreign:
        return f"{folder}: {', '.join(foreign[:3])} not of the training run the others are from; {rerun}"
    if missing:
        shown = ", ".join(missing[:3]) + (f" and {len(missing) - 3} more" if len(missing) > 3 else "")
        folds, seeds = len({f for f, _ in plan}), len({s for _, s in plan})
        return (
            f"{folder}: incomplete: {len(expected) - len(missing)} of the {len(expected)} checkpoints of its training "
            f"run ({folds} fold(s) x {seeds} seed(s)), missing {shown} (the run stopped early?); {rerun}"
        )
    return None

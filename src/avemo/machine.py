"""Machine settings: how a run uses this machine, never what it computes. They come from environment
variables (or the flag of the same name on a stage's command line), not from params.yaml, because a
params change reruns every stage that reads it and these change no result:

- `AVEMO_JOBS` (`--jobs`): worker processes of the per-clip stages and the sample stage; default all cores.
- `AVEMO_LOADER_WORKERS` (`--loader-workers`): processes that read and augment images when the encoder is
  fine-tuned; default `auto`, every core but one (at most 8). Augmentation is seeded per clip, so the
  models do not depend on it.
- `AVEMO_AMP` (`--amp`): mixed precision of fine-tuning: `cuda` (default: float16 on a GPU, full precision
  on the CPU), `always` (also bfloat16 on the CPU, slower than float32 on many CPUs) or `off`. Like
  another GPU model, float16 moves the last digits of a result, not its meaning.
- `AVEMO_BATCH_SIZE` (`--batch-size`): images per forward pass of inference (embed, eval_cross); default 8
  on the CPU (the fastest there: `python bench/embed.py --batch-sizes 4 8 16 32`), 64 on a GPU. On the CPU
  it moves the last digits of the features (oneDNN blocks its work by the batch), not their meaning.

Everything that does change results (the training batch size among them) stays in params.yaml.
"""

from __future__ import annotations

import os

from avemo.errors import UserError

AMP_MODES = ("off", "cuda", "always")


def _setting(name: str, default: str) -> str:
    return os.environ.get(name, "").strip() or default


def _count(name: str, text: str, low: int) -> int:
    try:
        value = int(text)
    except ValueError:
        value = low - 1
    if value < low:
        raise UserError(f"{name} must be an integer >= {low}, got {text!r}")
    return value


def default_jobs() -> int:
    """AVEMO_JOBS, or all cores when it is unset or 0."""
    return _count("AVEMO_JOBS", _setting("AVEMO_JOBS", "0"), 0) or os.cpu_count() or 1


def loader_workers(setting: str | int | None = None) -> int:
    """`setting` (a number or `auto`), else AVEMO_LOADER_WORKERS; `auto` is every core but one, at most 8."""
    text = str(setting if setting is not None else _setting("AVEMO_LOADER_WORKERS", "auto"))
    if text == "auto":
        return max(0, min(8, (os.cpu_count() or 1) - 1))
    return _count("AVEMO_LOADER_WORKERS (or --loader-workers: auto or a number)", text, 0)


def amp_mode(setting: str | None = None) -> str:
    """`setting`, else AVEMO_AMP: one of AMP_MODES."""
    mode = setting if setting is not None else _setting("AVEMO_AMP", "cuda")
    if mode not in AMP_MODES:
        raise UserError(f"AVEMO_AMP (or --amp) must be one of {', '.join(AMP_MODES)}, got {mode!r}")
    return mode


INFERENCE_BATCH_SIZE = {"cpu": 8, "cuda": 64}  # small batches stay in a CPU core's cache


def inference_batch_size(device_type: str = "cpu") -> int:
    """AVEMO_BATCH_SIZE, else INFERENCE_BATCH_SIZE for the device type (`cpu` or `cuda`)."""
    default = str(INFERENCE_BATCH_SIZE.get(device_type, INFERENCE_BATCH_SIZE["cuda"]))
    return _count("AVEMO_BATCH_SIZE", _setting("AVEMO_BATCH_SIZE", default), 1)

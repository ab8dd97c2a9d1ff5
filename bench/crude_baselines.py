"""Crude baselines: how much of a model's accuracy so simple a shortcut already reaches.

Two multinomial logistic regressions on the preprocessed data, one per modality, each trained per fold of a
split on the train part (inputs standardised by it, the weight decay of WEIGHT_DECAYS that scores best on
the fold's validation part) and scored on its test part:

- spectrogram statistics (the audio side): 5 global statistics of each log-Mel spectrogram of melspec/
  (voiced share, noise floor, mean level, mel centroid, mel spread);
- face thumbnail (the video side): each face crop of faces/ as a 16x16 grey thumbnail.

They exist as a shortcut check. A cue this crude (loudness, pitch range, the face's overall brightness and
layout) needs no encoder: where it already reaches a model's accuracy, the model may be reading the same
shortcut rather than the expression, and the margin between the two says how much the encoder's features add.
bench/ablation.py prints them beside the encoder's configurations (on the workspace's data/), and
bench/sample_stats.py beside the sample's models (on each split kind of its work folder).
"""

from __future__ import annotations

import avemo.kernels  # noqa: F401  (first: holds numpy's and torch's CPU kernels; see its docstring)

import contextlib
import time
from pathlib import Path

import numpy as np
import pandas as pd

VOICED_WITHIN_DB = 20.0  # a frame within this many dB of the clip's loudest frame counts as voiced
NOISE_FLOOR_PERCENTILE = 10  # of the frame levels
THUMBNAIL_SIDE = 16
WEIGHT_DECAYS = (1e-4, 1e-3, 1e-2, 1e-1, 1.0)  # the logistic regressions' L2 penalties tried on validation


def spectrogram_statistics(decibels: np.ndarray) -> np.ndarray:
    """5 global statistics of a log-Mel spectrogram (n_mels x frames, dB below the clip's peak): the voiced
    share of frames, the noise floor and the mean frame level (both in dB relative to the loudest frame),
    the power-weighted mean mel band (centroid) and its spread (sd), bands scaled to 0..1."""
    power = 10.0 ** (decibels.astype(np.float64) / 10.0)
    frame_levels = 10.0 * np.log10(power.mean(axis=0) + 1e-12)  # dB of each frame's mean power over the bands
    peak = frame_levels.max()
    band_weights = power.sum(axis=1) / power.sum()
    bands = np.linspace(0.0, 1.0, len(band_weights))
    centroid = float(band_weights @ bands)
    spread = float(np.sqrt(band_weights @ (bands - centroid) ** 2))
    return np.array(
        [
            float((frame_levels >= peak - VOICED_WITHIN_DB).mean()),
            float(np.percentile(frame_levels, NOISE_FLOOR_PERCENTILE) - peak),
            float(frame_levels.mean() - peak),
            centroid,
            spread,
        ]
    )


def face_thumbnail(path: Path) -> np.ndarray:
    """The face crop as a THUMBNAIL_SIDE x THUMBNAIL_SIDE grey image (box-averaged), 0..1, row by row."""
    from PIL import Image

    with Image.open(path) as image:
        grey = image.convert("L").resize((THUMBNAIL_SIDE, THUMBNAIL_SIDE), Image.Resampling.BOX)
    return np.asarray(grey, dtype=np.float64).ravel() / 255.0


def usable_features(folder: Path, suffix: str, features) -> pd.DataFrame:
    """`features(file)` of every clip that the per-clip stage of `folder` marked usable, a row per clip."""
    from avemo.preprocess.clipindex import USABLE, read_index

    index = read_index(folder)
    clips = index.loc[index["status"].isin(USABLE), "clip"].tolist()
    return pd.DataFrame([features(folder / f"{clip}{suffix}") for clip in clips], index=clips)


@contextlib.contextmanager
def one_thread():
    """torch on one thread while the fits run, its thread count restored after. Matrices of a few hundred rows:
    one thread is many times faster than several (which contend), and the sums come out the same whatever the
    machine's core count."""
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(threads)


def fit_logistic(inputs: np.ndarray, labels: np.ndarray, n_classes: int, weight_decay: float):
    """Multinomial logistic regression: mean cross-entropy + weight_decay / 2 x the squared weights (not the
    bias), minimised by L-BFGS in float64 from zero. The loss is convex and the start fixed, so the fit is the
    same on every run (no random start to seed)."""
    import torch

    x = torch.as_tensor(np.ascontiguousarray(inputs), dtype=torch.float64)
    y = torch.as_tensor(np.array(labels), dtype=torch.long)
    weights = torch.zeros(x.shape[1], n_classes, dtype=torch.float64, requires_grad=True)
    bias = torch.zeros(n_classes, dtype=torch.float64, requires_grad=True)
    optimiser = torch.optim.LBFGS(
        [weights, bias], max_iter=2000, tolerance_grad=1e-7, tolerance_change=1e-10, line_search_fn="strong_wolfe"
    )

    def loss():
        optimiser.zero_grad()
        value = torch.nn.functional.cross_entropy(x @ weights + bias, y) + weight_decay / 2 * (weights**2).sum()
        value.backward()
        return value

    optimiser.step(loss)
    return weights.detach().numpy(), bias.detach().numpy()


def baseline_predictions(features: pd.DataFrame, split: pd.DataFrame) -> tuple[pd.DataFrame, list[float]]:
    """Test predictions (fold, seed 0, clip, actor, true, predicted) of a logistic regression per fold on
    `features` (a row per clip), and the weight decay each fold chose on its validation part (the best
    accuracy; a tie goes to the larger decay, the simpler model)."""
    classes = sorted(split["emotion"].unique())
    code = {emotion: i for i, emotion in enumerate(classes)}
    frames, chosen = [], []
    for fold, rows in split[split["clip"].isin(features.index)].groupby("fold"):
        parts = {part: rows[rows["part"] == part] for part in ("train", "validation", "test")}
        inputs = {part: features.loc[table["clip"]].to_numpy() for part, table in parts.items()}
        labels = {part: table["emotion"].map(code).to_numpy() for part, table in parts.items()}
        mean, sd = inputs["train"].mean(axis=0), inputs["train"].std(axis=0)
        sd[sd < 1e-12] = 1.0  # a constant feature stays 0
        standard = {part: (values - mean) / sd for part, values in inputs.items()}
        best = None
        for weight_decay in WEIGHT_DECAYS:
            weights, bias = fit_logistic(standard["train"], labels["train"], len(classes), weight_decay)
            accuracy = float(((standard["validation"] @ weights + bias).argmax(axis=1) == labels["validation"]).mean())
            if best is None or accuracy >= best[0]:
                best = (accuracy, weight_decay, weights, bias)
        _, weight_decay, weights, bias = best
        chosen.append(weight_decay)
        test = parts["test"]
        frames.append(
            pd.DataFrame(
                {
                    "fold": fold,
                    "seed": 0,
                    "clip": test["clip"].to_numpy(),
                    "actor": test["actor"].to_numpy(),
                    "true": test["emotion"].to_numpy(),
                    "predicted": np.asarray(classes)[(standard["test"] @ weights + bias).argmax(axis=1)],
                }
            )
        )
    return pd.concat(frames, ignore_index=True), chosen


BASELINES = {  # name -> (inputs, per-clip folder, file suffix, features of one file)
    "spectrogram statistics": (
        "5 statistics of the spectrogram: voiced share, noise floor, mean level, mel centroid, mel spread",
        "melspec",
        ".npy",
        lambda path: spectrogram_statistics(np.load(path)),
    ),
    "face thumbnail": (
        f"the face crop as a {THUMBNAIL_SIDE}x{THUMBNAIL_SIDE} grey thumbnail ({THUMBNAIL_SIDE**2} values)",
        "faces",
        ".png",
        face_thumbnail,
    ),
}


def run_baselines(split: pd.DataFrame, data: Path, n_boot: int, seed: int) -> list[dict]:
    """Both baselines on `split`, from the per-clip folders of `data` (melspec/, faces/): per baseline its
    name, inputs, summary of the test predictions (avemo.evaluation.statistics' summarise), the weight decay
    each fold chose and the seconds it took."""
    from avemo.evaluation.statistics import summarise

    classes = sorted(split["emotion"].unique())
    results = []
    with one_thread():
        for name, (inputs, folder, suffix, features) in BASELINES.items():
            started = time.perf_counter()
            predictions, chosen = baseline_predictions(usable_features(Path(data) / folder, suffix, features), split)
            results.append(
                {
                    "name": name,
                    "inputs": inputs,
                    "summary": summarise(predictions, classes, n_boot, seed),
                    "weight_decays": chosen,
                    "seconds": time.perf_counter() - started,
                }
            )
    return results

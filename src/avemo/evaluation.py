"""Scoring predictions: accuracy, macro-F1, unweighted average recall, per-class recall, a bootstrap
interval for accuracy, confusion rows for DVC plots, and the human raters' accuracy from CREMA-D's
summaryTable.csv.

Labels are class codes (ANG, HAP, ...). Macro-F1 averages the F1 of every class that occurs among
the true or the predicted labels (a class never predicted scores F1 0); UAR averages the recall of
every class that occurs among the true labels. The 95% interval of accuracy is the percentile
bootstrap over clips (`n_boot` resamples with replacement, seeded).

Human raters: summaryTable.csv holds, for every clip, the majority vote of the voice-only
(`VoiceVote`), face-only (`FaceVote`) and audio-visual (`MultiModalVote`) raters as emotion letters
A, D, F, H, N, S; a tie lists the tied letters (e.g. `N:S`). A vote is compared with the intended
emotion (the clip name's); a tie that includes it counts 1/k (k tied letters), the expected score of
breaking the tie at random. Raters chose among all six emotions, whatever subset the models learn.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

VOTE_LETTERS = {"A": "ANG", "D": "DIS", "F": "FEA", "H": "HAP", "N": "NEU", "S": "SAD"}
RATER_GROUPS = {"voice": "VoiceVote", "face": "FaceVote", "audio_visual": "MultiModalVote"}


def _as_array(labels) -> np.ndarray:
    return np.asarray([str(x) for x in labels], dtype=object)


def per_class_recall(y_true, y_pred, classes) -> dict[str, float | None]:
    """Recall of every class (None for a class with no true example)."""
    y_true, y_pred = _as_array(y_true), _as_array(y_pred)
    recalls = {}
    for c in classes:
        mask = y_true == c
        recalls[str(c)] = float((y_pred[mask] == c).mean()) if mask.any() else None
    return recalls


def macro_f1(y_true, y_pred, classes) -> float:
    y_true, y_pred = _as_array(y_true), _as_array(y_pred)
    scores = []
    for c in classes:
        tp = float(((y_true == c) & (y_pred == c)).sum())
        true_n, pred_n = float((y_true == c).sum()), float((y_pred == c).sum())
        if true_n == 0 and pred_n == 0:
            continue  # a class absent from both does not count
        scores.append(2 * tp / (true_n + pred_n))
    return float(np.mean(scores)) if scores else 0.0


def bootstrap_accuracy_ci(y_true, y_pred, n_boot: int = 1000, seed: int = 0, level: float = 0.95) -> list[float]:
    """Percentile bootstrap interval of accuracy over clips, [low, high]."""
    correct = (_as_array(y_true) == _as_array(y_pred)).astype(float)
    if correct.size == 0:
        return [float("nan"), float("nan")]
    rng = np.random.default_rng(seed)
    resampled = correct[rng.integers(0, correct.size, size=(int(n_boot), correct.size))].mean(axis=1)
    tail = (1.0 - level) / 2 * 100
    low, high = np.percentile(resampled, [tail, 100 - tail])
    return [float(low), float(high)]


def confusion_matrix(y_true, y_pred, classes) -> list[list[int]]:
    """Counts, rows = true class, columns = predicted class, both in the order of `classes`."""
    y_true, y_pred = _as_array(y_true), _as_array(y_pred)
    return [[int(((y_true == t) & (y_pred == p)).sum()) for p in classes] for t in classes]


def score(y_true, y_pred, classes, n_boot: int = 1000, seed: int = 0) -> dict:
    """Every metric of one evaluation, as JSON-ready values."""
    y_true, y_pred = _as_array(y_true), _as_array(y_pred)
    if y_true.shape != y_pred.shape:
        raise ValueError(f"{y_true.size} true labels but {y_pred.size} predictions")
    recalls = per_class_recall(y_true, y_pred, classes)
    present = [r for r in recalls.values() if r is not None]
    return {
        "n": int(y_true.size),
        "accuracy": float((y_true == y_pred).mean()) if y_true.size else float("nan"),
        "macro_f1": macro_f1(y_true, y_pred, classes),
        "uar": float(np.mean(present)) if present else float("nan"),
        "accuracy_ci95": bootstrap_accuracy_ci(y_true, y_pred, n_boot, seed),
        "per_class_recall": recalls,
        "confusion_matrix": {"classes": [str(c) for c in classes], "counts": confusion_matrix(y_true, y_pred, classes)},
    }


# --- human raters --------------------------------------------------------------------------------


def read_ratings(path: str | Path) -> pd.DataFrame:
    """CREMA-D's summaryTable.csv as a frame indexed by clip name, with the three vote columns."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"ratings file not found: {path} (params.yaml eval.ratings)")
    table = pd.read_csv(path, dtype=str, keep_default_na=False)
    needed = {"FileName", *RATER_GROUPS.values()}
    if not needed <= set(table.columns):
        raise ValueError(f"{path}: expected CREMA-D summaryTable columns {sorted(needed)}, got {list(table.columns)}")
    return table.drop_duplicates("FileName").set_index("FileName")[list(RATER_GROUPS.values())]


def vote_credit(vote: str, intended: str) -> float:
    """1 if the majority vote is the intended emotion, 1/k for a k-way tie that includes it, else 0."""
    letters = [v.strip() for v in str(vote).split(":") if v.strip()]
    unknown = [v for v in letters if v not in VOTE_LETTERS]
    if not letters or unknown:
        raise ValueError(f"unreadable vote {vote!r}; expected letters of {sorted(VOTE_LETTERS)} joined by ':'")
    emotions = [VOTE_LETTERS[v] for v in letters]
    return emotions.count(intended) / len(emotions)


def human_accuracy(ratings: pd.DataFrame, clips, emotions) -> dict:
    """Accuracy of each rater group on `clips` (intended emotions `emotions`), and how many were rated."""
    frame = pd.DataFrame({"clip": [str(c) for c in clips], "emotion": [str(e) for e in emotions]})
    rated = frame[frame["clip"].isin(ratings.index)]
    result: dict = {"clips": len(frame), "clips_rated": len(rated), "clips_not_rated": len(frame) - len(rated)}
    for group, column in RATER_GROUPS.items():
        credits = [vote_credit(ratings.at[c, column], e) for c, e in zip(rated["clip"], rated["emotion"])]
        result[group] = {"accuracy": float(np.mean(credits)) if credits else None, "n": len(credits)}
    return result

"""Scoring predictions: accuracy, macro-F1, unweighted average recall, per-class recall, confusion
matrices, intervals and tests for repeated evaluation.

Labels are class codes (ANG, HAP, ...). Macro-F1 averages the F1 of every class that occurs among
the true or the predicted labels (a class never predicted scores F1 0); UAR averages the recall of
every class that occurs among the true labels.

Repeated evaluation (folds x seeds; see `summarise`): a figure is the mean over the repeats, with its
standard deviation. Its 95% interval is a percentile bootstrap over ACTORS of the pooled test
predictions (clips of one actor are correlated, so resampling clips would give too narrow an
interval); at an accuracy of exactly 0 or 1 (where every resample agrees) it is the exact
Clopper-Pearson interval over the distinct test clips instead, so no interval has zero width. A
result is compared with chance (1 / classes) by an exact binomial test on the first seed's
predictions (every test clip once). The AV model is compared with the better single-modality model by
McNemar's exact test on the clip-by-clip discordant pairs, paired within each repeat and pooled over
repeats (pairs of different seeds share clips, so the p-value leans optimistic; the actor-bootstrap
interval of the difference is given beside it).
"""

from __future__ import annotations

import numpy as np
import pandas as pd


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


def confusion_matrix(y_true, y_pred, classes) -> list[list[int]]:
    """Counts, rows = true class, columns = predicted class, both in the order of `classes`."""
    y_true, y_pred = _as_array(y_true), _as_array(y_pred)
    return [[int(((y_true == t) & (y_pred == p)).sum()) for p in classes] for t in classes]


def score(y_true, y_pred, classes) -> dict:
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
        "per_class_recall": recalls,
        "confusion_matrix": {"classes": [str(c) for c in classes], "counts": confusion_matrix(y_true, y_pred, classes)},
    }


# --- repeated evaluation -------------------------------------------------------------------------


def clopper_pearson(correct: int, n: int, level: float = 0.95) -> list[float]:
    """The exact binomial interval of a proportion correct / n."""
    from scipy.stats import binomtest

    interval = binomtest(int(correct), int(n)).proportion_ci(confidence_level=level, method="exact")
    return [float(interval.low), float(interval.high)]


def actor_bootstrap(values_by_actor: dict, statistic, n_boot: int, seed: int) -> np.ndarray:
    """`statistic` of the rows of `n_boot` resamples of the actors (with replacement); `values_by_actor`
    maps each actor to an array of its rows (pooled over repeats)."""
    actors = list(values_by_actor)
    rng = np.random.default_rng(seed)
    draws = rng.integers(0, len(actors), size=(int(n_boot), len(actors)))
    return np.array([statistic(np.concatenate([values_by_actor[actors[i]] for i in draw])) for draw in draws])


def percentile_interval(samples: np.ndarray, level: float = 0.95) -> list[float]:
    tail = (1.0 - level) / 2 * 100
    low, high = np.percentile(samples, [tail, 100 - tail])
    return [float(low), float(high)]


def accuracy_interval(predictions: pd.DataFrame, n_boot: int, seed: int) -> list[float]:
    """95% interval of accuracy from pooled predictions (columns actor, clip, correct): the actor
    bootstrap, or, when every resample agrees (accuracy 0 or 1, or a single actor), Clopper-Pearson
    over the distinct clips."""
    by_actor = {a: rows["correct"].to_numpy(dtype=float) for a, rows in predictions.groupby("actor")}
    interval = percentile_interval(actor_bootstrap(by_actor, np.mean, n_boot, seed))
    if interval[1] - interval[0] > 0:
        return interval
    clips = predictions.groupby("clip")["correct"].mean()
    return clopper_pearson(round(float(clips.sum())), len(clips))


def chance_p_value(correct: int, n: int, n_classes: int) -> float:
    """Two-sided exact binomial test of `correct` of `n` against chance, 1 / n_classes."""
    from scipy.stats import binomtest

    return float(binomtest(int(correct), int(n), 1.0 / n_classes).pvalue)


def mcnemar_p_value(first_only: int, second_only: int) -> float:
    """McNemar's exact test: two-sided binomial test of the discordant pairs (right for one model only)."""
    from scipy.stats import binomtest

    discordant = int(first_only) + int(second_only)
    return float(binomtest(int(first_only), discordant, 0.5).pvalue) if discordant else 1.0


CHANCE_LEVEL = 0.05  # below this p-value, a result differs from chance


def format_p(p: float, decimals: int = 3) -> str:
    """A p-value for a table: `decimals` decimals, or `< 0.001`."""
    return "< 0.001" if p < 0.001 else f"{p:.{decimals}f}"


def chance_verdict(accuracy: float, p_value: float, n_classes: int) -> str:
    """`above` or `below` chance (1 / n_classes) when the test against chance says so, else `not distinguishable`."""
    if p_value >= CHANCE_LEVEL:
        return "not distinguishable"
    return "above" if accuracy > 1 / n_classes else "below"


def summarise(predictions: pd.DataFrame, classes: list[str], n_boot: int = 1000, seed: int = 0) -> dict:
    """Figures of one comparison from its predictions over all repeats (columns fold, seed, clip,
    actor, true, predicted): means over repeats, their std, the interval, a test against chance."""
    predictions = predictions.assign(correct=predictions["true"] == predictions["predicted"])
    per_repeat = []
    for _, rows in predictions.groupby(["fold", "seed"]):
        scores = score(rows["true"], rows["predicted"], classes)
        per_repeat.append((scores["accuracy"], scores["macro_f1"], scores["uar"], len(rows)))
    accuracy, f1, uar, n = (np.array(v, dtype=float) for v in zip(*per_repeat))
    first_seed = predictions[predictions["seed"] == predictions["seed"].min()]
    return {
        "accuracy": float(accuracy.mean()),
        "accuracy_std": float(accuracy.std(ddof=1)) if len(accuracy) > 1 else 0.0,
        "accuracy_ci95": accuracy_interval(predictions, n_boot, seed),
        "macro_f1": float(f1.mean()),
        "uar": float(uar.mean()),
        "repeats": len(per_repeat),
        "n": float(n.mean()),
        "chance_p_value": chance_p_value(int(first_seed["correct"].sum()), len(first_seed), len(classes)),
    }


def paired_difference(first: pd.DataFrame, second: pd.DataFrame, n_boot: int = 1000, seed: int = 0) -> dict:
    """`first` minus `second` (predictions of two models on the same clips of the same repeats): the mean
    accuracy difference over repeats, McNemar's p-value and the actor-bootstrap interval of the difference."""
    keys = ["fold", "seed", "clip"]
    both = first.merge(second, on=keys, suffixes=("_1", "_2"), validate="one_to_one")
    right_1 = (both["true_1"] == both["predicted_1"]).to_numpy()
    right_2 = (both["true_2"] == both["predicted_2"]).to_numpy()
    both = both.assign(difference=right_1.astype(float) - right_2.astype(float))
    per_repeat = both.groupby(["fold", "seed"])["difference"].mean()
    by_actor = {a: rows["difference"].to_numpy() for a, rows in both.groupby("actor_1")}
    return {
        "difference": float(per_repeat.mean()),
        "difference_ci95": percentile_interval(actor_bootstrap(by_actor, np.mean, n_boot, seed)),
        "p_value": mcnemar_p_value(int((right_1 & ~right_2).sum()), int((~right_1 & right_2).sum())),
        "pairs": len(both),
    }

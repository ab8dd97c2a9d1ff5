"""Scoring predictions: accuracy, macro-F1, unweighted average recall, per-class recall, confusion
matrices, intervals and tests for repeated evaluation.

Labels are class codes (ANG, HAP, ...). Macro-F1 averages the F1 of every class that occurs among
the true or the predicted labels (a class never predicted scores F1 0); UAR averages the recall of
every class that occurs among the true labels.

Repeated evaluation (folds x seeds; see `summarise`): a figure is the mean over the repeats, with its
standard deviation. Intervals and tests take the ACTOR as their unit: clips of one actor are correlated,
and the predictions of one clip by the models of two training seeds are not two independent
observations, so every actor contributes one value, its figure over all its test rows (its clips, each
once per seed, in the fold where it is test), and the seeds and folds stay inside that value.
Means over actors are clip-weighted (an actor counts by its number of test rows), so they are the
pooled figures (the table's means over repeats where the repeats' test parts are of one size); CREMA-D's
actors have nearly equal clip counts, the sample's equal ones.

- The 95% interval of an accuracy is a percentile bootstrap over actors (each resample draws whole
  actors, all their clips and seeds together); at an accuracy of exactly 0 or 1 (where every resample
  agrees) it is the exact Clopper-Pearson interval over the distinct test clips, so no interval has
  zero width.
- The test against chance (1 / classes) is a sign-flip permutation test of the actors' accuracies
  minus chance (`actor_chance_p_value`); the AV model is compared with the better single-modality model
  by the same test of the actors' paired accuracy differences (`paired_difference`), with the
  actor-bootstrap interval of the difference. Why a sign-flip test (`sign_flip_p_value`): it tests the
  very statistic reported (the clip-weighted mean over actors), needs no normality (per-actor
  accuracies are bounded and often tied at 0 or 1, where a t-test's variance can be zero), handles
  actors with no difference (they add nothing) where Wilcoxon's signed-rank test must drop or rank
  zeros, and is exact when the actors are few. For the paired comparison its null hypothesis is
  exactly "the two models are exchangeable within each actor": flipping an actor's sign swaps the two
  models on all of its clips and seeds at once. For chance it assumes each actor's deviation from
  chance symmetric under the null, which is close for the dozen-plus clips an actor has here.
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


def actor_totals(values, actors) -> tuple[np.ndarray, np.ndarray]:
    """Per actor (in sorted order): the sum of `values` over its rows and its number of rows. An actor's
    rows are all of its test predictions, over clips, folds and seeds: the unit of the intervals and tests."""
    grouped = pd.Series(np.asarray(values, dtype=float)).groupby(np.asarray(actors)).agg(["sum", "count"])
    return grouped["sum"].to_numpy(dtype=float), grouped["count"].to_numpy(dtype=float)


def actor_bootstrap(sums: np.ndarray, counts: np.ndarray, n_boot: int, seed: int) -> np.ndarray:
    """The clip-weighted mean of `n_boot` resamples of the actors (with replacement), each actor drawn with
    all of its rows (`sums` and `counts` from actor_totals)."""
    rng = np.random.default_rng(seed)
    draws = rng.integers(0, len(sums), size=(int(n_boot), len(sums)))
    return sums[draws].sum(axis=1) / counts[draws].sum(axis=1)


EXACT_UP_TO = 16  # actors: up to this many, the sign-flip test enumerates all 2**n sign patterns
PERMUTATIONS = 10_000  # sign patterns drawn (with the given seed) for more actors: p-values down to 1e-4


def sign_flip_p_value(sums: np.ndarray, counts: np.ndarray, seed: int) -> float:
    """Two-sided sign-flip permutation test that the clip-weighted mean over actors of a per-actor value
    (`sums` / `counts`: its sum and rows per actor, from actor_totals) is 0, the actors being independent
    and each one's value symmetric about 0 under the null. Exact (every sign pattern) for up to
    EXACT_UP_TO actors; otherwise Monte-Carlo with PERMUTATIONS patterns drawn with `seed`, p = (1 +
    patterns at least as extreme) / (1 + PERMUTATIONS), the observed pattern counted among them so that
    the test keeps its level. The weights (`counts`) are the same in every pattern, so the test compares
    the weighted sums."""
    actors = len(sums)
    if actors <= EXACT_UP_TO:
        patterns = (np.arange(2**actors)[:, None] >> np.arange(actors)) & 1  # the bits of 0 .. 2**n - 1
    else:
        patterns = np.random.default_rng(seed).integers(0, 2, size=(PERMUTATIONS, actors))
    flipped = np.abs((1 - 2 * patterns) @ sums)
    observed = abs(float(sums.sum()))
    as_extreme = int((flipped >= observed - 1e-9 * max(1.0, float(counts.sum()))).sum())  # float ties count
    if actors <= EXACT_UP_TO:
        return as_extreme / len(patterns)
    return (1 + as_extreme) / (1 + len(patterns))


def percentile_interval(samples: np.ndarray, level: float = 0.95) -> list[float]:
    tail = (1.0 - level) / 2 * 100
    low, high = np.percentile(samples, [tail, 100 - tail])
    return [float(low), float(high)]


def accuracy_interval(predictions: pd.DataFrame, n_boot: int, seed: int) -> list[float]:
    """95% interval of accuracy from pooled predictions (columns actor, clip, correct): the actor
    bootstrap, or, when every resample agrees (accuracy 0 or 1, or a single actor), Clopper-Pearson
    over the distinct clips."""
    sums, counts = actor_totals(predictions["correct"], predictions["actor"])
    interval = percentile_interval(actor_bootstrap(sums, counts, n_boot, seed))
    if interval[1] - interval[0] > 0:
        return interval
    clips = predictions.groupby("clip")["correct"].mean()
    return clopper_pearson(round(float(clips.sum())), len(clips))


def chance_p_value(correct: int, n: int, n_classes: int) -> float:
    """Two-sided exact binomial test of `correct` of `n` independent trials against chance, 1 / n_classes.
    Right for independent clips only (each once, no two of one actor); eval_cross uses actor_chance_p_value."""
    from scipy.stats import binomtest

    return float(binomtest(int(correct), int(n), 1.0 / n_classes).pvalue)


def actor_chance_p_value(correct, actors, n_classes: int, seed: int = 0) -> float:
    """The test against chance at the level of the actor: `correct` (one bool a prediction) and `actors`
    (its actor) over every fold and seed; each actor's accuracy minus 1 / n_classes by sign_flip_p_value."""
    sums, counts = actor_totals(correct, actors)
    return sign_flip_p_value(sums - counts / n_classes, counts, seed)


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
    actor, true, predicted): means over repeats, their std, the interval, the test against chance and the
    number of test actors (the unit of both)."""
    predictions = predictions.assign(correct=predictions["true"] == predictions["predicted"])
    per_repeat = []
    for _, rows in predictions.groupby(["fold", "seed"]):
        scores = score(rows["true"], rows["predicted"], classes)
        per_repeat.append((scores["accuracy"], scores["macro_f1"], scores["uar"], len(rows)))
    accuracy, f1, uar, n = (np.array(v, dtype=float) for v in zip(*per_repeat))
    return {
        "accuracy": float(accuracy.mean()),
        "accuracy_std": float(accuracy.std(ddof=1)) if len(accuracy) > 1 else 0.0,
        "accuracy_ci95": accuracy_interval(predictions, n_boot, seed),
        "macro_f1": float(f1.mean()),
        "uar": float(uar.mean()),
        "repeats": len(per_repeat),
        "n": float(n.mean()),
        "actors": int(predictions["actor"].nunique()),
        "chance_p_value": actor_chance_p_value(predictions["correct"], predictions["actor"], len(classes), seed),
    }


def paired_difference(first: pd.DataFrame, second: pd.DataFrame, n_boot: int = 1000, seed: int = 0) -> dict:
    """`first` minus `second`, predictions of two models on the same clips of the same repeats (columns
    fold, seed, clip, actor, true, predicted), paired clip by clip within each repeat and compared at the
    level of the actor: each actor's accuracy difference over all its clips and seeds, their clip-weighted
    mean over actors (`difference`: the pooled accuracy difference on the paired clips), its actor-bootstrap
    95% interval, the sign-flip test's p-value (see the module docstring), and the numbers of actors and
    distinct clips paired."""
    keys = ["fold", "seed", "clip"]
    both = first.merge(second, on=keys, suffixes=("_1", "_2"), validate="one_to_one")
    right_1 = (both["true_1"] == both["predicted_1"]).to_numpy(dtype=float)
    right_2 = (both["true_2"] == both["predicted_2"]).to_numpy(dtype=float)
    sums, counts = actor_totals(right_1 - right_2, both["actor_1"])
    return {
        "difference": float(sums.sum() / counts.sum()),
        "difference_ci95": percentile_interval(actor_bootstrap(sums, counts, n_boot, seed)),
        "p_value": sign_flip_p_value(sums, counts, seed),
        "actors": len(sums),
        "clips": int(both["clip"].nunique()),
    }

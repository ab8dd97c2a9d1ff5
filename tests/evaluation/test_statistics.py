"""avemo.evaluation.statistics: metrics on hand-made predictions, intervals and tests for repeated evaluation."""

import numpy as np
import pandas as pd
import pytest

from avemo.evaluation.statistics import (
    accuracy_interval,
    chance_p_value,
    clopper_pearson,
    confusion_matrix,
    macro_f1,
    mcnemar_p_value,
    paired_difference,
    score,
    summarise,
)

CLASSES = ["ANG", "HAP", "SAD"]
# 10 clips: ANG 4 (3 right), HAP 3 (all right), SAD 3 (1 right); 7 of 10 right.
TRUE = ["ANG", "ANG", "ANG", "ANG", "HAP", "HAP", "HAP", "SAD", "SAD", "SAD"]
PRED = ["ANG", "ANG", "ANG", "HAP", "HAP", "HAP", "HAP", "SAD", "ANG", "HAP"]


def test_scores_of_hand_made_predictions():
    result = score(TRUE, PRED, CLASSES)
    assert result["n"] == 10
    assert result["accuracy"] == pytest.approx(0.7)
    assert result["per_class_recall"] == pytest.approx({"ANG": 0.75, "HAP": 1.0, "SAD": 1 / 3})
    assert result["uar"] == pytest.approx((0.75 + 1.0 + 1 / 3) / 3)
    # F1: ANG 2*3/(4+4) = 0.75, HAP 2*3/(3+5) = 0.75, SAD 2*1/(3+1) = 0.5
    assert result["macro_f1"] == pytest.approx((0.75 + 0.75 + 0.5) / 3)
    assert result["confusion_matrix"] == {"classes": CLASSES, "counts": [[3, 1, 0], [0, 3, 0], [1, 1, 1]]}


def test_a_class_never_predicted_scores_f1_zero_and_an_absent_class_does_not_count():
    assert macro_f1(["ANG", "HAP"], ["ANG", "ANG"], CLASSES) == pytest.approx((2 / 3 + 0.0) / 2)
    result = score(["ANG", "HAP"], ["ANG", "ANG"], CLASSES)
    assert result["per_class_recall"]["SAD"] is None and result["uar"] == pytest.approx(0.5)


def test_confusion_matrix_rows_are_true_classes():
    assert confusion_matrix(["ANG", "SAD"], ["SAD", "SAD"], CLASSES) == [[0, 0, 1], [0, 0, 0], [0, 0, 1]]


def test_exact_binomial_interval_at_zero_and_one():
    assert clopper_pearson(54, 54)[0] == pytest.approx(0.025 ** (1 / 54), abs=1e-9)  # [.934, 1]
    assert clopper_pearson(54, 54)[1] == 1.0
    low, high = clopper_pearson(0, 54)
    assert low == 0.0 and high == pytest.approx(1 - 0.025 ** (1 / 54), abs=1e-9)


def predictions(correct_by_actor: dict[int, list[bool]], folds: int = 1, seeds=(0,)) -> pd.DataFrame:
    """Pooled predictions: each actor's clips right or wrong as given, in every fold and seed."""
    rows = []
    for fold in range(folds):
        for seed in seeds:
            for actor, outcomes in correct_by_actor.items():
                for i, right in enumerate(outcomes):
                    rows.append(
                        {
                            "fold": fold,
                            "seed": seed,
                            "clip": f"{actor}_{i}",
                            "actor": actor,
                            "true": "ANG",
                            "predicted": "ANG" if right else "SAD",
                        }
                    )
    return pd.DataFrame(rows)


def test_all_right_gives_the_exact_interval_never_a_zero_width_one():
    all_right = predictions({a: [True] * 9 for a in range(1001, 1007)}).assign(correct=True)
    assert accuracy_interval(all_right, n_boot=200, seed=0) == pytest.approx([0.025 ** (1 / 54), 1.0])


def test_the_interval_resamples_actors_so_a_clustered_result_is_wider():
    # 12 actors, 6 clips each, 50% right overall: clustered (actors all right or all wrong) vs mixed.
    clustered = predictions({1000 + a: [a % 2 == 0] * 6 for a in range(12)}).assign(
        correct=lambda d: d.true == d.predicted
    )
    mixed = predictions({1000 + a: [True, False] * 3 for a in range(12)}).assign(
        correct=lambda d: d.true == d.predicted
    )
    wide, narrow = accuracy_interval(clustered, 500, 0), accuracy_interval(mixed, 500, 0)
    assert wide[0] < 0.3 and wide[1] > 0.7  # 12 independent actors, not 72 independent clips
    assert narrow[1] - narrow[0] < 0.5 * (wide[1] - wide[0])


def test_summary_is_a_mean_over_repeats_with_its_spread():
    first = predictions({1001: [True, True], 1002: [True, False]}, folds=1, seeds=(0,))
    second = predictions({1001: [False, False], 1002: [True, False]}, folds=1, seeds=(1,))
    result = summarise(pd.concat([first, second]), ["ANG", "SAD"], n_boot=100)
    assert result["accuracy"] == pytest.approx((0.75 + 0.25) / 2)
    assert result["accuracy_std"] == pytest.approx(np.std([0.75, 0.25], ddof=1))
    assert result["repeats"] == 2 and result["n"] == 4
    assert result["chance_p_value"] == pytest.approx(chance_p_value(3, 4, 2))  # the first seed's predictions


def test_chance_test_and_mcnemar_on_constructed_cases():
    assert chance_p_value(27, 54, 3) == pytest.approx(0.0131, abs=5e-4)  # the video-on-spectrograms case
    assert chance_p_value(18, 54, 3) == pytest.approx(1.0)
    assert mcnemar_p_value(10, 0) == pytest.approx(2 * 0.5**10)  # 10 discordant pairs, all for one model
    assert mcnemar_p_value(5, 5) == pytest.approx(1.0)
    assert mcnemar_p_value(0, 0) == 1.0


def test_paired_difference_pairs_clips_within_each_repeat():
    actors = range(1001, 1011)
    av = predictions({a: [True, True, True] for a in actors}, folds=2)
    single = predictions({a: [True, True, a % 2 == 0] for a in actors}, folds=2)
    result = paired_difference(av, single, n_boot=200)
    assert result["difference"] == pytest.approx(5 / 30)  # 5 of the 30 clips of each fold only AV gets right
    assert result["p_value"] == pytest.approx(mcnemar_p_value(10, 0))  # 2 folds x 5 discordant pairs
    assert result["pairs"] == 60 and 0 < result["difference_ci95"][0] <= result["difference_ci95"][1]

"""avemo.evaluation.statistics: metrics on hand-made predictions, intervals and tests for repeated evaluation."""

import numpy as np
import pandas as pd
import pytest

from avemo.evaluation.statistics import (
    EXACT_UP_TO,
    PERMUTATIONS,
    accuracy_interval,
    actor_chance_p_value,
    actor_totals,
    chance_p_value,
    clopper_pearson,
    confusion_matrix,
    macro_f1,
    paired_difference,
    score,
    sign_flip_p_value,
    summarise,
)
from avemo.files import rounded

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
    both = pd.concat([first, second])
    result = summarise(both, ["ANG", "SAD"], n_boot=100)
    assert result["accuracy"] == pytest.approx((0.75 + 0.25) / 2)
    assert result["accuracy_std"] == pytest.approx(np.std([0.75, 0.25], ddof=1))
    assert result["repeats"] == 2 and result["n"] == 4 and result["actors"] == 2
    # actor 1001 at 2/4, actor 1002 at 2/4 over both seeds: both at chance (1/2), nothing to tell from it
    assert result["chance_p_value"] == 1.0


def test_the_binomial_chance_test_of_independent_clips_stays_for_the_benchmark():
    assert chance_p_value(27, 54, 3) == pytest.approx(0.0131, abs=5e-4)
    assert chance_p_value(18, 54, 3) == pytest.approx(1.0)


def outcomes(predictions_frame: pd.DataFrame) -> pd.Series:
    return predictions_frame["true"] == predictions_frame["predicted"]


def test_the_sign_flip_test_is_exact_for_few_actors_and_seeded_for_many():
    # 10 actors all one way: only the two all-same-sign patterns of 2**10 are as extreme
    assert sign_flip_p_value(np.ones(10), np.ones(10), seed=0) == pytest.approx(2 / 2**10)
    assert sign_flip_p_value(np.zeros(10), np.ones(10), seed=0) == 1.0  # no difference anywhere
    # 9 for, 1 against: patterns with |sum| >= 8 are the 2 + 2 * 10 with at most one sign off
    assert sign_flip_p_value(np.array([1.0] * 9 + [-1.0]), np.ones(10), seed=0) == pytest.approx(22 / 2**10)
    many = EXACT_UP_TO + 10
    assert sign_flip_p_value(np.ones(many), np.ones(many), seed=0) == pytest.approx(1 / (1 + PERMUTATIONS))
    values = np.random.default_rng(1).normal(0.1, 1, many)
    p = sign_flip_p_value(values, np.ones(many), seed=3)
    assert p == sign_flip_p_value(values, np.ones(many), seed=3) and 0 < p <= 1  # the same inputs, the same p


def test_right_on_every_clip_of_ten_actors_is_above_chance_and_at_chance_is_not():
    actors = range(1001, 1011)
    right = predictions({a: [True] * 6 for a in actors}, seeds=(0, 1))
    assert actor_chance_p_value(outcomes(right), right["actor"], 3) < 0.01
    # every actor right on 1 or 3 of its 6 clips (1/6 or 1/2), chance (1/3) on average and no actor-wide lean
    at_chance = predictions({a: [True] * (1 if a % 2 else 3) + [False] * (5 if a % 2 else 3) for a in actors})
    assert actor_chance_p_value(outcomes(at_chance), at_chance["actor"], 3) > 0.2
    # the old binomial test on the same clips counts 60 clips as 60 independent trials
    hits = int(outcomes(at_chance).sum())
    assert chance_p_value(hits, len(at_chance), 3) > 0.2


def test_per_actor_totals_pool_the_clips_and_seeds_of_each_actor():
    sums, counts = actor_totals([1, 0, 1, 1, 0], [1002, 1001, 1001, 1002, 1001])
    assert list(sums) == [1.0, 2.0] and list(counts) == [3.0, 2.0]  # actors in sorted order


def test_paired_difference_pairs_clips_within_each_repeat_and_tests_actors():
    actors = range(1001, 1011)
    av = predictions({a: [True, True, True] for a in actors}, folds=2)
    single = predictions({a: [True, True, a % 2 == 0] for a in actors}, folds=2)
    result = paired_difference(av, single, n_boot=200)
    assert result["difference"] == pytest.approx(5 / 30)  # 5 of the 30 clips of each fold only AV gets right
    # 5 actors gain 1/3, 5 gain nothing: the exact test over the 5 (the other 5 add nothing) gives 2 / 2**5
    assert result["p_value"] == pytest.approx(2 / 2**5)
    assert result["actors"] == 10 and result["clips"] == 30
    assert 0 < result["difference_ci95"][0] <= result["difference_ci95"][1]


def test_a_second_seed_of_the_same_predictions_is_not_counted_as_more_evidence():
    first = {a: [True, a % 3 != 0, a % 4 != 0, True] for a in range(1001, 1013)}
    second = {a: [a % 2 == 0, a % 3 == 0, True, False] for a in range(1001, 1013)}
    once = paired_difference(predictions(first), predictions(second), n_boot=300)
    twice = paired_difference(predictions(first, seeds=(0, 1)), predictions(second, seeds=(0, 1)), n_boot=300)
    # the same difference, interval and p-value, actors and clips, as eval_cross.json writes them
    assert rounded(twice) == rounded(once) and once["p_value"] < 0.05
    one_seed, two_seeds = predictions(first), predictions(first, seeds=(0, 1))
    assert actor_chance_p_value(outcomes(two_seeds), two_seeds["actor"], 3) == actor_chance_p_value(
        outcomes(one_seed), one_seed["actor"], 3
    )
    assert summarise(two_seeds, ["ANG", "SAD"], 300)["accuracy_ci95"] == pytest.approx(
        summarise(one_seed, ["ANG", "SAD"], 300)["accuracy_ci95"]
    )


def test_a_difference_clustered_in_few_actors_is_less_certain_than_one_spread_over_many():
    # 12 actors x 6 clips; the second model misses 12 clips the first gets right: those of 2 actors, or 1 of each
    actors = range(1001, 1013)
    first = predictions({a: [True] * 6 for a in actors})
    clustered = paired_difference(first, predictions({a: [a > 1002] * 6 for a in actors}), n_boot=500)
    spread = paired_difference(first, predictions({a: [False] + [True] * 5 for a in actors}), n_boot=500)
    assert clustered["difference"] == spread["difference"] == pytest.approx(12 / 72)
    width = {name: r["difference_ci95"][1] - r["difference_ci95"][0] for name, r in (("c", clustered), ("s", spread))}
    assert width["c"] > width["s"]
    assert spread["p_value"] < 0.01 < 0.2 < clustered["p_value"]

"""Metrics on hand-made predictions, the bootstrap interval and the human raters' baseline."""

import pandas as pd
import pytest

from avemo.evaluation import bootstrap_accuracy_ci, confusion_matrix, human_accuracy, macro_f1, read_ratings, score, vote_credit

CLASSES = ["ANG", "HAP", "SAD"]
# 10 clips: ANG 4 (3 right), HAP 3 (all right), SAD 3 (1 right); 7 of 10 right.
TRUE = ["ANG", "ANG", "ANG", "ANG", "HAP", "HAP", "HAP", "SAD", "SAD", "SAD"]
PRED = ["ANG", "ANG", "ANG", "HAP", "HAP", "HAP", "HAP", "SAD", "ANG", "HAP"]


def test_scores_of_hand_made_predictions():
    result = score(TRUE, PRED, CLASSES, n_boot=500, seed=0)
    assert result["n"] == 10
    assert result["accuracy"] == pytest.approx(0.7)
    assert result["per_class_recall"] == pytest.approx({"ANG": 0.75, "HAP": 1.0, "SAD": 1 / 3})
    assert result["uar"] == pytest.approx((0.75 + 1.0 + 1 / 3) / 3)
    # F1: ANG 2*3/(4+4) = 0.75, HAP 2*3/(3+5) = 0.75, SAD 2*1/(3+1) = 0.5
    assert result["macro_f1"] == pytest.approx((0.75 + 0.75 + 0.5) / 3)
    assert result["confusion_matrix"] == {"classes": CLASSES, "counts": [[3, 1, 0], [0, 3, 0], [1, 1, 1]]}
    low, high = result["accuracy_ci95"]
    assert 0.0 <= low <= 0.7 <= high <= 1.0 and low < high


def test_a_class_never_predicted_scores_f1_zero_and_an_absent_class_does_not_count():
    assert macro_f1(["ANG", "HAP"], ["ANG", "ANG"], CLASSES) == pytest.approx((2 / 3 + 0.0) / 2)
    result = score(["ANG", "HAP"], ["ANG", "ANG"], CLASSES, n_boot=10)
    assert result["per_class_recall"]["SAD"] is None and result["uar"] == pytest.approx(0.5)


def test_bootstrap_interval_is_seeded_and_degenerate_when_all_right():
    assert bootstrap_accuracy_ci(TRUE, PRED, 300, seed=4) == bootstrap_accuracy_ci(TRUE, PRED, 300, seed=4)
    assert bootstrap_accuracy_ci(TRUE, TRUE, 100) == [1.0, 1.0]
    wide = bootstrap_accuracy_ci(TRUE[:4], PRED[:4], 2000)
    narrow = bootstrap_accuracy_ci(TRUE * 20, PRED * 20, 2000)
    assert narrow[1] - narrow[0] < wide[1] - wide[0]


def test_confusion_matrix_rows_are_true_classes():
    assert confusion_matrix(["ANG", "SAD"], ["SAD", "SAD"], CLASSES) == [[0, 0, 1], [0, 0, 0], [0, 0, 1]]


def test_vote_credit_with_ties():
    assert vote_credit("A", "ANG") == 1.0
    assert vote_credit("N", "ANG") == 0.0
    assert vote_credit("N:S", "SAD") == 0.5
    assert vote_credit("A:D:F", "HAP") == 0.0
    with pytest.raises(ValueError, match="unreadable vote"):
        vote_credit("X", "ANG")


def test_human_accuracy_on_real_summary_table_rows(crema_d_dir):
    ratings = read_ratings(crema_d_dir / "summaryTable.csv")
    # Real rows: 1001_IEO_NEU_XX voted N/N/N; 1001_IEO_HAP_LO voted N (voice), H (face), H (audio-visual).
    rows = ratings.loc[["1001_IEO_NEU_XX", "1001_IEO_HAP_LO"]]
    assert rows.to_dict("list") == {"VoiceVote": ["N", "N"], "FaceVote": ["N", "H"], "MultiModalVote": ["N", "H"]}
    result = human_accuracy(ratings, ["1001_IEO_NEU_XX", "1001_IEO_HAP_LO", "9999_IEO_ANG_XX"], ["NEU", "HAP", "ANG"])
    assert result["clips"] == 3 and result["clips_rated"] == 2 and result["clips_not_rated"] == 1
    assert result["voice"] == {"accuracy": 0.5, "n": 2}
    assert result["face"] == {"accuracy": 1.0, "n": 2}
    assert result["audio_visual"] == {"accuracy": 1.0, "n": 2}


def test_read_ratings_refuses_another_table(tmp_path):
    pd.DataFrame({"FileName": ["1001_IEO_NEU_XX"], "Vote": ["N"]}).to_csv(tmp_path / "table.csv", index=False)
    with pytest.raises(ValueError, match="summaryTable columns"):
        read_ratings(tmp_path / "table.csv")
    with pytest.raises(FileNotFoundError, match="eval.ratings"):
        read_ratings(tmp_path / "missing.csv")

"""avemo.evaluation.raters: CREMA-D's rule for a majority vote, the raters' accuracy on real rows and on
the shipped table."""

import pandas as pd
import pytest

from avemo.corpus.clips import TableError
from avemo.evaluation.raters import human_accuracy, read_ratings, vote_credit
from helpers import PASSWD, REPO_ROOT


def test_vote_credit_counts_a_tie_wrong_by_cremads_rule_or_shares_it():
    assert vote_credit("A", "ANG") == 1.0
    assert vote_credit("N", "ANG") == 0.0
    assert vote_credit("N:S", "SAD") == 0.0  # a tie is not a majority for the intended emotion
    assert vote_credit("N:S", "SAD", ties="shared") == 0.5
    assert vote_credit("A:D:F", "HAP", ties="shared") == 0.0
    with pytest.raises(ValueError, match="unreadable vote"):
        vote_credit("X", "ANG")


def test_human_accuracy_on_real_summary_table_rows(crema_d_dir):
    ratings = read_ratings(crema_d_dir / "summaryTable.csv")
    # Real rows: 1001_IEO_NEU_XX voted N/N/N; 1001_IEO_HAP_LO voted N (voice), H (face), H (audio-visual).
    rows = ratings.loc[["1001_IEO_NEU_XX", "1001_IEO_HAP_LO"]]
    assert rows.to_dict("list") == {"VoiceVote": ["N", "N"], "FaceVote": ["N", "H"], "MultiModalVote": ["N", "H"]}
    result = human_accuracy(ratings, ["1001_IEO_NEU_XX", "1001_IEO_HAP_LO", "9999_IEO_ANG_XX"], ["NEU", "HAP", "ANG"])
    assert result["clips"] == 3 and result["clips_rated"] == 2
    assert result["voice"] == {"accuracy": 0.5, "accuracy_ties_shared": 0.5}
    assert result["face"] == {"accuracy": 1.0, "accuracy_ties_shared": 1.0}
    assert result["audiovisual"] == {"accuracy": 1.0, "accuracy_ties_shared": 1.0}


def test_a_constructed_tie_is_wrong_and_shared_half():
    ratings = pd.DataFrame(
        {"VoiceVote": ["A:S", "S"], "FaceVote": ["S", "S"], "MultiModalVote": ["A", "H"]},
        index=pd.Index(["1001_IEO_SAD_HI", "1002_IEO_SAD_HI"]),
    )
    result = human_accuracy(ratings, ratings.index, ["SAD", "SAD"])
    assert result["voice"] == {"accuracy": 0.5, "accuracy_ties_shared": 0.75}
    assert result["audiovisual"]["accuracy"] == 0.0


def test_the_shipped_ratings_give_cremads_published_rater_accuracies():
    """CREMA-D's paper: the raters agree with the intended emotion for 41.6% (voice), 66.3% (face) and
    72.2% (both) of the 7,442 clips; 34.3%, 64.8% and 67.3% of the ANG/SAD/HAP ones."""
    ratings = read_ratings(REPO_ROOT / "src" / "avemo" / "corpus" / "resources" / "summaryTable.csv")
    emotions = [name.split("_")[2] for name in ratings.index]
    every = human_accuracy(ratings, ratings.index, emotions)
    assert every["clips_rated"] == 7442
    assert [round(every[g]["accuracy"], 3) for g in ("voice", "face", "audiovisual")] == [0.416, 0.663, 0.722]
    three = [(c, e) for c, e in zip(ratings.index, emotions) if e in ("ANG", "SAD", "HAP")]
    subset = human_accuracy(ratings, [c for c, _ in three], [e for _, e in three])
    assert [round(subset[g]["accuracy"], 3) for g in ("voice", "face", "audiovisual")] == [0.343, 0.648, 0.673]


def test_read_ratings_refuses_another_table(tmp_path, crema_d_dir):
    expected = "expected a CSV file with columns FileName, VoiceVote, FaceVote, MultiModalVote"
    pd.DataFrame({"FileName": ["1001_IEO_NEU_XX"], "Vote": ["N"]}).to_csv(tmp_path / "table.csv", index=False)
    with pytest.raises(TableError) as refused:
        read_ratings(tmp_path / "table.csv")
    assert str(refused.value) == (
        f"{tmp_path / 'table.csv'} (params.yaml eval.ratings): not CREMA-D's summaryTable.csv: no column VoiceVote, "
        f"FaceVote, MultiModalVote (it has FileName, Vote); {expected}"
    )
    with pytest.raises(TableError, match=rf"missing.csv \(params.yaml eval.ratings\): not found; {expected}"):
        read_ratings(tmp_path / "missing.csv")
    with pytest.raises(TableError, match=r"VideoDemographics.csv \(params.yaml eval.ratings\): not CREMA-D's summary"):
        read_ratings(crema_d_dir / "VideoDemographics.csv")
    (tmp_path / "passwd").write_text(PASSWD)
    with pytest.raises(
        TableError, match=r"passwd \(params.yaml eval.ratings\): not CREMA-D's summaryTable.csv \(Error"
    ):
        read_ratings(tmp_path / "passwd")  # a ParserError: more fields in its third line than in its header

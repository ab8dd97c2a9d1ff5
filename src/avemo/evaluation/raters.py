"""The human raters' accuracy from CREMA-D's summaryTable.csv, beside the models'.

Human raters: summaryTable.csv holds, for every clip, the majority vote of the voice-only
(`VoiceVote`), face-only (`FaceVote`) and audio-visual (`MultiModalVote`) raters as emotion letters
A, D, F, H, N, S; a tie lists the tied letters (e.g. `N:S`). CREMA-D's rule counts a vote as right
when it is the intended emotion alone, so a tie is wrong (`accuracy`); `accuracy_ties_shared` credits
a k-way tie that includes it with 1/k, the expected score of breaking the tie at random. The raters
chose among all six emotions, whatever subset the models learn.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from avemo.corpus.clips import read_table

VOTE_LETTERS = {"A": "ANG", "D": "DIS", "F": "FEA", "H": "HAP", "N": "NEU", "S": "SAD"}
RATER_GROUPS = {"voice": "VoiceVote", "face": "FaceVote", "audiovisual": "MultiModalVote"}


def read_ratings(path: str | Path) -> pd.DataFrame:
    """CREMA-D's summaryTable.csv as a frame indexed by clip name, with the three vote columns."""
    columns = ["FileName", *RATER_GROUPS.values()]
    table = read_table(path, columns, "CREMA-D's summaryTable.csv", "eval.ratings", dtype=str, keep_default_na=False)
    return table.drop_duplicates("FileName").set_index("FileName")[list(RATER_GROUPS.values())]


def vote_credit(vote: str, intended: str, ties: str = "wrong") -> float:
    """1 if the majority vote is the intended emotion alone; a tie that includes it scores 0
    (`ties="wrong"`, CREMA-D's rule) or 1/k for k tied emotions (`ties="shared"`); else 0."""
    letters = [v.strip() for v in str(vote).split(":") if v.strip()]
    unknown = [v for v in letters if v not in VOTE_LETTERS]
    if not letters or unknown:
        raise ValueError(f"unreadable vote {vote!r}; expected letters of {sorted(VOTE_LETTERS)} joined by ':'")
    emotions = [VOTE_LETTERS[v] for v in letters]
    if ties == "wrong":
        return float(emotions == [intended])
    return emotions.count(intended) / len(emotions)


def human_accuracy(ratings: pd.DataFrame, clips, emotions) -> dict:
    """Accuracy of each rater group on `clips` (intended emotions `emotions`), by CREMA-D's rule (ties
    wrong) and with ties shared, and how many of the clips were rated."""
    frame = pd.DataFrame({"clip": [str(c) for c in clips], "emotion": [str(e) for e in emotions]})
    rated = frame[frame["clip"].isin(ratings.index)]
    result: dict = {"clips": len(frame), "clips_rated": len(rated)}
    for group, column in RATER_GROUPS.items():
        votes = [(ratings.at[c, column], e) for c, e in zip(rated["clip"], rated["emotion"])]
        result[group] = {
            "accuracy": float(np.mean([vote_credit(v, e) for v, e in votes])) if votes else None,
            "accuracy_ties_shared": float(np.mean([vote_credit(v, e, ties="shared") for v, e in votes]))
            if votes
            else None,
        }
    return result

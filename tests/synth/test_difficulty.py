"""avemo.synth.difficulty: the raters' joint pattern is CREMA-D's, and its bands only grow with ambiguity."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from avemo.evaluation.raters import read_ratings, vote_credit
from avemo.synth.difficulty import AMBIGUOUS_MODALITIES, RATER_JOINT, ambiguous_modalities
from helpers import REPO_ROOT


def test_the_joint_pattern_is_the_shipped_summary_tables():
    ratings = read_ratings(REPO_ROOT / "src" / "avemo" / "corpus" / "resources" / "summaryTable.csv")
    emotion = ratings.index.str.split("_").str[2]
    voice = np.array([vote_credit(v, e) for v, e in zip(ratings["VoiceVote"], emotion)]) == 1
    face = np.array([vote_credit(v, e) for v, e in zip(ratings["FaceVote"], emotion)]) == 1
    pattern = np.select([voice & face, face, voice], ["clear", "voice", "face"], default="both")
    shares = pd.crosstab(emotion, pattern, normalize="index")
    for name, row in RATER_JOINT.items():
        assert sum(row.values()) == pytest.approx(1.0, abs=0.002)
        for modality, share in row.items():
            assert share == pytest.approx(shares.loc[name, modality], abs=0.0005), (name, modality)
    # what the sample rests on: the raters misread the voice more often than the face, and a clip hard in
    # one modality is more often hard in the other than chance would make it
    voice_hard = {e: r["voice"] + r["both"] for e, r in RATER_JOINT.items()}
    face_hard = {e: r["face"] + r["both"] for e, r in RATER_JOINT.items()}
    assert sum(voice_hard.values()) > sum(face_hard.values())
    assert RATER_JOINT["SAD"]["both"] > voice_hard["SAD"] * face_hard["SAD"]


def test_bands_grow_with_ambiguity_and_none_at_zero():
    draws = np.linspace(0, 1, 2001, endpoint=False)
    for emotion in RATER_JOINT:
        assert all(ambiguous_modalities(emotion, 0.0, d) is None for d in draws)
        low = [ambiguous_modalities(emotion, 0.4, d) for d in draws]
        high = [ambiguous_modalities(emotion, 0.8, d) for d in draws]
        assert all(h == lo for lo, h in zip(low, high) if lo is not None)
        for modality in AMBIGUOUS_MODALITIES:
            share = np.mean([h == modality for h in high])
            assert share == pytest.approx(0.8 * RATER_JOINT[emotion][modality], abs=0.002)

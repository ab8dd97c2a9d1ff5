"""Which modalities of a clip are hard to read: CREMA-D's raters' joint pattern, per emotion.

CREMA-D's summaryTable.csv gives, for every clip, the majority vote of raters who saw only the face and of
raters who heard only the voice. Counting a vote as right when it is the intended emotion alone (CREMA-D's
rule, avemo.evaluation.raters), each clip is read right in both modalities, in the face only, in the voice
only, or in neither; RATER_JOINT holds the shares per emotion (tests/synth/test_difficulty.py recomputes
them from the shipped table). The raters misread the voice far more often than the face, and a clip hard
in one modality is more often hard in the other too: the sample's clips are ambiguous in the same pattern,
`sample.ambiguity` times as often (1 = as often as the raters misread them; they chose among six emotions).
"""

from __future__ import annotations

AMBIGUOUS_MODALITIES = ("voice", "face", "both")  # what ClipPlan.ambiguous can name, besides None (clear)

# Emotion -> share of its clips whose raters read both modalities right, only the face right (the voice
# misread), only the voice right, neither: from CREMA-D's summaryTable.csv (7,442 clips; ties count wrong).
RATER_JOINT = {
    "ANG": {"clear": 0.468, "voice": 0.186, "face": 0.138, "both": 0.208},
    "DIS": {"clear": 0.185, "voice": 0.449, "face": 0.085, "both": 0.281},
    "FEA": {"clear": 0.228, "voice": 0.288, "face": 0.092, "both": 0.392},
    "HAP": {"clear": 0.256, "voice": 0.701, "face": 0.004, "both": 0.039},
    "NEU": {"clear": 0.879, "voice": 0.040, "face": 0.078, "both": 0.004},
    "SAD": {"clear": 0.094, "voice": 0.239, "face": 0.070, "both": 0.596},
}
# (The keys name the modality that is AMBIGUOUS: "voice" = the raters misread the voice only.)


def ambiguous_modalities(emotion: str, ambiguity: float, draw: float) -> str | None:
    """Which modality a clip of `emotion` is ambiguous in ("voice", "face", "both") or None, from a uniform
    `draw` in [0, 1): each of the raters' misreading patterns at `ambiguity` times its share. Each pattern
    owns a stretch of [0, 1) as long as its share, and takes the first `ambiguity` of it: raising
    `ambiguity` only adds ambiguous clips, and never moves one from a pattern to another."""
    start = 0.0
    for modality in AMBIGUOUS_MODALITIES:
        share = RATER_JOINT[emotion][modality]
        if start <= draw < start + ambiguity * share:
            return modality
        start += share
    return None

"""avemo.synth.faces: expressions carry the emotion, all six render, limits keep the face detectable."""

from __future__ import annotations

import itertools

import numpy as np
from scipy.ndimage import gaussian_filter

from avemo import synth
from avemo.synth import corpus, faces
from avemo.synth.actors import Shown
from helpers import sample_spec

MANNER = synth.actor_manner(0, 1001, 0.0)  # no resting-face offsets


def expression(emotion: str, strength: float = 1.0, style: float = 0.0, actor: int = 1001) -> faces.Expression:
    shown = [Shown(emotion, strength, strength, synth.emotion_style(0, actor, emotion, style))]
    return faces.clip_expression(MANNER, shown, np.random.default_rng(0), noise=0.0)


def test_expressions_carry_the_emotion():
    ang, hap, sad, neu, fea, dis = (expression(e) for e in ("ANG", "HAP", "SAD", "NEU", "FEA", "DIS"))
    assert hap.mouth_corner < neu.mouth_corner < sad.mouth_corner  # smile up, sad corners down
    assert ang.brow_inner > neu.brow_inner > sad.brow_inner  # angry inner brows down, sad up
    assert ang.lid_upper < neu.lid_upper < fea.lid_upper  # narrowed vs widened eyes
    assert hap.cheek > 0 and ang.frown_lines > 0 and dis.nose_wrinkle > 0 and fea.mouth_open > 0
    assert neu == faces.Expression()


def test_a_weaker_expression_is_closer_to_neutral():
    neutral = faces.Expression()
    distance = [abs(expression("HAP", s).mouth_corner - neutral.mouth_corner) for s in (0.3, 0.6, 1.0)]
    assert distance[0] < distance[1] < distance[2]


def test_limits_keep_the_eyes_open_whatever_the_style():
    for emotion, actor in itertools.product(synth.ALL_EMOTIONS, range(1001, 1031)):
        e = expression(emotion, strength=1.2, style=3.0, actor=actor)
        for field, (low, high) in faces.LIMITS.items():
            assert low <= getattr(e, field) <= high, (emotion, actor, field)


def test_all_six_emotions_render_and_differ():
    spec = sample_spec(
        actors=1,
        sentences=2,
        emotions=tuple(synth.ALL_EMOTIONS),
        noise=0.0,
        speaker_style=0.0,
        ambiguous_face=0.0,
        ambiguous_voice=0.0,
        duration=1.0,
    )
    features = (slice(100, 230), slice(180, 300))  # brows to chin of actor 1001, at noise 0

    def closed_mouth_face(emotion: str, sentence: str) -> np.ndarray:
        """Grey levels of the face, blurred (no grain) and less their mean (no overall light)."""
        plan = synth.plan_clip(spec, synth.ClipId(1001, sentence, emotion, "XX"))
        _, syllables = corpus.render_voice(spec, plan)
        frames, sequence = corpus.render_face(spec, plan, syllables)
        assert len(frames) == faces.MOUTH_LEVELS and len(sequence) == 30
        assert all(f.shape == (faces.HEIGHT, faces.WIDTH, 3) and f.dtype == np.uint8 for f in frames)
        grey = gaussian_filter(frames[0].mean(axis=2), 2.0)[features]
        return grey - grey.mean()

    tie = {e: closed_mouth_face(e, "TIE") for e in synth.ALL_EMOTIONS}
    # the same expression in another clip differs by little (its grain, its light)
    baseline = max(np.abs(tie[e] - closed_mouth_face(e, "IOM")).mean() for e in synth.ALL_EMOTIONS)
    for a, b in itertools.combinations(synth.ALL_EMOTIONS, 2):
        assert np.abs(tie[a] - tie[b]).mean() > 2.5 * baseline, (a, b)

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
    return faces.clip_expression(MANNER, shown, np.random.default_rng(0), noise=0.0)[0]


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


PLAIN = dict(noise=0.0, speaker_style=0.0, ambiguity=0.0, duration=1.0)
FEATURES = (slice(100, 230), slice(180, 300))  # brows to chin of actor 1001, at noise 0


def grey_face(frame: np.ndarray) -> np.ndarray:
    """Grey levels of the face, blurred (no grain) and less their mean (no overall light)."""
    grey = gaussian_filter(frame.mean(axis=2), 2.0)[FEATURES]
    return grey - grey.mean()


def moments(spec, emotion: str, sentence: str) -> tuple[list[np.ndarray], list[np.ndarray]]:
    at_rest, at_apex = corpus.face_moments(spec, synth.plan_clip(spec, synth.ClipId(1001, sentence, emotion, "XX")))
    assert len(at_rest) == len(at_apex) == faces.MOUTH_LEVELS
    assert all(f.shape == (faces.HEIGHT, faces.WIDTH, 3) and f.dtype == np.uint8 for f in at_rest + at_apex)
    return at_rest, at_apex


def test_all_six_emotions_render_and_differ_at_the_apex_not_at_rest():
    spec = sample_spec(actors=1, sentences=2, emotions=tuple(synth.ALL_EMOTIONS), **PLAIN)
    tie = {e: moments(spec, e, "TIE") for e in synth.ALL_EMOTIONS}
    apex = {e: grey_face(at_apex[0]) for e, (_, at_apex) in tie.items()}
    rest = {e: grey_face(at_rest[0]) for e, (at_rest, _) in tie.items()}
    # the same expression in another clip differs by little (its grain, its light)
    baseline = max(np.abs(apex[e] - grey_face(moments(spec, e, "IOM")[1][0])).mean() for e in synth.ALL_EMOTIONS)
    for a, b in itertools.combinations(synth.ALL_EMOTIONS, 2):
        assert np.abs(apex[a] - apex[b]).mean() > 2 * baseline, (a, b)
        assert np.abs(rest[a] - rest[b]).mean() < 1.5 * baseline, (a, b)  # before the onset: a resting face


def test_the_video_moves_from_rest_to_the_apex():
    spec = sample_spec(actors=1, sentences=1, emotions=("SAD",), levels=(), **PLAIN)
    plan = synth.plan_clip(spec, synth.ClipId(1001, "IEO", "SAD", "XX"))
    _, syllables = corpus.render_voice(spec, plan)
    planes, sequence = corpus.render_face(spec, plan, syllables)
    assert len(sequence) == 30 and all(p.shape == (faces.HEIGHT * 3 // 2, faces.WIDTH) for p in planes)
    brows = (slice(100, 150), slice(180, 300))  # of the Y plane: above the mouth, which moves with the syllables
    luma = [planes[i][brows].astype(float) for i in sequence]
    apex = int(round(plan.course.apex * len(sequence)))
    assert plan.course.onset > 0.1  # noise 0: the middle of every range
    assert np.abs(luma[1] - luma[0]).mean() < 0.2  # before the onset nothing moves
    assert np.abs(luma[apex] - luma[0]).mean() > 1.0  # the brows have moved by the apex


def test_a_crease_is_seen_at_full_size_and_hardly_in_a_thumbnail():
    # A wrinkle is a shadow between two highlights: an edge detector sees it, a box-averaged 16 px
    # thumbnail of the face (the crude baseline's input) barely does.
    actor = synth.make_actor(0, 1001)
    scene = faces.make_scene(actor, np.random.default_rng(0), 0.0)
    plain = faces.Expression()
    lined = faces.Expression(frown_lines=1.5, forehead_lines=1.5)
    frames = [faces.render_moments(actor, e, e, scene, np.random.default_rng(1))[0][0] for e in (plain, lined)]
    difference = frames[1].mean(axis=2) - frames[0].mean(axis=2)
    rows, cols = np.nonzero(np.abs(difference) > 1.0)
    box = difference[rows.min() - 8 : rows.min() + 56, cols.mean().astype(int) - 32 : cols.mean().astype(int) + 32]
    blocks = box.reshape(8, 8, 8, 8).mean(axis=(1, 3))  # 8 x 8 pixel cells, as a 16 px thumbnail of a 128 px crop
    assert np.abs(difference).max() > 15  # well visible at full size
    assert np.abs(blocks).max() < 0.25 * np.abs(difference).max(), np.abs(blocks).max()

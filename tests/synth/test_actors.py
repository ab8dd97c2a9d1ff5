"""avemo.synth.actors: identity, personal voice, and each actor's style, consistent across his clips."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from scipy.stats import f_oneway

from avemo import synth
from avemo.synth import corpus, voices
from helpers import median_f0, sample_spec


def test_female_voices_are_higher():
    actors = [synth.make_actor(0, 1001 + i) for i in range(20)]
    male = [a.f0_hz for a in actors if not a.female]
    female = [a.f0_hz for a in actors if a.female]
    assert len(male) == len(female) == 10
    assert np.mean(female) > 1.5 * np.mean(male)


def test_an_actor_is_fixed_by_seed_and_id():
    assert synth.make_actor(0, 1005) == synth.make_actor(0, 1005)
    assert synth.make_actor(0, 1005) != synth.make_actor(1, 1005)
    assert synth.emotion_style(0, 1005, "ANG", 1.0) == synth.emotion_style(0, 1005, "ANG", 1.0)
    assert synth.emotion_style(0, 1005, "ANG", 1.0) != synth.emotion_style(0, 1005, "HAP", 1.0)


def test_speaker_style_scales_every_style_offset():
    none, one, two = (synth.emotion_style(3, 1002, "SAD", s) for s in (0.0, 1.0, 2.0))
    assert not any(none.face.values()) and not any(none.voice.values()) and not any(none.contour_st)
    assert none.roll_deg == 0 and none.gaze == (0, 0)
    assert none.resonance[1] == none.tremolo[1] == none.pause[1] == 0  # gains, depths, lengths
    assert two.face == pytest.approx({k: 2 * v for k, v in one.face.items()})
    assert two.voice == pytest.approx({k: 2 * v for k, v in one.voice.items()})
    assert two.roll_deg == pytest.approx(2 * one.roll_deg)
    assert (two.mouth_pick, two.resonance[0], two.tremolo[0], two.pause[0]) == (
        one.mouth_pick,
        one.resonance[0],
        one.tremolo[0],
        one.pause[0],
    )
    manner = synth.actor_manner(3, 1002, 0.0)
    assert manner.expressiveness == 1.0 and not any(manner.resting_face.values())


def actor_pitch_offsets(speaker_style: float) -> list[list[float]]:
    """log(median F0 / the actor's own F0) of every ANG clip, per actor: 8 actors x 12 sentences at XX."""
    spec = sample_spec(actors=8, sentences=12, emotions=("ANG",), levels=(), speaker_style=speaker_style, duration=2.0)
    offsets: dict[int, list[float]] = {}
    for clip in synth.clip_grid(spec):
        audio, _ = corpus.render_voice(spec, synth.plan_clip(spec, clip))
        offsets.setdefault(clip.actor, []).append(
            float(np.log(median_f0(audio, voices.SAMPLE_RATE) / synth.make_actor(spec.seed, clip.actor).f0_hz))
        )
    return list(offsets.values())


def test_an_actors_style_shows_in_every_clip_of_his():
    # How far an actor raises his pitch in anger is his own: it differs between actors far more than
    # between his clips (other sentences, per-clip noise), and it is the style that makes it so.
    styled = f_oneway(*actor_pitch_offsets(1.0))
    plain = f_oneway(*actor_pitch_offsets(0.0))
    assert styled.pvalue < 1e-4, styled
    assert styled.statistic > 4 * plain.statistic, (styled, plain)


def test_every_actor_gets_a_full_identity():
    actor = synth.make_actor(0, 1003)
    for field in dataclasses.fields(actor):
        assert getattr(actor, field.name) is not None, field.name
    assert len(actor.accent) == 3 * len(voices.VOWELS)

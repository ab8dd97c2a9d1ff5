"""avemo.synth.voices: prosody carries the emotion, its intensity, and ambiguity."""

from __future__ import annotations

import numpy as np
import pytest

from avemo import synth
from avemo.synth import corpus, voices
from helpers import median_f0, sample_spec

# Prototypes only: no personal style, no per-clip noise.
PLAIN = sample_spec(
    actors=2,
    sentences=1,
    emotions=tuple(synth.ALL_EMOTIONS),
    speaker_style=0.0,
    noise=0.0,
    ambiguous_face=0.0,
    ambiguous_voice=0.0,
    duration=2.0,
)


def voice(emotion: str, level: str = "HI", actor: int = 1001, spec: synth.SampleSpec = PLAIN) -> np.ndarray:
    audio, _ = corpus.render_voice(
        spec, synth.plan_clip(spec, synth.ClipId(actor, "IEO", emotion, level if emotion != "NEU" else "XX"))
    )
    return audio


def rms(audio: np.ndarray) -> float:
    return float(np.sqrt(np.mean(audio**2)))


@pytest.mark.parametrize("actor", [1001, 1002])
def test_voice_orders_emotions_as_designed(actor):
    audio = {e: voice(e, actor=actor) for e in ("ANG", "HAP", "SAD", "NEU")}
    loudness = {e: rms(a) for e, a in audio.items()}
    pitch = {e: median_f0(a, voices.SAMPLE_RATE) for e, a in audio.items()}
    assert loudness["SAD"] < loudness["NEU"] < loudness["HAP"] < loudness["ANG"], loudness
    assert pitch["SAD"] < pitch["NEU"] < min(pitch["ANG"], pitch["HAP"]), pitch


def test_a_stronger_level_moves_further_from_neutral():
    pitch = {level: median_f0(voice("ANG", level), voices.SAMPLE_RATE) for level in ("LO", "MD", "HI")}
    assert pitch["LO"] < pitch["MD"] < pitch["HI"], pitch


def test_an_ambiguous_voice_is_flatter():
    actor = synth.make_actor(0, 1001)
    style = synth.emotion_style(0, 1001, "ANG", 0.0)
    rng = np.random.default_rng(0)
    clear = voices.clip_prosody(actor, [synth.actors.Shown("ANG", 1.0, 1.0, style)], rng, noise=0.0)
    faint = voices.clip_prosody(
        actor, [synth.actors.Shown("ANG", corpus.AMBIGUOUS_STRENGTH, corpus.AMBIGUOUS_STRENGTH, style)], rng, noise=0.0
    )
    neutral = voices.clip_prosody(actor, [synth.actors.Shown("NEU", 1.0, 1.0, style)], rng, noise=0.0)
    assert neutral.f0_factor < faint.f0_factor < clear.f0_factor
    assert neutral.loudness_db < faint.loudness_db < clear.loudness_db


def test_syllables_fit_the_clip_and_the_mouth_follows_them():
    for sentence in ("IEO", "ITH"):  # the shortest and the longest sentence
        spec = sample_spec(duration=1.0, sentences=12)
        plan = synth.plan_clip(spec, synth.ClipId(1002, sentence, "SAD", "XX"))
        audio, syllables = corpus.render_voice(spec, plan)
        assert len(audio) == voices.SAMPLE_RATE and np.abs(audio).max() <= 1.0
        assert syllables[0].start > 0 and syllables[-1].start + syllables[-1].length < 1.0
        opening = voices.mouth_activity(syllables, np.array([s.start + s.length / 2 for s in syllables]))
        assert (opening > 0.5).all()

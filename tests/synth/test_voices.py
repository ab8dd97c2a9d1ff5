"""avemo.synth.voices: prosody carries the emotion, its intensity, ambiguity and time course; the recording
conditions do not depend on the emotion."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.stats import f_oneway

from avemo import synth
from avemo.synth import corpus, voices
from avemo.synth.timecourse import TimeCourse
from helpers import median_f0, sample_spec

# Prototypes only: no personal style, no per-clip noise.
PLAIN = sample_spec(
    actors=2,
    sentences=1,
    emotions=tuple(synth.ALL_EMOTIONS),
    speaker_style=0.0,
    noise=0.0,
    ambiguity=0.0,
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


def test_the_emotions_pitch_swells_toward_the_apex():
    actor = synth.make_actor(0, 1001)
    style = synth.emotion_style(0, 1001, "ANG", 0.0)
    shown = [synth.actors.Shown("ANG", 1.0, 1.0, style)]
    course = TimeCourse(onset=0.1, apex=0.5, hold=0.0, relax=0.3, residue=0.4)
    prosody = voices.clip_prosody(actor, shown, np.random.default_rng(0), 0.0, course)
    assert prosody.swell(np.array([0.0]))[0] == pytest.approx(voices.VOICE_COURSE_FLOOR)
    assert prosody.swell(np.array([0.5]))[0] == pytest.approx(1.0)
    syllables = voices.plan_syllables(0, "IEO", prosody, 2.0, np.random.default_rng(0), 0.0)
    t = np.linspace(syllables[0].start, syllables[-1].start + syllables[-1].length, 400)
    flat = voices.clip_prosody(actor, shown, np.random.default_rng(0), 0.0)  # at the apex throughout
    ratio = voices.f0_contour(t, syllables, 100.0, prosody, np.random.default_rng(1), 2.0) / voices.f0_contour(
        t, syllables, 100.0, flat, np.random.default_rng(1), 2.0
    )
    apex = np.argmin(np.abs(t - 1.0))
    # anger raises the pitch: away from the apex the voice keeps only part of the rise
    assert ratio[apex] == pytest.approx(1.0, abs=0.02) and ratio[0] < 0.95


def floor_below_peak_db(audio: np.ndarray) -> float:
    """The quietest tenth of 20 ms frames against the loudest, in dB: the noise floor a spectrogram shows."""
    frames = audio[: len(audio) // 882 * 882].reshape(-1, 882)
    levels = 10 * np.log10(np.mean(frames.astype(np.float64) ** 2, axis=1) + 1e-20)
    return float(np.percentile(levels, 10) - levels.max())


def test_the_noise_floor_does_not_tell_the_emotion():
    # The room noise is set against each take's own speech level (Recording.snr_db), so a loud emotion
    # does not come with a quieter floor: its level below the peak is the same for every emotion.
    spec = sample_spec(actors=10, sentences=3, emotions=("ANG", "HAP", "SAD"), levels=(), duration=2.0)
    floors: dict[str, list[float]] = {}
    for clip in synth.clip_grid(spec):
        audio, _ = corpus.render_voice(spec, synth.plan_clip(spec, clip))
        floors.setdefault(clip.emotion, []).append(floor_below_peak_db(audio))
    test = f_oneway(*floors.values())
    assert test.pvalue > 0.01, {e: round(float(np.mean(v)), 1) for e, v in floors.items()}


def test_the_recording_takes_its_snr_and_room():
    actor = synth.make_actor(0, 1001)
    style = synth.emotion_style(0, 1001, "SAD", 0.0)
    prosody = voices.clip_prosody(actor, [synth.actors.Shown("SAD", 1.0, 1.0, style)], np.random.default_rng(0), 0.0)
    syllables = voices.plan_syllables(0, "IEO", prosody, 2.0, np.random.default_rng(0), 0.0)
    snr = []
    for wanted in (25.0, 45.0):
        recording = voices.Recording(rt60_s=0.05, wet=0.0, tilt=0.0, snr_db=wanted, noise_pole=0.0, gain_db=0.0)
        audio = voices.synthesize_voice(actor, syllables, prosody, 2.0, np.random.default_rng(2), 0.0, recording)
        silent = audio[: int(0.1 * voices.SAMPLE_RATE)]  # before the first syllable: the noise alone
        speech = audio[int(syllables[0].start * voices.SAMPLE_RATE) : int(syllables[-1].start * voices.SAMPLE_RATE)]
        snr.append(10 * np.log10(np.mean(speech.astype(np.float64) ** 2) / np.mean(silent.astype(np.float64) ** 2)))
    assert snr[1] - snr[0] == pytest.approx(20.0, abs=2.0)

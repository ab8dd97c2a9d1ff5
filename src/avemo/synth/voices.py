"""Voices: a syllabic source-filter "speech" signal whose prosody carries the emotion.

A harmonic source (the actor's pitch, an F0 contour of accents, slope and slow wander) plus aspiration
noise goes through three formant resonators per syllable (the actor's vocal-tract length scales them),
with consonant bursts at syllable onsets. Prosody is composed in an additive space (log pitch, log range,
log tempo, dB, tilt, silent share of syllables): neutral + the actor's voice + for each emotion shown,
strength * its profile + habit * the actor's style for it (offsets, a pitch tune, a pause, a resonance, a
tremolo) + per-clip noise, so an emotion can be spoken at any strength and two emotions can be mixed (an
ambiguous voice).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy.signal import lfilter

from avemo.params import SENTENCES
from avemo.synth.actors import CONTOUR_KNOTS, Actor, Shown
from avemo.synth.randomness import SENTENCE_STREAM, rng

SAMPLE_RATE = 44100
# Room noise (amplitude sd at noise 1, before a gentle low-pass) against speech at RMS 0.05: about
# 55 dB below the speech peak, a quiet studio; louder noise would fill the spectrogram's silence.
BACKGROUND_NOISE = 0.00015
LEAD_SILENCE_S = 0.2
TAIL_SILENCE_S = 0.2
# Syllables spoken in each of CREMA-D's 12 sentences ("It's eleven o'clock" -> 5, ...): sets the rhythm.
SYLLABLES = {
    "IEO": 5,
    "TIE": 8,
    "IOM": 8,
    "IWW": 8,
    "TAI": 7,
    "MTI": 9,
    "IWL": 8,
    "ITH": 10,
    "DFA": 6,
    "ITS": 7,
    "TSI": 5,
    "WSI": 9,
}

# The neutral voice, in the additive space prosody is composed in.
NEUTRAL_VOICE = {
    "log_f0": 0.0,  # log factor on the actor's pitch
    "log_range": math.log(4.0),  # log of the accent excursion in semitones
    "slope_st": -1.0,  # rise (+) or fall (-) across the sentence, semitones
    "loudness_db": 0.0,
    "log_tempo": 0.0,  # log factor on the syllable rate
    "tilt": 1.35,  # harmonic amplitude ~ k**-tilt: smaller is brighter (tenser)
    "jitter_st": 0.3,  # slow random pitch wander, semitones
    "breath": 0.0,  # aspiration noise in the source
    "gap": 0.08,  # share of each syllable's slot left silent: 0 legato, 0.5 clipped
}
# Each emotion's offsets from neutral at full strength (after the emotional-prosody literature: anger and
# happiness high, wide and loud, anger tense; sadness low, narrow, slow, soft and breathy; fear high,
# fast and unsteady; disgust low, slow and falling).
VOICE_PROFILES = {
    "ANG": {
        "log_f0": 0.26,
        "log_range": 0.69,
        "slope_st": -0.5,
        "loudness_db": 6.0,
        "log_tempo": 0.14,
        "tilt": -0.5,
        "jitter_st": 0.3,
        "gap": 0.12,
    },
    "HAP": {
        "log_f0": 0.22,
        "log_range": 0.92,
        "slope_st": 5.0,
        "loudness_db": 3.0,
        "log_tempo": 0.05,
        "tilt": -0.2,
        "jitter_st": 0.2,
    },
    "SAD": {
        "log_f0": -0.13,
        "log_range": -0.69,
        "slope_st": -1.0,
        "loudness_db": -6.0,
        "log_tempo": -0.22,
        "tilt": 0.4,
        "jitter_st": -0.1,
        "breath": 0.25,
        "gap": -0.06,
    },
    "NEU": {},
    "DIS": {
        "log_f0": -0.05,
        "slope_st": -1.5,
        "loudness_db": -1.0,
        "log_tempo": -0.16,
        "tilt": 0.15,
        "breath": 0.1,
        "gap": 0.05,
    },
    "FEA": {
        "log_f0": 0.30,
        "log_range": 0.56,
        "slope_st": 2.0,
        "loudness_db": 1.0,
        "log_tempo": 0.18,
        "tilt": -0.15,
        "jitter_st": 0.7,
        "breath": 0.2,
        "gap": 0.1,
    },
}
# VOICE_PROFILES are spoken this many times as strongly, for a frozen ImageNet encoder to hear them in a
# 128 px spectrogram image.
PROTOTYPE_GAIN = 1.45
# Per-clip variation at noise 1 (sd), in the same space: the same actor never says it twice alike.
CLIP_VOICE_SD = {
    "log_f0": 0.07,
    "log_range": 0.25,
    "slope_st": 1.0,
    "loudness_db": 2.5,
    "log_tempo": 0.08,
    "tilt": 0.12,
    "gap": 0.03,
}


@dataclass(frozen=True)
class Prosody:
    f0_factor: float  # times the actor's F0
    range_st: float  # accent excursion, semitones
    slope_st: float
    loudness_db: float
    tempo: float  # syllables per second relative to neutral
    tilt: float
    jitter_st: float
    breath: float  # 0..1
    gap: float  # 0..0.6
    pauses: tuple[tuple[float, float], ...]  # (where in the sentence 0..1, seconds)
    contour_st: tuple[float, ...]  # personal tune: semitone offsets at evenly spaced points
    resonances: tuple[tuple[float, float], ...] = ()  # personal (Hz, gain) peaks added to the voice
    tremolos: tuple[tuple[float, float], ...] = ()  # personal (Hz, depth) amplitude modulations


def clip_prosody(actor: Actor, shown: list[Shown], r: np.random.Generator, noise: float) -> Prosody:
    """Neutral + the actor's voice + per emotion shown (strength * its profile + habit * the actor's style
    for it) + clip noise."""
    v = dict(NEUTRAL_VOICE)
    v["log_range"] += actor.pitch_range
    v["log_tempo"] += actor.speech_rate
    v["tilt"] += actor.tilt
    v["breath"] += actor.breathiness
    v["gap"] += actor.articulation
    contour = np.zeros(CONTOUR_KNOTS)
    for s in shown:
        for key in v:
            v[key] += s.strength * PROTOTYPE_GAIN * VOICE_PROFILES[s.emotion].get(
                key, 0.0
            ) + s.habit * s.style.voice.get(key, 0.0)
        contour += s.habit * np.asarray(s.style.contour_st)
    for key, sd in CLIP_VOICE_SD.items():
        v[key] += noise * sd * r.normal()
    return Prosody(
        f0_factor=math.exp(v["log_f0"]),
        range_st=math.exp(v["log_range"]),
        slope_st=v["slope_st"],
        loudness_db=v["loudness_db"],
        tempo=math.exp(v["log_tempo"]),
        tilt=float(np.clip(v["tilt"], 0.5, 2.5)),
        jitter_st=max(v["jitter_st"], 0.0),
        breath=float(np.clip(v["breath"], 0.0, 1.0)),
        gap=float(np.clip(v["gap"], 0.0, 0.6)),
        pauses=tuple((s.style.pause[0], s.habit * s.style.pause[1]) for s in shown),
        contour_st=tuple(float(c) for c in contour),
        resonances=tuple((s.style.resonance[0], s.habit * s.style.resonance[1]) for s in shown),
        tremolos=tuple((s.style.tremolo[0], s.habit * s.style.tremolo[1]) for s in shown),
    )


# Male formants (F1, F2, F3) of a few vowels; the actor scales them.
VOWELS = (
    (730, 1090, 2440),
    (270, 2290, 3010),
    (300, 870, 2240),
    (530, 1840, 2480),
    (570, 840, 2410),
    (660, 1720, 2410),
    (490, 1350, 1690),
    (520, 1190, 2390),
)
FORMANT_BANDWIDTHS = (80.0, 100.0, 140.0)
SYLLABLE_S = 0.2  # neutral syllable length


@dataclass(frozen=True)
class Syllable:
    start: float  # seconds
    length: float
    stress: float  # 0..1
    vowel: int
    consonant: bool


def sentence_rhythm(seed: int, sentence: str) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Per-syllable relative lengths, stresses, vowels and consonant onsets: fixed per sentence."""
    r = rng(seed, SENTENCE_STREAM, SENTENCES.index(sentence))
    n = SYLLABLES[sentence]
    stress = r.uniform(0.0, 1.0, n)
    lengths = r.uniform(0.75, 1.15, n) + 0.35 * stress
    vowels = r.integers(len(VOWELS), size=n)
    consonants = r.uniform(size=n) < 0.65
    return lengths, stress, vowels, consonants


def plan_syllables(
    seed: int, sentence: str, prosody: Prosody, duration: float, r: np.random.Generator, noise: float
) -> list[Syllable]:
    """When each syllable is voiced: the sentence's rhythm at the prosody's tempo, each syllable's slot
    voiced but for its `gap` share, with the prosody's pauses; squeezed to fit the clip."""
    lengths, stress, vowels, consonants = sentence_rhythm(seed, sentence)
    n = len(lengths)
    pause_after = np.zeros(n)
    for position, seconds in prosody.pauses:
        if n > 1 and seconds > 0:  # between syllables k and k + 1
            pause_after[min(int(position * (n - 1)), n - 2)] += seconds
    slots = lengths / lengths.sum() * n * SYLLABLE_S / prosody.tempo
    available = max(duration - LEAD_SILENCE_S - TAIL_SILENCE_S, 0.1)
    natural = float(slots.sum() + pause_after.sum())
    squeeze = min(1.0, available / natural)  # short clips squeeze the sentence in
    start = min(LEAD_SILENCE_S, duration / 4) + noise * r.uniform(0, 0.3) * (available - natural * squeeze)
    syllables, t = [], start
    for i in range(n):
        slot = float(slots[i] * squeeze)
        syllables.append(Syllable(t, slot * (1.0 - prosody.gap), float(stress[i]), int(vowels[i]), bool(consonants[i])))
        t += slot + float(pause_after[i] * squeeze)
    return syllables


def _syllable_envelope(n: int) -> np.ndarray:
    """Raised-cosine attack, sustain and a longer decay."""
    t = np.linspace(0.0, 1.0, n, dtype=np.float64)
    attack = np.clip(t / 0.2, 0, 1)
    decay = np.clip((1.0 - t) / 0.35, 0, 1)
    return (0.5 - 0.5 * np.cos(np.pi * np.minimum(attack, decay))) ** 1.2


F0_HOP = 64  # samples between F0 control points: the contour is smooth, so interpolate


def f0_contour(
    t: np.ndarray, syllables: list[Syllable], f0_hz: float, prosody: Prosody, r: np.random.Generator
) -> np.ndarray:
    """F0 (Hz) at times `t`: slope, accents scaled by stress, the personal tune, slow random wander."""
    t0, t1 = syllables[0].start, syllables[-1].start + syllables[-1].length
    u = np.clip((t - t0) / (t1 - t0), 0, 1)
    semis = prosody.slope_st * (u - 0.5)
    for syl in syllables:
        centre = syl.start + 0.4 * syl.length
        semis += prosody.range_st * (syl.stress - 0.4) * np.exp(-0.5 * ((t - centre) / (0.45 * syl.length)) ** 2)
    if len(prosody.contour_st) > 1:
        semis += np.interp(u, np.linspace(0, 1, len(prosody.contour_st)), prosody.contour_st)
    knots = r.normal(0, prosody.jitter_st, 8)
    semis += np.interp(u, np.linspace(0, 1, 8), knots)
    return f0_hz * prosody.f0_factor * 2.0 ** (semis / 12.0)


def harmonic_source(f0: np.ndarray, tilt: float) -> np.ndarray:
    """Sum of harmonics with amplitude k**-tilt (a glottal-like spectral slope), band-limited."""
    phase = 2 * np.pi * np.cumsum(f0) / SAMPLE_RATE
    k_max = int(min(40, 6000.0 / max(float(f0.max()), 1.0)))
    # sin(k*phi) by the Chebyshev recurrence: far cheaper than one np.sin per harmonic.
    two_cos = 2 * np.cos(phase)
    prev, cur = np.zeros_like(phase), np.sin(phase)
    out = cur.copy()
    for k in range(2, k_max + 1):
        prev, cur = cur, two_cos * cur - prev
        out += cur * k**-tilt
    return out


def _formant_filter(signal: np.ndarray, formants: np.ndarray) -> np.ndarray:
    """Cascade of two-pole resonators, each with unit gain at DC (Klatt-style)."""
    for freq, bw in zip(formants, FORMANT_BANDWIDTHS):
        radius = math.exp(-math.pi * bw / SAMPLE_RATE)
        c = 2 * radius * math.cos(2 * math.pi * freq / SAMPLE_RATE)
        signal = lfilter([1 - c + radius * radius], [1, -c, radius * radius], signal)
    return signal


def synthesize_voice(
    actor: Actor, syllables: list[Syllable], prosody: Prosody, duration: float, r: np.random.Generator, noise: float
) -> np.ndarray:
    """Mono float32 audio of `duration` seconds at SAMPLE_RATE."""
    n = int(round(duration * SAMPLE_RATE))
    s0 = int(syllables[0].start * SAMPLE_RATE)
    s1 = min(n, int((syllables[-1].start + syllables[-1].length) * SAMPLE_RATE) + 1)
    control = np.arange(s0, s1 + F0_HOP, F0_HOP)
    f0 = np.interp(np.arange(s0, s1), control, f0_contour(control / SAMPLE_RATE, syllables, actor.f0_hz, prosody, r))
    source = np.zeros(n)
    voiced = harmonic_source(f0, prosody.tilt)
    # aspiration: white noise at a share of the harmonics' level (formant-filtered below, like breath)
    aspiration = r.standard_normal(s1 - s0) * (prosody.breath * float(np.sqrt(np.mean(voiced**2))))
    source[s0:s1] = voiced + aspiration
    speech = np.zeros(n)
    for syl in syllables:
        i0, i1 = int(syl.start * SAMPLE_RATE), min(n, int((syl.start + syl.length) * SAMPLE_RATE))
        if i1 - i0 < 16:
            continue
        accent = actor.accent[3 * syl.vowel : 3 * syl.vowel + 3]
        formants = np.array(VOWELS[syl.vowel]) * actor.formant_scale * np.array(accent) * r.uniform(0.97, 1.03, 3)
        gain = 0.55 + 0.45 * syl.stress
        vowel = _formant_filter(source[i0:i1] * _syllable_envelope(i1 - i0), formants)
        # unit RMS per syllable: the tilt changes timbre, not the level against consonants
        speech[i0:i1] += gain * vowel / (np.sqrt(np.mean(vowel**2)) + 1e-9)
        if syl.consonant:
            _add_consonant_burst(speech, i0, gain, r)
    # voice quality acts where there is voice (and the resonances' short ringing after it)
    span = slice(s0, min(n, s1 + int(0.05 * SAMPLE_RATE)))
    for hz, gain in (*actor.timbre, *prosody.resonances):
        if gain > 0 and hz < 0.45 * SAMPLE_RATE:
            speech[span] += gain * _resonance(speech[span], hz)
    times = np.arange(span.start, span.stop) / SAMPLE_RATE
    for hz, depth in prosody.tremolos:
        speech[span] *= 1.0 + min(depth, 0.9) * np.sin(2 * np.pi * hz * times)
    active = np.abs(speech) > 1e-6
    rms = math.sqrt(float(np.mean(speech[active] ** 2))) if active.any() else 1.0
    speech *= 0.05 * 10 ** (prosody.loudness_db / 20) / rms
    background = lfilter([1.0], [1.0, -0.8], r.normal(0, BACKGROUND_NOISE * (0.5 + noise), n))
    return np.clip(speech + background, -1, 1).astype(np.float32)


def _resonance(signal: np.ndarray, hz: float, bandwidth: float = 150.0) -> np.ndarray:
    """A two-pole band-pass at `hz`, unit gain at its peak."""
    radius = math.exp(-math.pi * bandwidth / SAMPLE_RATE)
    c = 2 * radius * math.cos(2 * math.pi * hz / SAMPLE_RATE)
    return lfilter([1 - radius], [1, -c, radius * radius], signal)


def _add_consonant_burst(speech: np.ndarray, at: int, gain: float, r: np.random.Generator) -> None:
    """A short high-passed noise burst (fricative/plosive-like) at a syllable onset."""
    end = min(len(speech), at + int(r.uniform(0.025, 0.05) * SAMPLE_RATE))
    burst = np.diff(r.normal(0, 1, end - at + 1))  # first difference tilts the noise upward
    speech[at:end] += 0.3 * gain * burst * np.hanning(end - at)


def mouth_activity(syllables: list[Syllable], times: np.ndarray) -> np.ndarray:
    """0..1 jaw opening at each time, following the syllable envelopes."""
    out = np.zeros_like(times)
    for syl in syllables:
        u = (times - syl.start) / syl.length
        inside = (u >= 0) & (u < 1)
        out[inside] = np.maximum(out[inside], np.sin(np.pi * u[inside]) * (0.6 + 0.4 * syl.stress))
    return out

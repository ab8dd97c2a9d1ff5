"""Voices: a syllabic source-filter "speech" signal whose prosody carries the emotion.

A harmonic source (the actor's pitch, an F0 contour of accents, slope and slow wander) plus aspiration
noise goes through three formant resonators per syllable (the actor's vocal-tract length scales them),
with consonant bursts at syllable onsets. Prosody is composed in an additive space (log pitch, log range,
log tempo, dB, tilt, silent share of syllables): neutral + the actor's voice + for each emotion shown,
strength * its profile + habit * the actor's style for it (offsets, a pitch tune, a pause, a resonance, a
tremolo) + per-clip noise, so an emotion can be spoken at any strength and two emotions can be mixed (an
ambiguous voice). The emotion's pitch, range and loudness swell and ebb with the clip's time course
(timecourse.py), as its face does.

The recording then goes through conditions that say nothing of the emotion (Recording): the actor's room
(reverberation) and microphone (a spectral tilt), and per clip a signal-to-noise ratio, a noise colour and
a gain. So the level of the room noise against the speech, which the pipeline's peak normalisation turns
into the spectrogram's floor, is not a cue: a loud voice is not recorded with a quieter floor.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy.signal import fftconvolve, lfilter

from avemo.params import SENTENCES
from avemo.synth.actors import CONTOUR_KNOTS, Actor, Shown
from avemo.synth.randomness import SENTENCE_STREAM, SESSION_STREAM, rng
from avemo.synth.timecourse import TimeCourse

SAMPLE_RATE = 44100
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
    "rough_st": 0.0,  # fast pitch perturbation (a rough, harsh voice), semitones sd: blurs the upper harmonics
    "breath": 0.0,  # aspiration noise in the source
    "gap": 0.08,  # share of each syllable's slot left silent: 0 legato, 0.5 clipped
    "attack": 0.2,  # share of each syllable its onset takes: small is an abrupt, hard onset
    "burst": 0.0,  # log factor on the consonants' bursts: + crisp, hard consonants, - soft ones
}
# Each emotion's offsets from neutral at full strength (after the emotional-prosody literature: anger and
# happiness high, wide and loud, anger tense and rough; sadness low, narrow, slow, soft and breathy; fear
# high, fast and unsteady; disgust low, slow and falling). The emotions live mostly in the pitch's movement
# (range, slope, roughness), which a spectrogram's pattern shows and a clip's global statistics do not;
# their effects on tempo, pauses and spectral tilt, which such statistics read, are kept small beside
# the actors' and the takes' own variation of them.
VOICE_PROFILES = {
    "ANG": {
        "log_f0": 0.26,
        "log_range": 0.69,
        "slope_st": -0.5,
        "loudness_db": 6.0,
        "log_tempo": 0.06,
        "tilt": -0.2,
        "jitter_st": 0.6,
        "rough_st": 0.5,
        "gap": 0.05,
        "attack": -0.1,
        "burst": 0.8,
    },
    "HAP": {
        "log_f0": 0.22,
        "log_range": 0.92,
        "slope_st": 6.0,
        "loudness_db": 3.0,
        "log_tempo": 0.03,
        "tilt": -0.08,
        "jitter_st": 0.2,
        "attack": -0.03,
        "burst": 0.2,
    },
    "SAD": {
        "log_f0": -0.13,
        "log_range": -0.69,
        "slope_st": -1.5,
        "loudness_db": -6.0,
        "log_tempo": -0.1,
        "tilt": 0.15,
        "jitter_st": -0.1,
        "breath": 0.35,
        "gap": -0.03,
        "attack": 0.12,
        "burst": -0.6,
    },
    "NEU": {},
    "DIS": {
        "log_f0": -0.05,
        "slope_st": -2.0,
        "loudness_db": -1.0,
        "log_tempo": -0.08,
        "tilt": 0.08,
        "breath": 0.1,
        "rough_st": 0.2,
        "gap": 0.03,
        "attack": 0.03,
        "burst": 0.4,
    },
    "FEA": {
        "log_f0": 0.30,
        "log_range": 0.56,
        "slope_st": 2.0,
        "loudness_db": 1.0,
        "log_tempo": 0.09,
        "tilt": -0.08,
        "jitter_st": 0.7,
        "rough_st": 0.3,
        "breath": 0.2,
        "gap": 0.05,
        "attack": -0.05,
        "burst": 0.3,
    },
}
# VOICE_PROFILES are spoken this many times as strongly, for a frozen ImageNet encoder to hear them in a
# 128 px spectrogram image.
PROTOTYPE_GAIN = 1.9
# Per-clip variation at noise 1 (sd), in the same space: the same actor never says it twice alike.
CLIP_VOICE_SD = {
    "log_f0": 0.07,
    "log_range": 0.25,
    "slope_st": 1.0,
    "loudness_db": 2.5,
    "log_tempo": 0.15,
    "tilt": 0.15,
    "gap": 0.06,
    "attack": 0.03,
    "burst": 0.2,
}


# The prosody keys that follow the clip's time course: at the resting moments the voice keeps
# VOICE_COURSE_FLOOR of the emotion's offsets to them, at the apex all.
SWELLING = ("log_f0", "log_range", "loudness_db")
VOICE_COURSE_FLOOR = 0.5


@dataclass(frozen=True)
class Prosody:
    f0_factor: float  # times the actor's F0, at the apex
    range_st: float  # accent excursion, semitones, at the apex
    slope_st: float
    loudness_db: float  # at the apex
    tempo: float  # syllables per second relative to neutral
    tilt: float
    jitter_st: float
    rough_st: float
    breath: float  # 0..1
    gap: float  # 0..0.6
    attack: float  # 0.03..0.45 of each syllable
    burst_gain: float  # factor on the consonant bursts
    pauses: tuple[tuple[float, float], ...]  # (where in the sentence 0..1, seconds)
    contour_st: tuple[float, ...]  # personal tune: semitone offsets at evenly spaced points
    resonances: tuple[tuple[float, float], ...] = ()  # personal (Hz, gain) peaks added to the voice
    tremolos: tuple[tuple[float, float], ...] = ()  # personal (Hz, depth) amplitude modulations
    course: TimeCourse | None = None  # None: the apex values throughout
    rest_f0_factor: float = 1.0  # the SWELLING values at the resting moments
    rest_range_st: float = 4.0
    rest_loudness_db: float = 0.0

    def swell(self, u: np.ndarray) -> np.ndarray:
        """0..1 at shares `u` of the clip: how far the SWELLING values are from rest toward the apex."""
        if self.course is None:
            return np.ones_like(np.asarray(u, dtype=np.float64))
        return VOICE_COURSE_FLOOR + (1.0 - VOICE_COURSE_FLOOR) * self.course.weight(u)


def clip_prosody(
    actor: Actor, shown: list[Shown], r: np.random.Generator, noise: float, course: TimeCourse | None = None
) -> Prosody:
    """Neutral + the actor's voice + per emotion shown (strength * its profile + habit * the actor's style
    for it) + clip noise; the SWELLING keys also without the emotions, for the resting moments of `course`."""
    v = dict(NEUTRAL_VOICE)
    v["log_range"] += actor.pitch_range
    v["log_tempo"] += actor.speech_rate
    v["tilt"] += actor.tilt
    v["breath"] += actor.breathiness
    v["gap"] += actor.articulation
    emotional = dict.fromkeys(v, 0.0)
    contour = np.zeros(CONTOUR_KNOTS)
    for s in shown:
        for key in v:
            emotional[key] += s.strength * PROTOTYPE_GAIN * VOICE_PROFILES[s.emotion].get(
                key, 0.0
            ) + s.habit * s.style.voice.get(key, 0.0)
        contour += s.habit * np.asarray(s.style.contour_st)
    for key, sd in CLIP_VOICE_SD.items():
        v[key] += noise * sd * r.normal()
    rest = {key: v[key] + VOICE_COURSE_FLOOR * emotional[key] for key in SWELLING}
    v = {key: v[key] + emotional[key] for key in v}
    return Prosody(
        f0_factor=math.exp(v["log_f0"]),
        range_st=math.exp(v["log_range"]),
        slope_st=v["slope_st"],
        loudness_db=v["loudness_db"],
        tempo=math.exp(v["log_tempo"]),
        tilt=float(np.clip(v["tilt"], 0.5, 2.5)),
        jitter_st=max(v["jitter_st"], 0.0),
        rough_st=max(v["rough_st"], 0.0),
        breath=float(np.clip(v["breath"], 0.0, 1.0)),
        gap=float(np.clip(v["gap"], 0.0, 0.6)),
        attack=float(np.clip(v["attack"], 0.03, 0.45)),
        burst_gain=math.exp(v["burst"]),
        pauses=tuple((s.style.pause[0], s.habit * s.style.pause[1]) for s in shown),
        contour_st=tuple(float(c) for c in contour),
        resonances=tuple((s.style.resonance[0], s.habit * s.style.resonance[1]) for s in shown),
        tremolos=tuple((s.style.tremolo[0], s.habit * s.style.tremolo[1]) for s in shown),
        course=course,
        rest_f0_factor=math.exp(rest["log_f0"]),
        rest_range_st=math.exp(rest["log_range"]),
        rest_loudness_db=rest["loudness_db"],
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


def _syllable_envelope(n: int, attack_share: float) -> np.ndarray:
    """Raised-cosine attack over `attack_share` of the syllable, sustain and a longer decay."""
    t = np.linspace(0.0, 1.0, n, dtype=np.float64)
    attack = np.clip(t / attack_share, 0, 1)
    decay = np.clip((1.0 - t) / 0.35, 0, 1)
    return (0.5 - 0.5 * np.cos(np.pi * np.minimum(attack, decay))) ** 1.2


F0_HOP = 64  # samples between F0 control points: the contour is smooth, so interpolate
ROUGH_STEP_S = 0.004  # the fast perturbation's knots: a new pitch error every few periods


def f0_contour(
    t: np.ndarray,
    syllables: list[Syllable],
    f0_hz: float,
    prosody: Prosody,
    r: np.random.Generator,
    duration: float | None = None,
) -> np.ndarray:
    """F0 (Hz) at times `t`: slope, accents scaled by stress, the personal tune, slow random wander; the
    emotion's pitch and range follow the prosody's time course over a clip of `duration` seconds."""
    t0, t1 = syllables[0].start, syllables[-1].start + syllables[-1].length
    u = np.clip((t - t0) / (t1 - t0), 0, 1)
    swell = prosody.swell(t / duration) if duration else np.ones_like(t)
    accent_range = prosody.rest_range_st + swell * (prosody.range_st - prosody.rest_range_st)
    if prosody.course is None:
        accent_range = np.full_like(t, prosody.range_st, dtype=np.float64)
    semis = prosody.slope_st * (u - 0.5)
    for syl in syllables:
        centre = syl.start + 0.4 * syl.length
        semis += accent_range * (syl.stress - 0.4) * np.exp(-0.5 * ((t - centre) / (0.45 * syl.length)) ** 2)
    if len(prosody.contour_st) > 1:
        semis += np.interp(u, np.linspace(0, 1, len(prosody.contour_st)), prosody.contour_st)
    knots = r.normal(0, prosody.jitter_st, 8)
    semis += np.interp(u, np.linspace(0, 1, 8), knots)
    fast = np.arange(t[0], t[-1] + ROUGH_STEP_S, ROUGH_STEP_S)
    semis += np.interp(t, fast, r.normal(0, 1.0, len(fast))) * prosody.rough_st
    if prosody.course is None:
        factor = prosody.f0_factor
    else:
        rest, apex = math.log(prosody.rest_f0_factor), math.log(prosody.f0_factor)
        factor = np.exp(rest + swell * (apex - rest))
    return f0_hz * factor * 2.0 ** (semis / 12.0)


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


@dataclass(frozen=True)
class Recording:
    """How a clip was recorded: nothing in it depends on the emotion."""

    rt60_s: float  # the room's reverberation time
    wet: float  # share of reverberant sound
    tilt: float  # microphone and channel: y[n] = x[n] - tilt * x[n-1] (+ brighter, - duller)
    snr_db: float  # speech RMS over the noise's, where the voice is
    noise_pole: float  # the noise's colour: 0 white, toward 1 a low rumble
    gain_db: float  # the recording's level (the peak normalisation downstream undoes it)


# An actor's session (uniform ranges at noise 1, around their middles) ...
ROOM_RT60_S = (0.05, 0.3)
ROOM_WET = (0.05, 0.25)
MIC_TILT = (-0.4, 0.4)
# ... and each clip's take.
TAKE_TILT_SD = 0.12
SNR_DB = (25.0, 50.0)
NOISE_POLE = (0.0, 0.97)
GAIN_DB = (-14.0, -2.0)


def recording_conditions(seed: int, actor_id: int, r: np.random.Generator, noise: float) -> Recording:
    """The actor's session (room, microphone: the same in all his clips) and this clip's take (noise,
    gain): drawn apart from the performance, so no condition tells the emotion."""
    session = rng(seed, SESSION_STREAM, actor_id, 0)

    def pick(generator: np.random.Generator, span: tuple[float, float]) -> float:
        middle = (span[0] + span[1]) / 2
        return float(middle + min(noise, 1.0) * (generator.uniform() - 0.5) * (span[1] - span[0]))

    rt60, wet, tilt = pick(session, ROOM_RT60_S), pick(session, ROOM_WET), pick(session, MIC_TILT)
    return Recording(
        rt60_s=rt60,
        wet=wet,
        tilt=float(np.clip(tilt + noise * TAKE_TILT_SD * r.normal(), -0.9, 0.9)),
        snr_db=pick(r, SNR_DB),
        noise_pole=pick(r, NOISE_POLE),
        gain_db=pick(r, GAIN_DB),
    )


def synthesize_voice(
    actor: Actor,
    syllables: list[Syllable],
    prosody: Prosody,
    duration: float,
    r: np.random.Generator,
    noise: float,
    recording: Recording | None = None,
) -> np.ndarray:
    """Mono float32 audio of `duration` seconds at SAMPLE_RATE, recorded as `recording` says (None: dry, a
    faint white floor)."""
    n = int(round(duration * SAMPLE_RATE))
    s0 = int(syllables[0].start * SAMPLE_RATE)
    s1 = min(n, int((syllables[-1].start + syllables[-1].length) * SAMPLE_RATE) + 1)
    control = np.arange(s0, s1 + F0_HOP, F0_HOP)
    f0 = np.interp(
        np.arange(s0, s1), control, f0_contour(control / SAMPLE_RATE, syllables, actor.f0_hz, prosody, r, duration)
    )
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
        vowel = _formant_filter(source[i0:i1] * _syllable_envelope(i1 - i0, prosody.attack), formants)
        # unit RMS per syllable: the tilt changes timbre, not the level against consonants
        speech[i0:i1] += gain * vowel / (np.sqrt(np.mean(vowel**2)) + 1e-9)
        if syl.consonant:
            _add_consonant_burst(speech, i0, gain * prosody.burst_gain, r)
    # voice quality acts where there is voice (and the resonances' short ringing after it)
    span = slice(s0, min(n, s1 + int(0.05 * SAMPLE_RATE)))
    for hz, gain in (*actor.timbre, *prosody.resonances):
        if gain > 0 and hz < 0.45 * SAMPLE_RATE:
            speech[span] += gain * _resonance(speech[span], hz)
    times = np.arange(span.start, span.stop) / SAMPLE_RATE
    for hz, depth in prosody.tremolos:
        speech[span] *= 1.0 + min(depth, 0.9) * np.sin(2 * np.pi * hz * times)
    if prosody.course is not None:  # the loudness swells with the expression
        swell = prosody.swell(times / duration)
        speech[span] *= 10 ** ((prosody.rest_loudness_db - prosody.loudness_db) * (1.0 - swell) / 20)
    active = np.abs(speech) > 1e-6
    rms = math.sqrt(float(np.mean(speech[active] ** 2))) if active.any() else 1.0
    speech *= 0.05 * 10 ** (prosody.loudness_db / 20) / rms
    if recording is None:
        background = lfilter([1.0], [1.0, -0.8], r.normal(0, 0.00015 * (0.5 + noise), n))
        return np.clip(speech + background, -1, 1).astype(np.float32)
    return _record(speech, recording, r)


def _record(speech: np.ndarray, recording: Recording, r: np.random.Generator) -> np.ndarray:
    """The room, the microphone, the noise at the take's SNR and the take's gain."""
    n = len(speech)
    active = np.abs(speech) > 1e-6
    speech_rms = math.sqrt(float(np.mean(speech[active] ** 2))) if active.any() else 1.0
    taps = max(16, int(recording.rt60_s * SAMPLE_RATE))
    decay = np.exp(-6.9 * np.arange(taps) / taps)  # -60 dB at rt60
    response = r.standard_normal(taps) * decay
    response *= 1.0 / math.sqrt(float(np.sum(response**2)))
    wet = fftconvolve(speech, response)[:n]
    signal = (1.0 - recording.wet) * speech + recording.wet * wet
    signal = lfilter([1.0, -recording.tilt], [1.0], signal)
    floor = lfilter([1.0], [1.0, -recording.noise_pole], r.standard_normal(n))
    floor *= speech_rms * 10 ** (-recording.snr_db / 20) / math.sqrt(float(np.mean(floor**2)))
    signal = (signal + floor) * 10 ** (recording.gain_db / 20)
    peak = float(np.max(np.abs(signal)))
    if peak > 0.98:  # never clip: a take too loud is turned down
        signal *= 0.98 / peak
    return signal.astype(np.float32)


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

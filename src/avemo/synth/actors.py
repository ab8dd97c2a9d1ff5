"""Actors: who they are, what they look and sound like, and how each one expresses each emotion.

An actor has an identity (demographics, face shape, skin, hair, clothes) and a personal voice (pitch and
pitch range, vocal-tract length, accent on each vowel, timbre resonances, spectral tilt, breathiness,
speaking rate, articulation): these do not change with speaker_style. He also has a resting face and an
expressiveness (his Manner), and, for each emotion, a personal *style* (EmotionStyle): offsets to the
emotion's facial expression (brows, lids, mouth, cheeks, creases), a head tilt and gaze, one of the
emotion's mouth variants, offsets to its prosody (pitch, range, slope, loudness, tempo, tilt, breath,
articulation), a pitch tune, a pause, a resonance and a tremolo. A style is the same in every clip of
that actor and emotion, so a model that has seen the actor can learn it; it is drawn afresh for every
actor, so it does not carry over to unseen actors. `speaker_style` scales every style offset, the resting
face and the spread of expressiveness (0: every actor expresses an emotion the same way).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from avemo.params import EMOTIONS
from avemo.synth.randomness import ACTOR_STREAM, STYLE_STREAM, rng

FIRST_ACTOR = 1001
VOWEL_COUNT = 8  # voices.VOWELS
ACCENT_SD = 0.08  # log sd of an actor's factor on one formant of one vowel
TIMBRE_HZ = (800.0, 5000.0)  # log-uniform
TIMBRE_GAIN = (0.5, 2.0)
ALL_EMOTIONS = tuple(EMOTIONS)  # the index of an emotion is part of its seeds

RACES = ("Caucasian", "African American", "Asian", "Unknown")
RACE_WEIGHTS = (0.62, 0.24, 0.1, 0.04)  # roughly CREMA-D's mix
SKIN_TONES = {  # (lightest, darkest) linear-ish RGB in 0..1
    "Caucasian": ((0.93, 0.76, 0.64), (0.78, 0.57, 0.45)),
    "African American": ((0.64, 0.44, 0.32), (0.42, 0.27, 0.19)),
    "Asian": ((0.92, 0.75, 0.58), (0.78, 0.59, 0.43)),
    "Unknown": ((0.80, 0.60, 0.45), (0.60, 0.42, 0.30)),
}
HAIR_COLOURS = {
    "black": (0.07, 0.06, 0.05),
    "dark_brown": (0.18, 0.12, 0.08),
    "brown": (0.33, 0.22, 0.13),
    "auburn": (0.42, 0.19, 0.09),
    "blond": (0.72, 0.58, 0.34),
    "grey": (0.58, 0.56, 0.53),
}
IRIS_COLOURS = ((0.30, 0.18, 0.09), (0.18, 0.11, 0.06), (0.28, 0.40, 0.55), (0.30, 0.38, 0.24))
SHIRT_COLOURS = (
    (0.22, 0.22, 0.24),
    (0.12, 0.15, 0.30),
    (0.55, 0.12, 0.12),
    (0.75, 0.75, 0.72),
    (0.15, 0.30, 0.35),
    (0.40, 0.32, 0.22),
    (0.08, 0.08, 0.09),
    (0.45, 0.40, 0.55),
)


@dataclass(frozen=True)
class Actor:
    actor_id: int
    female: bool
    age: int
    race: str
    hispanic: bool
    # face shape, in face units (1 = half the head width)
    size_px: float  # pixels per face unit
    head_aspect: float  # head half-height / half-width
    jaw: float  # lower-face width factor (1 = round, smaller = narrow chin)
    eye_gap: float  # half distance between eye centres
    eye_w: float
    eye_h: float
    nose_w: float
    mouth_w: float
    lip_upper: float
    lip_lower: float
    eye_level: float  # the eyes' height against the head's middle (+ lower)
    nose_share: float  # where the nose ends between the eyes and the chin
    mouth_share: float  # where the mouth sits between the nose and the chin
    brow_gap: float  # brows above the eyes
    skin: tuple[float, float, float]
    lip_colour: tuple[float, float, float]
    hair_colour: tuple[float, float, float]
    hair_style: str  # short | long | receding
    iris: tuple[float, float, float]
    shirt: tuple[float, float, float]
    # voice
    f0_hz: float  # speaking pitch
    formant_scale: float  # vocal-tract length (1 = average man; women ~1.14)
    pitch_range: float  # log factor on every pitch excursion (0 = average)
    speech_rate: float  # log factor on the syllable rate
    tilt: float  # added to the spectral tilt: + darker, - brighter timbre
    breathiness: float  # aspiration noise mixed into the voice source, 0..1
    articulation: float  # share of each syllable left silent: 0 legato, 0.3 clipped
    accent: tuple[float, ...]  # factors on each vowel's formants (VOWEL_COUNT x 3, row by row): how he says them
    timbre: tuple[tuple[float, float], ...]  # (Hz, gain) resonances of his vocal tract beyond the formants


def actor_ids(actors: int) -> list[int]:
    return [FIRST_ACTOR + i for i in range(actors)]


def make_actor(seed: int, actor_id: int) -> Actor:
    """The actor's identity, face and voice: fixed by the seed and the id alone."""
    r = rng(seed, ACTOR_STREAM, actor_id)
    female = (actor_id - FIRST_ACTOR) % 2 == 1  # 1001 male, 1002 female, ...: exactly half
    age = int(r.integers(20, 63))
    race = RACES[r.choice(len(RACES), p=RACE_WEIGHTS)]
    light, dark = (np.array(c) for c in SKIN_TONES[race])
    skin = light + (dark - light) * r.uniform() + r.normal(0, 0.015, 3)
    lip_colour = skin * np.array([0.8, 0.56, 0.58]) + np.array([0.05, 0.0, 0.02])
    return Actor(
        actor_id=actor_id,
        female=female,
        age=age,
        race=race,
        hispanic=bool(r.uniform() < 0.1),
        size_px=r.uniform(54, 62) * (0.95 if female else 1.0),
        head_aspect=r.uniform(1.28, 1.42),
        jaw=r.uniform(0.62, 0.82) + (0.0 if female else 0.06),
        eye_gap=r.uniform(0.37, 0.43),
        eye_w=r.uniform(0.19, 0.22),
        eye_h=r.uniform(0.09, 0.11),
        nose_w=r.uniform(0.13, 0.18) + (0.02 if race == "African American" else 0.0),
        mouth_w=r.uniform(0.36, 0.43),
        lip_upper=r.uniform(0.055, 0.08) * (1.1 if female else 1.0),
        lip_lower=r.uniform(0.075, 0.105) * (1.1 if female else 1.0),
        eye_level=r.uniform(-0.1, 0.1),
        nose_share=r.uniform(0.44, 0.56),
        mouth_share=r.uniform(0.26, 0.42),
        brow_gap=r.uniform(0.22, 0.3),
        skin=as_rgb(skin),
        lip_colour=as_rgb(lip_colour),
        hair_colour=as_rgb(np.array(HAIR_COLOURS[_hair_colour_name(r, race, age)]) * r.uniform(0.9, 1.1)),
        hair_style=_hair_style(r, female),
        iris=IRIS_COLOURS[int(r.integers(len(IRIS_COLOURS)))] if race == "Caucasian" else IRIS_COLOURS[1],
        shirt=SHIRT_COLOURS[int(r.integers(len(SHIRT_COLOURS)))],
        f0_hz=float(np.clip(r.normal(205, 25) if female else r.normal(115, 18), 70, 320)),
        formant_scale=float(r.uniform(1.06, 1.22) if female else r.uniform(0.92, 1.08)),
        pitch_range=float(r.normal(0, 0.4)),
        speech_rate=float(np.clip(r.normal(0, 0.2), -0.4, 0.4)),
        tilt=float(r.normal(0, 0.2)),
        breathiness=float(r.uniform(0.0, 0.6)),
        articulation=float(r.uniform(0.0, 0.25)),
        accent=tuple(float(v) for v in np.exp(r.normal(0, ACCENT_SD, (VOWEL_COUNT, 3))).ravel()),
        timbre=tuple((float(np.exp(r.uniform(*np.log(TIMBRE_HZ)))), float(r.uniform(*TIMBRE_GAIN))) for _ in range(2)),
    )


def as_rgb(values) -> tuple[float, float, float]:
    return tuple(float(v) for v in np.clip(values, 0.0, 1.0))


def _hair_colour_name(r: np.random.Generator, race: str, age: int) -> str:
    if age > 45 and r.uniform() < 0.5:
        return "grey"
    if race in ("African American", "Asian"):
        return ("black", "dark_brown")[int(r.integers(2))]
    names = ("black", "dark_brown", "brown", "auburn", "blond")
    return names[r.choice(len(names), p=(0.15, 0.3, 0.3, 0.1, 0.15))]


def _hair_style(r: np.random.Generator, female: bool) -> str:
    styles = ("short", "long", "receding")
    return styles[r.choice(3, p=(0.35, 0.65, 0.0) if female else (0.7, 0.08, 0.22))]


# ---------------------------------------------------------------------------
# Personal style: how this actor expresses emotions (scaled by speaker_style)
# ---------------------------------------------------------------------------

# Spread (sd at speaker_style 1) of an actor's personal offsets to an emotion's facial expression, per
# faces.Expression field: of the order of the emotions' own offsets (faces.FACE_PROFILES x faces.SHAPE_GAIN
# for the shapes, x faces.MARK_GAIN for the creases).
FACE_STYLE_SD = {
    "brow_inner": 0.086,
    "brow_outer": 0.054,
    "brow_pinch": 0.036,
    "lid_upper": 0.36,
    "lid_lower": 0.36,
    "mouth_corner": 0.072,
    "mouth_width": 0.108,
    "mouth_open": 0.054,
    "upper_teeth": 0.72,
    "lower_teeth": 0.72,
    "lip_press": 0.5,
    "cheek": 0.72,
    "fold": 0.2,
    "frown_lines": 1.44,
    "forehead_lines": 1.44,
    "nose_wrinkle": 1.44,
    "speech_gain": 0.55,
}
ROLL_SD_DEG = 5.5  # a personal head tilt while expressing the emotion
GAZE_SD = (0.08, 0.035)  # a personal gaze direction (face units of iris shift)
# ... and to its prosody, per voices.VOICE_PROFILES field (log factors, semitones, dB, tilt units).
VOICE_STYLE_SD = {
    "log_f0": 0.15,
    "log_range": 0.3,
    "slope_st": 1.5,
    "loudness_db": 2.0,
    "log_tempo": 0.15,
    "tilt": 0.3,
    "jitter_st": 0.2,
    "breath": 0.2,
    "gap": 0.08,
    "attack": 0.06,
    "burst": 0.5,
    "rough_st": 0.15,
}
CONTOUR_KNOTS = 6  # a personal pitch tune: semitone offsets at evenly spaced points of the sentence
CONTOUR_SD_ST = 1.5
# A personal voice setting for the emotion (a constricted throat, a smile in the voice...): an extra
# resonance at a personal frequency, and a personal tremolo; gains at speaker_style 1.
RESONANCE_HZ = (700.0, 4500.0)  # log-uniform
RESONANCE_GAIN = 1.5  # the resonance's peak gain, relative to the voice at that frequency (+8 dB)
TREMOLO_HZ = (3.0, 9.0)
TREMOLO_DEPTH = 0.4  # amplitude modulation depth
PAUSE_S = 0.2  # a personal pause somewhere in the sentence, up to this long
# Emotion-independent manner: the resting face (a person whose mouth corners turn down at rest), and
# expressiveness (a log factor on the strength of every expression).
RESTING_FACE_SD = {"mouth_corner": 0.02, "brow_inner": 0.025, "brow_outer": 0.02, "lid_upper": 0.08}
EXPRESSIVENESS_SD = 0.2


@dataclass(frozen=True)
class EmotionStyle:
    """One actor's personal way of expressing one emotion; every offset is already scaled by strength."""

    face: dict[str, float]  # added to the emotion's Expression offsets
    mouth_pick: float  # 0..1: which of the emotion's mouth variants this actor uses
    roll_deg: float
    gaze: tuple[float, float]
    voice: dict[str, float]  # added to the emotion's prosody offsets
    contour_st: tuple[float, ...]  # CONTOUR_KNOTS semitone offsets of the pitch tune
    resonance: tuple[float, float]  # (Hz, gain) of the personal resonance
    tremolo: tuple[float, float]  # (Hz, depth) of the personal tremolo
    pause: tuple[float, float]  # (where in the sentence 0..1, seconds) of the personal pause


@dataclass(frozen=True)
class Shown:
    """One emotion as one modality of a clip shows it."""

    emotion: str
    strength: float  # weight of the emotion's prototype: the level's intensity x expressiveness x jitter
    habit: float  # weight of the actor's style for it: expressiveness (less in an ambiguous modality)
    style: EmotionStyle


@dataclass(frozen=True)
class Manner:
    """One actor's emotion-independent habits, scaled by strength."""

    resting_face: dict[str, float]  # added to every Expression of the actor
    expressiveness: float  # factor on every expression's strength


def emotion_style(seed: int, actor_id: int, emotion: str, strength: float) -> EmotionStyle:
    """The actor's style for `emotion`: drawn once per (seed, actor, emotion), scaled by `strength`."""
    r = rng(seed, STYLE_STREAM, actor_id, ALL_EMOTIONS.index(emotion))
    # draws are made at unit scale, then scaled: changing strength changes sizes, not directions
    face = {k: float(strength * sd * r.normal()) for k, sd in FACE_STYLE_SD.items()}
    mouth_pick = float(r.uniform())
    roll = float(strength * ROLL_SD_DEG * r.normal())
    gaze = (float(strength * GAZE_SD[0] * r.normal()), float(strength * GAZE_SD[1] * r.normal()))
    voice = {k: float(strength * sd * r.normal()) for k, sd in VOICE_STYLE_SD.items()}
    contour = tuple(float(strength * CONTOUR_SD_ST * v) for v in r.normal(size=CONTOUR_KNOTS))
    resonance = (
        float(np.exp(r.uniform(*np.log(RESONANCE_HZ)))),
        float(strength * RESONANCE_GAIN * r.uniform(0.5, 1.0)),
    )
    tremolo = (float(r.uniform(*TREMOLO_HZ)), float(strength * TREMOLO_DEPTH * r.uniform(0.3, 1.0)))
    pause = (float(r.uniform(0.15, 0.85)), float(strength * PAUSE_S * r.uniform(0.3, 1.0)))
    return EmotionStyle(face, mouth_pick, roll, gaze, voice, contour, resonance, tremolo, pause)


def actor_manner(seed: int, actor_id: int, strength: float) -> Manner:
    """The actor's resting face and expressiveness, scaled by `strength`."""
    r = rng(seed, STYLE_STREAM, actor_id, len(ALL_EMOTIONS))  # a key no emotion uses
    resting = {k: float(strength * sd * r.normal()) for k, sd in RESTING_FACE_SD.items()}
    return Manner(resting, float(np.exp(strength * EXPRESSIVENESS_SD * r.normal())))

"""A deterministic, CREMA-D-shaped synthetic corpus of talking-head clips.

It lets the whole pipeline run end to end without the real dataset. The layout
mirrors CREMA-D: ``VideoFlash/<ActorID>_<Sentence>_<Emotion>_XX.flv`` (480x360
Sorenson H.263 video plus mono 44.1 kHz MP3 audio) and ``VideoDemographics.csv``.

Each clip shows a photo-like rendered face (shaded head, hair, eyes, brows, nose,
lips, neck and shoulders, blurred so MTCNN accepts it) whose expression carries
the emotion, and a synthetic speech-like voice (harmonic source, formants,
syllables, F0 contour) whose prosody carries it independently. Per-clip noise
(expression intensity, pose, lighting, background, F0, tempo, loudness) keeps
the task learnable but not a lookup.

Every random choice comes from a numpy Generator seeded from ``seed`` plus the
actor / sentence / emotion it concerns, so the bytes written do not depend on the
job count or the order clips are made in.
"""

from __future__ import annotations

import csv
import math
import os
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, replace
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
from scipy.ndimage import gaussian_filter
from scipy.signal import lfilter
from tqdm import tqdm

from avemo.dataset import EMOTIONS, SENTENCES

WIDTH, HEIGHT = 480, 360
SAMPLE_RATE = 44100
FIRST_ACTOR = 1001
LEVEL = "XX"
# CREMA-D's 12 sentence codes (dataset.SENTENCES), in the order `sentences=N` takes the first N.
# Syllables spoken in each sentence ("It's eleven o'clock" -> 5, ...): sets the rhythm.
SYLLABLES = {
    "IEO": 5, "TIE": 8, "IOM": 8, "IWW": 8, "TAI": 7, "MTI": 9,
    "IWL": 8, "ITH": 10, "DFA": 6, "ITS": 7, "TSI": 5, "WSI": 9,
}
# All CREMA-D emotions; the index is part of each clip's seed, so choosing a
# subset of emotions does not change the clips of the others.
ALL_EMOTIONS = tuple(EMOTIONS)
DEMOGRAPHICS_HEADER = ("ActorID", "Age", "Sex", "Race", "Ethnicity")
LEAD_SILENCE_S = 0.2
TAIL_SILENCE_S = 0.2

# Distinct streams of randomness (first key after the seed).
_ACTOR_STREAM, _SENTENCE_STREAM, _CLIP_STREAM = 1, 2, 3


def _rng(seed: int, *keys: int) -> np.random.Generator:
    return np.random.default_rng(np.random.SeedSequence([int(seed), *map(int, keys)]))


# ---------------------------------------------------------------------------
# Corpus layout
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class ClipId:
    actor: int
    sentence: str
    emotion: str

    @property
    def name(self) -> str:
        return f"{self.actor}_{self.sentence}_{self.emotion}_{LEVEL}"


def actor_ids(actors: int) -> list[int]:
    return [FIRST_ACTOR + i for i in range(actors)]


def clip_grid(actors: int, sentences: int, emotions: tuple[str, ...]) -> list[ClipId]:
    """Every actor x sentence x emotion, in CREMA-D naming order."""
    if not 1 <= sentences <= len(SENTENCES):
        raise ValueError(f"sentences must be 1..{len(SENTENCES)}, got {sentences}")
    unknown = [e for e in emotions if e not in ALL_EMOTIONS]
    if unknown or not emotions:
        raise ValueError(f"emotions must be a non-empty subset of {ALL_EMOTIONS}, got {emotions}")
    if actors < 1:
        raise ValueError(f"actors must be >= 1, got {actors}")
    return [
        ClipId(a, s, e)
        for a in actor_ids(actors)
        for s in SENTENCES[:sentences]
        for e in emotions
    ]


def generate_corpus(
    out_dir: str | Path,
    *,
    actors: int = 30,
    sentences: int = 3,
    emotions: tuple[str, ...] | list[str] = ("ANG", "HAP", "SAD"),
    duration: float = 2.5,
    fps: float = 30,
    seed: int = 0,
    noise: float = 1.0,
    jobs: int | None = None,
    progress: bool = True,
) -> list[Path]:
    """Write the synthetic corpus under ``out_dir`` and return the clip paths.

    actors: number of actors (IDs 1001, 1002, ...), half of them female.
    sentences: how many of CREMA-D's sentence codes to use (first N of SENTENCES).
    emotions: CREMA-D emotion codes to render (any of ALL_EMOTIONS).
    duration: clip length in seconds (speech plus ~0.2 s silence at each end).
    fps: video frame rate.
    seed: master seed; same params and seed give byte-identical files.
    noise: scale of the per-clip variation in expression intensity, pose,
        lighting, background, F0, tempo and loudness (0 = none: each emotion
        looks and sounds like its prototype; 1 = default, classes overlap).
    jobs: worker processes (default os.cpu_count()); 1 renders in-process.
    progress: show a tqdm progress bar.
    """
    clips = clip_grid(actors, sentences, tuple(emotions))
    if duration <= 0 or fps <= 0:
        raise ValueError("duration and fps must be positive")
    out_dir = Path(out_dir)
    video_dir = out_dir / "VideoFlash"
    video_dir.mkdir(parents=True, exist_ok=True)
    _remove_stale_temp_files(out_dir)
    write_demographics(out_dir / "VideoDemographics.csv", actors=actors, seed=seed)

    tasks = [(clip, str(video_dir), float(duration), fps, int(seed), float(noise)) for clip in clips]
    jobs = max(1, min(jobs or os.cpu_count() or 1, len(tasks)))
    bar = tqdm(total=len(tasks), desc="sample", unit="clip", disable=not progress)
    paths: list[Path] = []
    with bar:
        if jobs == 1:
            for task in tasks:
                paths.append(_render_task(task))
                bar.update()
        else:
            with ProcessPoolExecutor(max_workers=jobs) as pool:
                for path in pool.map(_render_task, tasks, chunksize=4):
                    paths.append(path)
                    bar.update()
    return paths


def _remove_stale_temp_files(out_dir: Path) -> None:
    # Only our own temp names: what a killed run left half-written.
    for tmp in [*out_dir.glob(".VideoDemographics.csv.tmp*"), *(out_dir / "VideoFlash").glob(".*.flv.tmp*")]:
        tmp.unlink(missing_ok=True)


def _render_task(task: tuple) -> Path:
    clip, video_dir, duration, fps, seed, noise = task
    return write_clip(Path(video_dir) / f"{clip.name}.flv", clip, duration=duration, fps=fps, seed=seed, noise=noise)


# ---------------------------------------------------------------------------
# Actors: identity and demographics
# ---------------------------------------------------------------------------

RACES = ("Caucasian", "African American", "Asian", "Unknown")
RACE_WEIGHTS = (0.62, 0.24, 0.1, 0.04)  # roughly CREMA-D's mix
SKIN_TONES = {  # (lightest, darkest) linear-ish RGB in 0..1
    "Caucasian": ((0.93, 0.76, 0.64), (0.78, 0.57, 0.45)),
    "African American": ((0.64, 0.44, 0.32), (0.42, 0.27, 0.19)),
    "Asian": ((0.92, 0.75, 0.58), (0.78, 0.59, 0.43)),
    "Unknown": ((0.80, 0.60, 0.45), (0.60, 0.42, 0.30)),
}
HAIR_COLOURS = {
    "black": (0.07, 0.06, 0.05), "dark_brown": (0.18, 0.12, 0.08), "brown": (0.33, 0.22, 0.13),
    "auburn": (0.42, 0.19, 0.09), "blond": (0.72, 0.58, 0.34), "grey": (0.58, 0.56, 0.53),
}
IRIS_COLOURS = ((0.30, 0.18, 0.09), (0.18, 0.11, 0.06), (0.28, 0.40, 0.55), (0.30, 0.38, 0.24))
SHIRT_COLOURS = (
    (0.22, 0.22, 0.24), (0.12, 0.15, 0.30), (0.55, 0.12, 0.12), (0.75, 0.75, 0.72),
    (0.15, 0.30, 0.35), (0.40, 0.32, 0.22), (0.08, 0.08, 0.09), (0.45, 0.40, 0.55),
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
    skin: tuple[float, float, float]
    lip_colour: tuple[float, float, float]
    hair_colour: tuple[float, float, float]
    hair_style: str  # short | long | receding
    iris: tuple[float, float, float]
    shirt: tuple[float, float, float]
    # voice
    f0_hz: float
    formant_scale: float


def make_actor(seed: int, actor_id: int) -> Actor:
    rng = _rng(seed, _ACTOR_STREAM, actor_id)
    female = (actor_id - FIRST_ACTOR) % 2 == 1  # 1001 male, 1002 female, ...: exactly half
    age = int(rng.integers(20, 63))
    race = RACES[rng.choice(len(RACES), p=RACE_WEIGHTS)]
    light, dark = (np.array(c) for c in SKIN_TONES[race])
    skin = light + (dark - light) * rng.uniform() + rng.normal(0, 0.015, 3)
    lip_colour = skin * np.array([0.8, 0.56, 0.58]) + np.array([0.05, 0.0, 0.02])
    return Actor(
        actor_id=actor_id, female=female, age=age, race=race, hispanic=bool(rng.uniform() < 0.1),
        size_px=rng.uniform(54, 62) * (0.95 if female else 1.0),
        head_aspect=rng.uniform(1.28, 1.42), jaw=rng.uniform(0.62, 0.82) + (0.0 if female else 0.06),
        eye_gap=rng.uniform(0.37, 0.43), eye_w=rng.uniform(0.19, 0.22), eye_h=rng.uniform(0.09, 0.11),
        nose_w=rng.uniform(0.13, 0.18) + (0.02 if race == "African American" else 0.0),
        mouth_w=rng.uniform(0.36, 0.43), lip_upper=rng.uniform(0.055, 0.08) * (1.1 if female else 1.0),
        lip_lower=rng.uniform(0.075, 0.105) * (1.1 if female else 1.0),
        skin=_rgb(skin), lip_colour=_rgb(lip_colour),
        hair_colour=_rgb(np.array(HAIR_COLOURS[_hair_colour_name(rng, race, age)]) * rng.uniform(0.9, 1.1)),
        hair_style=_hair_style(rng, female),
        iris=IRIS_COLOURS[int(rng.integers(len(IRIS_COLOURS)))] if race == "Caucasian" else IRIS_COLOURS[1],
        shirt=SHIRT_COLOURS[int(rng.integers(len(SHIRT_COLOURS)))],
        f0_hz=float(rng.normal(205, 18) if female else rng.normal(112, 11)),
        formant_scale=float(rng.uniform(1.1, 1.18) if female else rng.uniform(0.96, 1.04)),
    )


def _rgb(values) -> tuple[float, float, float]:
    return tuple(float(v) for v in np.clip(values, 0.0, 1.0))


def _hair_colour_name(rng: np.random.Generator, race: str, age: int) -> str:
    if age > 45 and rng.uniform() < 0.5:
        return "grey"
    if race in ("African American", "Asian"):
        return ("black", "dark_brown")[int(rng.integers(2))]
    names = ("black", "dark_brown", "brown", "auburn", "blond")
    return names[rng.choice(len(names), p=(0.15, 0.3, 0.3, 0.1, 0.15))]


def _hair_style(rng: np.random.Generator, female: bool) -> str:
    styles = ("short", "long", "receding")
    return styles[rng.choice(3, p=(0.35, 0.65, 0.0) if female else (0.7, 0.08, 0.22))]


def write_demographics(path: str | Path, *, actors: int, seed: int) -> Path:
    """VideoDemographics.csv exactly in CREMA-D's format (quoted strings, bare numbers)."""
    path = Path(path)
    tmp = path.with_name(f".{path.name}.tmp{os.getpid()}")
    with tmp.open("w", newline="") as f:
        writer = csv.writer(f, quoting=csv.QUOTE_NONNUMERIC, lineterminator="\n")
        writer.writerow(DEMOGRAPHICS_HEADER)
        for actor_id in actor_ids(actors):
            a = make_actor(seed, actor_id)
            sex = "Female" if a.female else "Male"
            writer.writerow([a.actor_id, a.age, sex, a.race, "Hispanic" if a.hispanic else "Not Hispanic"])
    os.replace(tmp, path)
    return path


# ---------------------------------------------------------------------------
# Emotions: facial expression and prosody profiles
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Expression:
    """Face-unit offsets of the movable features (positive y is down)."""

    brow_inner: float = 0.0  # + lowers the inner brow ends
    brow_outer: float = 0.0
    brow_pinch: float = 0.0  # + pulls the brows toward the nose
    lid_upper: float = 1.0  # upper-lid opening factor
    lid_lower: float = 1.0  # lower-lid opening factor (cheek raise narrows it)
    mouth_corner: float = 0.01  # + pulls the corners down, - up (smile)
    mouth_width: float = 1.0
    mouth_open: float = 0.0  # lip gap in face units
    upper_teeth: float = 0.0  # 0..1 visibility
    lower_teeth: float = 0.0
    lip_press: float = 0.0  # 0..1 thins the lips
    cheek: float = 0.0  # raised cheeks (highlight, deeper folds)
    fold: float = 0.08  # nasolabial fold darkness
    frown_lines: float = 0.0  # vertical lines between the brows (anger)
    forehead_lines: float = 0.0  # horizontal centre-forehead lines (sadness, fear)
    nose_wrinkle: float = 0.0
    speech_gain: float = 1.0  # how far the jaw moves with the syllables


# Offsets from neutral at full intensity; ANG and HAP have two mouth variants.
FACE_PROFILES = {
    "ANG": dict(brow_inner=0.10, brow_outer=-0.01, brow_pinch=0.045, lid_upper=-0.35, lid_lower=-0.35,
                mouth_corner=0.025, frown_lines=1.0, fold=0.05, speech_gain=0.1),
    "HAP": dict(brow_inner=-0.025, brow_outer=-0.02, lid_lower=-0.4, mouth_corner=-0.11, mouth_width=0.16,
                cheek=1.0, fold=0.22),
    "SAD": dict(brow_inner=-0.09, brow_outer=0.035, brow_pinch=0.02, lid_upper=-0.33, mouth_corner=0.075,
                mouth_width=-0.08, lip_press=0.15, forehead_lines=1.0, speech_gain=-0.4),
    "NEU": dict(),
    "DIS": dict(brow_inner=0.06, brow_pinch=0.02, lid_lower=-0.3, mouth_corner=0.045, mouth_width=-0.05,
                mouth_open=0.03, upper_teeth=0.6, nose_wrinkle=1.0, fold=0.15),
    "FEA": dict(brow_inner=-0.1, brow_outer=-0.06, brow_pinch=0.03, lid_upper=0.35, lid_lower=0.1,
                mouth_corner=0.02, mouth_width=0.12, mouth_open=0.1, lower_teeth=0.8, forehead_lines=0.8),
}
MOUTH_VARIANTS = {  # alternative mouths, picked per clip so one emotion is not one picture
    "ANG": (dict(lip_press=0.6, mouth_width=-0.06), dict(mouth_open=0.1, upper_teeth=1.0, lower_teeth=1.0, mouth_width=0.06)),
    "HAP": (dict(), dict(mouth_open=0.11, upper_teeth=1.0)),
}


@dataclass(frozen=True)
class Prosody:
    f0_factor: float  # times the actor's F0
    range_st: float  # accent excursion, semitones
    slope_st: float  # overall rise (+) or fall (-) across the sentence, semitones
    loudness_db: float
    tempo: float  # syllables per second relative to neutral
    tilt: float  # harmonic amplitude ~ k**-tilt: smaller is brighter
    jitter_st: float  # slow random pitch wander, semitones


VOICE_PROFILES = {
    "ANG": Prosody(1.30, 8.0, -1.5, 6.0, 1.15, 0.85, 0.6),
    "HAP": Prosody(1.25, 10.0, 4.0, 3.0, 1.05, 1.15, 0.5),
    "SAD": Prosody(0.88, 2.0, -2.0, -6.0, 0.80, 1.75, 0.2),
    "NEU": Prosody(1.00, 4.0, -1.0, 0.0, 1.00, 1.35, 0.3),
    "DIS": Prosody(0.95, 4.0, -2.5, -1.0, 0.85, 1.5, 0.3),
    "FEA": Prosody(1.35, 7.0, 1.0, 1.0, 1.20, 1.2, 1.0),
}


def clip_expression(emotion: str, rng: np.random.Generator, noise: float) -> Expression:
    """The emotion's prototype at a random intensity, with a random mouth variant and jitter."""
    offsets = dict(FACE_PROFILES[emotion])
    if emotion in MOUTH_VARIANTS:
        variants = MOUTH_VARIANTS[emotion]
        for key, value in variants[int(rng.integers(len(variants)))].items():
            offsets[key] = offsets.get(key, 0.0) + value
    intensity = float(np.clip(1.0 - noise * rng.uniform(0.0, 0.5), 0.3, 1.0))
    neutral = Expression()
    values = {}
    for field in neutral.__dataclass_fields__:
        base = getattr(neutral, field)
        jitter = noise * rng.normal(0, 0.02 if field not in ("lid_upper", "lid_lower") else 0.07)
        values[field] = base + intensity * offsets.get(field, 0.0) + jitter
    for field in ("mouth_open", "upper_teeth", "lower_teeth", "lip_press", "cheek", "fold",
                  "frown_lines", "forehead_lines", "nose_wrinkle"):
        values[field] = max(0.0, values[field])
    return Expression(**values)


def clip_prosody(emotion: str, rng: np.random.Generator, noise: float) -> Prosody:
    """The emotion's prosody with per-clip variation that overlaps between emotions."""
    p = VOICE_PROFILES[emotion]
    return replace(
        p,
        f0_factor=p.f0_factor * math.exp(noise * rng.normal(0, 0.07)),
        range_st=p.range_st * math.exp(noise * rng.normal(0, 0.25)),
        slope_st=p.slope_st + noise * rng.normal(0, 1.0),
        loudness_db=p.loudness_db + noise * rng.normal(0, 2.5),
        tempo=p.tempo * math.exp(noise * rng.normal(0, 0.08)),
        tilt=p.tilt + noise * rng.normal(0, 0.12),
    )


# ---------------------------------------------------------------------------
# Voice: a syllabic source-filter "speech" signal
# ---------------------------------------------------------------------------

# Male formants (F1, F2, F3) of a few vowels; the actor scales them.
VOWELS = (
    (730, 1090, 2440), (270, 2290, 3010), (300, 870, 2240), (530, 1840, 2480),
    (570, 840, 2410), (660, 1720, 2410), (490, 1350, 1690), (520, 1190, 2390),
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
    rng = _rng(seed, _SENTENCE_STREAM, SENTENCES.index(sentence))
    n = SYLLABLES[sentence]
    stress = rng.uniform(0.0, 1.0, n)
    lengths = rng.uniform(0.75, 1.15, n) + 0.35 * stress
    vowels = rng.integers(len(VOWELS), size=n)
    consonants = rng.uniform(size=n) < 0.65
    return lengths, stress, vowels, consonants


def plan_syllables(seed: int, sentence: str, tempo: float, duration: float,
                   rng: np.random.Generator, noise: float) -> list[Syllable]:
    lengths, stress, vowels, consonants = sentence_rhythm(seed, sentence)
    available = max(duration - LEAD_SILENCE_S - TAIL_SILENCE_S, 0.1)
    natural = len(lengths) * SYLLABLE_S / tempo
    span = min(natural, available)  # short clips squeeze the sentence in
    start = min(LEAD_SILENCE_S, duration / 4) + noise * rng.uniform(0, 0.3) * (available - span)
    bounds = start + span * np.concatenate([[0.0], np.cumsum(lengths)]) / lengths.sum()
    return [
        Syllable(float(bounds[i]), float(bounds[i + 1] - bounds[i]), float(stress[i]), int(vowels[i]), bool(consonants[i]))
        for i in range(len(lengths))
    ]


def _syllable_envelope(n: int) -> np.ndarray:
    """Raised-cosine attack, sustain and a longer decay."""
    t = np.linspace(0.0, 1.0, n, dtype=np.float64)
    attack = np.clip(t / 0.2, 0, 1)
    decay = np.clip((1.0 - t) / 0.35, 0, 1)
    return (0.5 - 0.5 * np.cos(np.pi * np.minimum(attack, decay))) ** 1.2


F0_HOP = 64  # samples between F0 control points: the contour is smooth, so interpolate


def f0_contour(t: np.ndarray, syllables: list[Syllable], f0_hz: float, prosody: Prosody,
               rng: np.random.Generator) -> np.ndarray:
    """F0 (Hz) at times `t`: global slope, per-syllable accents scaled by stress, slow random wander."""
    t0, t1 = syllables[0].start, syllables[-1].start + syllables[-1].length
    u = np.clip((t - t0) / (t1 - t0), 0, 1)
    semis = prosody.slope_st * (u - 0.5)
    for syl in syllables:
        centre = syl.start + 0.4 * syl.length
        semis += prosody.range_st * (syl.stress - 0.4) * np.exp(-0.5 * ((t - centre) / (0.45 * syl.length)) ** 2)
    knots = rng.normal(0, prosody.jitter_st, 8)
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
        out += cur * k ** -tilt
    return out


def _formant_filter(signal: np.ndarray, formants: np.ndarray) -> np.ndarray:
    """Cascade of two-pole resonators, each with unit gain at DC (Klatt-style)."""
    for freq, bw in zip(formants, FORMANT_BANDWIDTHS):
        r = math.exp(-math.pi * bw / SAMPLE_RATE)
        c = 2 * r * math.cos(2 * math.pi * freq / SAMPLE_RATE)
        signal = lfilter([1 - c + r * r], [1, -c, r * r], signal)
    return signal


def synthesize_voice(actor: Actor, syllables: list[Syllable], prosody: Prosody, duration: float,
                     rng: np.random.Generator, noise: float) -> np.ndarray:
    """Mono float32 audio of `duration` seconds at SAMPLE_RATE."""
    n = int(round(duration * SAMPLE_RATE))
    s0 = int(syllables[0].start * SAMPLE_RATE)
    s1 = min(n, int((syllables[-1].start + syllables[-1].length) * SAMPLE_RATE) + 1)
    control = np.arange(s0, s1 + F0_HOP, F0_HOP)
    f0 = np.interp(np.arange(s0, s1), control, f0_contour(control / SAMPLE_RATE, syllables, actor.f0_hz, prosody, rng))
    source = np.zeros(n)
    source[s0:s1] = harmonic_source(f0, prosody.tilt)
    speech = np.zeros(n)
    for syl in syllables:
        i0, i1 = int(syl.start * SAMPLE_RATE), min(n, int((syl.start + syl.length) * SAMPLE_RATE))
        if i1 - i0 < 16:
            continue
        formants = np.array(VOWELS[syl.vowel]) * actor.formant_scale * rng.uniform(0.95, 1.05, 3)
        gain = 0.55 + 0.45 * syl.stress
        vowel = _formant_filter(source[i0:i1] * _syllable_envelope(i1 - i0), formants)
        # unit RMS per syllable: the tilt changes timbre, not the level against consonants
        speech[i0:i1] += gain * vowel / (np.sqrt(np.mean(vowel ** 2)) + 1e-9)
        if syl.consonant:
            _add_consonant_burst(speech, i0, gain, rng)
    voiced = np.abs(speech) > 1e-6
    rms = math.sqrt(float(np.mean(speech[voiced] ** 2))) if voiced.any() else 1.0
    speech *= 0.05 * 10 ** (prosody.loudness_db / 20) / rms
    background = lfilter([1.0], [1.0, -0.8], rng.normal(0, 0.0008 * (0.5 + noise), n))
    return np.clip(speech + background, -1, 1).astype(np.float32)


def _add_consonant_burst(speech: np.ndarray, at: int, gain: float, rng: np.random.Generator) -> None:
    """A short high-passed noise burst (fricative/plosive-like) at a syllable onset."""
    end = min(len(speech), at + int(rng.uniform(0.025, 0.05) * SAMPLE_RATE))
    burst = np.diff(rng.normal(0, 1, end - at + 1))  # first difference tilts the noise upward
    speech[at:end] += 0.3 * gain * burst * np.hanning(end - at)


def mouth_activity(syllables: list[Syllable], times: np.ndarray) -> np.ndarray:
    """0..1 jaw opening at each time, following the syllable envelopes."""
    out = np.zeros_like(times)
    for syl in syllables:
        u = (times - syl.start) / syl.length
        inside = (u >= 0) & (u < 1)
        out[inside] = np.maximum(out[inside], np.sin(np.pi * u[inside]) * (0.6 + 0.4 * syl.stress))
    return out


# ---------------------------------------------------------------------------
# Face rendering
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Scene:
    cx: float  # head centre, pixels
    cy: float
    unit: float  # pixels per face unit
    angle: float  # head roll, radians
    light: tuple[float, float, float]  # unit vector toward the light (x right, y down, z to camera)
    gain: float  # overall brightness
    background: tuple[float, float, float]
    grain: float  # image noise sd (0..1 scale)
    gaze: tuple[float, float]


def make_scene(actor: Actor, rng: np.random.Generator, noise: float) -> Scene:
    lx = float(np.clip(noise * rng.normal(0, 0.35), -0.6, 0.6))
    light = np.array([lx, -0.45, 0.85])
    green = np.array([0.16, 0.58, 0.22])
    return Scene(
        cx=WIDTH / 2 - 8 + float(np.clip(noise * rng.normal(0, 10), -25, 25)),
        cy=HEIGHT * 0.39 + float(np.clip(noise * rng.normal(0, 6), -15, 15)),
        unit=actor.size_px * math.exp(noise * rng.normal(0, 0.05)),
        angle=math.radians(float(np.clip(noise * rng.normal(0, 3.5), -9, 9))),
        light=tuple(float(v) for v in light / np.linalg.norm(light)),
        gain=float(np.clip(math.exp(noise * rng.normal(0, 0.1)), 0.75, 1.25)),
        background=_rgb(green + noise * rng.normal(0, 0.07, 3)),
        grain=0.006 + noise * rng.uniform(0.0, 0.012),
        gaze=(float(noise * rng.normal(0, 0.02)), float(noise * rng.normal(0, 0.01))),
    )


@dataclass
class Region:
    """A pixel window of the canvas with the face coordinates of its pixels."""

    sl: tuple[slice, slice]
    x: np.ndarray
    y: np.ndarray


class Canvas:
    """A float RGB image plus the pixel <-> face-unit transform of the current head pose."""

    def __init__(self, img: np.ndarray, scene: Scene):
        self.img = img
        self.cx, self.cy, self.unit = scene.cx, scene.cy, scene.unit
        self.cos, self.sin = math.cos(scene.angle), math.sin(scene.angle)

    def region(self, x0: float, x1: float, y0: float, y1: float) -> Region | None:
        """Pixels covering the face-unit box [x0, x1] x [y0, y1] (rotation-aware)."""
        fx = np.array([x0, x0, x1, x1])
        fy = np.array([y0, y1, y0, y1])
        px = self.cx + self.unit * (fx * self.cos - fy * self.sin)
        py = self.cy + self.unit * (fx * self.sin + fy * self.cos)
        h, w = self.img.shape[:2]
        c0, c1 = max(0, int(px.min()) - 1), min(w, int(px.max()) + 2)
        r0, r1 = max(0, int(py.min()) - 1), min(h, int(py.max()) + 2)
        if c0 >= c1 or r0 >= r1:
            return None
        dy, dx = np.mgrid[r0:r1, c0:c1].astype(np.float32)
        dx -= self.cx
        dy -= self.cy
        x = (dx * self.cos + dy * self.sin) / self.unit
        y = (dy * self.cos - dx * self.sin) / self.unit
        return Region((slice(r0, r1), slice(c0, c1)), x, y)

    def coverage(self, signed_distance: np.ndarray, soft_px: float = 1.0) -> np.ndarray:
        """Anti-aliased alpha from a signed distance in face units (negative inside)."""
        return np.clip(0.5 - signed_distance * (self.unit / soft_px), 0.0, 1.0)

    def paint(self, reg: Region, alpha: np.ndarray, colour) -> None:
        view = self.img[reg.sl]
        colour = np.asarray(colour, dtype=np.float32)
        view += (colour - view) * alpha[..., None]

    def darken(self, reg: Region, amount: np.ndarray, tint=(1.0, 1.0, 1.0)) -> None:
        """Multiply by (1 - amount * tint): shadows, creases, blush."""
        self.img[reg.sl] *= 1.0 - amount[..., None] * np.asarray(tint, dtype=np.float32)


def _blob(reg: Region, x: float, y: float, rx: float, ry: float) -> np.ndarray:
    """Gaussian bump of radii (rx, ry) in face units."""
    return np.exp(-0.5 * (((reg.x - x) / rx) ** 2 + ((reg.y - y) / ry) ** 2))


def _ellipse_sd(reg: Region, x: float, y: float, rx: float, ry: float) -> np.ndarray:
    return (np.sqrt(((reg.x - x) / rx) ** 2 + ((reg.y - y) / ry) ** 2) - 1.0) * min(rx, ry)


@dataclass(frozen=True)
class FaceLayout:
    """Where the features sit, in face units, for one actor."""

    head_h: float
    eye_y: float
    brow_y: float
    nose_y: float  # bottom of the nose
    mouth_y: float
    chin_y: float


def face_layout(actor: Actor) -> FaceLayout:
    h = actor.head_aspect
    eye_y = -0.02 * h
    chin_y = h
    nose_y = eye_y + 0.5 * (chin_y - eye_y)
    return FaceLayout(head_h=h, eye_y=eye_y, brow_y=eye_y - 0.26, nose_y=nose_y,
                      mouth_y=nose_y + 0.34 * (chin_y - nose_y), chin_y=chin_y)


def _lambert(nx: np.ndarray, ny: np.ndarray, light) -> np.ndarray:
    """Diffuse shading of a pseudo-3D surface with normal (nx, ny, nz)."""
    nz = np.sqrt(np.clip(1.0 - nx * nx - ny * ny, 0.0, 1.0)) ** 0.7  # flatter than a sphere
    lx, ly, lz = light
    return np.clip(nx * lx + ny * ly + nz * lz, 0.0, 1.0)


def _skin_shade(skin, shade: np.ndarray) -> np.ndarray:
    """Skin colour under diffuse light; shadows go warmer (subsurface scattering look)."""
    s = shade[..., None]
    colour = np.asarray(skin, dtype=np.float32)
    warm = np.array([1.0, 0.86, 0.8], dtype=np.float32)
    return colour * (0.42 + 0.68 * s) * (warm + (1 - warm) * s)


def draw_background(canvas: Canvas, scene: Scene, rng: np.random.Generator) -> None:
    """Studio backdrop: the scene's colour under a random linear light gradient and a vignette."""
    h, w = canvas.img.shape[:2]
    x = (np.arange(w, dtype=np.float32) / w - 0.5)[None, :]
    y = (np.arange(h, dtype=np.float32) / h - 0.5)[:, None]
    gx, gy = rng.uniform(-0.25, 0.25, 2)
    light = (1.0 + gx * x + gy * y) * (1.0 - 0.25 * (x * x + y * y))
    canvas.img[:] = np.asarray(scene.background, np.float32) * light[..., None]


def draw_torso(canvas: Canvas, actor: Actor, lay: FaceLayout, scene: Scene) -> None:
    """Shirt: gently sloping shoulders from the neck, rounded off toward the frame edges."""
    top = lay.chin_y + 0.42
    reg = canvas.region(-5.0, 5.0, top - 0.1, top + 6.0)
    if reg is None:
        return
    ax = np.abs(reg.x)
    edge = top + 0.13 * np.clip(ax - 0.3, 0, None) ** 1.5 + 1.5 * np.clip(ax - 2.8, 0, None) ** 2
    alpha = canvas.coverage(edge - reg.y, soft_px=1.5)
    shade = 0.5 + 0.5 * _lambert(np.clip(reg.x / 3.8, -1, 1), np.full_like(reg.x, -0.25), scene.light)
    folds = 1.0 + 0.04 * np.sin(reg.x * 3.0 + 2.0 * np.sin(reg.y * 1.7))
    canvas.paint(reg, alpha, np.asarray(actor.shirt, np.float32) * (shade * folds)[..., None])
    collar = _ellipse_sd(reg, 0, top + 0.02, 0.6, 0.32)
    canvas.darken(reg, 0.3 * np.exp(-0.5 * (collar / 0.05) ** 2) * alpha)


def draw_neck(canvas: Canvas, actor: Actor, lay: FaceLayout, scene: Scene) -> None:
    top, bottom = lay.chin_y - 0.6, lay.chin_y + 0.42
    half = 0.44 + 0.08 * (1 - actor.female)
    reg = canvas.region(-half - 0.1, half + 0.1, top, bottom + 0.4)
    sd = np.maximum(np.abs(reg.x) - half, reg.y - bottom - 0.25 * np.sqrt(np.clip(1 - (reg.x / half) ** 2, 0, 1)))
    alpha = canvas.coverage(sd, soft_px=1.2)
    shade = 0.5 * _lambert(reg.x / (half * 1.3), np.zeros_like(reg.x), scene.light)
    shade *= 1.0 - 0.45 * np.exp(-((reg.y - lay.chin_y) / 0.25) ** 2)  # shadow under the jaw
    canvas.paint(reg, alpha, _skin_shade(actor.skin, shade))


def draw_ears(canvas: Canvas, actor: Actor, lay: FaceLayout, scene: Scene) -> None:
    for side in (-1, 1):
        x, y = side * 0.98, lay.eye_y + 0.18
        reg = canvas.region(x - 0.2, x + 0.2, y - 0.32, y + 0.32)
        alpha = canvas.coverage(_ellipse_sd(reg, x, y, 0.13, 0.27))
        shade = 0.55 * _lambert(np.full_like(reg.x, side * 0.7), (reg.y - y) / 0.5, scene.light)
        canvas.paint(reg, alpha, _skin_shade(actor.skin, shade))
        canvas.darken(reg, 0.25 * _blob(reg, x - side * 0.02, y, 0.05, 0.13) * alpha)


def _head_shape(reg: Region, actor: Actor, lay: FaceLayout) -> tuple[np.ndarray, np.ndarray]:
    """Signed distance of the head outline and its local half-width (narrowing toward the chin)."""
    below = np.clip(reg.y / lay.head_h, 0, 1)
    half_width = 1.0 - (1.0 - actor.jaw) * below ** 1.6
    q = np.sqrt((reg.x / half_width) ** 2 + (reg.y / lay.head_h) ** 2)
    return (q - 1.0) * half_width, half_width


def draw_head(canvas: Canvas, actor: Actor, lay: FaceLayout, scene: Scene) -> None:
    reg = canvas.region(-1.1, 1.1, -lay.head_h - 0.1, lay.head_h + 0.1)
    sd, half_width = _head_shape(reg, actor, lay)
    alpha = canvas.coverage(sd, soft_px=1.2)
    nx, ny = reg.x / half_width * 0.95, reg.y / lay.head_h * 0.9
    colour = _skin_shade(actor.skin, _lambert(nx, ny, scene.light))
    # a soft specular sheen (forehead, cheekbones): skin looks lit, not painted
    half_vector = np.array(scene.light) + np.array([0.0, 0.0, 1.0])
    sheen = _lambert(nx, ny, tuple(half_vector / np.linalg.norm(half_vector))) ** 12
    canvas.paint(reg, alpha, colour + 0.09 * sheen[..., None])


def draw_back_hair(canvas: Canvas, actor: Actor, lay: FaceLayout, scene: Scene) -> None:
    if actor.hair_style != "long":
        return
    length = lay.chin_y + 0.9
    reg = canvas.region(-1.45, 1.45, -lay.head_h - 0.3, length + 0.2)
    top = _ellipse_sd(reg, 0, 0, 1.22, lay.head_h * 1.1)
    bottom = length - 0.35 * (reg.x / 1.2) ** 2  # ends rounded, longer at the back
    sides = np.maximum(np.abs(reg.x) - 1.22 + 0.25 * np.clip(reg.y / length, 0, 1), reg.y - bottom)
    sd = np.where(reg.y < 0, top, sides)
    alpha = canvas.coverage(sd, soft_px=2.0)
    canvas.paint(reg, alpha, _hair_colour(reg, actor, scene, 0.75))


def _hair_colour(reg: Region, actor: Actor, scene: Scene, light: float) -> np.ndarray:
    streaks = 1.0 + 0.12 * np.sin(reg.x * 55 + 3 * np.sin(reg.y * 6)) * np.sin(reg.y * 9 + reg.x * 4)
    shade = light * (0.75 + 0.4 * _lambert(np.clip(reg.x / 1.2, -1, 1), np.clip(reg.y / 1.6, -1, 1), scene.light))
    return np.asarray(actor.hair_colour, np.float32) * (shade * streaks)[..., None]


def draw_front_hair(canvas: Canvas, actor: Actor, lay: FaceLayout, scene: Scene) -> None:
    h = lay.head_h
    volume = 0.1 if actor.hair_style != "receding" else 0.04
    reg = canvas.region(-1.25, 1.25, -h - 0.25, 0.2)
    cap = _ellipse_sd(reg, 0, 0.02, 1.0 + volume, h + volume)
    hairline0 = {"short": -0.6 * h, "long": -0.62 * h, "receding": -0.85 * h}[actor.hair_style]
    sideburn = {"short": lay.eye_y + 0.05, "long": lay.eye_y - 0.05, "receding": lay.eye_y + 0.0}[actor.hair_style]
    ax = np.abs(reg.x)
    temple = np.clip((ax - 0.72) / 0.2, 0, 1)
    line = hairline0 + 0.35 * reg.x ** 2
    line = line + (sideburn - line) * temple * temple * (3 - 2 * temple)  # smoothstep to the sideburn
    sd = np.maximum(cap, reg.y - line)
    alpha = canvas.coverage(sd, soft_px=1.6)
    if actor.hair_style == "receding":
        alpha *= 0.85
    canvas.paint(reg, alpha, _hair_colour(reg, actor, scene, 1.0))
    # the hair casts a soft shadow on the forehead just below the hairline
    canvas.darken(reg, 0.15 * np.clip(1 - alpha, 0, 1) * np.exp(-((reg.y - line) / 0.08) ** 2) * (cap < 0))


def draw_eye_area(canvas: Canvas, actor: Actor, lay: FaceLayout, expr: Expression, scene: Scene, side: int) -> None:
    """Socket shadow, eyeball, iris, lids and lashes of one eye (side -1 left, +1 right in image)."""
    ex, ey = side * actor.eye_gap, lay.eye_y
    w, h = actor.eye_w, actor.eye_h
    reg = canvas.region(ex - w - 0.2, ex + w + 0.2, ey - 0.3, ey + 0.25)
    # socket: shadow under the brow ridge, deeper toward the nose
    canvas.darken(reg, 0.14 * _blob(reg, ex - side * 0.04, ey - 0.05, 0.26, 0.12), tint=(0.9, 1.0, 1.05))
    canvas.darken(reg, 0.10 * _blob(reg, ex - side * 0.03, ey + 0.13 - 0.03 * expr.cheek, 0.18, 0.05))
    u = (reg.x - ex) / w
    base = np.clip(1.0 - u * u, 0.0, 1.0)
    # inner part of the upper lid drops when the brows are lowered (anger)
    inward = np.clip(-side * u, 0, 1)
    upper_open = max(expr.lid_upper, 0.15) - 3.0 * max(expr.brow_inner, 0.0) * inward
    upper = ey - h * upper_open * base ** 0.75 - 0.015 * side * u
    lower = ey + 0.6 * h * max(expr.lid_lower, 0.25) * base ** 0.9
    sd = np.maximum(np.maximum(upper - reg.y, reg.y - lower), (np.abs(u) - 1.0) * w)
    opening = canvas.coverage(sd, soft_px=0.8)
    _draw_eyeball(canvas, reg, opening, upper, ex, ey, scene, actor)
    # upper lid margin and lashes: darkest toward the outer corner
    lid = np.exp(-0.5 * ((reg.y - upper + 0.006) / 0.016) ** 2) * np.clip(1.15 - np.abs(u), 0, 1) ** 0.5
    canvas.darken(reg, np.clip(0.75 * lid * (0.7 + 0.3 * np.clip(side * u, 0, 1)), 0, 0.85))
    canvas.darken(reg, 0.25 * np.exp(-0.5 * ((reg.y - lower - 0.004) / 0.012) ** 2) * np.clip(1 - np.abs(u), 0, 1))
    # lid crease above the eye
    crease = upper - 0.05 - 0.03 * max(expr.lid_upper, 0.3)
    canvas.darken(reg, 0.16 * np.exp(-0.5 * ((reg.y - crease) / 0.014) ** 2) * np.clip(1 - np.abs(u) * 0.9, 0, 1))


def _draw_eyeball(canvas: Canvas, reg: Region, opening: np.ndarray, upper: np.ndarray,
                  ex: float, ey: float, scene: Scene, actor: Actor) -> None:
    # sclera, shadowed by the upper lid
    lid_shadow = np.clip((reg.y - upper) / 0.07, 0.0, 1.0)
    sclera = np.array([0.86, 0.84, 0.8], np.float32) * (0.62 + 0.38 * lid_shadow)[..., None]
    canvas.paint(reg, opening, sclera)
    ix, iy = ex + scene.gaze[0], ey + 0.01 + scene.gaze[1]
    r = np.sqrt((reg.x - ix) ** 2 + (reg.y - iy) ** 2)
    iris_alpha = canvas.coverage(r - 0.09, soft_px=0.8) * opening
    iris = np.asarray(actor.iris, np.float32) * (1.1 - 0.6 * np.clip(r / 0.09, 0, 1) ** 3)[..., None]
    canvas.paint(reg, iris_alpha, iris * (0.55 + 0.45 * lid_shadow)[..., None])
    canvas.paint(reg, canvas.coverage(r - 0.04, soft_px=0.8) * opening, (0.03, 0.02, 0.02))
    glint = canvas.coverage(np.sqrt((reg.x - ix + 0.03) ** 2 + (reg.y - iy + 0.03) ** 2) - 0.018, soft_px=0.8)
    canvas.paint(reg, glint * opening * 0.9, (0.97, 0.97, 0.95))


def draw_brows(canvas: Canvas, actor: Actor, lay: FaceLayout, expr: Expression) -> None:
    # brows stay darker than the skin even under blond or grey hair
    colour = np.minimum(np.asarray(actor.hair_colour, np.float32) * 0.6 + 0.04, np.asarray(actor.skin, np.float32) * 0.45)
    for side in (-1, 1):
        x_in = side * (0.11 - expr.brow_pinch)
        x_out = side * (actor.eye_gap + 0.27)
        y_in = lay.brow_y + expr.brow_inner
        y_out = lay.brow_y - 0.02 + expr.brow_outer
        reg = canvas.region(min(x_in, x_out) - 0.05, max(x_in, x_out) + 0.05, lay.brow_y - 0.25, lay.brow_y + 0.2)
        t = (reg.x - x_in) / (x_out - x_in)
        arch = 0.07 * np.sin(np.pi * np.clip(t, 0, 1) ** 0.8) * (1 - 2.5 * max(expr.brow_inner, 0))
        centre = y_in + (y_out - y_in) * t - arch
        thickness = 0.075 * (1 - t) + 0.032 * t
        length = abs(x_out - x_in)
        sd = np.maximum(np.abs(reg.y - centre) - thickness / 2, np.maximum(-t, t - 1) * length)
        alpha = canvas.coverage(sd, soft_px=1.3) * 0.9
        canvas.paint(reg, alpha, colour)
    _draw_forehead_lines(canvas, lay, expr)


def _draw_forehead_lines(canvas: Canvas, lay: FaceLayout, expr: Expression) -> None:
    reg = canvas.region(-0.4, 0.4, lay.brow_y - 0.4, lay.brow_y + 0.15)
    if expr.frown_lines > 0:  # vertical furrows between lowered, pinched brows
        furrow = sum(np.exp(-0.5 * ((reg.x - s * 0.05) / 0.012) ** 2) for s in (-1, 1))
        span = np.exp(-0.5 * ((reg.y - lay.brow_y - 0.02) / 0.06) ** 2)
        canvas.darken(reg, 0.22 * min(expr.frown_lines, 1.2) * furrow * span)
    if expr.forehead_lines > 0:  # horizontal lines over the raised inner brows
        lines = sum(np.exp(-0.5 * ((reg.y - (lay.brow_y - 0.16 - 0.08 * k) + 0.1 * reg.x ** 2) / 0.012) ** 2) for k in range(2))
        canvas.darken(reg, 0.15 * min(expr.forehead_lines, 1.2) * lines * np.exp(-0.5 * (reg.x / 0.2) ** 2))


def draw_nose(canvas: Canvas, actor: Actor, lay: FaceLayout, expr: Expression, scene: Scene) -> None:
    nw, ny = actor.nose_w, lay.nose_y
    reg = canvas.region(-nw - 0.15, nw + 0.15, lay.eye_y - 0.05, ny + 0.12)
    lx = scene.light[0]
    # bridge: shadowed flanks, the one away from the light darker
    along = np.clip((reg.y - lay.eye_y) / (ny - lay.eye_y), 0, 1)
    for side in (-1, 1):
        flank = np.exp(-0.5 * ((reg.x - side * (0.06 + 0.05 * along)) / 0.035) ** 2) * np.clip(np.sin(np.pi * along), 0, 1) ** 0.5
        canvas.darken(reg, (0.16 + 0.2 * max(0.0, -side * lx)) * flank * (along < 0.95))
    canvas.darken(reg, -0.08 * _blob(reg, 0, ny - 0.3, 0.04, 0.15))  # bridge highlight
    canvas.darken(reg, -0.12 * _blob(reg, 0.01, ny - 0.08, 0.07, 0.05))  # tip highlight
    for side in (-1, 1):
        ala = _ellipse_sd(reg, side * nw * 0.85, ny - 0.04, 0.075, 0.06)
        canvas.darken(reg, 0.25 * np.exp(-0.5 * (ala / 0.018) ** 2) * (reg.y > ny - 0.07))
        nostril = canvas.coverage(_ellipse_sd(reg, side * nw * 0.45, ny - 0.005, 0.05, 0.025), soft_px=1.0)
        canvas.darken(reg, 0.7 * nostril, tint=(1.0, 1.05, 1.05))
    canvas.darken(reg, 0.3 * _blob(reg, 0, ny + 0.05, 0.16, 0.035))  # shadow under the nose
    if expr.nose_wrinkle > 0:
        wrinkles = sum(np.exp(-0.5 * ((reg.y - (lay.eye_y + 0.1 + 0.05 * k)) / 0.012) ** 2) for k in range(3))
        canvas.darken(reg, 0.15 * expr.nose_wrinkle * wrinkles * np.exp(-0.5 * (reg.x / 0.08) ** 2))


def draw_cheeks(canvas: Canvas, actor: Actor, lay: FaceLayout, expr: Expression, mouth_w: float) -> None:
    reg = canvas.region(-0.95, 0.95, lay.eye_y, lay.mouth_y + 0.3)
    for side in (-1, 1):
        raise_y = lay.nose_y - 0.22 - 0.07 * expr.cheek
        cheek = _blob(reg, side * 0.48, raise_y, 0.2, 0.14)
        canvas.darken(reg, -(0.03 + 0.07 * expr.cheek) * cheek, tint=(1.0, 0.7, 0.7))
        # nasolabial fold from the nose wing to just outside the mouth corner
        x0, y0 = side * (actor.nose_w + 0.06), lay.nose_y - 0.04
        x1, y1 = side * (mouth_w + 0.07), lay.mouth_y + expr.mouth_corner + 0.07
        t = np.clip((reg.y - y0) / (y1 - y0), 0, 1)
        xc = x0 + (x1 - x0) * t + side * (0.06 + 0.04 * expr.cheek) * np.sin(np.pi * t)
        fold = np.exp(-0.5 * ((reg.x - xc) / (0.02 + 0.015 * expr.cheek)) ** 2) * np.clip(np.sin(np.pi * t), 0, 1) ** 0.6
        canvas.darken(reg, min(expr.fold, 0.4) * fold * (reg.y > y0) * (reg.y < y1))


def mouth_box(actor: Actor, lay: FaceLayout) -> tuple[float, float, float, float]:
    """Face-unit box that contains the mouth in every expression and opening."""
    half = actor.mouth_w * 1.35 + 0.06
    return (-half, half, lay.mouth_y - 0.25, lay.mouth_y + 0.45)


def draw_mouth(canvas: Canvas, actor: Actor, lay: FaceLayout, expr: Expression, opening: float) -> None:
    """Lips, gap, teeth and corner shadows; `opening` is the lip gap in face units."""
    mw = actor.mouth_w * max(expr.mouth_width, 0.6)
    reg = canvas.region(*mouth_box(actor, lay))
    s = reg.x / mw
    body = np.clip(1.0 - s * s, 0.0, 1.0)
    line = lay.mouth_y + expr.mouth_corner * s * s  # where the lips meet
    gap_top = line - 0.35 * opening * body ** 0.8
    gap_bottom = line + 0.65 * opening * body ** 0.8
    press = 1.0 - 0.7 * min(expr.lip_press, 1.0)
    cupid = 0.02 * np.exp(-(s / 0.12) ** 2)
    upper_edge = gap_top - (actor.lip_upper * press * body ** 0.5 - cupid)
    lower_edge = gap_bottom + actor.lip_lower * press * body ** 0.55
    width_sd = (np.abs(s) - 1.0) * mw
    lips = canvas.coverage(np.maximum(np.maximum(upper_edge - reg.y, reg.y - lower_edge), width_sd), soft_px=1.1)
    lip = np.asarray(actor.lip_colour, np.float32)
    lip_shade = np.where(reg.y < line, 0.8, 1.0 + 0.25 * np.exp(-((reg.y - (gap_bottom + lower_edge) / 2) / 0.03) ** 2))
    canvas.paint(reg, lips * 0.9, lip * lip_shade[..., None])
    if opening > 0.005:
        _draw_mouth_cavity(canvas, reg, s, gap_top, gap_bottom, width_sd, expr)
    # the dark line where the lips meet, deepest at the corners
    seam = np.exp(-0.5 * ((reg.y - line) / 0.012) ** 2) * np.clip(1.05 - np.abs(s), 0, 1) ** 0.3
    canvas.darken(reg, 0.5 * seam * (opening < 0.02))
    for side in (-1, 1):
        canvas.darken(reg, 0.3 * _blob(reg, side * mw * 1.02, lay.mouth_y + expr.mouth_corner, 0.025, 0.02))
    canvas.darken(reg, 0.18 * np.exp(-0.5 * ((reg.y - lower_edge - 0.04) / 0.025) ** 2) * np.clip(1 - np.abs(s) * 1.1, 0, 1))


def _draw_mouth_cavity(canvas: Canvas, reg: Region, s: np.ndarray, gap_top: np.ndarray,
                       gap_bottom: np.ndarray, width_sd: np.ndarray, expr: Expression) -> None:
    gap = canvas.coverage(np.maximum(np.maximum(gap_top - reg.y, reg.y - gap_bottom), width_sd + 0.02), soft_px=0.9)
    canvas.paint(reg, gap, (0.16, 0.05, 0.05))
    across = np.clip(1 - np.abs(s) / 0.78, 0, 1) ** 0.3
    teeth = np.array([0.9, 0.87, 0.8], np.float32)
    if expr.upper_teeth > 0:
        sd = np.maximum(gap_top - reg.y, reg.y - (gap_top + 0.055))
        canvas.paint(reg, gap * canvas.coverage(sd, 0.9) * across * min(expr.upper_teeth, 1.0), teeth)
    if expr.lower_teeth > 0:
        sd = np.maximum(gap_bottom - 0.04 - reg.y, reg.y - gap_bottom)
        canvas.paint(reg, gap * canvas.coverage(sd, 0.9) * across * min(expr.lower_teeth, 1.0), teeth * 0.85)


def draw_chin(canvas: Canvas, lay: FaceLayout) -> None:
    reg = canvas.region(-0.4, 0.4, lay.chin_y - 0.4, lay.chin_y)
    canvas.darken(reg, -0.05 * _blob(reg, 0, lay.chin_y - 0.18, 0.18, 0.1))


BLUR_SIGMA_PX = 1.1  # softens every drawn edge, like a lens


def render_static(actor: Actor, expr: Expression, scene: Scene, rng: np.random.Generator) -> tuple[np.ndarray, Canvas]:
    """Everything except the mouth, unblurred."""
    canvas = Canvas(np.zeros((HEIGHT, WIDTH, 3), np.float32), scene)
    lay = face_layout(actor)
    draw_background(canvas, scene, rng)
    draw_torso(canvas, actor, lay, scene)
    draw_back_hair(canvas, actor, lay, scene)
    draw_neck(canvas, actor, lay, scene)
    if actor.hair_style != "long":
        draw_ears(canvas, actor, lay, scene)
    draw_head(canvas, actor, lay, scene)
    draw_cheeks(canvas, actor, lay, expr, actor.mouth_w * expr.mouth_width)
    for side in (-1, 1):
        draw_eye_area(canvas, actor, lay, expr, scene, side)
    draw_brows(canvas, actor, lay, expr)
    draw_nose(canvas, actor, lay, expr, scene)
    draw_chin(canvas, lay)
    draw_front_hair(canvas, actor, lay, scene)
    return canvas.img, canvas


def render_mouth_frames(actor: Actor, expr: Expression, scene: Scene, openings: list[float],
                        rng: np.random.Generator) -> list[np.ndarray]:
    """One uint8 RGB frame per mouth opening; the rest of the face is drawn and blurred once."""
    static, canvas = render_static(actor, expr, scene, rng)
    grain = rng.standard_normal(static.shape, dtype=np.float32) * np.float32(scene.grain)
    lay = face_layout(actor)
    box = canvas.region(*mouth_box(actor, lay))
    # the mouth is re-blurred inside a margin wide enough for the blur kernel
    margin = int(4 * BLUR_SIGMA_PX + 0.5) + 1
    rows, cols = box.sl
    outer = (slice(max(rows.start - margin, 0), rows.stop + margin), slice(max(cols.start - margin, 0), cols.stop + margin))
    inner = (slice(rows.start - outer[0].start, rows.stop - outer[0].start),
             slice(cols.start - outer[1].start, cols.stop - outer[1].start))
    without_mouth = _finish(gaussian_filter(static, sigma=(BLUR_SIGMA_PX, BLUR_SIGMA_PX, 0)), scene, grain)
    clean = static[outer].copy()
    frames = []
    for opening in openings:
        static[outer] = clean
        draw_mouth(canvas, actor, lay, expr, opening)
        mouth = gaussian_filter(static[outer], sigma=(BLUR_SIGMA_PX, BLUR_SIGMA_PX, 0))[inner]
        frame = without_mouth.copy()
        frame[box.sl] = _finish(mouth, scene, grain[box.sl])
        frames.append(frame)
    return frames


def _finish(image: np.ndarray, scene: Scene, grain: np.ndarray) -> np.ndarray:
    """Exposure and sensor grain, then 8-bit."""
    return (np.clip(image * np.float32(scene.gain) + grain, 0.0, 1.0) * 255.0 + 0.5).astype(np.uint8)


# ---------------------------------------------------------------------------
# One clip: render, encode, write atomically
# ---------------------------------------------------------------------------

MOUTH_LEVELS = 4  # distinct jaw openings rendered per clip
SPEECH_OPENING = 0.11  # face units of extra lip gap at a loud syllable peak
VIDEO_QSCALE = 3  # Sorenson H.263 quantiser: low keeps the face sharp
AUDIO_BIT_RATE = 128_000
MP3_FRAME = 1152


def write_clip(path: str | Path, clip: ClipId, *, duration: float = 2.5, fps: float = 30,
               seed: int = 0, noise: float = 1.0) -> Path:
    """Render one clip and write it to `path` (via a temp file and os.replace)."""
    path = Path(path)
    actor = make_actor(seed, clip.actor)
    rng = _rng(seed, _CLIP_STREAM, clip.actor, SENTENCES.index(clip.sentence), ALL_EMOTIONS.index(clip.emotion))
    expr = clip_expression(clip.emotion, rng, noise)
    prosody = clip_prosody(clip.emotion, rng, noise)
    scene = make_scene(actor, rng, noise)
    syllables = plan_syllables(seed, clip.sentence, prosody.tempo, duration, rng, noise)
    audio = synthesize_voice(actor, syllables, prosody, duration, rng, noise)

    n_frames = max(1, int(round(duration * fps)))
    activity = mouth_activity(syllables, (np.arange(n_frames) + 0.5) / fps)
    level = np.minimum((activity * MOUTH_LEVELS).astype(int), MOUTH_LEVELS - 1)
    speech = SPEECH_OPENING * max(expr.speech_gain, 0.2)
    openings = [expr.mouth_open + speech * i / (MOUTH_LEVELS - 1) for i in range(MOUTH_LEVELS)]
    frames = render_mouth_frames(actor, expr, scene, openings, rng)

    tmp = path.with_name(f".{path.name}.tmp{os.getpid()}")
    try:
        encode_flv(tmp, frames, level, audio, fps)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    return path


def encode_flv(path: Path, images: list[np.ndarray], sequence: np.ndarray, audio: np.ndarray, fps: float) -> None:
    """FLV with Sorenson H.263 video and mono MP3 audio, single-threaded for byte-stable output.

    The video shows images[sequence[0]], images[sequence[1]], ...; each distinct
    image is converted to YUV once and its frame reused (the encoder takes its own
    reference to the pixels on every call, so only the timestamp changes).
    """
    frames = [av.VideoFrame.from_ndarray(rgb, format="rgb24").reformat(format="yuv420p") for rgb in images]
    with av.open(str(path), "w", format="flv") as container:
        # fixed quantiser (qscale pinned by qmin = qmax); only the mouth moves, so skip motion search
        quantiser = str(VIDEO_QSCALE)
        video = container.add_stream("flv", rate=Fraction(fps).limit_denominator(1001),
                                     options={"qmin": quantiser, "qmax": quantiser, "motion_est": "zero"})
        video.width, video.height, video.pix_fmt = WIDTH, HEIGHT, "yuv420p"
        video.codec_context.qscale = True
        video.codec_context.thread_count = 1
        video.codec_context.gop_size = int(round(fps))
        # LAME -q 7: fast, and plenty for this signal
        sound = container.add_stream("libmp3lame", rate=SAMPLE_RATE, options={"compression_level": "7"})
        sound.layout = "mono"
        sound.bit_rate = AUDIO_BIT_RATE
        for i, image_index in enumerate(sequence):
            frame = frames[image_index]
            frame.pts = i
            container.mux(video.encode(frame))
        container.mux(video.encode(None))
        for start in range(0, len(audio), MP3_FRAME):
            chunk = av.AudioFrame.from_ndarray(audio[None, start:start + MP3_FRAME], format="fltp", layout="mono")
            chunk.sample_rate = SAMPLE_RATE
            chunk.pts = start
            container.mux(sound.encode(chunk))
        container.mux(sound.encode(None))

"""The corpus: which clips exist, what each one performs, and writing them all (in parallel, atomically).

Layout, as CREMA-D: ``VideoFlash/<ActorID>_<Sentence>_<Emotion>_<Level>.flv`` and
``VideoDemographics.csv``. Every actor says the first `sentences` sentences in every emotion; the IEO
sentence is said at each of `levels` (LO, MD, HI) by every emotion but NEU, the rest at XX (unspecified),
as in CREMA-D.

What a clip performs (its ClipPlan): the emotion at the strength of its level (`intensity`) times the
actor's expressiveness, on a time course (onset, apex, offset; timecourse.py) shared by face and voice;
and whether the face, the voice, both or neither are ambiguous, in the pattern of CREMA-D's raters'
misreadings for the emotion (difficulty.py) at `ambiguity` times their rate. An ambiguous modality shows
the emotion only faintly (a flat face, a flat voice) with a hint of another emotion, the same in both
when both are. Face and voice are then rendered from the plan, in the actor's own style for that emotion
(actors.py), under recording conditions that do not depend on the emotion (camera, light, room, noise),
from two random streams of their own.
"""

from __future__ import annotations

import csv
import math
import os
from collections.abc import Mapping
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from tqdm import tqdm

from avemo.params import LEVELS, SENTENCES, violations
from avemo.synth import faces, voices
from avemo.synth.actors import ALL_EMOTIONS, Shown, actor_ids, actor_manner, emotion_style, make_actor
from avemo.synth.container import blend, encode_flv, yuv420
from avemo.synth.difficulty import ambiguous_modalities
from avemo.synth.randomness import CLIP_STREAM, PLAN_STREAM, rng
from avemo.synth.timecourse import TimeCourse, draw_time_course

SPOKEN_LEVELS = ("LO", "MD", "HI")  # the levels CREMA-D records the IEO sentence at
LEVELLED_SENTENCE = "IEO"
UNSPECIFIED = "XX"
# An ambiguous modality shows the emotion at AMBIGUOUS_STRENGTH of the clip's strength (a flat face, a
# flat voice) and another emotion at AMBIGUOUS_HINT of it.
AMBIGUOUS_STRENGTH = 0.3
AMBIGUOUS_HINT = 0.15
INTENSITY_JITTER_SD = 0.12  # log sd of a clip's strength around its level's, at noise 1
DEMOGRAPHICS_HEADER = ("ActorID", "Age", "Sex", "Race", "Ethnicity")
VOICE_SUBSTREAM, FACE_SUBSTREAM = 0, 1  # last seed key of a clip's two generators: face and voice draw apart


# ---------------------------------------------------------------------------
# Parameters
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class SampleSpec:
    """Every knob of the corpus: params.yaml's `sample` section, checked on creation by the params schema
    (avemo.params, the one set of rules); a bad value raises ValueError with the schema's line naming the
    key. No defaults: the values are params.yaml's."""

    actors: int
    sentences: int
    emotions: tuple[str, ...]
    levels: tuple[str, ...]
    intensity: Mapping[str, float]
    speaker_style: float
    ambiguity: float
    noise: float
    duration: float
    fps: int
    seed: int

    def __post_init__(self) -> None:
        as_params = {k: list(v) if isinstance(v, tuple) else v for k, v in vars(self).items()}
        problems = violations({"sample": as_params}, ["sample"], path=None)
        if problems:
            raise ValueError(problems[0])
        object.__setattr__(self, "emotions", tuple(c.upper() for c in self.emotions))
        object.__setattr__(self, "levels", tuple(c.upper() for c in self.levels))
        object.__setattr__(self, "intensity", {level: float(self.intensity[level]) for level in LEVELS})


# What each knob controls: the sample stage's --help shows these with the values the schema allows.
PARAM_HELP = {
    "actors": "number of actors, ActorIDs 1001.. (odd male, even female)",
    "sentences": "how many of CREMA-D's sentences, in its order: IEO, TIE, IOM, ...",
    "emotions": "emotions rendered, any of ANG DIS FEA HAP NEU SAD (data.classes picks the ones used)",
    "levels": "levels the IEO sentence is said at, by every emotion but NEU (everything else is XX); [] says IEO at "
    "XX too",
    "intensity": "strength of the expression, face and voice, at each level (1 = the emotion's full prototype)",
    "speaker_style": "strength of each actor's personal way of expressing each emotion (offsets to face and voice, "
    "head tilt, gaze, pitch tune, pause, resonance, tremolo), resting face and spread of "
    "expressiveness; what a split sharing actors between train and test can memorise; 0 = every "
    "actor expresses an emotion alike",
    "ambiguity": "how often a clip's face, voice or both show the emotion only faintly, with a hint of another: "
    "CREMA-D's raters' misreadings of each emotion (face only, voice only, both) at this share of their rate",
    "noise": "per-clip variation: expression and its time course, pose, camera, light, room, recording noise, pitch, "
    "tempo, intensity (0 = none)",
    "duration": "seconds per clip (about 0.2 s near-silence at each end)",
    "fps": "video frame rate",
    "seed": "master seed: another seed gives other actors and other clips; the same params give the same bytes",
}


# ---------------------------------------------------------------------------
# The clip grid and each clip's plan
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class ClipId:
    actor: int
    sentence: str
    emotion: str
    level: str = UNSPECIFIED

    @property
    def name(self) -> str:
        return f"{self.actor}_{self.sentence}_{self.emotion}_{self.level}"

    def keys(self) -> tuple[int, int, int, int]:
        """Integer ids of the clip, for its seeds."""
        return (self.actor, SENTENCES.index(self.sentence), ALL_EMOTIONS.index(self.emotion), LEVELS.index(self.level))


def clip_levels(sentence: str, emotion: str, levels: tuple[str, ...]) -> tuple[str, ...]:
    """CREMA-D: IEO at LO, MD and HI for every emotion but neutral; everything else at XX."""
    if sentence == LEVELLED_SENTENCE and emotion != "NEU" and levels:
        return levels
    return (UNSPECIFIED,)


def clip_grid(spec: SampleSpec) -> list[ClipId]:
    """Every clip of the corpus, in CREMA-D's order (actor, sentence, emotion, level)."""
    return [
        ClipId(actor, sentence, emotion, level)
        for actor in actor_ids(spec.actors)
        for sentence in SENTENCES[: spec.sentences]
        for emotion in spec.emotions
        for level in clip_levels(sentence, emotion, spec.levels)
    ]


Mix = tuple[tuple[str, float, float], ...]  # (emotion, strength, habit): what a modality shows (see actors.Shown)


@dataclass(frozen=True)
class ClipPlan:
    clip: ClipId
    strength: float  # the emotion's strength: the level's intensity x expressiveness x jitter
    ambiguous: str | None  # "face", "voice", "both" or None
    distractor: str | None  # the emotion mixed into the ambiguous modality
    face: Mix
    voice: Mix
    course: TimeCourse  # when the expression rises, peaks and relaxes (face and voice alike)


def plan_clip(spec: SampleSpec, clip: ClipId) -> ClipPlan:
    """What the clip performs, from the seed and its ids alone (not from the rest of the grid)."""
    r = rng(spec.seed, PLAN_STREAM, *clip.keys())
    # every draw is made whatever the params, so raising `ambiguity` only adds ambiguous clips
    draw_ambiguous, draw_distractor, draw_jitter = r.uniform(), r.uniform(), r.normal()
    course = draw_time_course(r.uniform(size=5), spec.noise)
    manner = actor_manner(spec.seed, clip.actor, spec.speaker_style)
    strength = (
        spec.intensity[clip.level] * manner.expressiveness * math.exp(spec.noise * INTENSITY_JITTER_SD * draw_jitter)
    )
    clear: Mix = ((clip.emotion, strength, manner.expressiveness),)
    ambiguous = ambiguous_modalities(clip.emotion, spec.ambiguity, draw_ambiguous)
    if ambiguous is None:
        return ClipPlan(clip, strength, None, None, clear, clear, course)
    # the other emotion: any but the clip's own and neutral (whose offsets are nothing to mix)
    others = [e for e in ALL_EMOTIONS if e not in (clip.emotion, "NEU")]
    distractor = others[min(int(draw_distractor * len(others)), len(others) - 1)]
    faint: Mix = (
        (clip.emotion, AMBIGUOUS_STRENGTH * strength, AMBIGUOUS_STRENGTH * manner.expressiveness),
        (distractor, AMBIGUOUS_HINT * strength, AMBIGUOUS_HINT * manner.expressiveness),
    )
    face = faint if ambiguous in ("face", "both") else clear
    voice = faint if ambiguous in ("voice", "both") else clear
    return ClipPlan(clip, strength, ambiguous, distractor, face, voice, course)


# ---------------------------------------------------------------------------
# One clip: render, encode, write atomically
# ---------------------------------------------------------------------------


def write_clip(path: str | Path, clip: ClipId, spec: SampleSpec) -> Path:
    """Render one clip and write it to `path` (via a temp file and os.replace)."""
    path = Path(path)
    plan = plan_clip(spec, clip)
    audio, syllables = render_voice(spec, plan)
    frames, sequence = render_face(spec, plan, syllables)
    tmp = path.with_name(f".{path.name}.tmp{os.getpid()}")
    try:
        encode_flv(tmp, frames, sequence, audio, spec.fps, voices.SAMPLE_RATE)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    return path


def _shown(spec: SampleSpec, plan: ClipPlan, mix: Mix) -> list[Shown]:
    return [
        Shown(emotion, strength, habit, emotion_style(spec.seed, plan.clip.actor, emotion, spec.speaker_style))
        for emotion, strength, habit in mix
    ]


def render_voice(spec: SampleSpec, plan: ClipPlan) -> tuple[np.ndarray, list[voices.Syllable]]:
    """The clip's audio (float32 at voices.SAMPLE_RATE) and its syllables (which the mouth follows)."""
    r = rng(spec.seed, CLIP_STREAM, *plan.clip.keys(), VOICE_SUBSTREAM)
    actor = make_actor(spec.seed, plan.clip.actor)
    prosody = voices.clip_prosody(actor, _shown(spec, plan, plan.voice), r, spec.noise, plan.course)
    syllables = voices.plan_syllables(spec.seed, plan.clip.sentence, prosody, spec.duration, r, spec.noise)
    recording = voices.recording_conditions(spec.seed, plan.clip.actor, r, spec.noise)
    audio = voices.synthesize_voice(actor, syllables, prosody, spec.duration, r, spec.noise, recording)
    return audio, syllables


def face_moments(spec: SampleSpec, plan: ClipPlan) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """The clip's face at rest and at the apex (faces.render_moments: RGB frames, one per jaw opening)."""
    r = rng(spec.seed, CLIP_STREAM, *plan.clip.keys(), FACE_SUBSTREAM)
    actor = make_actor(spec.seed, plan.clip.actor)
    manner = actor_manner(spec.seed, plan.clip.actor, spec.speaker_style)
    shown = _shown(spec, plan, plan.face)
    rest, apex = faces.clip_expression(manner, shown, r, spec.noise, weights=(0.0, 1.0))
    # the actor's personal head roll and gaze for the clip's emotion, as much as the face shows his habits
    own = shown[0]
    scene = faces.make_scene(
        actor,
        r,
        spec.noise,
        roll_deg=own.habit * own.style.roll_deg,
        gaze=(own.habit * own.style.gaze[0], own.habit * own.style.gaze[1]),
        seed=spec.seed,
    )
    return faces.render_moments(actor, rest, apex, scene, r)


def render_face(
    spec: SampleSpec, plan: ClipPlan, syllables: list[voices.Syllable]
) -> tuple[list[np.ndarray], np.ndarray]:
    """The clip's distinct frames (YUV 4:2:0 planes, container.yuv420) and which one each video frame shows:
    the expression's weight at the frame's moment (the plan's time course, in faces.COURSE_LEVELS steps) and
    the jaw opening of its syllable."""
    at_rest, at_apex = ([yuv420(frame) for frame in moment] for moment in face_moments(spec, plan))
    n_frames = max(1, int(round(spec.duration * spec.fps)))
    moments = (np.arange(n_frames) + 0.5) / spec.fps
    activity = voices.mouth_activity(syllables, moments)
    mouths = np.minimum((activity * faces.MOUTH_LEVELS).astype(int), faces.MOUTH_LEVELS - 1)
    levels = np.rint(plan.course.weight(moments / spec.duration) * (faces.COURSE_LEVELS - 1)).astype(int)
    wanted = sorted(set(zip(levels.tolist(), mouths.tolist())))
    planes = [
        at_rest[mouth] if level == 0 else blend(at_rest[mouth], at_apex[mouth], level / (faces.COURSE_LEVELS - 1))
        for level, mouth in wanted
    ]
    index = {pair: i for i, pair in enumerate(wanted)}
    return planes, np.array([index[pair] for pair in zip(levels.tolist(), mouths.tolist())])


# ---------------------------------------------------------------------------
# The whole corpus
# ---------------------------------------------------------------------------


def generate_corpus(
    out_dir: str | Path,
    *,
    jobs: int | None = None,
    progress: bool = True,
    **params,
) -> list[Path]:
    """Write the corpus under `out_dir` and return the clip paths, in grid order.

    params: the knobs of SampleSpec (actors, sentences, emotions, levels, intensity, speaker_style,
    ambiguity, noise, duration, fps, seed), every one of them. The same params
    give byte-identical files whatever `jobs` is.
    jobs: worker processes (default os.cpu_count()); 1 renders in-process.
    progress: show a tqdm progress bar.
    """
    unknown = sorted(set(params) - set(SampleSpec.__dataclass_fields__))
    if unknown:
        raise ValueError(
            f"sample: unknown key(s) {', '.join(unknown)}; expected some of "
            f"{', '.join(SampleSpec.__dataclass_fields__)}"
        )
    spec = SampleSpec(**params)
    clips = clip_grid(spec)
    out_dir = Path(out_dir)
    video_dir = out_dir / "VideoFlash"
    video_dir.mkdir(parents=True, exist_ok=True)
    _remove_stale_temp_files(out_dir)
    write_demographics(out_dir / "VideoDemographics.csv", actors=spec.actors, seed=spec.seed)

    tasks = [(clip, str(video_dir), spec) for clip in clips]
    jobs = max(1, min(jobs or os.cpu_count() or 1, len(tasks)))
    paths: list[Path] = []
    with tqdm(total=len(tasks), desc="sample", unit="clip", disable=not progress) as bar:
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
    clip, video_dir, spec = task
    return write_clip(Path(video_dir) / f"{clip.name}.flv", clip, spec)


def write_demographics(path: str | Path, *, actors: int, seed: int) -> Path:
    """VideoDemographics.csv exactly in CREMA-D's format (quoted strings, bare numbers)."""
    path = Path(path)
    tmp = path.with_name(f".{path.name}.tmp{os.getpid()}")
    try:
        with tmp.open("w", newline="") as f:
            writer = csv.writer(f, quoting=csv.QUOTE_NONNUMERIC, lineterminator="\n")
            writer.writerow(DEMOGRAPHICS_HEADER)
            for actor_id in actor_ids(actors):
                a = make_actor(seed, actor_id)
                sex = "Female" if a.female else "Male"
                writer.writerow([a.actor_id, a.age, sex, a.race, "Hispanic" if a.hispanic else "Not Hispanic"])
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    return path

"""A deterministic, CREMA-D-shaped synthetic corpus of talking-head clips, made to judge designs.

It is the pipeline's default data: the only data every user, test and CI run sees. It is synthetic (a
rendered face and a synthetic voice), so its accuracies say nothing about real emotion recognition; its
statistics are built so that the comparisons the pipeline makes mean something:

- speakers matter: each actor has a personal face and voice and a personal way of expressing each
  emotion (actors.py), so a split that shares actors between train and test scores higher than an
  actor-independent one, as on real CREMA-D;
- no crude shortcut: recording conditions (room, microphone, noise, camera, light) do not depend on the
  emotion, and the emotion lives in patterns (pitch movement, syllable onsets, facial shapes and fine
  creases) that global spectrogram statistics and face thumbnails read poorly (voices.py, faces.py);
- expressions unfold in time: onset, apex at a varying moment, offset, in face and voice alike
  (timecourse.py), so which frame is read matters;
- intensity: the IEO sentence at LO, MD and HI (the rest XX), weaker levels being harder;
- ambiguity: in some clips the face, the voice or both show the emotion only faintly, mixed with another,
  in the pattern of CREMA-D's raters' misreadings (difficulty.py), so each modality alone misses clips
  the other gets, and fusion has something to add;
- all six CREMA-D emotions can be rendered.

Modules: corpus (params, clip grid, plans, the parallel writer, demographics), actors (identity, personal
voice and face, per-emotion style), faces (expressions, camera and rendering), voices (prosody, synthesis
and recording), timecourse (an expression's course in time), difficulty (which modalities are hard),
container (FLV encoding), randomness (seeded streams). The bytes depend only on the params, never on the
job count.
"""

from avemo.synth.actors import ALL_EMOTIONS, Actor, actor_manner, emotion_style, make_actor
from avemo.synth.corpus import (
    PARAM_HELP,
    ClipId,
    ClipPlan,
    SampleSpec,
    clip_grid,
    generate_corpus,
    plan_clip,
    write_clip,
)

__all__ = [
    "ALL_EMOTIONS",
    "PARAM_HELP",
    "Actor",
    "ClipId",
    "ClipPlan",
    "SampleSpec",
    "actor_manner",
    "clip_grid",
    "emotion_style",
    "generate_corpus",
    "make_actor",
    "plan_clip",
    "write_clip",
]

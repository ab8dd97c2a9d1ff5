"""Seeded random streams.

Every random choice comes from a numpy Generator seeded with the corpus seed, a stream number and the
ids of what it concerns (actor, sentence, emotion, level), never from a shared generator: the bytes of a
clip do not depend on the job count, on the order clips are made in, or on which other clips exist.
"""

from __future__ import annotations

import numpy as np

# First key after the seed: which kind of thing a generator is for.
ACTOR_STREAM = 1  # an actor's identity, face and voice
SENTENCE_STREAM = 2  # a sentence's rhythm (the same for every actor)
CLIP_STREAM = 3  # one clip's performance and recording conditions
STYLE_STREAM = 4  # an actor's personal way of expressing one emotion
PLAN_STREAM = 5  # whether a clip is ambiguous, and how; its expression's time course
SESSION_STREAM = 6  # an actor's recording session: room, microphone, camera, light


def rng(seed: int, *keys: int) -> np.random.Generator:
    return np.random.default_rng(np.random.SeedSequence([int(seed), *map(int, keys)]))

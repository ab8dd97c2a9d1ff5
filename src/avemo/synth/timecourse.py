"""An expression's course in time: onset, apex and offset, the same for the face and the voice of a clip.

A clip's emotion is not on show from its first frame to its last: the actor starts from a resting face,
the expression rises to its apex at a moment that varies from clip to clip, holds briefly and relaxes
toward a residue of itself. Which frame a pipeline looks at (and how many) therefore matters, as on real
clips. The weight of the expression at each moment runs from 0 (the resting face) to 1 (the apex).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

# Where the apex falls (share of the clip), how long the rise takes, how long the apex holds and the
# relaxation lasts (shares of the clip), and what is left after it; uniform ranges, scaled by `noise`
# around their middles (noise 0: every clip peaks at the middle the same way).
APEX = (0.3, 0.7)
RISE = (0.2, 0.45)
HOLD = (0.0, 0.1)
RELAX = (0.3, 0.6)
RESIDUE = (0.3, 0.6)


@dataclass(frozen=True)
class TimeCourse:
    """Shares of the clip: the expression starts to rise at `onset`, peaks at `apex`, holds until
    `apex + hold`, and relaxes over `relax` to `residue` of its strength."""

    onset: float
    apex: float
    hold: float
    relax: float
    residue: float

    def weight(self, u: np.ndarray) -> np.ndarray:
        """Expression weight 0..1 at shares `u` of the clip (smooth steps between the knots)."""
        u = np.asarray(u, dtype=np.float64)
        rise = _smoothstep((u - self.onset) / max(self.apex - self.onset, 1e-6))
        fall = _smoothstep((u - self.apex - self.hold) / max(self.relax, 1e-6))
        return rise * (1.0 - (1.0 - self.residue) * fall)


def _smoothstep(x: np.ndarray) -> np.ndarray:
    x = np.clip(x, 0.0, 1.0)
    return x * x * (3.0 - 2.0 * x)


def draw_time_course(draws: np.ndarray, noise: float) -> TimeCourse:
    """The course from five uniform draws in [0, 1)."""

    def pick(span: tuple[float, float], draw: float) -> float:
        middle = (span[0] + span[1]) / 2
        return float(middle + min(noise, 1.0) * (draw - 0.5) * (span[1] - span[0]))

    apex, rise = pick(APEX, draws[0]), pick(RISE, draws[1])
    return TimeCourse(apex - rise, apex, pick(HOLD, draws[2]), pick(RELAX, draws[3]), pick(RESIDUE, draws[4]))

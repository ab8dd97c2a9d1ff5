"""avemo.synth.timecourse: an expression rises from rest to its apex and relaxes to a residue."""

from __future__ import annotations

import numpy as np
import pytest

from avemo.synth.timecourse import APEX, RISE, TimeCourse, draw_time_course


def test_the_weight_rises_peaks_holds_and_relaxes():
    course = TimeCourse(onset=0.2, apex=0.45, hold=0.1, relax=0.3, residue=0.4)
    u = np.linspace(0, 1, 1001)
    w = course.weight(u)
    assert (w[u <= 0.2] == 0).all()  # the resting face
    assert w[(u >= 0.45) & (u <= 0.55)] == pytest.approx(1.0)  # the apex, held
    assert w[u >= 0.85] == pytest.approx(0.4)  # the residue
    assert (np.diff(w[(u > 0.2) & (u < 0.45)]) > 0).all() and (np.diff(w[(u > 0.55) & (u < 0.85)]) < 0).all()


def test_noise_sets_how_much_the_course_varies():
    still = {draw_time_course(np.random.default_rng(i).uniform(size=5), 0.0) for i in range(20)}
    assert len(still) == 1 and next(iter(still)).apex == pytest.approx(sum(APEX) / 2)
    varied = [draw_time_course(np.random.default_rng(i).uniform(size=5), 1.0) for i in range(500)]
    apexes = np.array([c.apex for c in varied])
    assert APEX[0] <= apexes.min() < 0.32 and 0.68 < apexes.max() <= APEX[1]
    rises = np.array([c.apex - c.onset for c in varied])
    assert RISE[0] <= rises.min() and rises.max() <= RISE[1]
    # the middle frame shows most of the expression far more often than a frame near the start
    middle = np.array([c.weight(np.array([0.5]))[0] for c in varied])
    early = np.array([c.weight(np.array([0.15]))[0] for c in varied])
    assert np.median(middle) > 0.8 and np.median(early) < 0.1

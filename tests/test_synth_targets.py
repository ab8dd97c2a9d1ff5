"""The sample's statistics on a small corpus of another seed: what issue 8 built it for (slow: about a minute).

bench/sample_stats.py generates 15 actors with seed 7, preprocesses them as dvc.yaml does, and trains the
pipeline's frozen-encoder linear probes over 5 actor-independent and 5 clip-level splits. With so few
actors the figures are noisier than the default sample's (README), so the checks are the directions, not
the sizes: faces are found, every model beats chance, fusion helps, and sharing actors inflates the face
model's accuracy.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


@pytest.mark.slow
def test_small_corpus_of_another_seed_shows_speaker_effects_and_fusion(tmp_path):
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO / "src"), os.environ.get("PYTHONPATH", "")])}
    subprocess.run([sys.executable, str(REPO / "bench" / "sample_stats.py"), "--seed", "7", "--set", "actors=15",
                    "--out", str(tmp_path), "--jobs", "2"], check=True, capture_output=True, text=True, env=env)
    summary = json.loads((tmp_path / "summary.json").read_text())
    independent, clip_level = summary["actor_independent"], summary["clip_level"]
    assert summary["face_ok_share"] >= 0.95, summary
    assert all(p < 1e-3 for p in summary["binomial_p"].values()), summary  # every model above chance
    assert independent["av"] > max(independent["audio"], independent["video"]), summary
    assert clip_level["video"] - independent["video"] > 0.04, summary  # shared actors inflate accuracy

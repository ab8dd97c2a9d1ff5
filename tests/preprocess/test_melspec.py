"""melspec on the WAVs of the six real CREMA-D clips and of damaged inputs."""

import json

import numpy as np
import pytest
from PIL import Image

from avemo.preprocess import spectrogram as features
from avemo.preprocess.clipindex import read_index
from helpers import reason_of, tiny


def test_spectrograms_have_the_shape_and_range_the_params_give(real_run):
    out, clips = real_run
    params = tiny("melspec")
    expected = (params["n_mels"], features.frame_count(params["duration"], 16000, params["hop_length"]))
    index = read_index(out / "melspec")
    assert index["clip"].tolist() == clips["clip"].tolist() and (index.status == "ok").all()
    for clip in clips["clip"]:
        spec = np.load(out / "melspec" / f"{clip}.npy")
        assert spec.shape == expected and spec.dtype == np.float32
        assert spec.max() == pytest.approx(0.0) and spec.min() >= -params["top_db"]
        assert Image.open(out / "melspec_previews" / f"{clip}.png").size == (expected[1], expected[0])
    # 1.9-2.3 s clips are longer than the 1.0 s window: cropped, not stretched
    assert set(index.fit) == {"cropped"}


def test_settings_record_the_sample_rate_and_every_melspec_param(real_run):
    out, _ = real_run
    assert json.loads((out / "melspec" / "settings.json").read_text()) == {"sample_rate": 16000, **tiny("melspec")}


def test_previews_are_kept_apart_from_the_arrays(real_run):
    out, _ = real_run
    assert {p.suffix for p in (out / "melspec").iterdir()} == {".npy", ".csv", ".json"}


def test_a_clip_without_audio_carries_the_upstream_reason(bad_run):
    out, _ = bad_run
    assert reason_of(out, "melspec", "1007_DFA_HAP_XX") == "extract_audio: no audio track"
    assert read_index(out / "melspec").set_index("clip").at["1008_DFA_HAP_XX", "status"] == "ok"  # audio-only clip

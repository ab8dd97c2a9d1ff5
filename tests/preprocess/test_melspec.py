"""melspec on the WAVs of the six real CREMA-D clips and of damaged inputs."""

import json
import re

import numpy as np
import pytest
from PIL import Image

from avemo.preprocess import spectrogram as features
from avemo.preprocess.clipindex import read_index
from helpers import reason_of, run_stage, tiny, write_params


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


def test_a_silent_track_fails_with_its_level_and_speech_passes(tmp_path, real_run):
    import pandas as pd
    import soundfile

    from avemo.preprocess.melspec import run_melspec

    out, _ = real_run
    audio = tmp_path / "audio"
    audio.mkdir()
    speech, rate = features.load_wav(out / "audio" / "1001_DFA_ANG_XX.wav")
    tracks = {
        "1001_DFA_ANG_XX": speech,
        "1002_DFA_ANG_XX": np.zeros(rate * 2, dtype=np.float32),  # digital silence
        "1003_DFA_ANG_XX": (speech / np.abs(speech).max() * 10 ** (-70 / 20)).astype(np.float32),  # -70 dBFS
    }
    for clip, samples in tracks.items():
        soundfile.write(audio / f"{clip}.wav", samples, rate, subtype="PCM_16")
    index = pd.DataFrame({"clip": list(tracks), "status": "ok", "reason": ""})
    params = tiny("melspec")
    run_melspec(index, audio, tmp_path / "melspec", tmp_path / "previews", params=params, jobs=1)
    result = read_index(tmp_path / "melspec").set_index("clip")
    assert result.at["1001_DFA_ANG_XX", "status"] == "ok"
    assert result.at["1002_DFA_ANG_XX", "status"] == "failed"
    assert result.at["1002_DFA_ANG_XX", "reason"].startswith("silent audio track (digital silence, below -60 dBFS)")
    assert re.match(r"silent audio track \(peak -(69|70) dBFS", result.at["1003_DFA_ANG_XX", "reason"])  # 16 bits
    assert not (tmp_path / "melspec" / "1002_DFA_ANG_XX.npy").exists()


@pytest.mark.parametrize(
    "rate, settings, line",
    [
        (
            8000,
            {"fmax": 8000},
            "melspec: melspec.fmax 8000 Hz is above the Nyquist frequency 4000 Hz of audio at 8000 Hz "
            "(audio.sample_rate): lower melspec.fmax or raise audio.sample_rate",
        ),
        (
            16000,
            {"fmin": 7990, "fmax": 8000},
            "melspec: 16 of the 16 mel bands from 7990 to 8000 Hz hold no FFT bin (one every 62.5 Hz with n_fft 256 "
            "at 16000 Hz) and would be zero in every spectrogram: widen melspec.fmin..fmax, or use fewer "
            "melspec.n_mels or a larger melspec.n_fft",
        ),
    ],
)
def test_settings_that_cannot_work_at_the_wavs_rate_stop_the_stage_in_one_line(tmp_path, rate, settings, line):
    import soundfile

    audio = tmp_path / "audio"
    audio.mkdir()
    tone = 0.5 * np.sin(2 * np.pi * 440 * np.arange(rate) / rate)
    soundfile.write(audio / "1001_DFA_ANG_XX.wav", tone.astype(np.float32), rate, subtype="PCM_16")
    (audio / "index.csv").write_text("clip,status,reason\n1001_DFA_ANG_XX,ok,\n")
    params = write_params(tmp_path / "params.yaml", {"strict": False, "melspec": {**tiny("melspec"), **settings}})
    out = ["--out", str(tmp_path / "melspec"), "--previews", str(tmp_path / "previews")]
    done = run_stage("melspec", "--params", str(params), "--audio", str(audio), *out, "--jobs", "1")
    assert done.returncode == 1 and done.stderr.strip().splitlines() == [line], done.stderr
    assert not (tmp_path / "melspec").exists()  # refused before any output

"""The four per-clip stages on the six real CREMA-D clips and on damaged inputs."""

import hashlib
import wave

import numpy as np
import pytest
from conftest import BAD_INPUTS, folder_state, tiny
from PIL import Image

from avemo import dataset, features, preprocess
from avemo.perclip import read_index


def run_all(raw_dir, out, jobs):
    clips, _ = dataset.list_clips(raw_dir)
    preprocess.run_extract_audio(clips, raw_dir, out / "audio", sample_rate=16000, jobs=jobs)
    preprocess.run_melspec(read_index(out / "audio"), out / "audio", out / "melspec", params=tiny("melspec"), jobs=jobs)
    preprocess.run_extract_middle_frame(clips, raw_dir, out / "frames", position=0.5, jobs=jobs)
    preprocess.run_face_crop(read_index(out / "frames"), out / "frames", out / "faces", params=tiny("face"), jobs=jobs)
    return clips


@pytest.fixture(scope="module")
def real_run(tmp_path_factory, real_clips_dir):
    out = tmp_path_factory.mktemp("real")
    before = folder_state(real_clips_dir)
    clips = run_all(real_clips_dir, out, jobs=2)
    assert folder_state(real_clips_dir) == before  # the input folder is never written to
    return out, clips


STAGES = ["audio", "melspec", "frames", "faces"]


@pytest.mark.parametrize("stage", STAGES)
def test_every_real_clip_is_ok(real_run, stage):
    out, clips = real_run
    index = read_index(out / stage)
    assert index["clip"].tolist() == clips["clip"].tolist()
    assert (index.status == "ok").all(), index


def test_wavs_are_16k_mono_and_as_long_as_decoded(real_run):
    out, clips = real_run
    index = read_index(out / "audio").set_index("clip")
    for clip in clips["clip"]:
        with wave.open(str(out / "audio" / f"{clip}.wav")) as wav:
            assert (wav.getframerate(), wav.getnchannels(), wav.getsampwidth()) == (16000, 1, 2)
            assert abs(wav.getnframes() / 16000 - float(index.at[clip, "duration_s"])) < 0.001
            assert 1.8 < wav.getnframes() / 16000 < 2.5  # the real clips last 1.9-2.3 s


def test_spectrograms_have_the_shape_the_params_give(real_run):
    out, clips = real_run
    params = tiny("melspec")
    expected = (params["n_mels"], features.frame_count(params["duration"], 16000, params["hop_length"]))
    for clip in clips["clip"]:
        spec = np.load(out / "melspec" / f"{clip}.npy")
        assert spec.shape == expected and spec.dtype == np.float32
        assert spec.max() == pytest.approx(0.0) and spec.min() >= -params["top_db"]
        preview = Image.open(out / "melspec" / "previews" / f"{clip}.png")
        assert preview.size == (expected[1], expected[0])
    # 1.9-2.3 s clips are longer than the 1.0 s window: cropped, not stretched
    assert set(read_index(out / "melspec").fit) == {"cropped"}


def test_frames_are_the_middle_ones(real_run):
    out, _ = real_run
    index = read_index(out / "frames")
    assert (index.frame_index.astype(int) == index.frame_count.astype(int) // 2).all()
    assert Image.open(out / "frames" / "1001_DFA_ANG_XX.png").size == (480, 360)


def test_a_face_is_found_in_every_real_frame(real_run):
    out, clips = real_run
    index = read_index(out / "faces")
    assert (index.confidence.astype(float) > 0.99).all()
    for clip in clips["clip"]:
        image = Image.open(out / "faces" / f"{clip}.png")
        assert image.size == (32, 32) and image.mode == "RGB"


def _digests(folder):
    return {p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.mark.slow
def test_rerun_with_other_job_count_is_byte_identical(real_run, tmp_path, real_clips_dir):
    out, _ = real_run
    run_all(real_clips_dir, tmp_path, jobs=1)
    for stage in STAGES:
        assert _digests(tmp_path / stage) == _digests(out / stage), stage


@pytest.fixture(scope="module")
def bad_run(tmp_path_factory, bad_clips_dir):
    out = tmp_path_factory.mktemp("bad")
    before = folder_state(bad_clips_dir)
    clips = run_all(bad_clips_dir, out, jobs=2)
    assert folder_state(bad_clips_dir) == before
    return out, clips


@pytest.mark.parametrize("stage, kind", [("audio", 0), ("frames", 1)])
def test_each_damaged_input_gets_one_clear_line(bad_run, stage, kind):
    out, _ = bad_run
    index = read_index(out / stage).set_index("clip")
    assert index.at["1001_DFA_ANG_XX", "status"] == "ok"  # the good clip goes through
    for name, reasons in BAD_INPUTS.items():
        clip = name.removesuffix(".flv")
        row = index.loc[clip]
        if reasons[kind] is None:
            assert row.status == "ok", name
        else:
            assert row.status == "failed" and row.reason.startswith(reasons[kind]), (name, row.reason)
    assert len(index) == len(BAD_INPUTS) + 1


def test_downstream_stages_carry_the_upstream_reason(bad_run):
    out, _ = bad_run
    faces_index = read_index(out / "faces").set_index("clip")
    assert faces_index.at["1002_DFA_ANG_XX", "reason"] == "extract_middle_frame: empty file (0 bytes)"
    assert faces_index.at["1007_DFA_HAP_XX", "status"] == "ok"  # video-only clip still has a face
    spec_index = read_index(out / "melspec").set_index("clip")
    assert spec_index.at["1008_DFA_HAP_XX", "status"] == "ok"  # audio-only clip still has a spectrogram
    assert spec_index.at["1007_DFA_HAP_XX", "reason"] == "extract_audio: no audio track"


def test_face_fallback_centre_or_drop(tmp_path):
    frames = tmp_path / "frames"
    frames.mkdir()
    Image.fromarray(np.full((360, 480, 3), 90, np.uint8)).save(frames / "1001_DFA_ANG_XX.png")
    (frames / "index.csv").write_text("clip,status,reason\n1001_DFA_ANG_XX,ok,\n")
    params = tiny("face")
    preprocess.run_face_crop(read_index(frames), frames, tmp_path / "centre", params=params, jobs=1)
    row = read_index(tmp_path / "centre").iloc[0]
    assert (row.status, row.reason, row.box) == ("fallback", "no face found; centre crop", "60 0 420 360")
    assert Image.open(tmp_path / "centre" / "1001_DFA_ANG_XX.png").size == (32, 32)
    preprocess.run_face_crop(read_index(frames), frames, tmp_path / "drop", params={**params, "fallback": "drop"}, jobs=1)
    row = read_index(tmp_path / "drop").iloc[0]
    assert (row.status, row.reason) == ("failed", "no face found")
    assert not (tmp_path / "drop" / "1001_DFA_ANG_XX.png").exists()

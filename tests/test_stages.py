"""The stage scripts as dvc.yaml runs them: --help, exit codes, strict mode."""

import pytest
from helpers import REPO_ROOT, run_stage, tiny, write_params

from avemo.clipindex import read_index

PER_CLIP = {"extract_audio": "audio", "melspec": "melspec", "extract_middle_frame": "frame", "face_crop": "face"}


@pytest.mark.parametrize("stage", ["sample", "list_clips", *PER_CLIP])
def test_help_explains_the_stage(stage):
    done = run_stage(stage, "--help")
    assert done.returncode == 0
    assert f"Stage {stage}" in done.stdout and "--params" in done.stdout


def test_every_stage_script_is_in_dvc_yaml():
    dvc_yaml = (REPO_ROOT / "dvc.yaml").read_text()
    for script in (REPO_ROOT / "stages").glob("*.py"):
        assert f"python stages/{script.name}" in dvc_yaml, script.name


@pytest.fixture
def bad_clip_list(tmp_path, bad_clips_dir):
    params = write_params(tmp_path / "params.yaml", {
        "strict": False,
        "data": {"raw_dir": str(bad_clips_dir), "demographics": None, "classes": ["ANG", "HAP", "SAD"]},
        "audio": tiny("audio"),
    })
    done = run_stage("list_clips", "--params", str(params), "--out", str(tmp_path / "clips.csv"))
    assert done.returncode == 0, done.stderr
    assert "failed notes.txt" in done.stderr
    return params


def test_failed_clips_do_not_fail_the_stage_unless_strict(tmp_path, bad_clip_list, bad_clips_dir):
    args = ["--params", str(bad_clip_list), "--clips", str(tmp_path / "clips.csv"), "--jobs", "1"]
    lenient = run_stage("extract_audio", *args, "--out", str(tmp_path / "audio"))
    assert lenient.returncode == 0, lenient.stderr
    assert "failed 1002_DFA_ANG_XX: empty file (0 bytes)" in lenient.stderr
    index = read_index(tmp_path / "audio")
    assert (index.status == "ok").sum() == 2 and (index.status == "failed").sum() == 8

    bad_clip_list.write_text(bad_clip_list.read_text().replace("strict: false", "strict: true"))
    strict = run_stage("extract_audio", *args, "--out", str(tmp_path / "audio_strict"))
    assert strict.returncode == 1
    assert "strict is set and 8 clip(s) failed: 1002_DFA_ANG_XX, 1003_DFA_HAP_XX" in strict.stderr


def test_a_stage_where_no_clip_survives_fails(tmp_path):
    raw = tmp_path / "raw"
    raw.mkdir()
    (raw / "1001_DFA_ANG_XX.flv").write_bytes(b"")
    params = write_params(tmp_path / "params.yaml", {"strict": False, "data": {"raw_dir": str(raw), "demographics": None}, "frame": {"position": 0.5}})
    assert run_stage("list_clips", "--params", str(params), "--out", str(tmp_path / "clips.csv")).returncode == 0
    done = run_stage("extract_middle_frame", "--params", str(params), "--clips", str(tmp_path / "clips.csv"), "--out", str(tmp_path / "frames"), "--jobs", "1")
    assert done.returncode == 1 and "no clip survived" in done.stderr
    assert read_index(tmp_path / "frames").reason.tolist() == ["empty file (0 bytes)"]

"""The stage scripts as dvc.yaml runs them: --help, exit codes, strict mode, write errors."""

import os
import re
import resource
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from avemo.preprocess.clipindex import read_index
from helpers import REPO_ROOT, run_ffmpeg, run_stage, tiny, write_params

ALL_SIX = ["ANG", "DIS", "FEA", "HAP", "NEU", "SAD"]

PER_CLIP = {"extract_audio": "audio", "melspec": "melspec", "extract_middle_frame": "frame", "face_crop": "face"}


@pytest.mark.parametrize("stage", ["check_params", "sample", "list_clips", *PER_CLIP])
def test_help_explains_the_stage(stage):
    done = run_stage(stage, "--help")
    assert done.returncode == 0
    assert f"Stage {stage}" in done.stdout and "--params" in done.stdout


def test_every_stage_script_is_in_dvc_yaml():
    dvc_yaml = (REPO_ROOT / "dvc.yaml").read_text()
    for script in (REPO_ROOT / "stages").glob("*.py"):
        assert f"python stages/{script.name}" in dvc_yaml, script.name


@pytest.fixture
def bad_clip_list(tmp_path, bad_clips_dir, crema_d_dir):
    params = write_params(
        tmp_path / "params.yaml",
        {
            "strict": False,
            "data": {
                **tiny("data"),
                "raw_dir": str(bad_clips_dir),
                "demographics": str(crema_d_dir / "VideoDemographics.csv"),
            },
            "audio": tiny("audio"),
        },
    )
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


def test_a_stage_where_no_clip_survives_fails(tmp_path, crema_d_dir):
    raw = tmp_path / "raw"
    raw.mkdir()
    for name in ("1001_DFA_ANG_XX", "1001_DFA_HAP_XX"):  # a clip of each class, both empty
        (raw / f"{name}.flv").write_bytes(b"")
    data = {**tiny("data"), "raw_dir": str(raw), "demographics": str(crema_d_dir / "VideoDemographics.csv")}
    data["classes"] = ["ANG", "HAP"]
    params = write_params(tmp_path / "params.yaml", {"strict": False, "data": data, "frame": tiny("frame")})
    assert run_stage("list_clips", "--params", str(params), "--out", str(tmp_path / "clips.csv")).returncode == 0
    done = run_stage(
        "extract_middle_frame",
        "--params",
        str(params),
        "--clips",
        str(tmp_path / "clips.csv"),
        "--out",
        str(tmp_path / "frames"),
        "--jobs",
        "1",
    )
    assert done.returncode == 1 and "no clip survived" in done.stderr
    assert read_index(tmp_path / "frames").reason.tolist() == ["empty file (0 bytes)"] * 2


def _files_of_at_most_4_kib():
    # In the stage's process only: writing past 4 KiB fails with EFBIG ("File too large") instead of
    # killing the process, as a full disk fails a write with ENOSPC.
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    resource.setrlimit(resource.RLIMIT_FSIZE, (4096, 4096))


def test_a_write_error_stops_a_per_clip_stage_in_one_line_and_is_not_taken_for_bad_clips(tmp_path, real_run):
    out, _ = real_run
    params = write_params(tmp_path / "params.yaml", {"strict": False, "melspec": tiny("melspec")})
    command = [
        sys.executable,
        str(REPO_ROOT / "stages" / "melspec.py"),
        "--params",
        str(params),
        "--audio",
        str(out / "audio"),
        "--out",
        str(tmp_path / "melspec"),
        "--previews",
        str(tmp_path / "previews"),
        "--jobs",
        "2",
    ]
    done = subprocess.run(command, capture_output=True, text=True, preexec_fn=_files_of_at_most_4_kib)
    assert done.returncode == 1 and "Traceback" not in done.stderr, done.stderr
    lines = [line for line in done.stderr.splitlines() if line.startswith("melspec")]  # (after the progress bar)
    expected = (
        r"melspec: incomplete write \(\d+ requested and \d+ written\); is the disk full\?: "
        rf"{tmp_path}/melspec/1001_DFA_\w+_XX\.npy"
    )
    assert len(lines) == 1 and re.fullmatch(expected, lines[0]), lines
    assert not (
        tmp_path / "melspec" / "index.csv"
    ).exists()  # the output is not complete: no index, no "6 failed clips"
    assert not [p for p in (tmp_path / "melspec").iterdir() if ".tmp" in p.name]  # nothing half-written left


@pytest.fixture(scope="module")
def odd_folder(tmp_path_factory, real_clips_dir):
    """The six real clips as a user may have them: two upper-case .FLV, four converted to .mp4 in a
    subfolder, one of them also present as .FLV (a clip twice), a broken link, a hidden file."""
    folder = tmp_path_factory.mktemp("odd") / "clips"
    (folder / "mp4").mkdir(parents=True)
    real = sorted(real_clips_dir.glob("*.flv"))
    for clip in real[:2]:
        shutil.copyfile(clip, folder / f"{clip.stem}.FLV")
    for clip in real[2:]:
        run_ffmpeg("-i", str(clip), "-c:v", "mpeg4", "-c:a", "aac", str(folder / "mp4" / f"{clip.stem}.mp4"))
    shutil.copyfile(real[2], folder / f"{real[2].stem}.FLV")
    (folder / "1001_DFA_ANG_HI.flv").symlink_to(folder / "deleted.flv")
    (folder / ".DS_Store").write_bytes(b"\0")
    return folder, [clip.stem for clip in real]


def test_a_folder_as_users_have_it_gives_every_real_clip_and_reports_every_odd_entry(tmp_path, odd_folder, crema_d_dir):
    folder, real = odd_folder
    data = {
        **tiny("data"),
        "raw_dir": str(folder),
        "demographics": str(crema_d_dir / "VideoDemographics.csv"),
        "classes": ALL_SIX,
    }
    params = write_params(
        tmp_path / "params.yaml", {"strict": False, "data": data, "audio": tiny("audio"), "frame": tiny("frame")}
    )
    listed = run_stage("list_clips", "--params", str(params), "--out", str(tmp_path / "clips.csv"))
    assert listed.returncode == 0, listed.stderr
    assert "failed 1001_DFA_ANG_HI.flv: broken link" in listed.stderr
    assert "left out by filters: 1 by hidden" in listed.stderr
    for stage, out in (("extract_audio", "audio"), ("extract_middle_frame", "frames")):
        done = run_stage(
            stage,
            "--params",
            str(params),
            "--clips",
            str(tmp_path / "clips.csv"),
            "--out",
            str(tmp_path / out),
            "--jobs",
            "2",
        )
        assert done.returncode == 0, done.stderr
        index = read_index(tmp_path / out).set_index("clip")
        assert (index.loc[real, "status"] == "ok").all(), index  # every real clip, whatever its container or folder
        assert set(index.index) - set(real) == {"1001_DFA_ANG_HI", "mp4/1001_DFA_FEA_XX.mp4"}  # the odd entries, failed
        assert (
            index.at["mp4/1001_DFA_FEA_XX.mp4", "reason"]
            == "clip list: a second file of clip 1001_DFA_FEA_XX (kept: 1001_DFA_FEA_XX.FLV)"
        )
        assert index.at["1001_DFA_ANG_HI", "reason"].startswith("clip list: broken link")


@pytest.mark.slow  # ffmpeg encodes four clips and five stages start, MTCNN among them
def test_the_releases_faulty_clips_and_their_look_alikes_end_as_the_rules_say(tmp_path, real_clips_dir, crema_d_dir):
    good = str(real_clips_dir / "1001_DFA_ANG_XX.flv")  # 2.3 s
    folder = tmp_path / "clips"
    folder.mkdir()
    for name in ("1064_IEO_DIS_MD", "1064_TIE_SAD_XX", "1076_MTI_NEU_XX", "1076_MTI_SAD_XX"):  # data.exclude's
        shutil.copyfile(good, folder / f"{name}.flv")
    encode = ["-c:v", "flv", "-c:a", "libmp3lame", "-f", "flv"]
    # look-alikes under other names: a clip three times as long as max_duration allows (here 3 s), one of 3 frames,
    # one with a silent audio track, one without audio
    run_ffmpeg(
        "-f", "lavfi", "-i", "testsrc=size=160x120:rate=30:duration=9", "-f", "lavfi", "-i", "sine=duration=9",
        *encode, str(folder / "1010_IEO_DIS_MD.flv"),
    )  # fmt: skip
    run_ffmpeg(
        "-i", good, "-map", "0:v", "-map", "0:a", "-frames:v", "3", "-t", "0.2", *encode,
        str(folder / "1011_TIE_SAD_XX.flv"),
    )  # fmt: skip
    run_ffmpeg(
        "-i", good, "-map", "0:v", "-map", "0:a", "-af", "volume=0", *encode, str(folder / "1012_MTI_SAD_XX.flv")
    )  # fmt: skip
    run_ffmpeg("-i", good, "-c", "copy", "-an", str(folder / "1013_MTI_NEU_XX.flv"))
    data = {**tiny("data"), "raw_dir": str(folder), "classes": ["DIS", "NEU", "SAD"]}  # the clips' classes
    data["demographics"] = str(crema_d_dir / "VideoDemographics.csv")
    params = write_params(
        tmp_path / "params.yaml",
        {
            "strict": False,
            "data": data,
            "audio": {**tiny("audio"), "max_duration": 3.0},
            "melspec": tiny("melspec"),
            "frame": {**tiny("frame"), "max_duration": 3.0},
            "face": tiny("face"),
        },
    )
    listed = run_stage("list_clips", "--params", str(params), "--out", str(tmp_path / "clips.csv"))
    assert listed.returncode == 0, listed.stderr
    assert "4 excluded by data.exclude" in listed.stderr
    assert "excluded 1064_IEO_DIS_MD.flv: data.exclude: about a minute long" in listed.stderr
    runs = [
        ("extract_audio", "--clips", "clips.csv", "audio"),
        ("melspec", "--audio", "audio", "melspec"),
        ("extract_middle_frame", "--clips", "clips.csv", "frames"),
        ("face_crop", "--frames", "frames", "faces"),
    ]
    indexes = {}
    for stage, option, source, out in runs:
        extra = ["--previews", str(tmp_path / "previews")] if stage == "melspec" else []
        done = run_stage(
            stage, "--params", str(params), option, str(tmp_path / source), "--out", str(tmp_path / out), *extra,
            "--jobs", "1",
        )  # fmt: skip
        assert done.returncode == 0 and "Traceback" not in done.stderr, done.stderr
        indexes[out] = read_index(tmp_path / out).set_index("clip")
    status = {out: index["status"].to_dict() for out, index in indexes.items()}
    reason = {out: index["reason"].to_dict() for out, index in indexes.items()}
    for out in indexes:  # the excluded clips are carried, failed, through every stage
        assert (
            status[out]["1064_IEO_DIS_MD"] == "failed"
            and "data.exclude: about a minute" in reason[out]["1064_IEO_DIS_MD"]
        )
    # too long: refused by both extraction stages, so neither modality keeps a clip of several takes
    assert reason["audio"]["1010_IEO_DIS_MD"].startswith("9.0 s long, above audio.max_duration 3 s")
    assert reason["frames"]["1010_IEO_DIS_MD"].startswith("9.0 s long, above frame.max_duration 3 s")
    assert reason["faces"]["1010_IEO_DIS_MD"].startswith("extract_middle_frame: 9.0 s long")
    # 3 frames: its middle frame (the second) and its 0.2 s of audio, padded, with the counts in the indexes
    assert (
        status["frames"]["1011_TIE_SAD_XX"] == "ok" and int(indexes["frames"].at["1011_TIE_SAD_XX", "frame_count"]) == 3
    )
    assert int(indexes["frames"].at["1011_TIE_SAD_XX", "frame_index"]) == 1
    assert status["melspec"]["1011_TIE_SAD_XX"] == "ok" and indexes["melspec"].at["1011_TIE_SAD_XX", "fit"] == "padded"
    # a silent track fails in melspec (no flat spectrogram), a missing one in extract_audio; their faces stay
    assert status["audio"]["1012_MTI_SAD_XX"] == "ok"
    assert reason["melspec"]["1012_MTI_SAD_XX"].startswith("silent audio track (")
    assert reason["audio"]["1013_MTI_NEU_XX"] == "no audio track"
    assert reason["melspec"]["1013_MTI_NEU_XX"] == "extract_audio: no audio track"
    for clip in ("1012_MTI_SAD_XX", "1013_MTI_NEU_XX"):
        assert status["frames"][clip] == "ok" and status["faces"][clip] in ("ok", "fallback")


def test_a_class_without_clips_stops_list_clips_in_one_line(tmp_path, crema_d_dir):
    raw = tmp_path / "raw"
    raw.mkdir()
    for name in ("1001_DFA_ANG_XX", "1001_DFA_HAP_XX", "1002_DFA_SAD_XX"):
        (raw / f"{name}.flv").touch()
    data = {**tiny("data"), "raw_dir": str(raw), "classes": ["ANG", "HAP", "SAD", "FEA"]}
    data["demographics"] = str(crema_d_dir / "VideoDemographics.csv")
    params = write_params(tmp_path / "params.yaml", {"data": data})
    done = run_stage("list_clips", "--params", str(params), "--out", str(tmp_path / "clips.csv"))
    assert done.returncode == 1 and "Traceback" not in done.stderr
    assert done.stderr.splitlines()[-1] == (
        f"list_clips: no usable clip of class(es) FEA in {raw}: remove them from data.classes, or add their clips"
    )
    data["classes"] = ["ANG", "HAP", "SAD"]
    write_params(tmp_path / "params.yaml", {"data": data})
    assert run_stage("list_clips", "--params", str(params), "--out", str(tmp_path / "clips.csv")).returncode == 0


def test_list_clips_lists_unusable_names_and_clip_named_folders_as_failed_lines(tmp_path, crema_d_dir):
    raw = tmp_path / "raw"
    raw.mkdir()
    for name in ("1001_DFA_ANG_XX", "1001_DFA_HAP_XX", "1001_DFA_SAD_XX", "1002_DFA_HAP_XX\n"):
        (raw / f"{name}.flv").touch()
    (raw / "1001_IEO_ANG_HI.flv").mkdir()
    os.mkdir(os.fsencode(raw) + b"/caf\xe9")
    Path(os.fsdecode(os.fsencode(raw) + b"/caf\xe9/1003_DFA_ANG_XX.flv")).touch()
    data = {**tiny("data"), "raw_dir": str(raw), "demographics": str(crema_d_dir / "VideoDemographics.csv")}
    params = write_params(tmp_path / "params.yaml", {"data": data})
    done = run_stage("list_clips", "--params", str(params), "--out", str(tmp_path / "clips.csv"))
    assert done.returncode == 0 and "Traceback" not in done.stderr, done.stderr
    assert done.stderr.splitlines()[1:] == [
        "  failed 1001_IEO_ANG_HI.flv: a folder, not a video file",
        "  failed 1002_DFA_HAP_XX\\n.flv: its path (1002_DFA_HAP_XX\\n.flv) holds a control character; rename it",
        "  failed 1003_DFA_ANG_XX.flv: its path (caf\\xe9/1003_DFA_ANG_XX.flv) is not valid UTF-8 (shown with \\x "
        "escapes); rename it",
    ]
    (tmp_path / "clips.csv").read_bytes().decode("utf-8")  # valid UTF-8

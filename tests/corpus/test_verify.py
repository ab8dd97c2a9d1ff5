"""avemo.corpus.verify through `avemo verify`: a copy of the six real clips, clean or damaged."""

from __future__ import annotations

from pathlib import Path

import pytest

from helpers import SELECT_SIX, SIX_CLIPS, run_avemo


@pytest.fixture
def copy_of_six(tmp_path, crema_d_dir) -> Path:
    root = tmp_path / "copy"
    (root / "VideoFlash").mkdir(parents=True)
    for name in SIX_CLIPS:
        (root / "VideoFlash" / name).write_bytes((crema_d_dir / "VideoFlash" / name).read_bytes())
    (root / "VideoDemographics.csv").write_bytes((crema_d_dir / "VideoDemographics.csv").read_bytes())
    return root


def test_verify_reports_a_clean_copy(copy_of_six, capsys):
    status, out, _ = run_avemo(capsys, "verify", str(copy_of_six), *SELECT_SIX, "--jobs", "2")
    assert status == 0
    assert out == "verify: 6 ok, 0 damaged, 0 unexpected, 0 missing\n"


def test_verify_finds_damaged_unexpected_and_missing_files(copy_of_six, capsys):
    clips = copy_of_six / "VideoFlash"
    (clips / "1001_DFA_HAP_XX.flv").unlink()
    with open(clips / "1001_DFA_SAD_XX.flv", "r+b") as f:  # same size, other bytes
        f.seek(5000)
        f.write(b"\0\0\0\0")
    (clips / "1001_DFA_NEU_XX.flv").write_bytes((clips / "1001_DFA_NEU_XX.flv").read_bytes()[:1000])
    (clips / "notes.txt").write_text("not a clip\n")
    (clips / ".1001_DFA_HAP_XX.flv.part").write_bytes(b"partial")
    status, out, _ = run_avemo(capsys, "verify", str(copy_of_six), *SELECT_SIX)
    assert status == 1
    assert out.splitlines() == [
        "damaged VideoFlash/1001_DFA_NEU_XX.flv: 1000 bytes, expected 251524",
        "damaged VideoFlash/1001_DFA_SAD_XX.flv: SHA-256 differs from the official release",
        "unexpected VideoFlash/.1001_DFA_HAP_XX.flv.part: an interrupted download; `avemo fetch` resumes it",
        "unexpected VideoFlash/notes.txt: not a file of the official release",
        "missing VideoFlash/1001_DFA_HAP_XX.flv",
        "verify: 3 ok, 2 damaged, 2 unexpected, 1 missing",
    ]


def test_many_missing_files_are_summed_up_by_folder_and_actor_and_listed_with_a_flag(copy_of_six, capsys):
    # every clip of both folders is selected; the copy holds six of actor 1001's 82 clips
    status, out, _ = run_avemo(capsys, "verify", str(copy_of_six), "--folders", "VideoFlash,AudioWAV")
    assert status == 1
    assert out.splitlines() == [
        "missing 14878 files, by folder and actor (--list-missing lists each):",
        "  AudioWAV: 7442 of 7442 selected files; every file of actor(s) 1001-1091",
        "  VideoFlash: 7436 of 7442 selected files; every file of actor(s) 1002-1091; 1001: 76 of 82",
        "verify: 6 ok, 0 damaged, 0 unexpected, 14878 missing",
    ]
    status, out, _ = run_avemo(capsys, "verify", str(copy_of_six), "--folders", "VideoFlash,AudioWAV", "--list-missing")
    lines = out.splitlines()
    assert (
        status == 1 and len(lines) == 14878 + 1 and lines[-1] == "verify: 6 ok, 0 damaged, 0 unexpected, 14878 missing"
    )
    assert "missing AudioWAV/1001_DFA_ANG_XX.wav" in lines and "missing VideoFlash/1001_DFA_ANG_XX.flv" not in lines


def test_the_summary_counts_actors_in_runs():
    from avemo.corpus.checksums import Entry
    from avemo.corpus.verify import missing_by_folder_and_actor

    selected = [Entry(f"VideoFlash/{actor}_DFA_ANG_XX.flv", 1, "x") for actor in (1001, 1002, 1003, 1005, 1007, 1008)]
    selected.append(Entry("VideoFlash/1007_IEO_ANG_HI.flv", 1, "x"))
    missing = [e.path for e in selected if not e.path.startswith(("VideoFlash/1005", "VideoFlash/1007_IEO"))]
    assert missing_by_folder_and_actor(missing, selected) == [
        "VideoFlash: 5 of 7 selected files; every file of actor(s) 1001-1003, 1008; 1007: 1 of 2"
    ]


def test_verify_of_the_clip_folder_itself_says_to_pass_the_folder_above(copy_of_six, capsys):
    status, out, err = run_avemo(capsys, "verify", str(copy_of_six / "VideoFlash"))
    assert status == 1 and out == ""
    assert err == (
        f"avemo verify: {copy_of_six / 'VideoFlash'} holds clips itself; pass the folder above it (the one that holds "
        "VideoFlash/)\n"
    )

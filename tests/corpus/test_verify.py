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


def test_verify_lists_every_clip_of_the_folders_as_missing_by_default(copy_of_six, capsys):
    status, out, _ = run_avemo(capsys, "verify", str(copy_of_six), "--folders", "VideoFlash,AudioWAV")
    assert status == 1
    assert out.splitlines()[-1] == "verify: 6 ok, 0 damaged, 0 unexpected, 14878 missing"
    assert "missing AudioWAV/1001_DFA_ANG_XX.wav" in out.splitlines()


def test_verify_of_the_clip_folder_itself_says_to_pass_the_folder_above(copy_of_six, capsys):
    status, out, err = run_avemo(capsys, "verify", str(copy_of_six / "VideoFlash"))
    assert status == 1 and out == ""
    assert err == (
        f"avemo verify: {copy_of_six / 'VideoFlash'} holds clips itself; pass the folder above it (the one that holds "
        "VideoFlash/)\n"
    )

import pandas as pd
import pytest

from avemo.preprocess import clipindex
from avemo.preprocess.clipindex import ClipResult


def test_write_and_read_index_sorted(tmp_path):
    results = [ClipResult("b", "failed", "bad", {"n": ""}), ClipResult("a", "ok", "", {"n": 3})]
    clipindex.write_index(tmp_path, results, ["n"])
    assert (tmp_path / "index.csv").read_text() == "clip,status,reason,n\na,ok,,3\nb,failed,bad,\n"
    index = clipindex.read_index(tmp_path)
    assert index["clip"].tolist() == ["a", "b"] and index.reason.tolist() == ["", "bad"]


def test_result_status_is_checked():
    with pytest.raises(ValueError, match="status"):
        ClipResult("a", "skipped")


def test_prepare_output_dir_removes_only_stale_outputs(tmp_path):
    for name in ["old.wav", "index.csv", "settings.json", ".x.tmp1.wav", "keep.txt"]:
        (tmp_path / name).write_text("x")
    clipindex.prepare_output_dir(tmp_path, [".wav"])
    assert sorted(p.name for p in tmp_path.iterdir()) == ["keep.txt"]


def test_split_usable_carries_upstream_failures_with_their_reason():
    rows = pd.DataFrame(
        {"clip": ["a", "b", "c"], "status": ["ok", "failed", "fallback"], "reason": ["", "empty file", "centre"]}
    )
    todo, carried = clipindex.split_usable(rows, "extract_audio")
    assert todo["clip"].tolist() == ["a", "c"]
    assert carried == [ClipResult("b", "failed", "extract_audio: empty file")]


def test_settings_round_trip_and_a_missing_file_says_what_to_rerun(tmp_path):
    clipindex.write_settings(tmp_path, {"top_db": 80, "n_mels": 64})
    assert clipindex.read_settings(tmp_path) == {"top_db": 80, "n_mels": 64}
    with pytest.raises(FileNotFoundError, match="dvc repro"):
        clipindex.read_settings(tmp_path / "elsewhere")


def test_a_clip_is_usable_when_any_folder_has_a_usable_output(tmp_path):
    audio = [ClipResult("a", "ok"), ClipResult("b", "failed", "no audio track"), ClipResult("c", "failed", "x")]
    faces = [
        ClipResult("a", "failed", "no face"),
        ClipResult("b", "fallback", "no face"),
        ClipResult("c", "failed", "y"),
    ]
    clipindex.write_index(tmp_path / "melspec", audio)
    clipindex.write_index(tmp_path / "faces", faces)
    assert clipindex.usable_in_any([tmp_path / "melspec", tmp_path / "faces"]) == {"a", "b"}
    assert clipindex.usable_in_any([tmp_path / "faces"]) == {"b"}


def test_a_clips_files_and_cells_with_one_frame_or_several():
    assert clipindex.clip_files("1001_DFA_ANG_XX", ".png") == ["1001_DFA_ANG_XX.png"]
    assert clipindex.clip_files("1001_DFA_ANG_XX", ".png", 3) == [f"1001_DFA_ANG_XX_{k}.png" for k in range(3)]
    assert clipindex.frames_per_clip({"position": 0.5}) == 1  # what a folder of one frame a clip holds
    assert clipindex.frames_per_clip({"position": 0.5, "frames_per_clip": 3, "spread": 0.4}) == 3
    assert clipindex.per_frame([33]) == 33 and clipindex.per_frame([20, 33, 46]) == "20;33;46"

import os
from pathlib import Path

import pandas as pd
import pytest

from avemo.corpus import clips as dataset
from avemo.files import write_csv
from helpers import DEFAULT_PARAMS, PASSWD, REPO_ROOT, TINY_PARAMS, run_stage, write_params


def test_parse_clip_name_reads_every_field():
    name = dataset.parse_clip_name("1091_IEO_HAP_HI.flv")
    assert (name.actor, name.sentence, name.emotion, name.level) == (1091, "IEO", "HAP", "HI")
    assert name.stem == "1091_IEO_HAP_HI"


@pytest.mark.parametrize(
    "bad, why",
    [
        ("angry_clip.flv", "not ActorID_Sentence_Emotion_Level"),
        ("1001_DFA_ANG.flv", "not ActorID_Sentence_Emotion_Level"),
        ("1001_XYZ_ANG_XX", "unknown sentence"),
        ("1001_DFA_JOY_XX", "unknown emotion"),
        ("1001_DFA_ANG_ZZ", "unknown level"),
        ("101_DFA_ANG_XX", "not ActorID"),
    ],
)
def test_parse_clip_name_rejects_with_reason(bad, why):
    with pytest.raises(dataset.ClipNameError, match=why):
        dataset.parse_clip_name(bad)


def test_validate_codes_rejects_typos():
    assert dataset.validate_codes(["ang", "Sad"], dataset.EMOTIONS, "emotion") == ["ANG", "SAD"]
    with pytest.raises(ValueError, match="unknown emotion"):
        dataset.validate_codes(["ANGRY"], dataset.EMOTIONS, "emotion")


def _touch(folder, *names):
    for name in names:
        (folder / name).write_bytes(b"x")


def test_list_clips_filters_and_reports_bad_names(tmp_path):
    _touch(
        tmp_path,
        "1001_DFA_ANG_XX.flv",
        "1001_DFA_NEU_XX.flv",
        "1002_IEO_SAD_HI.flv",
        "1003_DFA_HAP_XX.flv",
        "oops.flv",
        "1004_DFA_ANG_XX.txt",
        ".hidden",
    )
    demographics = pd.DataFrame(
        {"age": [51, 21], "sex": ["Male", "Female"], "race": ["", ""], "ethnicity": ["", ""]},
        index=pd.Index([1001, 1002], name="actor"),
    )
    clips, left_out = dataset.list_clips(
        tmp_path, classes=["ANG", "SAD", "HAP"], actors=[1001, 1002, 1004], demographics=demographics
    )
    ok = clips[clips.status == "ok"]
    assert list(ok["clip"]) == ["1001_DFA_ANG_XX", "1002_IEO_SAD_HI"]
    assert list(ok.sex) == ["Male", "Female"]
    assert left_out == {"emotion": 1, "actor": 1, "sentence": 0, "level": 0, "hidden": 1}
    failed = clips[clips.status == "failed"].set_index("file")
    assert set(failed.index) == {"oops.flv", "1004_DFA_ANG_XX.txt"}
    assert "not ActorID_Sentence_Emotion_Level" in failed.at["oops.flv", "reason"]
    assert failed.at["1004_DFA_ANG_XX.txt", "reason"].startswith("not a video file (.txt; expected .flv, .mp4")


def test_list_clips_lists_the_excluded_clips_with_their_reason(tmp_path):
    _touch(tmp_path, "1064_TIE_SAD_XX.flv", "1064_IEO_DIS_MD.flv", "1001_DFA_ANG_XX.flv")
    exclude = {"1064_TIE_SAD_XX": "about 18 frames", "1064_IEO_DIS_MD": "about a minute long"}
    clips, left_out = dataset.list_clips(tmp_path, classes=["ANG", "SAD", "HAP"], exclude=exclude)
    assert clips.set_index("clip")["status"].to_dict() == {"1001_DFA_ANG_XX": "ok", "1064_TIE_SAD_XX": "excluded"}
    assert clips.set_index("clip").at["1064_TIE_SAD_XX", "reason"] == "data.exclude: about 18 frames"
    assert left_out["emotion"] == 1  # a filter comes first: DIS is not a class of this run


def test_the_default_params_exclude_the_releases_four_known_faulty_clips():
    assert sorted(DEFAULT_PARAMS["data"]["exclude"]) == [
        "1064_IEO_DIS_MD",
        "1064_TIE_SAD_XX",
        "1076_MTI_NEU_XX",
        "1076_MTI_SAD_XX",
    ]


def test_list_clips_takes_folders_as_users_have_them(tmp_path):
    _touch(tmp_path, "1001_IEO_ANG_LO.FLV", "1001_IEO_HAP_LO.mp4", "1001_IEO_SAD_LO.flv", "1001_IEO_SAD_LO.mp4")
    (tmp_path / "more").mkdir()
    _touch(tmp_path / "more", "1002_DFA_ANG_XX.Mp4", "1001_IEO_HAP_LO.flv")
    (tmp_path / "gone.flv").symlink_to(tmp_path / "missing.flv")
    clips, _ = dataset.list_clips(tmp_path)
    rows = clips.set_index("clip")
    ok = rows[rows.status == "ok"]
    assert sorted(ok.index) == [
        "1001_IEO_ANG_LO",
        "1001_IEO_HAP_LO",
        "1001_IEO_SAD_LO",
        "1002_DFA_ANG_XX",
    ]  # any case, any container, subfolders
    assert ok.at["1002_DFA_ANG_XX", "path"] == str(tmp_path / "more" / "1002_DFA_ANG_XX.Mp4")
    assert rows.at["gone", "reason"] == f"broken link: its target {tmp_path / 'missing.flv'} does not exist"
    # A clip present twice: the first file by path is the clip, the other a failed row saying so.
    assert rows.at["1001_IEO_SAD_LO", "path"].endswith(".flv") and rows.at["1001_IEO_SAD_LO.mp4", "status"] == "failed"
    assert (
        rows.at["more/1001_IEO_HAP_LO.flv", "reason"]
        == "a second file of clip 1001_IEO_HAP_LO (kept: 1001_IEO_HAP_LO.mp4)"
    )
    assert clips["clip"].is_unique and len(clips) == 7


def test_names_that_are_not_utf8_or_hold_a_control_character_are_failed_rows_in_valid_utf8(tmp_path):
    _touch(tmp_path, "1001_DFA_ANG_XX.flv", "1001_DFA_HAP_XX\n.flv", "1001_DFA_SAD\t_XX.flv")
    os.mkdir(os.fsencode(tmp_path) + b"/caf\xe9")  # Latin-1, not UTF-8: a folder ...
    (Path(os.fsdecode(os.fsencode(tmp_path) + b"/caf\xe9")) / "1002_DFA_ANG_XX.flv").write_bytes(b"x")
    Path(os.fsdecode(os.fsencode(tmp_path) + b"/1003_DFA_ANG_XX\xff.flv")).write_bytes(b"x")  # ... and a file
    clips, _ = dataset.list_clips(tmp_path)
    rows = clips.set_index("clip")
    assert rows["status"].to_dict() == {
        "1001_DFA_ANG_XX": "ok",
        "1001_DFA_HAP_XX\\n": "failed",
        "1001_DFA_SAD\\t_XX": "failed",
        "1003_DFA_ANG_XX\\xff": "failed",
        "caf\\xe9/1002_DFA_ANG_XX": "failed",
    }
    utf8 = "is not valid UTF-8 (shown with \\x escapes); rename it"
    assert rows.at["caf\\xe9/1002_DFA_ANG_XX", "reason"] == f"its path (caf\\xe9/1002_DFA_ANG_XX.flv) {utf8}"
    assert rows.at["1003_DFA_ANG_XX\\xff", "reason"] == f"its path (1003_DFA_ANG_XX\\xff.flv) {utf8}"
    assert rows.at["1003_DFA_ANG_XX\\xff", "file"] == "1003_DFA_ANG_XX\\xff.flv"
    # the newline is no longer dropped from the name, and shows escaped: one line, on screen and in clips.csv
    assert (
        rows.at["1001_DFA_HAP_XX\\n", "reason"]
        == "its path (1001_DFA_HAP_XX\\n.flv) holds a control character; rename it"
    )
    assert rows.at["1001_DFA_HAP_XX\\n", "file"] == "1001_DFA_HAP_XX\\n.flv"
    write_csv(tmp_path / "clips.csv", clips)
    text = (tmp_path / "clips.csv").read_bytes().decode("utf-8")  # strict: valid UTF-8
    assert len(text.splitlines()) == 6
    assert dataset.read_clip_list(tmp_path / "clips.csv")["clip"].tolist() == clips["clip"].tolist()


def test_a_folder_named_like_a_clip_file_is_a_failed_row(tmp_path):
    (tmp_path / "1001_IEO_ANG_HI.flv").mkdir()  # empty
    (tmp_path / "1001_DFA_SAD_XX.MP4").mkdir()
    _touch(tmp_path / "1001_DFA_SAD_XX.MP4", "1001_DFA_SAD_XX.flv")  # a clip inside: listed on its own
    (tmp_path / "1002").mkdir()  # an actor's folder: not named like a clip, no row of its own
    _touch(tmp_path / "1002", "1002_DFA_ANG_XX.flv")
    clips, _ = dataset.list_clips(tmp_path)
    rows = clips.set_index("clip")
    assert rows["status"].to_dict() == {
        "1001_DFA_SAD_XX": "ok",
        "1001_DFA_SAD_XX.MP4/": "failed",
        "1001_IEO_ANG_HI.flv/": "failed",
        "1002_DFA_ANG_XX": "ok",
    }
    assert rows.at["1001_IEO_ANG_HI.flv/", "reason"] == "a folder, not a video file"
    assert rows.at["1001_DFA_SAD_XX", "path"] == str(tmp_path / "1001_DFA_SAD_XX.MP4" / "1001_DFA_SAD_XX.flv")


def test_list_clips_missing_folder_names_the_param(tmp_path):
    with pytest.raises(FileNotFoundError, match="data.raw_dir"):
        dataset.list_clips(tmp_path / "nope")


def test_demographics_of_real_crema_d(crema_d_dir):
    frame = dataset.load_demographics(crema_d_dir / "VideoDemographics.csv")
    assert len(frame) == 91
    assert frame.at[1001, "sex"] == "Male" and frame.at[1001, "age"] == 51
    assert set(frame.sex) == {"Male", "Female"}


def test_demographics_of_the_wrong_format_are_refused_in_one_line_naming_the_file(tmp_path, crema_d_dir):
    expected = "expected a CSV file with columns ActorID, Age, Sex, Race, Ethnicity"
    summary = REPO_ROOT / "src" / "avemo" / "corpus" / "resources" / "summaryTable.csv"
    with pytest.raises(dataset.TableError) as refused:
        dataset.load_demographics(summary)
    assert str(refused.value) == (
        f"{summary} (params.yaml data.demographics): not CREMA-D's VideoDemographics.csv: no column ActorID, Age, "
        "Sex, Race, Ethnicity (it has Unnamed: 0, FileName, VoiceVote, VoiceLevel, FaceVote, FaceLevel and 2 more); "
        f"{expected}"
    )
    (tmp_path / "passwd").write_text(PASSWD)
    (tmp_path / "binary").write_bytes(b"\x89PNG\r\n\x1a\n\xff\xfe")
    (tmp_path / "twice.csv").write_text("ActorID,Age,Sex,Race,Ethnicity\n1001,51,Male,,\n1001,21,Female,,\n")
    (tmp_path / "empty.csv").write_text("")
    for name, problem in [
        ("passwd", "not CREMA-D's VideoDemographics.csv (Error tokenizing data. C error: Expected 1 fields in line 3"),
        ("binary", "not CREMA-D's VideoDemographics.csv ('utf-8' codec can't decode byte 0x89"),
        ("twice.csv", "not CREMA-D's VideoDemographics.csv: its ActorIDs are not distinct integers"),
        ("empty.csv", "not CREMA-D's VideoDemographics.csv (No columns to parse from file)"),
        ("missing.csv", "not found"),
    ]:
        with pytest.raises(dataset.TableError) as refused:
            dataset.load_demographics(tmp_path / name)
        assert str(refused.value).startswith(f"{tmp_path / name} (params.yaml data.demographics): {problem}")
        assert len(str(refused.value).splitlines()) == 1


def test_list_clips_stops_in_one_line_on_demographics_of_the_wrong_format(tmp_path, real_clips_dir):
    data = {**TINY_PARAMS["data"], "raw_dir": str(real_clips_dir), "demographics": "/etc/passwd"}
    params = write_params(tmp_path / "params.yaml", {"data": data})
    done = run_stage("list_clips", "--params", str(params), "--out", str(tmp_path / "clips.csv"))
    assert done.returncode == 1 and not (tmp_path / "clips.csv").exists()
    assert done.stderr.splitlines() == [
        "list_clips: /etc/passwd (params.yaml data.demographics): not CREMA-D's VideoDemographics.csv"
        + done.stderr.split("VideoDemographics.csv", 1)[1].splitlines()[0]
    ]
    assert done.stderr.strip().endswith("expected a CSV file with columns ActorID, Age, Sex, Race, Ethnicity")


def test_clip_list_round_trip(tmp_path, real_clips_dir, crema_d_dir):
    clips, _ = dataset.list_clips(
        real_clips_dir, demographics=dataset.load_demographics(crema_d_dir / "VideoDemographics.csv")
    )
    clips.to_csv(tmp_path / "clips.csv", index=False)
    back = dataset.read_clip_list(tmp_path / "clips.csv")
    assert list(back["clip"]) == list(clips["clip"])
    assert back.actor.tolist() == [1001] * 6
    assert set(back.emotion) == {"ANG", "DIS", "FEA", "HAP", "NEU", "SAD"}

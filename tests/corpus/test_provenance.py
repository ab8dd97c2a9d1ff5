"""avemo.corpus.provenance through list_clips: a clip folder the sample stage marked is the synthetic sample,
any other folder real; data/corpus.json says which, and the mark is no clip."""

import json

import pandas as pd
import pytest

from avemo.corpus.provenance import SAMPLE_MARK, corpus_record, is_sample, mark_sample, read_corpus
from avemo.errors import UserError
from helpers import run_stage, tiny, write_params


@pytest.fixture
def clip_folder(tmp_path):
    """One (empty) clip of each of the tiny params' classes, and a demographics file: enough for list_clips."""
    raw = tmp_path / "VideoFlash"
    raw.mkdir()
    for emotion in ("ANG", "HAP", "SAD"):
        (raw / f"1001_IEO_{emotion}_XX.flv").write_bytes(b"")
    (tmp_path / "demographics.csv").write_text("ActorID,Age,Sex,Race,Ethnicity\n1001,51,Male,Caucasian,Not Hispanic\n")
    return raw


def list_clips(tmp_path, raw):
    params = write_params(
        tmp_path / "params.yaml",
        {"data": {**tiny("data"), "raw_dir": str(raw), "demographics": str(tmp_path / "demographics.csv")}},
    )
    done = run_stage("list_clips", "--params", str(params), "--out", str(tmp_path / "out" / "clips.csv"))
    assert done.returncode == 0, done.stderr
    assert "hidden" not in done.stderr  # the mark is not counted as a hidden file left out
    clips = pd.read_csv(tmp_path / "out" / "clips.csv")
    return clips, json.loads((tmp_path / "out" / "corpus.json").read_text()), done.stderr


def test_a_marked_folder_is_the_synthetic_sample_and_its_mark_is_no_clip(tmp_path, clip_folder):
    mark_sample(clip_folder)
    assert is_sample(clip_folder) and (clip_folder / SAMPLE_MARK).read_text().startswith("This folder is avemo's")
    clips, corpus, said = list_clips(tmp_path, clip_folder)
    assert corpus == {"clips": str(clip_folder), "synthetic_sample": True}
    assert f"3 clips from {clip_folder} (the synthetic sample) (0 failed" in said
    assert list(clips["clip"]) == ["1001_IEO_ANG_XX", "1001_IEO_HAP_XX", "1001_IEO_SAD_XX"]  # no row for the mark
    assert read_corpus(tmp_path / "out" / "corpus.json") == corpus


def test_any_other_folder_is_real(tmp_path, clip_folder):
    _, corpus, said = list_clips(tmp_path, clip_folder)
    assert f"3 clips from {clip_folder} (0 failed" in said
    assert corpus == {"clips": str(clip_folder), "synthetic_sample": False}
    (clip_folder / SAMPLE_MARK).mkdir()  # a folder of that name is no mark
    assert not is_sample(clip_folder) and corpus_record(clip_folder)["synthetic_sample"] is False


def test_a_corpus_file_of_another_shape_is_one_line(tmp_path):
    (tmp_path / "corpus.json").write_text('{"clips": "x"}\n')
    with pytest.raises(UserError, match="not a corpus record of list_clips"):
        read_corpus(tmp_path / "corpus.json")

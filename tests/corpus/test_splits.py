"""Splits: actor folds (every actor tested once, none in two parts of a fold), one stratified split, the
course project's clip split, published splits, the stage."""

import json

import pandas as pd
import pytest
import yaml

from avemo.corpus.clips import CLIP_COLUMNS, list_clips, read_clip_list
from avemo.corpus.published_lists import read_clip_lists
from avemo.corpus.split_table import read_split
from avemo.corpus.splits import (
    PARTS,
    SplitError,
    group_sizes,
    make_split,
    read_published_split,
    stratified_actor_split,
)
from helpers import DEFAULT_PARAMS, REPO_ROOT, TINY_PARAMS, run_stage, write_params

FRACTIONS = {"train": 0.6, "validation": 0.2, "test": 0.2}
SPLIT = DEFAULT_PARAMS["split"]  # params.yaml's
ONE_SPLIT = {**SPLIT, "scheme": "actors", "folds": 1, "fractions": FRACTIONS}
EMOTIONS = ("ANG", "HAP", "SAD")


def clip_list(
    actors: int = 20, sentences: int = 2, sex=lambda a: "Female" if a % 2 else "Male", extra_rows=()
) -> pd.DataFrame:
    """A clip list like list_clips writes: every actor speaks every emotion `sentences` times."""
    rows = [
        {
            "clip": f"{1001 + a}_{s}_{e}_XX",
            "file": f"{1001 + a}_{s}_{e}_XX.flv",
            "path": f"raw/{1001 + a}_{s}_{e}_XX.flv",
            "actor": 1001 + a,
            "sentence": s,
            "emotion": e,
            "level": "XX",
            "sex": sex(a),
            "age": 30,
            "status": "ok",
            "reason": "",
        }
        for a in range(actors)
        for s in ("IEO", "TIE", "IOM")[:sentences]
        for e in EMOTIONS
    ]
    return pd.DataFrame(rows + list(extra_rows), columns=CLIP_COLUMNS)


def test_no_actor_in_two_parts_and_every_ok_clip_split_once():
    clips = clip_list(actors=23)
    table, summary, _ = make_split(clips, {**ONE_SPLIT, "seed": 3})
    assert table.groupby("actor")["part"].nunique().max() == 1
    assert sorted(table["clip"]) == sorted(clips["clip"]) and table["clip"].is_unique
    assert list(table.columns) == ["clip", "actor", "emotion", "fold", "part"]
    assert set(table["part"]) == set(PARTS) and set(table["fold"]) == {0}
    assert summary["actors"] == 23 and summary["clips"] == len(clips) and summary["actors_in_two_parts"] == 0


def test_actor_folds_test_every_actor_exactly_once_and_never_share_one():
    clips = clip_list(actors=23)
    table, summary, _ = make_split(clips, {**SPLIT, "scheme": "actors", "folds": 5, "seed": 1})
    assert summary["folds"] == 5 and summary["actors_in_two_parts"] == 0
    assert table.groupby(["fold", "actor"])["part"].nunique().max() == 1  # no actor in two parts of a fold
    tested = table[table["part"] == "test"].groupby("actor")["fold"].nunique()
    assert len(tested) == 23 and (tested == 1).all()  # every actor tested in exactly one fold
    assert table[table["part"] == "test"]["clip"].is_unique and len(table[table["part"] == "test"]) == len(clips)
    for fold in range(5):  # every clip in every fold; validation actors are the next fold's test actors
        rows = table[table["fold"] == fold]
        assert sorted(rows["clip"]) == sorted(clips["clip"])
        next_test = set(table[(table["fold"] == (fold + 1) % 5) & (table["part"] == "test")]["actor"])
        assert set(rows[rows["part"] == "validation"]["actor"]) == next_test
    sizes = table[table["part"] == "test"].groupby("fold")["actor"].nunique()
    assert sorted(sizes) == [4, 4, 5, 5, 5]  # 23 actors dealt into 5 even groups


def test_the_course_projects_clip_split_shares_actors_and_says_so():
    clips = clip_list(actors=10)
    table, summary, _ = make_split(clips, {**SPLIT, "scheme": "clips", "folds": 5, "seed": 0})
    assert summary["actors_in_two_parts"] == 10  # every actor's clips land in several parts
    tested = table[table["part"] == "test"]
    assert tested["clip"].is_unique and len(tested) == len(clips)  # every clip tested exactly once
    shares = tested.groupby("fold")["emotion"].value_counts().unstack()
    assert (shares.max() - shares.min()).max() <= 1  # stratified by emotion


def test_group_sizes_follow_fractions_and_never_leave_a_group_empty():
    assert group_sizes(30, [0.6, 0.2, 0.2]) == [18, 6, 6]
    assert group_sizes(3, [0.9, 0.05, 0.05]) == [1, 1, 1]
    assert group_sizes(23, [0.2] * 5) == [5, 5, 5, 4, 4]
    with pytest.raises(SplitError, match=r"2 actor\(s\) found; 3 groups .* need at least 3"):
        group_sizes(2, [0.6, 0.2, 0.2])


def test_the_six_real_clips_alone_are_one_clear_line_from_the_split_stage(tmp_path, real_run, crema_d_dir):
    out, _ = real_run  # the six real clips through the four preprocessing stages: one actor
    data = {
        **TINY_PARAMS["data"],
        "raw_dir": str(crema_d_dir / "VideoFlash"),
        "demographics": str(crema_d_dir / "VideoDemographics.csv"),
    }
    params = write_params(tmp_path / "params.yaml", {"data": data, "split": {**TINY_PARAMS["split"], "folds": 5}})
    assert run_stage("list_clips", "--params", str(params), "--out", str(tmp_path / "clips.csv")).returncode == 0
    done = run_stage(
        "split",
        "--params",
        str(params),
        "--clips",
        str(tmp_path / "clips.csv"),
        "--melspec",
        str(out / "melspec"),
        "--faces",
        str(out / "faces"),
        "--out",
        str(tmp_path / "split.csv"),
        cwd=tmp_path,
    )
    assert done.returncode == 1 and "Traceback" not in done.stderr
    assert done.stderr.strip().splitlines() == [
        "split: 1 actor(s) found; 5 groups (a fold's test, or a part, each) need at least 5, one each: use fewer "
        "split.folds, or more actors"
    ]
    assert not (tmp_path / "split.csv").exists()


def test_stratified_by_sex_and_emotion():
    # 12 women, 8 men; emotions uneven per actor (some actors lack SAD), so emotion balance needs the search.
    clips = clip_list(actors=20, sex=lambda a: "Female" if a < 12 else "Male")
    clips = clips[~((clips["actor"] % 3 == 0) & (clips["emotion"] == "SAD"))]
    table, summary, composition = make_split(clips, {**ONE_SPLIT, "seed": 0})
    actors = composition[composition["of"] == "actors"].set_index("group")["count"]
    for part in PARTS:  # each part gets its share of women (60%) to within one actor
        in_part = table[table["part"] == part]["actor"].nunique()
        assert abs(actors.get(f"fold 0 {part} Female", 0) - 0.6 * in_part) <= 1, composition
    overall = clips["emotion"].value_counts(normalize=True)
    for part in PARTS:
        shares = table[table["part"] == part]["emotion"].value_counts(normalize=True)
        assert (shares.reindex(overall.index, fill_value=0) - overall).abs().max() < 0.06, (part, shares)


def test_unknown_sex_is_its_own_stratum_and_the_seed_decides():
    clips = clip_list(actors=15, sex=lambda a: "" if a < 5 else ("Female" if a % 2 else "Male"))
    first = stratified_actor_split(clips, FRACTIONS, seed=1, candidates=200)
    assert first.equals(stratified_actor_split(clips, FRACTIONS, seed=1, candidates=200))
    assert not first.equals(stratified_actor_split(clips, FRACTIONS, seed=2, candidates=200))
    unknown = first[[1001 + a for a in range(5)]]
    counts = unknown.value_counts()
    assert all(abs(counts.get(p, 0) - 5 * FRACTIONS[p]) <= 1 for p in PARTS), counts


def test_failed_clips_are_not_split_and_are_counted():
    failed = {
        "clip": "angry_clip",
        "file": "angry_clip.flv",
        "path": "raw/angry_clip.flv",
        "actor": None,
        "sentence": None,
        "emotion": None,
        "level": None,
        "sex": None,
        "age": None,
        "status": "failed",
        "reason": "name ...",
    }
    clips = clip_list(actors=6, extra_rows=[failed])
    survived = set(clips["clip"]) - {"1001_IEO_ANG_XX", "1002_TIE_SAD_XX"}  # no spectrogram and no face
    table, summary, _ = make_split(clips, {**ONE_SPLIT, "seed": 0}, survived)
    assert not {"angry_clip", "1001_IEO_ANG_XX", "1002_TIE_SAD_XX"} & set(table["clip"])
    assert (summary["clips_not_ok"], summary["clips_without_modality"], summary["clips"]) == (1, 2, 34)


def test_bad_fractions_are_refused():
    with pytest.raises(SplitError, match="sum to 1"):
        make_split(clip_list(), {**ONE_SPLIT, "fractions": {"train": 0.6, "validation": 0.2, "test": 0.3}, "seed": 0})
    with pytest.raises(SplitError, match="> 0"):
        make_split(clip_list(), {**ONE_SPLIT, "fractions": {"train": 0.8, "validation": 0.2, "test": 0.0}, "seed": 0})
    with pytest.raises(SplitError, match="scheme"):
        make_split(clip_list(), {**SPLIT, "scheme": "random", "fractions": FRACTIONS, "seed": 0})
    with pytest.raises(SplitError, match="folds must be 1"):
        make_split(clip_list(), {**SPLIT, "scheme": "actors", "folds": 2, "seed": 0})


def test_published_split_is_read_and_unlisted_actors_are_left_out(tmp_path):
    published = tmp_path / "speaker_splits.json"
    published.write_text(json.dumps({"train": [1001, 1002, 1003], "dev": [1004], "test": ["1005"]}))
    table, summary, _ = make_split(clip_list(actors=6), {**SPLIT, "scheme": "published", "published": str(published)})
    assert table.groupby("part")["actor"].unique().map(sorted).to_dict() == {
        "train": [1001, 1002, 1003],
        "validation": [1004],
        "test": [1005],
    }
    assert summary["clips_actor_not_in_split"] == 6  # actor 1006: 3 emotions x 2 sentences


def test_a_published_split_of_other_actors_fails_in_one_line(tmp_path):
    published = tmp_path / "speaker_splits.json"
    published.write_text(json.dumps({"train": [1001, 1002, 1003], "dev": [1004], "test": [1090, 1091]}))
    with pytest.raises(
        SplitError, match=r"^fold 0: no clip in part\(s\) test: split.published .* lists no actor of this corpus"
    ):
        make_split(clip_list(actors=6), {**SPLIT, "scheme": "published", "published": str(published)})


def test_the_real_published_crema_d_split_is_shipped_and_is_the_default(crema_d_dir):
    shipped = REPO_ROOT / yaml.safe_load((REPO_ROOT / "params.yaml").read_text())["split"]["published"]
    assert shipped.read_bytes() == (crema_d_dir / "speaker_splits.json").read_bytes()
    parts = read_published_split(shipped)
    assert len(parts) == 91 and parts.index.is_unique
    assert parts.value_counts().to_dict() == {"train": 56, "validation": 17, "test": 18}


@pytest.mark.parametrize(
    "content, problem",
    [
        (b"\x89PNG\r\n\x1a\n\0\0", "is not JSON ('utf-8' codec can't decode byte 0x89"),
        (
            b"[1001, 1002]",
            ": expected a JSON object of actor id lists named train, dev (or validation) and test, got a JSON list",
        ),
        (b'{"train": [1001], "exam": [1002]}', "got exam, train"),
        (b'{"train": 1001, "test": [1002]}', ": train is not a list of actor ids"),
        (b'{"train": ["1001a"], "test": [1002]}', ": train is not a list of actor ids"),
    ],
)
def test_a_published_split_of_the_wrong_format_is_refused_naming_the_file(tmp_path, content, problem):
    (tmp_path / "split.json").write_bytes(content)
    with pytest.raises(SplitError) as refused:
        read_published_split(tmp_path / "split.json")
    assert str(refused.value).startswith(f"{tmp_path / 'split.json'} (params.yaml split.published)")
    assert problem in str(refused.value)


def test_published_split_with_an_actor_in_two_parts_is_refused(tmp_path):
    published = tmp_path / "bad.json"
    published.write_text(json.dumps({"train": [1001, 1002], "dev": [1002], "test": [1003]}))
    with pytest.raises(ValueError, match="actor 1002 is in two parts"):
        read_published_split(published)


def test_split_stage_writes_the_table_and_summary(tmp_path):
    clips = clip_list(actors=10)
    clips.to_csv(tmp_path / "clips.csv", index=False)
    for name in ("melspec", "faces"):  # every clip has a spectrogram, one clip has no face
        (tmp_path / name).mkdir()
        index = pd.DataFrame({"clip": clips["clip"], "status": "ok", "reason": ""})
        if name == "faces":
            index.loc[0, "status"] = "failed"
        index.to_csv(tmp_path / name / "index.csv", index=False)
    args = [
        "--clips",
        str(tmp_path / "clips.csv"),
        "--melspec",
        str(tmp_path / "melspec"),
        "--faces",
        str(tmp_path / "faces"),
        "--out",
        str(tmp_path / "split.csv"),
        "--metrics",
        str(tmp_path / "split.json"),
        "--composition",
        str(tmp_path / "composition.csv"),
    ]
    write_params(tmp_path / "params.yaml", {"split": {**TINY_PARAMS["split"], "scheme": "actors", "folds": 5}})
    done = run_stage("split", "--params", str(tmp_path / "params.yaml"), *args, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    table = read_split(tmp_path / "split.csv")
    assert len(table) == 5 * len(read_clip_list(tmp_path / "clips.csv"))  # every clip in every fold
    summary = json.loads((tmp_path / "split.json").read_text())
    assert summary == {
        "folds": 5,
        "clips": 60,
        "actors": 10,
        "test_clips_per_fold": 12.0,
        "actors_in_two_parts": 0,
        "scheme": "actors",
        "clips_listed": 60,
        "clips_not_ok": 0,
        "clips_excluded": 0,
        "clips_without_modality": 0,
        "clips_actor_not_in_split": 0,
    }
    composition = pd.read_csv(tmp_path / "composition.csv")
    assert composition[composition["of"] == "clips"]["count"].sum() == 5 * 60
    assert composition.set_index("group").at["fold 0 test ANG", "count"] == 4  # 2 actors x 2 sentences

    write_params(tmp_path / "params.yaml", {"split": {**TINY_PARAMS["split"], "scheme": "clips", "folds": 5}})
    leaky = run_stage("split", "--params", str(tmp_path / "params.yaml"), *args, cwd=tmp_path)
    assert leaky.returncode == 0 and "WARNING: 10 actors are in two parts of a fold" in leaky.stderr

    write_params(tmp_path / "params.yaml", {"split": {**TINY_PARAMS["split"], "scheme": "ogm_ge"}})
    listed = run_stage("split", "--params", str(tmp_path / "params.yaml"), *args, cwd=tmp_path)
    found = clips["clip"].isin(read_clip_lists().index).sum()  # the release lacks some IEO_..._XX names
    assert listed.returncode == 0, listed.stderr
    assert f"split (ogm_ge): {found} of the lists' 7442 clips found; {60 - found} clips of the corpus" in listed.stderr
    assert json.loads((tmp_path / "split.json").read_text())["published_list_clips_found"] == found

    published = tmp_path / "other_actors.json"
    published.write_text(json.dumps({"train": [1001], "dev": [1002], "test": [1091]}))
    write_params(
        tmp_path / "params.yaml",
        {"split": {**TINY_PARAMS["split"], "scheme": "published", "published": str(published)}},
    )
    refused = run_stage("split", "--params", str(tmp_path / "params.yaml"), *args, cwd=tmp_path)
    assert refused.returncode == 1 and "Traceback" not in refused.stderr
    assert refused.stderr.strip().splitlines() == [
        f"split: fold 0: no clip in part(s) test: split.published {published} lists no actor of this corpus in it; use "
        "split.scheme actors"
    ]

    write_params(  # a file of the wrong format: one line naming it and what it should hold
        tmp_path / "params.yaml",
        {"split": {**TINY_PARAMS["split"], "scheme": "published", "published": str(tmp_path / "params.yaml")}},
    )
    refused = run_stage("split", "--params", str(tmp_path / "params.yaml"), *args, cwd=tmp_path)
    assert refused.returncode == 1 and "Traceback" not in refused.stderr
    assert refused.stderr.strip().splitlines() == [
        f"split: {tmp_path / 'params.yaml'} (params.yaml split.published) is not JSON (Expecting value: line 1 column "
        "1 (char 0)); expected a JSON object of actor id lists named train, dev (or validation) and test"
    ]


def test_split_stage_help_names_its_params():
    done = run_stage("split", "--help", cwd=REPO_ROOT)
    assert done.returncode == 0 and "split.scheme" in done.stdout and "--clips" in done.stdout


def test_read_split_refuses_a_table_of_the_old_layout(tmp_path):
    path = tmp_path / "split.csv"
    pd.DataFrame({"clip": ["1001_IEO_ANG_XX"], "actor": [1001], "emotion": ["ANG"], "part": ["train"]}).to_csv(
        path, index=False
    )
    with pytest.raises(ValueError, match="rerun the split stage"):
        read_split(path)


def test_the_ogm_ge_scheme_tests_its_test_list_and_validates_on_part_of_its_train_list(tmp_path):
    # a folder of (empty) files named after all 7,442 clips of the lists, as list_clips reads a release
    listed = read_clip_lists()
    for clip in listed.index:
        (tmp_path / f"{clip}.flv").touch()
    clips, _ = list_clips(tmp_path)
    params = {**SPLIT, "scheme": "ogm_ge", "validation_share": 0.1, "seed": 0}
    table, summary, _ = make_split(clips, params)
    parts = table.set_index("clip")["part"]
    assert set(parts.index[parts == "test"]) == set(listed.index[listed == "test"])
    assert set(parts.index[parts != "test"]) == set(listed.index[listed == "train"])
    validation = parts[parts == "validation"]
    assert len(validation) == round(0.1 * 6698)
    # stratified: each emotion's share of the validation part is the train list's, to within a clip
    train_list = table[table["part"] != "test"]
    expected = train_list["emotion"].value_counts() * len(validation) / len(train_list)
    got = table[table["part"] == "validation"]["emotion"].value_counts()
    assert (got - expected).abs().max() <= 1, (got, expected)
    assert summary["actors_in_two_parts"] == 91 and summary["folds"] == 1
    assert summary["published_list_clips"] == summary["published_list_clips_found"] == 7442
    assert summary["clips_not_in_published_lists"] == 0
    # another seed draws another validation part from the same train list
    other, _, _ = make_split(clips, {**params, "seed": 1})
    assert set(other[other["part"] == "validation"]["clip"]) != set(validation.index)
    assert set(other[other["part"] == "test"]["clip"]) == set(parts.index[parts == "test"])


def test_the_ogm_ge_scheme_counts_the_clips_a_small_corpus_lacks():
    clips = clip_list(actors=20)  # 120 clips with CREMA-D's names; the release lacks some IEO_..._XX ones
    in_release = clips["clip"].isin(read_clip_lists().index)
    assert 0 < in_release.sum() < len(clips)
    table, summary, _ = make_split(clips, {**SPLIT, "scheme": "ogm_ge", "validation_share": 0.2})
    assert sorted(table["clip"]) == sorted(clips["clip"][in_release])
    assert summary["clips_not_in_published_lists"] == (~in_release).sum()
    assert summary["published_list_clips"] == 7442 and summary["published_list_clips_found"] == in_release.sum()
    assert set(table["part"]) == set(PARTS)

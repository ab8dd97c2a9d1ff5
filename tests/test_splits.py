"""Actor splits: no actor in two parts, stratification by sex and emotion, published splits, the stage."""

import json

import pandas as pd
import pytest
import yaml
from helpers import REPO_ROOT, run_stage, write_params

from avemo.dataset import CLIP_COLUMNS, read_clip_list
from avemo.splits import PARTS, make_split, part_sizes, read_published_split, read_split, stratified_actor_split

FRACTIONS = {"train": 0.6, "validation": 0.2, "test": 0.2}
EMOTIONS = ("ANG", "HAP", "SAD")


def clip_list(actors: int = 20, sentences: int = 2, sex=lambda a: "Female" if a % 2 else "Male", extra_rows=()) -> pd.DataFrame:
    """A clip list like list_clips writes: every actor speaks every emotion `sentences` times."""
    rows = [
        {"clip": f"{1001 + a}_{s}_{e}_XX", "file": f"{1001 + a}_{s}_{e}_XX.flv", "path": f"raw/{1001 + a}_{s}_{e}_XX.flv", "actor": 1001 + a, "sentence": s, "emotion": e,
         "level": "XX", "sex": sex(a), "age": 30, "status": "ok", "reason": ""}
        for a in range(actors) for s in ("IEO", "TIE", "IOM")[:sentences] for e in EMOTIONS
    ]
    return pd.DataFrame(rows + list(extra_rows), columns=CLIP_COLUMNS)


def test_no_actor_in_two_parts_and_every_ok_clip_split_once():
    clips = clip_list(actors=23)
    table, summary, _ = make_split(clips, {"scheme": "stratified", "fractions": FRACTIONS, "seed": 3})
    assert table.groupby("actor")["part"].nunique().max() == 1
    assert sorted(table["clip"]) == sorted(clips["clip"]) and table["clip"].is_unique
    assert list(table.columns) == ["clip", "actor", "emotion", "part"]
    assert set(table["part"]) == set(PARTS)
    assert sum(summary[f"{p}_actors"] for p in PARTS) == 23
    assert sum(summary[f"{p}_clips"] for p in PARTS) == len(clips)


def test_part_sizes_follow_fractions_and_never_leave_a_part_empty():
    assert part_sizes(30, FRACTIONS) == {"train": 18, "validation": 6, "test": 6}
    assert part_sizes(3, {"train": 0.9, "validation": 0.05, "test": 0.05}) == {"train": 1, "validation": 1, "test": 1}
    with pytest.raises(ValueError, match="cannot be split"):
        part_sizes(2, FRACTIONS)


def test_stratified_by_sex_and_emotion():
    # 12 women, 8 men; emotions uneven per actor (some actors lack SAD), so emotion balance needs the search.
    clips = clip_list(actors=20, sex=lambda a: "Female" if a < 12 else "Male")
    clips = clips[~((clips["actor"] % 3 == 0) & (clips["emotion"] == "SAD"))]
    table, summary, composition = make_split(clips, {"scheme": "stratified", "fractions": FRACTIONS, "seed": 0})
    actors = composition[composition["of"] == "actors"].set_index("group")["count"]
    for part in PARTS:  # each part gets its share of women (60%) to within one actor
        assert abs(actors.get(f"{part} Female", 0) - 0.6 * summary[f"{part}_actors"]) <= 1, composition
    overall = clips["emotion"].value_counts(normalize=True)
    for part in PARTS:
        shares = table[table["part"] == part]["emotion"].value_counts(normalize=True)
        assert (shares.reindex(overall.index, fill_value=0) - overall).abs().max() < 0.06, (part, shares)


def test_unknown_sex_is_its_own_stratum_and_the_seed_decides():
    clips = clip_list(actors=15, sex=lambda a: "" if a < 5 else ("Female" if a % 2 else "Male"))
    first = stratified_actor_split(clips, FRACTIONS, seed=1)
    assert first.equals(stratified_actor_split(clips, FRACTIONS, seed=1))
    assert not first.equals(stratified_actor_split(clips, FRACTIONS, seed=2))
    unknown = first[[1001 + a for a in range(5)]]
    counts = unknown.value_counts()
    assert all(abs(counts.get(p, 0) - 5 * FRACTIONS[p]) <= 1 for p in PARTS), counts


def test_failed_clips_are_not_split_and_are_counted():
    failed = {"clip": "angry_clip", "file": "angry_clip.flv", "path": "raw/angry_clip.flv", "actor": None, "sentence": None, "emotion": None, "level": None,
              "sex": None, "age": None, "status": "failed", "reason": "name ..."}
    table, summary, _ = make_split(clip_list(actors=6, extra_rows=[failed]), {"scheme": "stratified", "fractions": FRACTIONS, "seed": 0})
    assert "angry_clip" not in set(table["clip"]) and summary["clips_not_ok"] == 1


def test_bad_fractions_are_refused():
    with pytest.raises(ValueError, match="sum to 1"):
        make_split(clip_list(), {"scheme": "stratified", "fractions": {"train": 0.6, "validation": 0.2, "test": 0.3}, "seed": 0})
    with pytest.raises(ValueError, match="> 0"):
        make_split(clip_list(), {"scheme": "stratified", "fractions": {"train": 0.8, "validation": 0.2, "test": 0.0}, "seed": 0})
    with pytest.raises(ValueError, match="scheme"):
        make_split(clip_list(), {"scheme": "random", "fractions": FRACTIONS, "seed": 0})


def test_published_split_is_read_and_unlisted_actors_are_left_out(tmp_path):
    published = tmp_path / "speaker_splits.json"
    published.write_text(json.dumps({"train": [1001, 1002, 1003], "dev": [1004], "test": ["1005"]}))
    table, summary, _ = make_split(clip_list(actors=6), {"scheme": "published", "published": str(published)})
    assert table.groupby("part")["actor"].unique().map(sorted).to_dict() == {
        "train": [1001, 1002, 1003], "validation": [1004], "test": [1005],
    }
    assert summary["clips_actor_not_in_split"] == 6  # actor 1006: 3 emotions x 2 sentences


def test_the_real_published_crema_d_split_is_shipped_and_is_the_default(crema_d_dir):
    shipped = REPO_ROOT / yaml.safe_load((REPO_ROOT / "params.yaml").read_text())["split"]["published"]
    assert shipped.read_bytes() == (crema_d_dir / "speaker_splits.json").read_bytes()
    parts = read_published_split(shipped)
    assert len(parts) == 91 and parts.index.is_unique
    assert parts.value_counts().to_dict() == {"train": 56, "validation": 17, "test": 18}


def test_published_split_with_an_actor_in_two_parts_is_refused(tmp_path):
    published = tmp_path / "bad.json"
    published.write_text(json.dumps({"train": [1001, 1002], "dev": [1002], "test": [1003]}))
    with pytest.raises(ValueError, match="actor 1002 is in two parts"):
        read_published_split(published)


def test_split_stage_writes_the_table_and_summary(tmp_path):
    clips = clip_list(actors=10)
    clips.to_csv(tmp_path / "clips.csv", index=False)
    write_params(tmp_path / "params.yaml", {"split": {"scheme": "stratified", "fractions": FRACTIONS, "seed": 0, "candidates": 20}})
    done = run_stage("split", "--params", str(tmp_path / "params.yaml"), "--clips", str(tmp_path / "clips.csv"),
                     "--out", str(tmp_path / "split.csv"), "--metrics", str(tmp_path / "split.json"),
                     "--composition", str(tmp_path / "composition.csv"), cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    table = read_split(tmp_path / "split.csv")
    assert len(table) == len(read_clip_list(tmp_path / "clips.csv"))
    summary = json.loads((tmp_path / "split.json").read_text())
    assert summary == {"train_actors": 6, "train_clips": 36, "validation_actors": 2, "validation_clips": 12, "test_actors": 2,
                       "test_clips": 12, "clips_listed": 60, "clips_not_ok": 0, "clips_actor_not_in_split": 0}
    composition = pd.read_csv(tmp_path / "composition.csv")
    assert composition[composition["of"] == "clips"]["count"].sum() == 60
    assert composition.set_index("group").at["test ANG", "count"] == 4  # 2 actors x 2 sentences


def test_split_stage_help_names_its_params():
    done = run_stage("split", "--help", cwd=REPO_ROOT)
    assert done.returncode == 0 and "split.scheme" in done.stdout and "--clips" in done.stdout


def test_read_split_refuses_a_leaking_table(tmp_path):
    path = tmp_path / "split.csv"
    pd.DataFrame({"clip": ["1001_IEO_ANG_XX", "1001_IEO_HAP_XX"], "actor": [1001, 1001], "emotion": ["ANG", "HAP"],
                  "part": ["train", "test"]}).to_csv(path, index=False)
    with pytest.raises(AssertionError, match="1001"):
        read_split(path)

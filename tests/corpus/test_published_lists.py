"""The OGM-GE clip lists shipped with the package: the published files, unchanged, and read strictly."""

import pytest

from avemo.corpus.published_lists import OGM_GE_LISTS, RESOURCES, ClipListError, read_clip_lists


def test_the_shipped_lists_are_the_published_ones_with_their_licence(crema_d_dir):
    published = crema_d_dir / "published_protocols"
    for part, name in OGM_GE_LISTS.items():
        assert (RESOURCES / name).read_bytes() == (published / f"ogm_ge_{part}.csv").read_bytes()
    assert "Copyright (c) 2022 GeWu-Lab" in (RESOURCES / "OGM-GE-LICENSE.txt").read_text()


def test_the_lists_hold_the_whole_release_with_every_actor_in_both_parts():
    listed = read_clip_lists()
    assert listed.value_counts().to_dict() == {"train": 6698, "test": 744}
    assert listed.index.is_unique and listed.index.is_monotonic_increasing
    actors = listed.index.str[:4]
    assert set(actors[listed == "train"]) == set(actors[listed == "test"]) and actors.nunique() == 91
    assert listed.index.str[9:12].nunique() == 6  # six emotions


@pytest.mark.parametrize(
    "train, why",
    [
        ("1001_DFA_ANG_XX,SAD\n", "labelled 'SAD', its name says 'ANG'"),
        ("1001_DFA_ANGRY_XX,ANG\n", "not ActorID_Sentence_Emotion_Level"),
        ("1001_DFA_ANG_XX,ANG\n1001_DFA_SAD_XX,SAD\n1001_DFA_SAD_XX,SAD\n", "1 clip.s. listed twice"),
    ],
    ids=["wrong label", "not a clip name", "a clip twice"],
)
def test_a_bad_list_is_refused_in_one_line_naming_it(tmp_path, train, why):
    (tmp_path / "train.csv").write_text(train)
    (tmp_path / "test.csv").write_text("1002_DFA_ANG_XX,ANG\n")
    with pytest.raises(ClipListError, match=why) as error:
        read_clip_lists(tmp_path, {"train": "train.csv", "test": "test.csv"})
    assert "\n" not in str(error.value)


def test_a_missing_list_is_named(tmp_path):
    with pytest.raises(ClipListError, match="absent.csv"):
        read_clip_lists(tmp_path, {"train": "absent.csv"})

"""extract_middle_frame on the six real CREMA-D clips and on damaged inputs."""

import pytest
from helpers import BAD_INPUTS
from PIL import Image

from avemo.clipindex import read_index


def test_every_real_clip_gives_its_middle_frame(real_run):
    out, clips = real_run
    index = read_index(out / "frames")
    assert index["clip"].tolist() == clips["clip"].tolist() and (index.status == "ok").all()
    assert (index.frame_index.astype(int) == index.frame_count.astype(int) // 2).all()
    assert Image.open(out / "frames" / "1001_DFA_ANG_XX.png").size == (480, 360)


@pytest.mark.parametrize("name", BAD_INPUTS)
def test_each_damaged_input_gets_one_clear_line(bad_run, name):
    out, _ = bad_run
    index = read_index(out / "frames").set_index("clip")
    assert index.at["1001_DFA_ANG_XX", "status"] == "ok" and len(index) == len(BAD_INPUTS) + 1
    row, expected = index.loc[name.removesuffix(".flv")], BAD_INPUTS[name][1]
    if expected is None:
        assert row.status == "ok"
    else:
        assert row.status == "failed" and row.reason.startswith(expected), row.reason

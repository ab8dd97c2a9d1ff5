"""extract_middle_frame on the six real CREMA-D clips and on damaged inputs."""

from PIL import Image

from avemo.preprocess.clipindex import read_index
from helpers import assert_damaged_inputs_reported


def test_every_real_clip_gives_its_middle_frame(real_run):
    out, clips = real_run
    index = read_index(out / "frames")
    assert index["clip"].tolist() == clips["clip"].tolist() and (index.status == "ok").all()
    assert (index.frame_index.astype(int) == index.frame_count.astype(int) // 2).all()
    assert Image.open(out / "frames" / "1001_DFA_ANG_XX.png").size == (480, 360)


def test_each_damaged_input_gets_one_clear_line(bad_run):
    out, _ = bad_run
    assert_damaged_inputs_reported(read_index(out / "frames"), kind=1)

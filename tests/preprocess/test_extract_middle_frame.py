"""extract_middle_frame on the six real CREMA-D clips, a synthetic one and damaged inputs: one frame a clip
(byte for byte what it wrote before frame.count existed) or three."""

import hashlib
import json

import pandas as pd
import pytest
from PIL import Image

from avemo.corpus import clips as dataset
from avemo.preprocess import media
from avemo.preprocess.clipindex import read_index
from avemo.preprocess.extract_middle_frame import run_extract_middle_frame
from helpers import assert_damaged_inputs_reported

# What the stage wrote for these clips at frame.position 0.5 before frame.count existed (commit 903605c), which
# one frame a clip must keep: the SHA-256 of each frame's RGB pixels (a PNG file's bytes also follow zlib's
# compression level, avemo.files.PNG_COMPRESS_LEVEL; the pixels are those of 903605c's files) and of the index's
# and settings' bytes.
BEFORE_FRAME_COUNT = {
    "1001_DFA_ANG_XX.png": "d0afac14875b17c56aa28c79b3432791da76b154c42cad3e6c3b27de79ef432b",
    "1001_DFA_DIS_XX.png": "c6014f0017b86e5ffd231144594351282ea1cbae4ca3ff82604ec5a4db9b9006",
    "1001_DFA_FEA_XX.png": "b9a934b158190173a6c6b644b93c9a1c4e17daeca53f9f7e070802c76ef991e8",
    "1001_DFA_HAP_XX.png": "1ccfedc0d562a6ab266579ba8fcd13714969396748f3365f80087c5ae7636233",
    "1001_DFA_NEU_XX.png": "90277889a5d5d81c2f1d2dc7ddaa20a71d312e548e03b072652783dde2001fdf",
    "1001_DFA_SAD_XX.png": "d8b69a97a5fa98c87e1ce97ea87819277e9cf42919f5b8dd7a480ccc68f56b68",
    "1001_IEO_ANG_HI.png": "71c903f5cf7cb35be1f012c8a7ef1b76fb3b8dee349d54246151d4f7377699cc",  # the synthetic clip
    "index.csv": "21c3d60efd25f846db00d004dbb6945d0e5bb9072c68209b1f5f21b75e168a30",
    "settings.json": "4534e130d5072ade292b5c4aa8ffa67c26e0921ad39c7626fd6a7abdd76b4fdb",
}


@pytest.fixture(scope="module")
def seven_clips(real_clips_dir, synthetic_clips_dir):
    """The clip list of the six real clips and the synthetic one."""
    return pd.concat([dataset.list_clips(real_clips_dir)[0], dataset.list_clips(synthetic_clips_dir)[0]])


def sha256(path) -> str:
    """Of a PNG's pixels, of any other file's bytes."""
    if path.suffix != ".png":
        return hashlib.sha256(path.read_bytes()).hexdigest()
    with Image.open(path) as image:
        return hashlib.sha256(image.tobytes()).hexdigest()


def test_every_real_clip_gives_its_middle_frame(real_run):
    out, clips = real_run
    index = read_index(out / "frames")
    assert index["clip"].tolist() == clips["clip"].tolist() and (index.status == "ok").all()
    assert (index.frame_index.astype(int) == index.frame_count.astype(int) // 2).all()
    assert Image.open(out / "frames" / "1001_DFA_ANG_XX.png").size == (480, 360)


def test_one_frame_a_clip_writes_the_bytes_it_wrote_before_frame_count(seven_clips, tmp_path):
    run_extract_middle_frame(seven_clips, tmp_path, position=0.5, count=1, spread=0.4, jobs=1)
    assert {p.name: sha256(p) for p in sorted(tmp_path.iterdir())} == BEFORE_FRAME_COUNT


def test_three_frames_a_clip_are_at_the_documented_indices_in_time_order(seven_clips, tmp_path):
    run_extract_middle_frame(seven_clips, tmp_path, position=0.5, count=3, spread=0.4, jobs=1)
    assert json.loads((tmp_path / "settings.json").read_text()) == {
        "position": 0.5,
        "frames_per_clip": 3,
        "spread": 0.4,
    }
    index = read_index(tmp_path).set_index("clip")
    assert len(index) == 7 and (index.status == "ok").all()
    assert (
        int(index.at["1001_IEO_ANG_HI", "frame_count"]) == 15 and int(index.at["1001_DFA_ANG_XX", "frame_count"]) == 67
    )
    for clip, row in index.iterrows():
        count = int(row.frame_count)
        # positions 0.3, 0.5, 0.7: floor(position x frames); 67 frames give 20, 33, 46, the synthetic 15 give 4, 7, 10
        expected = [int(p * count) for p in (0.3, 0.5, 0.7)]
        assert row.frame_index == ";".join(map(str, expected)), clip
        assert [float(t) for t in row.time_s.split(";")] == sorted(float(t) for t in row.time_s.split(";"))
        assert [p.name for p in sorted(tmp_path.glob(f"{clip}_*.png"))] == [f"{clip}_{k}.png" for k in range(3)]
        # the middle one of three is the one frame of count 1, byte for byte
        assert sha256(tmp_path / f"{clip}_1.png") == BEFORE_FRAME_COUNT[f"{clip}.png"], clip
        for k, frame_index in enumerate(expected):
            decoded = media.frames_at(seven_clips.set_index("clip").at[clip, "path"], [frame_index / count])[0]
            assert decoded.index == frame_index
            assert Image.open(tmp_path / f"{clip}_{k}.png").tobytes() == decoded.image.tobytes(), (clip, k)
    assert index.at["1001_DFA_ANG_XX", "frame_index"] == "20;33;46"
    assert index.at["1001_IEO_ANG_HI", "frame_index"] == "4;7;10"


def test_each_damaged_input_gets_one_clear_line(bad_run):
    out, _ = bad_run
    assert_damaged_inputs_reported(read_index(out / "frames"), kind=1)

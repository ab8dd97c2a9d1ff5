"""face_crop on the middle frames of the six real CREMA-D clips, on damaged inputs and on a blank frame."""

import json

import numpy as np
from PIL import Image

from avemo.preprocess.clipindex import read_index
from avemo.preprocess.face_crop import run_face_crop
from helpers import reason_of, tiny


def test_a_face_is_found_in_every_real_frame(real_run):
    out, clips = real_run
    index = read_index(out / "faces")
    assert index["clip"].tolist() == clips["clip"].tolist() and (index.status == "ok").all()
    assert (index.confidence.astype(float) > 0.99).all()
    for clip in clips["clip"]:
        image = Image.open(out / "faces" / f"{clip}.png")
        assert image.size == (32, 32) and image.mode == "RGB"
    assert json.loads((out / "faces" / "settings.json").read_text()) == tiny("face")


def test_a_clip_without_video_carries_the_upstream_reason(bad_run):
    out, _ = bad_run
    assert reason_of(out, "faces", "1002_DFA_ANG_XX") == "extract_middle_frame: empty file (0 bytes)"
    assert read_index(out / "faces").set_index("clip").at["1007_DFA_HAP_XX", "status"] == "ok"  # video-only clip


def test_face_fallback_centre_or_drop(tmp_path):
    frames = tmp_path / "frames"
    frames.mkdir()
    Image.fromarray(np.full((360, 480, 3), 90, np.uint8)).save(frames / "1001_DFA_ANG_XX.png")
    (frames / "index.csv").write_text("clip,status,reason\n1001_DFA_ANG_XX,ok,\n")
    params = tiny("face")
    run_face_crop(read_index(frames), frames, tmp_path / "centre", params=params, jobs=1)
    row = read_index(tmp_path / "centre").iloc[0]
    assert (row.status, row.reason, row.box) == ("fallback", "no face found; centre crop", "60 0 420 360")
    assert Image.open(tmp_path / "centre" / "1001_DFA_ANG_XX.png").size == (32, 32)
    run_face_crop(read_index(frames), frames, tmp_path / "drop", params={**params, "fallback": "drop"}, jobs=1)
    row = read_index(tmp_path / "drop").iloc[0]
    assert (row.status, row.reason) == ("failed", "no face found")
    assert not (tmp_path / "drop" / "1001_DFA_ANG_XX.png").exists()

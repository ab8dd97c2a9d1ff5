"""face_crop on the middle frames of the six real CREMA-D clips (or three frames of each), on damaged inputs and
on a blank frame."""

import json

import numpy as np
from PIL import Image

from avemo.preprocess import face_crop, media
from avemo.preprocess import facedetect as faces
from avemo.preprocess.clipindex import read_index, write_settings
from avemo.preprocess.extract_middle_frame import frame_settings
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


def test_the_stage_detects_clips_in_batches_with_the_crops_of_one_clip_at_a_time(real_run):
    # the six real clips are one batch of the stage (CLIPS_PER_BATCH); `avemo predict` detects a clip alone
    out, clips = real_run
    assert len(clips) <= face_crop.CLIPS_PER_BATCH
    params = tiny("face")
    detector = faces.FaceDetector(params["min_face_size"], params["detect_scale"])
    index = read_index(out / "faces").set_index("clip")
    for clip in clips["clip"]:
        frame = face_crop.open_frame(out / "frames" / f"{clip}.png")
        alone = face_crop.crop_clip_faces(detector, [frame], params)
        assert (alone.status, alone.extra["box"]) == (index.at[clip, "status"], index.at[clip, "box"])
        assert float(alone.extra["confidence"]) == index.at[clip, "confidence"]
        assert alone.images[0].tobytes() == Image.open(out / "faces" / f"{clip}.png").convert("RGB").tobytes()


def test_a_clip_without_video_carries_the_upstream_reason(bad_run):
    out, _ = bad_run
    assert reason_of(out, "faces", "1002_DFA_ANG_XX") == "extract_middle_frame: empty file (0 bytes)"
    assert read_index(out / "faces").set_index("clip").at["1007_DFA_HAP_XX", "status"] == "ok"  # video-only clip


def test_face_fallback_centre_or_drop(tmp_path):
    frames = tmp_path / "frames"
    frames.mkdir()
    Image.fromarray(np.full((360, 480, 3), 90, np.uint8)).save(frames / "1001_DFA_ANG_XX.png")
    (frames / "index.csv").write_text("clip,status,reason\n1001_DFA_ANG_XX,ok,\n")
    write_settings(frames, frame_settings(0.5))
    params = tiny("face")
    run_face_crop(read_index(frames), frames, tmp_path / "centre", params=params, jobs=1)
    row = read_index(tmp_path / "centre").iloc[0]
    assert (row.status, row.reason, row.box) == ("fallback", "no face found; centre crop", "60 0 420 360")
    assert Image.open(tmp_path / "centre" / "1001_DFA_ANG_XX.png").size == (32, 32)
    run_face_crop(read_index(frames), frames, tmp_path / "drop", params={**params, "fallback": "drop"}, jobs=1)
    row = read_index(tmp_path / "drop").iloc[0]
    assert (row.status, row.reason) == ("failed", "no face found")
    assert not (tmp_path / "drop" / "1001_DFA_ANG_XX.png").exists()


def test_three_frames_of_every_real_clip_each_get_their_face(real_run, real_run_frames3):
    out, clips = real_run_frames3
    assert json.loads((out / "faces" / "settings.json").read_text()) == {**tiny("face"), "frames_per_clip": 3}
    index = read_index(out / "faces")
    assert index["clip"].tolist() == clips["clip"].tolist() and (index.status == "ok").all()
    for row in index.itertuples():
        confidences, boxes = row.confidence.split(";"), row.box.split(";")
        assert len(confidences) == len(boxes) == 3 and all(float(c) > 0.99 for c in confidences), row
        assert row.faces_found.split(";") == ["1"] * 3 and all(len(b.split()) == 4 for b in boxes), row
        # the middle frame's face is the face of one frame a clip, byte for byte
        one = read_index(real_run[0] / "faces").set_index("clip").loc[row.clip]
        assert boxes[1] == one.box
        with (
            Image.open(out / "faces" / f"{row.clip}_1.png") as middle,
            Image.open(real_run[0] / "faces" / f"{row.clip}.png") as alone,
        ):
            assert middle.tobytes() == alone.tobytes()
        for k in range(3):
            assert Image.open(out / "faces" / f"{row.clip}_{k}.png").size == (32, 32)


def test_a_clip_with_a_frame_without_a_face_is_fallback_or_failed_as_a_whole(tmp_path, real_clip):
    """Three frames, the second blank: centre gives the clip `fallback` (that frame centre-cropped), drop
    fails the clip and writes none of its faces."""
    frames = tmp_path / "frames"
    frames.mkdir()
    found = media.frames_at(real_clip, [0.3, 0.5, 0.7])
    found[0].image.save(frames / "1001_DFA_ANG_XX_0.png")
    Image.fromarray(np.full((360, 480, 3), 90, np.uint8)).save(frames / "1001_DFA_ANG_XX_1.png")
    found[2].image.save(frames / "1001_DFA_ANG_XX_2.png")
    (frames / "index.csv").write_text("clip,status,reason\n1001_DFA_ANG_XX,ok,\n")
    write_settings(frames, frame_settings(0.5, 3, 0.4))
    params = tiny("face")
    run_face_crop(read_index(frames), frames, tmp_path / "centre", params=params, jobs=1)
    row = read_index(tmp_path / "centre").iloc[0]
    assert (row.status, row.reason) == ("fallback", "no face found in 1 of 3 frames; centre crop")
    assert row.faces_found == "1;0;1" and row.box.split(";")[1] == "60 0 420 360" and row.confidence.split(";")[1] == ""
    assert sorted(p.name for p in (tmp_path / "centre").glob("*.png")) == [f"1001_DFA_ANG_XX_{k}.png" for k in range(3)]
    run_face_crop(read_index(frames), frames, tmp_path / "drop", params={**params, "fallback": "drop"}, jobs=1)
    row = read_index(tmp_path / "drop").iloc[0]
    assert (row.status, row.reason) == ("failed", "no face found in 1 of 3 frames")
    assert not list((tmp_path / "drop").glob("*.png"))


def test_a_frame_too_large_to_be_a_video_frame_fails_and_the_others_go_on(tmp_path, monkeypatch):
    frames = tmp_path / "frames"
    frames.mkdir()
    Image.new("1", (13500, 13500)).save(frames / "1001_DFA_ANG_XX.png")  # 182M pixels; 22 kB, being one colour
    Image.new("RGB", (300, 200), (90, 90, 90)).save(frames / "1001_DFA_HAP_XX.png")  # 60k pixels
    Image.fromarray(np.full((360, 480, 3), 90, np.uint8)).save(frames / "1001_DFA_SAD_XX.png")
    (frames / "index.csv").write_text(
        "clip,status,reason\n1001_DFA_ANG_XX,ok,\n1001_DFA_HAP_XX,ok,\n1001_DFA_SAD_XX,ok,\n"
    )
    write_settings(frames, frame_settings(0.5))
    monkeypatch.setattr(face_crop, "MAX_FRAME_PIXELS", 100_000)  # the same limit, lowered: 300x200 passes it
    run_face_crop(read_index(frames), frames, tmp_path / "faces", params=tiny("face"), jobs=1)
    rows = read_index(tmp_path / "faces").set_index("clip")
    assert rows["status"].to_dict() == {
        "1001_DFA_ANG_XX": "failed",
        "1001_DFA_HAP_XX": "fallback",
        "1001_DFA_SAD_XX": "failed",
    }
    assert rows.at["1001_DFA_ANG_XX", "reason"] == (
        f"frame of more than {2 * Image.MAX_IMAGE_PIXELS:,} pixels: face_crop takes at most 100,000 (far above any "
        "video frame)"
    )  # PIL refuses to open it: the clip fails, the stage goes on
    assert rows.at["1001_DFA_SAD_XX", "reason"] == (
        "frame of 480x360 pixels: face_crop takes at most 100,000 (far above any video frame)"
    )
    assert sorted(p.name for p in (tmp_path / "faces").glob("*.png")) == ["1001_DFA_HAP_XX.png"]


def test_the_frame_limit_is_far_above_any_video_and_below_pils_own():
    assert 7680 * 4320 * 2 < face_crop.MAX_FRAME_PIXELS <= Image.MAX_IMAGE_PIXELS  # twice 8K UHD; PIL warns above

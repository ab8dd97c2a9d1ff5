import numpy as np
import pytest
from PIL import Image

from avemo.preprocess import facedetect as faces
from avemo.preprocess import media


def test_square_crop_box_adds_margin_and_stays_square():
    assert faces.square_crop_box((100, 100, 200, 180), 0.1, 480, 360) == (90, 80, 210, 200)


@pytest.mark.parametrize("box", [(0, 0, 100, 100), (400, 300, 480, 360), (-20, -10, 60, 90)])
def test_square_crop_box_is_moved_inside_the_frame(box):
    x0, y0, x1, y1 = faces.square_crop_box(box, 0.3, 480, 360)
    assert 0 <= x0 and 0 <= y0 and x1 <= 480 and y1 <= 360
    assert x1 - x0 == y1 - y0


def test_square_crop_box_shrinks_only_when_larger_than_the_frame():
    x0, y0, x1, y1 = faces.square_crop_box((0, 0, 480, 360), 0.5, 480, 360)
    assert (x1 - x0, y1 - y0) == (360, 360)


def test_centre_crop_box():
    assert faces.centre_crop_box(480, 360) == (60, 0, 420, 360)


@pytest.fixture(scope="module")
def detector():
    return faces.FaceDetector(60, 1.0)


def test_detects_the_real_actors_face(detector, real_clip):
    frame = media.middle_frame(real_clip).image
    found = detector.best_face(frame, 0.9)
    assert found is not None and found.confidence > 0.99
    x0, y0, x1, y1 = found.box
    assert 100 < (x0 + x1) / 2 < 380 and 20 < (y0 + y1) / 2 < 300  # the actor sits mid-frame
    assert 80 < x1 - x0 < 200 and 100 < y1 - y0 < 220  # CREMA-D faces are about 100 x 140 px

    half = faces.FaceDetector(60, 0.5).best_face(frame, 0.9)  # boxes come back in frame pixels
    assert half is not None and max(abs(a - b) for a, b in zip(half.box, found.box)) < 12
    crop = faces.crop_resized(frame, faces.square_crop_box(found.box, 0.2, *frame.size), 64)
    assert crop.size == (64, 64)


def test_no_face_in_a_blank_frame(detector):
    blank = Image.fromarray(np.full((360, 480, 3), 128, np.uint8))
    assert detector.best_face(blank, 0.9) is None


def test_detect_scale_is_checked():
    with pytest.raises(ValueError, match="detect_scale"):
        faces.FaceDetector(60, 1.5)


@pytest.fixture(scope="module")
def frames_of_one_size(real_clips_dir, synthetic_clips_dir):
    """The six real clips' middle frames (480x360) and the synthetic clip's frames at five positions."""
    real = [media.middle_frame(clip).image for clip in sorted(real_clips_dir.glob("*.flv"))]
    clip = synthetic_clips_dir / "1001_IEO_ANG_HI.flv"
    synthetic = [frame.image for frame in media.frames_at(clip, [0.1, 0.3, 0.5, 0.7, 0.9])]
    return {"real": real, "synthetic": synthetic}


@pytest.mark.parametrize("frames", ["real", "synthetic"])
def test_a_batch_of_frames_gives_the_faces_and_crops_of_one_frame_at_a_time(frames_of_one_size, frames):
    # at params.yaml's face settings; the six real frames in one batch moved a box 8 px before per_image_nms
    detector = faces.FaceDetector(60, 0.5)
    images = frames_of_one_size[frames]
    alone = [detector.best_face(image, 0.9) for image in images]
    batched = detector.best_faces(images, 0.9)
    assert [a is None for a in alone] == [b is None for b in batched]
    assert sum(a is not None for a in alone) >= (6 if frames == "real" else 3)  # there are faces to compare
    for a, b, image in zip(alone, batched, images):
        if a is not None:
            assert max(abs(x - y) for x, y in zip(a.box, b.box)) <= 1.0
            assert (a.faces_found, round(a.confidence, 4)) == (b.faces_found, round(b.confidence, 4))
            # the crop face_crop takes from the box: the same pixels
            assert faces.square_crop_box(a.box, 0.2, *image.size) == faces.square_crop_box(b.box, 0.2, *image.size)


def test_frames_of_different_sizes_are_detected_size_by_size_in_their_order(frames_of_one_size):
    detector = faces.FaceDetector(60, 0.5)
    frame, other = frames_of_one_size["real"][:2]
    smaller = frame.resize((frame.width * 3 // 4, frame.height * 3 // 4))
    batched = detector.best_faces([frame, smaller, other], 0.9)
    assert batched[1].box == detector.best_face(smaller, 0.9).box  # alone in its size: exactly one at a time
    pair = detector.best_faces([frame, other], 0.9)  # the frames of the first size: one batch
    assert [batched[0].box, batched[2].box] == [pair[0].box, pair[1].box]
    assert max(abs(x - y) for x, y in zip(batched[0].box, detector.best_face(frame, 0.9).box)) <= 1.0


@pytest.mark.parametrize("frames", ["real", "synthetic"])
def test_channels_last_weights_find_the_faces_of_the_default_layout(frames_of_one_size, frames):
    """FaceDetector's networks are channels-last (faster pooling); torch's default layout finds the same
    faces, boxes within a thousandth of a pixel, the same crops."""
    import torch

    detector, default_layout = faces.FaceDetector(60, 0.5), faces.FaceDetector(60, 0.5, channels_last=False)
    assert detector.mtcnn.onet.conv1.weight.is_contiguous(memory_format=torch.channels_last)
    assert not default_layout.mtcnn.onet.conv1.weight.is_contiguous(memory_format=torch.channels_last)
    images = frames_of_one_size[frames]
    ours, theirs = detector.best_faces(images, 0.9), default_layout.best_faces(images, 0.9)
    assert [a is None for a in ours] == [b is None for b in theirs]
    for a, b, image in zip(ours, theirs, images):
        if a is not None:
            assert max(abs(x - y) for x, y in zip(a.box, b.box)) <= 1e-3
            assert faces.square_crop_box(a.box, 0.2, *image.size) == faces.square_crop_box(b.box, 0.2, *image.size)


@pytest.mark.parametrize("boxes_per_image", [40, 600], ids=["torchvision's offset trick", "its loop over images"])
def test_batched_nms_keeps_what_torchvisions_keeps_in_its_order(boxes_per_image):
    """facedetect's batched_nms (torchvision's code on its compiled NMS) against torchvision.ops.batched_nms:
    on both of its paths (up to 4000 coordinates, and more), with tied scores, as MTCNN's saturated
    probabilities tie."""
    import torch
    from torchvision.ops import batched_nms

    generator = torch.Generator().manual_seed(0)
    images = 3
    corners = torch.rand(images * boxes_per_image, 2, generator=generator) * 60  # crowded: many overlap
    boxes = torch.cat([corners, corners + 10 + torch.rand(images * boxes_per_image, 2, generator=generator) * 40], 1)
    scores = torch.rand(images * boxes_per_image, generator=generator).clamp(max=0.7)  # 30% of them tie at 0.7
    idxs = torch.arange(images).repeat_interleave(boxes_per_image)
    for threshold in (0.5, 0.7):
        kept = faces.batched_nms(boxes, scores, idxs, threshold)
        assert 0 < len(kept) < len(boxes) and torch.equal(kept, batched_nms(boxes, scores, idxs, threshold))


def test_the_detector_imports_no_torchvision_and_finds_the_faces_it_finds_with_it(real_clips_dir, tmp_path):
    """FaceDetector in a process that has not imported torchvision leaves it unimported (1.5 s less per face
    worker) and finds the same faces, to the last bit, as in one that imported it first; torchvision imports
    as usual afterwards."""
    import json
    import subprocess
    import sys

    script = """
import json, sys
if sys.argv[2] == "first":
    import torchvision
from avemo.preprocess import facedetect, media
from pathlib import Path
detector = facedetect.FaceDetector(60, 0.5)
frames = [media.middle_frame(clip).image for clip in sorted(Path(sys.argv[1]).glob("*.flv"))]
found = [(d.box, d.confidence, d.faces_found) if d else None for d in detector.best_faces(frames, 0.9)]
imported = "torchvision" in sys.modules
from torchvision.transforms import functional
print(json.dumps({"found": found, "torchvision": imported, "real": hasattr(functional, "to_tensor")}))
"""
    runs = {
        order: json.loads(
            subprocess.run(
                [sys.executable, "-c", script, str(real_clips_dir), order], check=True, capture_output=True, text=True
            ).stdout
        )
        for order in ("first", "never")
    }
    assert runs["first"]["torchvision"] and not runs["never"]["torchvision"]
    assert runs["never"]["found"] == runs["first"]["found"] and sum(f is not None for f in runs["first"]["found"]) == 6
    assert runs["never"]["real"]

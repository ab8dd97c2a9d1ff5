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

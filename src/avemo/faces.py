"""Faces: MTCNN (facenet-pytorch, weights shipped in its wheel) on a frame, the most confident face,
a square crop with margin clamped to the frame, and a centre-crop fallback when no face is found."""

from __future__ import annotations

from dataclasses import dataclass

from PIL import Image


@dataclass(frozen=True)
class Detection:
    box: tuple[float, float, float, float]  # x0, y0, x1, y1 in frame pixels
    confidence: float
    faces_found: int


def make_detector(min_face_size: int = 40):
    """One MTCNN on the CPU; build it once per worker, never per frame (it loads three networks)."""
    import torch
    from facenet_pytorch import MTCNN

    # Parallelism comes from worker processes; one thread each also keeps results identical across runs.
    torch.set_num_threads(1)
    return MTCNN(keep_all=True, min_face_size=min_face_size, device="cpu")


def detect_face(detector, image: Image.Image, min_confidence: float) -> Detection | None:
    """The most confident face at or above `min_confidence`, or None."""
    boxes, probs = detector.detect(image)
    if boxes is None:
        return None
    candidates = [(float(p), tuple(float(v) for v in b)) for b, p in zip(boxes, probs) if p is not None]
    if not candidates:
        return None
    confidence, box = max(candidates, key=lambda c: c[0])
    if confidence < min_confidence:
        return None
    return Detection(box, confidence, len(candidates))


def square_crop_box(box, margin: float, width: int, height: int) -> tuple[int, int, int, int]:
    """A square around `box`, widened by `margin` (a fraction of the box's larger side) on every side,
    then moved (not squeezed) to lie inside the frame; shrunk only if larger than the frame."""
    x0, y0, x1, y1 = box
    side = max(x1 - x0, y1 - y0) * (1 + 2 * margin)
    side = int(round(min(side, width, height)))
    cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
    left = int(round(min(max(cx - side / 2, 0), width - side)))
    top = int(round(min(max(cy - side / 2, 0), height - side)))
    return left, top, left + side, top + side


def centre_crop_box(width: int, height: int) -> tuple[int, int, int, int]:
    """The largest centred square: the fallback when no face is found (faces sit mid-frame in CREMA-D)."""
    side = min(width, height)
    left, top = (width - side) // 2, (height - side) // 2
    return left, top, left + side, top + side


def crop_resized(image: Image.Image, box: tuple[int, int, int, int], size: int) -> Image.Image:
    return image.crop(box).resize((size, size), Image.Resampling.BILINEAR)

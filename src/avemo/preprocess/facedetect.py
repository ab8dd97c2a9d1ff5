"""Face detection: MTCNN (facenet-pytorch, weights shipped in its wheel) on a frame, the most confident face,
a square crop with margin clamped to the frame, and a centre-crop fallback when no face is found."""

from __future__ import annotations

from dataclasses import dataclass

from PIL import Image


@dataclass(frozen=True)
class Detection:
    box: tuple[float, float, float, float]  # x0, y0, x1, y1 in frame pixels
    confidence: float
    faces_found: int


class FaceDetector:
    """MTCNN on the CPU, run on a copy of the frame scaled by `detect_scale`; boxes come back in frame pixels.

    Build one per worker, never per frame (it loads three networks). Detecting on a half-size copy
    roughly halves the time, most of which goes into resizing the full frame for every pyramid level;
    `min_face_size` stays in frame pixels.
    """

    def __init__(self, min_face_size: int, detect_scale: float):
        import torch
        from facenet_pytorch import MTCNN

        if not 0 < detect_scale <= 1:
            raise ValueError(f"face.detect_scale must be in (0, 1], got {detect_scale}")
        # Parallelism comes from worker processes; one thread each also keeps results identical across runs.
        torch.set_num_threads(1)
        self.detect_scale = detect_scale
        self.mtcnn = MTCNN(keep_all=True, min_face_size=max(12, round(min_face_size * detect_scale)), device="cpu")

    def best_face(self, image: Image.Image, min_confidence: float) -> Detection | None:
        """The most confident face at or above `min_confidence`, or None."""
        scaled = image
        if self.detect_scale != 1:
            size = (round(image.width * self.detect_scale), round(image.height * self.detect_scale))
            scaled = image.resize(size, Image.Resampling.BILINEAR)
        boxes, probs = self.mtcnn.detect(scaled)
        if boxes is None:
            return None
        candidates = [
            (float(p), tuple(float(v) / self.detect_scale for v in b)) for b, p in zip(boxes, probs) if p is not None
        ]
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

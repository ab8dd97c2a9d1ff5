"""Face detection: MTCNN (facenet-pytorch, weights shipped in its wheel) on a frame, the most confident face,
a square crop with margin clamped to the frame, and a centre-crop fallback when no face is found."""

from __future__ import annotations

import importlib.util
import sys
import types
from dataclasses import dataclass
from pathlib import Path

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
    `min_face_size` stays in frame pixels. Frames of one size are detected in one batch (best_faces), with
    the detections of one at a time to a small fraction of a pixel: see per_image_nms. `channels_last=False`
    keeps torch's default layout (the benchmark's and the test's comparison).
    """

    def __init__(self, min_face_size: int, detect_scale: float, channels_last: bool = True):
        import torch

        MTCNN, detect_face = import_mtcnn()
        if not 0 < detect_scale <= 1:
            raise ValueError(f"face.detect_scale must be in (0, 1], got {detect_scale}")
        # Parallelism comes from worker processes; one thread each also keeps results identical across runs.
        torch.set_num_threads(1)
        for name in ("batched_nms", "batched_nms_numpy"):  # the names detect_face calls
            if not hasattr(getattr(detect_face, name), "__wrapped__"):
                setattr(detect_face, name, per_image_nms(getattr(detect_face, name)))
        self.detect_scale = detect_scale
        self.mtcnn = MTCNN(keep_all=True, min_face_size=max(12, round(min_face_size * detect_scale)), device="cpu")
        # Channels-last weights make every conv's output channels-last, where the CPU's max-pooling is
        # vectorised: faster detection (bench/facedetect.py), boxes within a thousandth of a pixel of the
        # default layout's (tests/preprocess/test_facedetect.py).
        if channels_last:
            for net in (self.mtcnn.pnet, self.mtcnn.rnet, self.mtcnn.onet):
                net.to(memory_format=torch.channels_last)

    def best_face(self, image: Image.Image, min_confidence: float) -> Detection | None:
        """The most confident face at or above `min_confidence`, or None."""
        return self.best_faces([image], min_confidence)[0]

    def best_faces(self, images: list[Image.Image], min_confidence: float) -> list[Detection | None]:
        """best_face of each image: one MTCNN pass over the images of each size (a clip's frames have one,
        and so do CREMA-D's clips)."""
        scaled = [self._scaled(image) for image in images]
        found: list = [None] * len(scaled)
        for size in dict.fromkeys(image.size for image in scaled):  # each size once, in order
            where = [i for i, image in enumerate(scaled) if image.size == size]
            for i, (boxes, probs) in zip(where, zip(*self.mtcnn.detect([scaled[i] for i in where]))):
                found[i] = self._best(boxes, probs, min_confidence)
        return found

    def _scaled(self, image: Image.Image) -> Image.Image:
        if self.detect_scale == 1:
            return image
        size = (round(image.width * self.detect_scale), round(image.height * self.detect_scale))
        return image.resize(size, Image.Resampling.BILINEAR)

    def _best(self, boxes, probs, min_confidence: float) -> Detection | None:
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


def import_mtcnn():
    """facenet-pytorch's MTCNN class and its detect_face module, without importing torchvision where it is
    not imported yet. detect_face imports torchvision for batched_nms alone (and `functional` for a crop
    this package never asks for), and torchvision's import costs each face worker 1.5 s (torch._dynamo,
    via roi_align: `python -X importtime`). So while facenet-pytorch imports, stand-ins take torchvision's
    place: batched_nms, the same code on torchvision's own compiled NMS (its extension library, loaded as
    torchvision loads it), and a `functional` that imports the real one on first use. They leave sys.modules
    after the import, so that a later `import torchvision` gets the real package."""
    imported = "torchvision" in sys.modules or "facenet_pytorch" in sys.modules
    stand_ins = {} if imported else _torchvision_stand_ins()
    sys.modules.update(stand_ins)
    try:
        from facenet_pytorch import MTCNN
        from facenet_pytorch.models.utils import detect_face
    finally:
        for name in stand_ins:
            del sys.modules[name]
    return MTCNN, detect_face


def _torchvision_stand_ins() -> dict:
    """The modules facenet-pytorch imports from torchvision, by name, as import_mtcnn says."""
    import torch

    package = Path(importlib.util.find_spec("torchvision").origin).parent
    torch.ops.load_library(str(next(package.glob("_C_stable*"))))  # torchvision/extension.py's library
    stand_ins = {
        name: types.ModuleType(name)
        for name in ("torchvision", "torchvision.ops", "torchvision.ops.boxes", "torchvision.transforms")
    }
    stand_ins["torchvision.ops.boxes"].batched_nms = batched_nms
    stand_ins["torchvision.transforms"].functional = _RealOnFirstUse("torchvision.transforms.functional")
    return stand_ins


class _RealOnFirstUse(types.ModuleType):
    """A module's name that imports the module on the first attribute asked of it."""

    def __getattr__(self, attribute):
        return getattr(importlib.import_module(self.__name__), attribute)


def batched_nms(boxes, scores, idxs, iou_threshold: float):
    """torchvision.ops.batched_nms (torchvision 0.29.1's code, without its logging and scripting), on
    torch.ops.torchvision.nms: the same kept boxes in the same order (tests/preprocess/test_facedetect.py)."""
    import torch

    if boxes.numel() > (4000 if boxes.device.type == "cpu" else 100_000):
        keep_mask = torch.zeros_like(scores, dtype=torch.bool)
        for class_id in torch.unique(idxs):
            curr_indices = torch.where(idxs == class_id)[0]
            curr_keep_indices = torch.ops.torchvision.nms(boxes[curr_indices], scores[curr_indices], iou_threshold)
            keep_mask[curr_indices[curr_keep_indices]] = True
        keep_indices = torch.where(keep_mask)[0]
        return keep_indices[scores[keep_indices].sort(descending=True)[1]]
    if boxes.numel() == 0:
        return torch.empty((0,), dtype=torch.int64, device=boxes.device)
    max_coordinate = boxes.max()
    offsets = idxs.to(boxes) * (max_coordinate + torch.tensor(1).to(boxes))
    return torch.ops.torchvision.nms(boxes + offsets[:, None], scores, iou_threshold)


def per_image_nms(batched_nms):
    """`batched_nms` (facenet-pytorch's detect_face calls torchvision's and its own numpy one) run image by
    image. Both keep the images apart by shifting each image's boxes by its index times the largest
    coordinate; in float32 that shift rounds the overlaps, so a face found in a batch of six real frames
    moved 8 px (frame pixels) against the same frame alone. Each image alone, as image 0, is exactly what
    a one-frame batch computes; the networks' batched arithmetic then moves a box by last digits only."""
    import functools

    import torch

    @functools.wraps(batched_nms)
    def per_image(boxes, scores, idxs, threshold, *method):
        if idxs.numel() == 0:
            return batched_nms(boxes, scores, idxs, threshold, *method)
        kept = []
        for image in torch.unique(idxs):  # ascending: each image's boxes stay in the order they had
            rows = torch.where(idxs == image)[0]
            kept.append(rows[batched_nms(boxes[rows], scores[rows], torch.zeros_like(rows), threshold, *method)])
        return torch.cat(kept)

    return per_image


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

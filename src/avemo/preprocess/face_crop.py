"""The face_crop stage's work: the most confident MTCNN face of every frame as a square RGB PNG, or a
centre crop (status fallback) or nothing (status failed) when no face is found."""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from PIL import Image

from avemo.files import save_png
from avemo.params import require
from avemo.preprocess import facedetect as faces
from avemo.preprocess.clipindex import ClipFailure, ClipResult, prepare_output_dir, split_usable, write_settings
from avemo.preprocess.pool import run_and_index

if TYPE_CHECKING:  # worker processes import this module and never need pandas
    import pandas as pd

# Frames with more pixels fail (no video is so large: 8K UHD is 7680x4320, 33 million) before they are decoded:
# a crafted clip of 13500x13500 would otherwise take gigabytes, or stop the stage in PIL's decompression-bomb check.
MAX_FRAME_PIXELS = 8192 * 8192


@dataclass(frozen=True)
class FaceCrop:
    image: Image.Image | None  # the square RGB crop; None when no face was found and the fallback is drop
    status: str  # ok, fallback or failed, as in index.csv
    reason: str
    extra: dict  # index.csv's own columns


def crop_face(detector: faces.FaceDetector, frame: Image.Image, params: dict) -> FaceCrop:
    """The face of one RGB frame as this stage crops it with the face settings `params`: the one way the
    stage and `avemo predict` make it."""
    found = detector.best_face(frame, params["min_confidence"])
    if found:
        box = faces.square_crop_box(found.box, params["margin"], *frame.size)
        status, reason = "ok", ""
        extra = {"confidence": f"{found.confidence:.4f}", "faces_found": found.faces_found}
    elif params["fallback"] == "centre":
        box = faces.centre_crop_box(*frame.size)
        status, reason = "fallback", "no face found; centre crop"
        extra = {"faces_found": 0}
    else:
        return FaceCrop(None, "failed", "no face found", {"faces_found": 0})
    extra["box"] = " ".join(str(v) for v in box)
    return FaceCrop(faces.crop_resized(frame, box, params["image_size"]), status, reason, extra)


def open_frame(src: str) -> Image.Image:
    """The frame PNG at `src` as RGB; a ClipFailure, before its pixels are decoded, when it has more than
    MAX_FRAME_PIXELS (PIL refuses some such frames itself, with an error that would stop the whole stage)."""
    try:
        with warnings.catch_warnings():  # PIL warns between its own limit and twice that: ours is below both
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            image = Image.open(src)  # reads the header only
    except Image.DecompressionBombError:  # above twice PIL's MAX_IMAGE_PIXELS, far above ours
        size = f"more than {2 * Image.MAX_IMAGE_PIXELS:,} pixels"
    else:
        with image:
            if image.width * image.height <= MAX_FRAME_PIXELS:
                return image.convert("RGB")
            size = f"{image.width}x{image.height} pixels"
    raise ClipFailure(f"frame of {size}: face_crop takes at most {MAX_FRAME_PIXELS:,} (far above any video frame)")


def face_crop_job(detector, clip: str, src: str, dst: str, params: dict) -> ClipResult:
    face = crop_face(detector, open_frame(src), params)
    if face.image is not None:
        save_png(face.image, dst)
    return ClipResult(clip, face.status, face.reason, face.extra)


def run_face_crop(frame_index: pd.DataFrame, frames_dir, out_dir, *, params: dict, jobs=None) -> list[ClipResult]:
    """One face PNG per usable frame of `frames_dir` (rows of its index.csv) in `out_dir`, and index.csv."""
    require("face", "fallback", params["fallback"], ValueError)
    out_dir = prepare_output_dir(out_dir, [".png"])
    todo, carried = split_usable(frame_index, "extract_middle_frame")
    write_settings(out_dir, params)
    tasks = [
        (r.clip, str(Path(frames_dir) / f"{r.clip}.png"), str(out_dir / f"{r.clip}.png"), params)
        for r in todo.itertuples()
    ]
    return run_and_index(
        face_crop_job,
        tasks,
        carried,
        out_dir,
        ["confidence", "faces_found", "box"],
        jobs=jobs,
        desc="face_crop",
        initializer=faces.FaceDetector,
        initargs=(params["min_face_size"], params["detect_scale"]),
        uses_torch=True,
    )

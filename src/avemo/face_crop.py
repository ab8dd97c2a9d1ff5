"""The face_crop stage's work: the most confident MTCNN face of every frame as a square RGB PNG, or a
centre crop (status fallback) or nothing (status failed) when no face is found."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from PIL import Image

from avemo import faces
from avemo.clipindex import ClipResult, prepare_output_dir, split_usable, write_settings
from avemo.files import save_png
from avemo.params import FACE_FALLBACKS
from avemo.pool import run_and_index

if TYPE_CHECKING:  # worker processes import this module and never need pandas
    import pandas as pd


def face_crop_job(detector, clip: str, src: str, dst: str, params: dict) -> ClipResult:
    image = Image.open(src).convert("RGB")
    found = detector.best_face(image, params["min_confidence"])
    if found:
        box = faces.square_crop_box(found.box, params["margin"], *image.size)
        status, reason = "ok", ""
        extra = {"confidence": f"{found.confidence:.4f}", "faces_found": found.faces_found}
    elif params["fallback"] == "centre":
        box = faces.centre_crop_box(*image.size)
        status, reason = "fallback", "no face found; centre crop"
        extra = {"faces_found": 0}
    else:
        return ClipResult(clip, "failed", "no face found", extra={"faces_found": 0})
    save_png(faces.crop_resized(image, box, params["image_size"]), dst)
    extra["box"] = " ".join(str(v) for v in box)
    return ClipResult(clip, status, reason, extra)


def run_face_crop(frame_index: pd.DataFrame, frames_dir, out_dir, *, params: dict, jobs=None) -> list[ClipResult]:
    """One face PNG per usable frame of `frames_dir` (rows of its index.csv) in `out_dir`, and index.csv."""
    if params["fallback"] not in FACE_FALLBACKS:
        raise ValueError(f"face.fallback must be one of {FACE_FALLBACKS}, got {params['fallback']!r}")
    out_dir = prepare_output_dir(out_dir, [".png"])
    todo, carried = split_usable(frame_index, "extract_middle_frame")
    write_settings(out_dir, params)
    tasks = [(r.clip, str(Path(frames_dir) / f"{r.clip}.png"), str(out_dir / f"{r.clip}.png"), params) for r in todo.itertuples()]
    return run_and_index(
        face_crop_job, tasks, carried, out_dir, ["confidence", "faces_found", "box"],
        jobs=jobs, desc="face_crop", initializer=faces.FaceDetector, initargs=(params["min_face_size"], params["detect_scale"]), uses_torch=True,
    )

"""The face_crop stage's work: the most confident MTCNN face of every frame as a square RGB PNG, or a
centre crop (status fallback) or nothing (status failed) when no face is found.

A clip of K frames (frame.count) gets K faces, `<clip>_<k>.png`; its status is the worst of its frames':
`ok` when every frame shows a face; otherwise, with face.fallback centre, `fallback` (the frames without
a face centre-cropped, the reason counting them), with drop `failed` and no file: a clip's video input is
all K of its faces, so no frame is silently left out or replaced by another."""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from PIL import Image

from avemo.files import save_png
from avemo.params import require
from avemo.preprocess import facedetect as faces
from avemo.preprocess.clipindex import (
    ClipFailure,
    ClipResult,
    clip_files,
    frames_per_clip,
    per_frame,
    prepare_output_dir,
    read_settings,
    split_usable,
    write_settings,
)
from avemo.preprocess.pool import failed_result, run_and_index

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


def crop_face(found: faces.Detection | None, frame: Image.Image, params: dict) -> FaceCrop:
    """The face of one RGB frame, where the detector `found` it (None: not), as this stage crops it with the
    face settings `params`: the one way the stage and `avemo predict` make it."""
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


@dataclass(frozen=True)
class ClipFaces:
    images: list[Image.Image] | None  # one square RGB crop per frame, in time order; None when the clip failed
    status: str  # ok, fallback or failed, as in index.csv
    reason: str
    extra: dict  # index.csv's own columns (a value per frame, FRAME_SEPARATOR between them)


INDEX_COLUMNS = ["confidence", "faces_found", "box"]


def crop_clip_faces(detector: faces.FaceDetector, frames: list[Image.Image], params: dict) -> ClipFaces:
    """The faces of a clip's frames (one, or frame.count's K) as this stage crops them: the one way the stage
    and `avemo predict` make them. The frames are detected in one batch: faster, and the boxes of one at a
    time to a small fraction of a pixel."""
    return clip_faces(detector.best_faces(frames, params["min_confidence"]), frames, params)


def clip_faces(found: list[faces.Detection | None], frames: list[Image.Image], params: dict) -> ClipFaces:
    """A clip's faces where the detector `found` them in its `frames`: each cropped by crop_face, and the
    clip's status by the rule of the module docstring. One frame gives crop_face's status, reason and
    columns unchanged."""
    crops = [crop_face(face, frame, params) for face, frame in zip(found, frames)]
    if len(crops) == 1:
        (crop,) = crops
        return ClipFaces(None if crop.image is None else [crop.image], crop.status, crop.reason, crop.extra)
    extra = {column: per_frame([crop.extra.get(column, "") for crop in crops]) for column in INDEX_COLUMNS}
    missed = sum(crop.status != "ok" for crop in crops)
    if not missed:
        return ClipFaces([crop.image for crop in crops], "ok", "", extra)
    where = f"no face found in {missed} of {len(crops)} frames"
    if params["fallback"] == "centre":
        return ClipFaces([crop.image for crop in crops], "fallback", f"{where}; centre crop", extra)
    return ClipFaces(None, "failed", where, extra)


# Clips whose frames a worker detects in one MTCNN pass, batches cut in clip order (the same whatever the
# job count): larger batches measured no faster (bench/facedetect.py), smaller ones slower.
CLIPS_PER_BATCH = 8


def face_crop_job(detector, tasks: list[tuple[str, list[str], list[str], dict]]) -> list[ClipResult]:
    """face_crop of a batch of clips (clip, frame PNGs, face PNGs, face params): every frame of the batch
    detected in one pass (best_faces), each clip cropped and saved by clip_faces."""
    params = tasks[0][3]  # every task carries the stage's face settings
    results: dict[str, ClipResult] = {}
    opened = []  # (clip, frames, dsts) of the clips whose frames could be read
    for clip, srcs, dsts, _ in tasks:
        try:
            opened.append((clip, [open_frame(src) for src in srcs], dsts))
        except ClipFailure as failure:
            results[clip] = failed_result(clip, failure)
    if opened:
        found = iter(
            detector.best_faces([frame for _, frames, _ in opened for frame in frames], params["min_confidence"])
        )
        for clip, frames, dsts in opened:
            crops = clip_faces([next(found) for _ in frames], frames, params)
            for image, dst in zip(crops.images or [], dsts):
                save_png(image, dst)
            results[clip] = ClipResult(clip, crops.status, crops.reason, crops.extra)
    return [results[task[0]] for task in tasks]


def run_face_crop(frame_index: pd.DataFrame, frames_dir, out_dir, *, params: dict, jobs=None) -> list[ClipResult]:
    """One face PNG per usable frame of `frames_dir` (rows of its index.csv; the frames per clip of its
    settings.json) in `out_dir`, and index.csv; settings.json holds the face settings, and the frames per
    clip where there are more than one."""
    require("face", "fallback", params["fallback"], ValueError)
    count = frames_per_clip(read_settings(frames_dir))
    out_dir = prepare_output_dir(out_dir, [".png"])
    todo, carried = split_usable(frame_index, "extract_middle_frame")
    write_settings(out_dir, params if count == 1 else {**params, "frames_per_clip": count})
    tasks = [
        (
            r.clip,
            [str(Path(frames_dir) / name) for name in clip_files(r.clip, ".png", count)],
            [str(out_dir / name) for name in clip_files(r.clip, ".png", count)],
            params,
        )
        for r in todo.itertuples()
    ]
    return run_and_index(
        face_crop_job,
        tasks,
        carried,
        out_dir,
        INDEX_COLUMNS,
        jobs=jobs,
        desc="face_crop",
        initializer=faces.FaceDetector,
        initargs=(params["min_face_size"], params["detect_scale"]),
        uses_torch=True,
        batch_size=CLIPS_PER_BATCH,
    )

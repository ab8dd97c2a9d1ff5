"""The extract_middle_frame stage's work: the frame at a position of every clip, or its K frames around it
(frame.count), as RGB PNGs."""

from __future__ import annotations

from typing import TYPE_CHECKING

from avemo.files import save_png
from avemo.preprocess import media
from avemo.preprocess.clipindex import (
    ClipFailure,
    ClipResult,
    clip_files,
    per_frame,
    prepare_output_dir,
    split_usable,
    write_settings,
)
from avemo.preprocess.pool import run_and_index

if TYPE_CHECKING:  # worker processes import this module and never need pandas
    import pandas as pd


def frame_settings(position: float, count: int = 1, spread: float | None = None) -> dict:
    """settings.json of a frames folder: the position, and with more than one frame a clip their number
    (`frames_per_clip`, as clipindex.frames_per_clip reads it) and spread; one frame writes the position
    alone, as before frame.count existed, so those folders keep their bytes."""
    if count == 1:
        return {"position": position}
    return {"position": position, "frames_per_clip": count, "spread": spread}


def frames_job(
    _state, clip: str, src: str, dsts: list[str], positions: list[float], max_duration: float | None
) -> ClipResult:
    frames = media.frames_at(src, positions)  # one decoding pass for all of them
    refused = media.too_long(frames[0].clip_s or 0.0, max_duration, "frame.max_duration")
    if refused:
        raise ClipFailure(refused)
    for frame, dst in zip(frames, dsts):
        save_png(frame.image, dst)
    extra = {
        "frame_index": per_frame([f.index for f in frames]),
        "frame_count": frames[0].frame_count,
        "time_s": per_frame([f"{f.time_s:.4f}" for f in frames]),
    }
    return ClipResult(clip, "ok", extra=extra)


def run_extract_middle_frame(
    clips: pd.DataFrame,
    out_dir,
    *,
    position: float,
    count: int = 1,
    spread: float | None = None,
    max_duration: float | None = None,
    jobs=None,
) -> list[ClipResult]:
    """One PNG per clip of the clip list (its `path` column) in `out_dir`, or `count` of them at
    media.frame_positions(count, position, spread) (`<clip>_<k>.png`), and index.csv (frame_index and time_s
    per frame); a clip whose video lasts longer than `max_duration` seconds fails (None: no limit)."""
    if count > 1 and spread is None:
        raise ValueError("more than one frame a clip needs frame.spread")
    out_dir = prepare_output_dir(out_dir, [".png"])
    todo, carried = split_usable(clips, "clip list")
    write_settings(out_dir, frame_settings(position, count, spread))
    positions = media.frame_positions(count, position, spread)
    tasks = [
        (r.clip, r.path, [str(out_dir / name) for name in clip_files(r.clip, ".png", count)], positions, max_duration)
        for r in todo.itertuples()
    ]
    return run_and_index(
        frames_job,
        tasks,
        carried,
        out_dir,
        ["frame_index", "frame_count", "time_s"],
        jobs=jobs,
        desc="extract_middle_frame",
    )

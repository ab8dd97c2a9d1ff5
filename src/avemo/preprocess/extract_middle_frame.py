"""The extract_middle_frame stage's work: the frame at a position of every clip, as an RGB PNG."""

from __future__ import annotations

from typing import TYPE_CHECKING

from avemo.files import save_png
from avemo.preprocess import media
from avemo.preprocess.clipindex import ClipFailure, ClipResult, prepare_output_dir, split_usable, write_settings
from avemo.preprocess.pool import run_and_index

if TYPE_CHECKING:  # worker processes import this module and never need pandas
    import pandas as pd


def middle_frame_job(_state, clip: str, src: str, dst: str, position: float, max_duration: float | None) -> ClipResult:
    frame = media.middle_frame(src, position)
    refused = media.too_long(frame.clip_s or 0.0, max_duration, "frame.max_duration")
    if refused:
        raise ClipFailure(refused)
    save_png(frame.image, dst)
    extra = {"frame_index": frame.index, "frame_count": frame.frame_count, "time_s": f"{frame.time_s:.4f}"}
    return ClipResult(clip, "ok", extra=extra)


def run_extract_middle_frame(
    clips: pd.DataFrame, out_dir, *, position: float, max_duration: float | None = None, jobs=None
) -> list[ClipResult]:
    """One PNG per clip of the clip list (its `path` column) in `out_dir`, and index.csv; a clip whose video
    lasts longer than `max_duration` seconds fails (None: no limit)."""
    out_dir = prepare_output_dir(out_dir, [".png"])
    todo, carried = split_usable(clips, "clip list")
    write_settings(out_dir, {"position": position})
    tasks = [(r.clip, r.path, str(out_dir / f"{r.clip}.png"), position, max_duration) for r in todo.itertuples()]
    return run_and_index(
        middle_frame_job,
        tasks,
        carried,
        out_dir,
        ["frame_index", "frame_count", "time_s"],
        jobs=jobs,
        desc="extract_middle_frame",
    )

"""The extract_audio stage's work: each clip's audio track as a 16-bit mono WAV at one sample rate."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from avemo.files import atomic_write
from avemo.preprocess import media
from avemo.preprocess.clipindex import ClipFailure, ClipResult, prepare_output_dir, split_usable, write_settings
from avemo.preprocess.pool import run_and_index

if TYPE_CHECKING:  # worker processes import this module and never need pandas
    import pandas as pd


def extract_audio_job(
    _state, clip: str, src: str, dst: str, sample_rate: int, max_duration: float | None
) -> ClipResult:
    segment = media.decode_audio(src, sample_rate)
    refused = media.too_long(segment.duration_seconds, max_duration, "audio.max_duration")
    if refused:
        raise ClipFailure(refused)
    atomic_write(Path(dst), lambda tmp: segment.export(str(tmp), format="wav").close())
    return ClipResult(clip, "ok", extra={"duration_s": f"{segment.duration_seconds:.4f}"})


def run_extract_audio(
    clips: pd.DataFrame, out_dir, *, sample_rate: int, max_duration: float | None = None, jobs=None
) -> list[ClipResult]:
    """One WAV per clip of the clip list (its `path` column) in `out_dir`, and index.csv; a clip whose audio
    lasts longer than `max_duration` seconds fails (None: no limit)."""
    out_dir = prepare_output_dir(out_dir, [".wav"])
    todo, carried = split_usable(clips, "clip list")
    write_settings(out_dir, {"sample_rate": sample_rate})
    tasks = [(r.clip, r.path, str(out_dir / f"{r.clip}.wav"), sample_rate, max_duration) for r in todo.itertuples()]
    return run_and_index(extract_audio_job, tasks, carried, out_dir, ["duration_s"], jobs=jobs, desc="extract_audio")

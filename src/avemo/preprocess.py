"""The four per-clip preprocessing stages: extract_audio, melspec, extract_middle_frame, face_crop.

Each `run_*` function reads the rows of its input table (the clip list or the previous stage's
index.csv), runs one job per clip across processes and writes its outputs and index.csv. A clip that
failed upstream is carried through as failed with the upstream reason, so every index covers every clip.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from PIL import Image

from avemo import faces, features, media
from avemo.perclip import USABLE, ClipFailure, ClipResult, atomic_write, prepare_output_dir, run_per_clip, write_index

if TYPE_CHECKING:  # worker processes import this module and never need pandas
    import pandas as pd


def _split_usable(rows: pd.DataFrame, upstream: str) -> tuple[pd.DataFrame, list[ClipResult]]:
    """Rows to process, and failed results for rows that an earlier step already failed."""
    usable = rows["status"].isin(USABLE)
    carried = [ClipResult(r.clip, "failed", f"{upstream}: {r.reason}") for r in rows[~usable].itertuples()]
    return rows[usable], carried


def _run(job, tasks, carried, out_dir, columns, *, jobs, desc, **runner_options):
    results = run_per_clip(job, tasks, jobs=jobs, desc=desc, **runner_options)
    results = sorted(results + carried, key=lambda r: r.clip)
    write_index(out_dir, results, columns)
    return results


def _save_png(image: Image.Image, path: Path) -> None:
    atomic_write(path, lambda tmp: image.save(tmp, format="PNG"))


# --- extract_audio -------------------------------------------------------------------------------


def extract_audio_job(_state, clip: str, src: str, dst: str, sample_rate: int) -> ClipResult:
    segment = media.decode_audio(src, sample_rate)
    atomic_write(Path(dst), lambda tmp: segment.export(str(tmp), format="wav").close())
    return ClipResult(clip, "ok", extra={"duration_s": f"{segment.duration_seconds:.4f}"})


def run_extract_audio(clips: pd.DataFrame, raw_dir, out_dir, *, sample_rate: int, jobs=None) -> list[ClipResult]:
    out_dir = prepare_output_dir(out_dir, [".wav"])
    todo, carried = _split_usable(clips, "clip list")
    tasks = [(r.clip, str(Path(raw_dir) / r.file), str(out_dir / f"{r.clip}.wav"), sample_rate) for r in todo.itertuples()]
    return _run(extract_audio_job, tasks, carried, out_dir, ["duration_s"], jobs=jobs, desc="extract_audio")


# --- melspec -------------------------------------------------------------------------------------

def melspec_job(_state, clip: str, wav: str, dst: str, preview: str | None, mel_basis: np.ndarray, params: dict) -> ClipResult:
    samples, sample_rate = features.load_wav(wav)
    if sample_rate != params["sample_rate"]:
        raise ClipFailure(f"WAV at {sample_rate} Hz, but the others are at {params['sample_rate']} Hz")
    spectrogram = features.log_mel(samples, mel_basis, sample_rate=sample_rate, duration=params["duration"], hop_length=params["hop_length"], top_db=params["top_db"])
    atomic_write(Path(dst), lambda tmp: np.save(tmp, spectrogram, allow_pickle=False))
    if preview:
        _save_png(features.preview_image(spectrogram, params["top_db"]), Path(preview))
    target = round(params["duration"] * sample_rate)
    fit = "cropped" if samples.size > target else "padded" if samples.size < target else "exact"
    return ClipResult(clip, "ok", extra={"frames": spectrogram.shape[1], "audio_s": f"{samples.size / sample_rate:.4f}", "fit": fit})


def run_melspec(audio_index: pd.DataFrame, audio_dir, out_dir, *, params: dict, jobs=None) -> list[ClipResult]:
    out_dir = prepare_output_dir(out_dir, [".npy"])
    previews = out_dir / "previews" if params.get("previews") else None
    if previews:
        prepare_output_dir(previews, [".png"])
    todo, carried = _split_usable(audio_index, "extract_audio")
    wavs = [Path(audio_dir) / f"{clip}.wav" for clip in todo["clip"]]
    # One filter bank for all clips, at the rate extract_audio wrote (read from the first WAV).
    sample_rate = features.wav_sample_rate(wavs[0]) if wavs else 16000
    mel_basis = features.mel_filterbank(sample_rate, n_fft=params["n_fft"], n_mels=params["n_mels"], fmin=params["fmin"], fmax=params["fmax"])
    job_params = {"sample_rate": sample_rate, **{k: params[k] for k in ("duration", "hop_length", "top_db")}}
    tasks = [
        (r.clip, str(wav), str(out_dir / f"{r.clip}.npy"), str(previews / f"{r.clip}.png") if previews else None, mel_basis, job_params)
        for r, wav in zip(todo.itertuples(), wavs)
    ]
    return _run(melspec_job, tasks, carried, out_dir, ["frames", "audio_s", "fit"], jobs=jobs, desc="melspec")


# --- extract_middle_frame ------------------------------------------------------------------------


def middle_frame_job(_state, clip: str, src: str, dst: str, position: float) -> ClipResult:
    frame = media.middle_frame(src, position)
    _save_png(frame.image, Path(dst))
    extra = {"frame_index": frame.index, "frame_count": frame.frame_count, "time_s": f"{frame.time_s:.4f}"}
    return ClipResult(clip, "ok", extra=extra)


def run_extract_middle_frame(clips: pd.DataFrame, raw_dir, out_dir, *, position: float, jobs=None) -> list[ClipResult]:
    out_dir = prepare_output_dir(out_dir, [".png"])
    todo, carried = _split_usable(clips, "clip list")
    tasks = [(r.clip, str(Path(raw_dir) / r.file), str(out_dir / f"{r.clip}.png"), position) for r in todo.itertuples()]
    return _run(middle_frame_job, tasks, carried, out_dir, ["frame_index", "frame_count", "time_s"], jobs=jobs, desc="extract_middle_frame")


# --- face_crop -----------------------------------------------------------------------------------

FALLBACKS = ("centre", "drop")


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
    _save_png(faces.crop_resized(image, box, params["image_size"]), Path(dst))
    extra["box"] = " ".join(str(v) for v in box)
    return ClipResult(clip, status, reason, extra)


def run_face_crop(frame_index: pd.DataFrame, frames_dir, out_dir, *, params: dict, jobs=None) -> list[ClipResult]:
    if params["fallback"] not in FALLBACKS:
        raise ValueError(f"face.fallback must be one of {FALLBACKS}, got {params['fallback']!r}")
    out_dir = prepare_output_dir(out_dir, [".png"])
    todo, carried = _split_usable(frame_index, "extract_middle_frame")
    tasks = [(r.clip, str(Path(frames_dir) / f"{r.clip}.png"), str(out_dir / f"{r.clip}.png"), params) for r in todo.itertuples()]
    return _run(
        face_crop_job, tasks, carried, out_dir, ["confidence", "faces_found", "box"],
        jobs=jobs, desc="face_crop", initializer=faces.FaceDetector, initargs=(params["min_face_size"], params["detect_scale"]), uses_torch=True,
    )

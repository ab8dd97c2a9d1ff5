"""The melspec stage's work: a fixed-duration log-Mel spectrogram of every WAV as a float32 .npy array,
a greyscale PNG preview of each in a folder of its own, and settings.json (the sample rate and every
spectrogram setting, so later stages read the dB range from here rather than from a second param)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from avemo.files import atomic_write, save_png
from avemo.preprocess import spectrogram as features
from avemo.preprocess.clipindex import ClipFailure, ClipResult, prepare_output_dir, split_usable, write_settings
from avemo.preprocess.pool import run_and_index

if TYPE_CHECKING:  # worker processes import this module and never need pandas
    import pandas as pd

SETTINGS = ("duration", "n_fft", "hop_length", "n_mels", "fmin", "fmax", "top_db")
DEFAULT_SAMPLE_RATE = 16000  # only for the filter bank when no WAV is usable (nothing is computed then)
# A track whose peak stays below this holds no speech to hear: its spectrogram would be the noise floor scaled
# up to 0 dB (flat at 0 dB for digital silence) and still look like a spectrogram.
SILENCE_DBFS = -60.0


def filterbank(settings: dict) -> np.ndarray:
    """The mel filter bank of spectrogram settings (a melspec settings.json: sample_rate and SETTINGS)."""
    return features.mel_filterbank(
        settings["sample_rate"],
        n_fft=settings["n_fft"],
        n_mels=settings["n_mels"],
        fmin=settings["fmin"],
        fmax=settings["fmax"],
    )


def spectrogram_of(samples: np.ndarray, mel_basis: np.ndarray, settings: dict) -> np.ndarray:
    """The spectrogram this stage saves for mono float samples at settings["sample_rate"], with the filter
    bank `filterbank(settings)` made once: the one way the stage and `avemo predict` make it."""
    return features.log_mel(
        samples,
        mel_basis,
        sample_rate=settings["sample_rate"],
        duration=settings["duration"],
        hop_length=settings["hop_length"],
        top_db=settings["top_db"],
    )


def melspec_job(_state, clip: str, wav: str, dst: str, preview: str, mel_basis: np.ndarray, params: dict) -> ClipResult:
    samples, sample_rate = features.load_wav(wav)
    if sample_rate != params["sample_rate"]:
        raise ClipFailure(f"WAV at {sample_rate} Hz, but the others are at {params['sample_rate']} Hz")
    peak = float(np.abs(samples).max()) if samples.size else 0.0
    if peak < 10 ** (SILENCE_DBFS / 20):
        level = f"peak {20 * np.log10(peak):.0f} dBFS" if peak > 0 else "digital silence"
        raise ClipFailure(f"silent audio track ({level}, below {SILENCE_DBFS:.0f} dBFS): no speech to hear")
    spectrogram = spectrogram_of(samples, mel_basis, params)
    atomic_write(Path(dst), lambda tmp: np.save(tmp, spectrogram, allow_pickle=False))
    save_png(features.preview_image(spectrogram, params["top_db"]), preview)
    target = round(params["duration"] * sample_rate)
    fit = "cropped" if samples.size > target else "padded" if samples.size < target else "exact"
    return ClipResult(
        clip, "ok", extra={"frames": spectrogram.shape[1], "audio_s": f"{samples.size / sample_rate:.4f}", "fit": fit}
    )


def run_melspec(
    audio_index: pd.DataFrame, audio_dir, out_dir, previews_dir, *, params: dict, jobs=None
) -> list[ClipResult]:
    """Spectrograms of the usable WAVs of `audio_dir` (rows of its index.csv) in `out_dir` with index.csv
    and settings.json, and their previews in `previews_dir`."""
    todo, carried = split_usable(audio_index, "extract_audio")
    wavs = [Path(audio_dir) / f"{clip}.wav" for clip in todo["clip"]]
    # One filter bank for all clips, at the rate extract_audio wrote (read from the first WAV); settings that
    # cannot work at that rate (fmax above half of it, a band without an FFT bin) stop here, in one line.
    sample_rate = features.wav_sample_rate(wavs[0]) if wavs else DEFAULT_SAMPLE_RATE
    settings = {"sample_rate": sample_rate, **{k: params[k] for k in SETTINGS}}
    mel_basis = filterbank(settings)
    out_dir = prepare_output_dir(out_dir, [".npy"])
    previews_dir = prepare_output_dir(previews_dir, [".png"])
    write_settings(out_dir, settings)
    tasks = [
        (r.clip, str(wav), str(out_dir / f"{r.clip}.npy"), str(previews_dir / f"{r.clip}.png"), mel_basis, settings)
        for r, wav in zip(todo.itertuples(), wavs)
    ]
    return run_and_index(
        melspec_job,
        tasks,
        carried,
        out_dir,
        ["frames", "audio_s", "fit"],
        other_out_dirs=(previews_dir,),
        jobs=jobs,
        desc="melspec",
    )

"""Audio features: a fixed-length log-Mel spectrogram, so every clip gives the same time axis.

Clips of different lengths are cropped or zero-padded to `duration` seconds (centred) before the
spectrogram is taken; nothing is stretched, so a time step means the same everywhere.
"""

from __future__ import annotations

import librosa
import numpy as np
import soundfile
from PIL import Image


def load_wav(path) -> tuple[np.ndarray, int]:
    """Mono float32 samples in [-1, 1] and the sample rate."""
    samples, sample_rate = soundfile.read(str(path), dtype="float32", always_2d=True)
    return samples.mean(axis=1), sample_rate


def fixed_length(samples: np.ndarray, n_samples: int) -> np.ndarray:
    """Centre-crop or centre-pad (with zeros) to exactly `n_samples`."""
    if samples.size >= n_samples:
        start = (samples.size - n_samples) // 2
        return samples[start : start + n_samples]
    before = (n_samples - samples.size) // 2
    return np.pad(samples, (before, n_samples - samples.size - before))


def frame_count(duration: float, sample_rate: int, hop_length: int) -> int:
    """Time steps of the spectrogram of `duration` seconds (librosa's centred framing)."""
    return 1 + int(round(duration * sample_rate)) // hop_length


def log_mel(
    samples: np.ndarray,
    sample_rate: int,
    *,
    duration: float,
    n_fft: int,
    hop_length: int,
    n_mels: int,
    fmin: float,
    fmax: float,
    top_db: float,
) -> np.ndarray:
    """Log-Mel power spectrogram in dB relative to the clip's peak, shape (n_mels, frames), float32.

    Values lie in [-top_db, 0]: 0 dB is the loudest bin of the clip, so loudness differences between
    recordings do not dominate.
    """
    if fmax > sample_rate / 2:
        raise ValueError(f"melspec.fmax {fmax} Hz is above the Nyquist frequency {sample_rate / 2} Hz of the audio")
    if not 0 <= fmin < fmax:
        raise ValueError(f"melspec.fmin must be in [0, fmax), got {fmin}")
    samples = fixed_length(samples, int(round(duration * sample_rate)))
    power = librosa.feature.melspectrogram(
        y=samples, sr=sample_rate, n_fft=n_fft, hop_length=hop_length, n_mels=n_mels, fmin=fmin, fmax=fmax, power=2.0
    )
    return librosa.power_to_db(power, ref=np.max, top_db=top_db).astype(np.float32)


def preview_image(spectrogram: np.ndarray, top_db: float) -> Image.Image:
    """A greyscale PNG-able picture of a spectrogram: low frequencies at the bottom, -top_db black, 0 dB white."""
    scaled = np.clip((spectrogram + top_db) / top_db, 0.0, 1.0)
    return Image.fromarray(np.flipud(np.round(scaled * 255).astype(np.uint8)), mode="L")

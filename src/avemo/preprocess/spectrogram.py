"""Spectrogram maths: a fixed-length log-Mel spectrogram, so every clip gives the same time axis.

Clips of different lengths are cropped or zero-padded to `duration` seconds (centred) before the
spectrogram is taken; nothing is stretched, so a time step means the same everywhere.

The spectrogram is librosa's `melspectrogram` + `power_to_db(ref=np.max)` (its defaults: centred frames,
zero padding, periodic Hann window, Slaney mel filters), written with numpy, the filter bank too: importing
librosa (scipy.signal with it) costs seconds in every process that makes one. tests/preprocess/test_spectrogram.py
checks that both give the same numbers, the filter bank bit for bit.
"""

from __future__ import annotations

import numpy as np
import soundfile
from PIL import Image

from avemo.errors import UserError
from avemo.params import empty_mel_bands

AMIN = 1e-10  # power floor before the logarithm, as librosa's power_to_db


def load_wav(path) -> tuple[np.ndarray, int]:
    """Mono float32 samples in [-1, 1] and the sample rate."""
    samples, sample_rate = soundfile.read(str(path), dtype="float32", always_2d=True)
    return samples.mean(axis=1), sample_rate


def segment_samples(segment) -> np.ndarray:
    """Mono float32 samples in [-1, 1] of a 16-bit mono pydub AudioSegment (media.decode_audio's): the
    values load_wav reads back from the WAV that extract_audio writes of it (int16 / 32768, exact in
    float32, as libsndfile scales), so a clip's spectrogram can be made without writing the WAV."""
    if segment.sample_width != 2 or segment.channels != 1:
        raise ValueError(
            f"expected 16-bit mono audio, got {8 * segment.sample_width}-bit with {segment.channels} channel(s)"
        )
    return np.frombuffer(segment.raw_data, dtype="<i2").astype(np.float32) / np.float32(32768)


def wav_sample_rate(path) -> int:
    return soundfile.info(str(path)).samplerate


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


class MelSettingsError(UserError, ValueError):
    """Spectrogram settings that cannot work for the audio's sample rate; str(error) says what to change."""


def mel_filterbank(sample_rate: int, *, n_fft: int, n_mels: int, fmin: float, fmax: float) -> np.ndarray:
    """librosa's Slaney-normalised mel filter bank, shape (n_mels, 1 + n_fft // 2); a MelSettingsError when
    fmax is above half the sample rate or a band would hold no FFT bin (librosa only warns: the band would be
    zero in every spectrogram, and all of them with a narrow fmin..fmax)."""
    if fmax > sample_rate / 2:
        raise MelSettingsError(
            f"melspec.fmax {fmax} Hz is above the Nyquist frequency {sample_rate / 2:g} Hz of audio at {sample_rate} "
            "Hz (audio.sample_rate): lower melspec.fmax or raise audio.sample_rate"
        )
    if not 0 <= fmin < fmax:
        raise MelSettingsError(f"melspec.fmin must be in [0, fmax), got {fmin}")
    empty = empty_mel_bands(sample_rate, n_fft=n_fft, n_mels=n_mels, fmin=fmin, fmax=fmax)
    if empty:
        raise MelSettingsError(
            f"{len(empty)} of the {n_mels} mel bands from {fmin} to {fmax} Hz hold no FFT bin (one every "
            f"{sample_rate / n_fft:g} Hz with n_fft {n_fft} at {sample_rate} Hz) and would be zero in every "
            "spectrogram: widen melspec.fmin..fmax, or use fewer melspec.n_mels or a larger melspec.n_fft"
        )
    return _slaney_mel_filters(sample_rate, n_fft, n_mels, fmin, fmax)


# Slaney's mel scale (librosa's default, htk=False): linear below 1 kHz, logarithmic above.
_MEL_HZ_STEP = 200.0 / 3
_LOG_START_HZ = 1000.0
_LOG_START_MEL = _LOG_START_HZ / _MEL_HZ_STEP
_LOG_STEP = np.log(6.4) / 27.0


def _hz_to_mel(hz: float) -> float:
    return _LOG_START_MEL + np.log(hz / _LOG_START_HZ) / _LOG_STEP if hz >= _LOG_START_HZ else hz / _MEL_HZ_STEP


def _mel_to_hz(mels: np.ndarray) -> np.ndarray:
    hz = _MEL_HZ_STEP * mels
    log = mels >= _LOG_START_MEL
    hz[log] = _LOG_START_HZ * np.exp(_LOG_STEP * (mels[log] - _LOG_START_MEL))
    return hz


def _slaney_mel_filters(sample_rate: int, n_fft: int, n_mels: int, fmin: float, fmax: float) -> np.ndarray:
    """librosa.filters.mel(sr, n_fft, n_mels, fmin, fmax) of librosa 0.11, the same operations in the same
    order (so the same bits): triangles between n_mels + 2 edges equally spaced in mels, scaled to 2 / width."""
    weights = np.zeros((n_mels, 1 + n_fft // 2), dtype=np.float32)
    bin_hz = np.fft.rfftfreq(n=n_fft, d=1.0 / sample_rate)
    edges = _mel_to_hz(np.linspace(_hz_to_mel(fmin), _hz_to_mel(fmax), n_mels + 2))
    widths = np.diff(edges)
    ramps = np.subtract.outer(edges, bin_hz)
    for i in range(n_mels):
        weights[i] = np.maximum(0, np.minimum(-ramps[i] / widths[i], ramps[i + 2] / widths[i + 1]))
    weights *= (2.0 / (edges[2 : n_mels + 2] - edges[:n_mels]))[:, np.newaxis]
    return weights


def power_spectrogram(samples: np.ndarray, *, n_fft: int, hop_length: int) -> np.ndarray:
    """|STFT|^2 with centred frames, zero padding and a periodic Hann window, shape (1 + n_fft // 2, frames),
    float64: the squares are summed in float64 because numpy's float32 `abs` of a complex value differs in
    the last bit between CPUs (SSE4 against AVX2)."""
    padded = np.pad(samples.astype(np.float32), n_fft // 2)
    frames = np.lib.stride_tricks.sliding_window_view(padded, n_fft)[::hop_length]
    window = np.hanning(n_fft + 1)[:-1].astype(np.float32)
    spectrum = np.fft.rfft(frames * window, axis=1)
    return (spectrum.real.astype(np.float64) ** 2 + spectrum.imag.astype(np.float64) ** 2).T


def log_mel(
    samples: np.ndarray,
    mel_basis: np.ndarray,
    *,
    sample_rate: int,
    duration: float,
    hop_length: int,
    top_db: float,
) -> np.ndarray:
    """Log-Mel power spectrogram in dB relative to the clip's peak, shape (n_mels, frames), float32.

    Values lie in [-top_db, 0]: 0 dB is the loudest bin of the clip, so loudness differences between
    recordings do not dominate. `mel_basis` comes from mel_filterbank (its shape gives n_fft).
    """
    n_fft = 2 * (mel_basis.shape[1] - 1)
    samples = fixed_length(samples, int(round(duration * sample_rate)))
    # In float64 throughout, rounded to float32 at the end: numpy's float32 kernels (log10 above all) differ
    # in the last bit between CPUs (AVX2 against AVX-512), its float64 ones agree after that rounding.
    mel = mel_basis.astype(np.float64) @ power_spectrogram(samples, n_fft=n_fft, hop_length=hop_length)
    # One logarithm of the ratio (not a difference of two) so that the peak is exactly 0 dB.
    floored = np.maximum(mel, AMIN)
    db = 10.0 * np.log10(floored / floored.max())
    return np.maximum(db, db.max() - top_db).astype(np.float32)


def preview_image(spectrogram: np.ndarray, top_db: float) -> Image.Image:
    """A greyscale PNG-able picture of a spectrogram: low frequencies at the bottom, -top_db black, 0 dB white."""
    scaled = np.clip((spectrogram + top_db) / top_db, 0.0, 1.0)
    return Image.fromarray(np.flipud(np.round(scaled * 255).astype(np.uint8)), mode="L")

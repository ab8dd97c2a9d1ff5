import subprocess
import sys

import librosa
import numpy as np
import pytest

from avemo.preprocess import spectrogram as features
from helpers import tiny


def test_fixed_length_centre_crops_and_pads():
    x = np.arange(10, dtype=np.float32)
    assert features.fixed_length(x, 4).tolist() == [3, 4, 5, 6]
    padded = features.fixed_length(x, 14)
    assert padded.size == 14 and padded[:2].tolist() == [0, 0] and padded[2:12].tolist() == x.tolist()


def _log_mel(samples, params, sample_rate=16000):
    basis = features.mel_filterbank(sample_rate, **{k: params[k] for k in ("n_fft", "n_mels", "fmin", "fmax")})
    return features.log_mel(
        samples, basis, sample_rate=sample_rate, **{k: params[k] for k in ("duration", "hop_length", "top_db")}
    )


@pytest.mark.parametrize("seconds", [0.3, 1.0, 2.7])
def test_log_mel_shape_follows_params_whatever_the_length(seconds):
    samples = np.random.default_rng(0).standard_normal(int(seconds * 16000)).astype(np.float32)
    spec = _log_mel(samples, tiny("melspec"))
    assert spec.shape == (16, features.frame_count(1.0, 16000, 160)) == (16, 101)
    assert spec.dtype == np.float32
    assert spec.max() == pytest.approx(0.0) and spec.min() >= -80.0


def test_log_mel_equals_librosa():
    params = {"duration": 1.0, "n_fft": 512, "hop_length": 160, "n_mels": 40, "fmin": 50, "fmax": 8000, "top_db": 80}
    rng = np.random.default_rng(1)
    t = np.arange(16000) / 16000
    samples = (0.3 * np.sin(2 * np.pi * 220 * t * (1 + t)) + 0.01 * rng.standard_normal(t.size)).astype(np.float32)
    reference = librosa.power_to_db(
        librosa.feature.melspectrogram(y=samples, sr=16000, n_fft=512, hop_length=160, n_mels=40, fmin=50, fmax=8000),
        ref=np.max,
        top_db=80,
    )
    ours = _log_mel(samples, params)
    assert ours.shape == reference.shape
    assert np.abs(ours - reference).max() < 0.01  # dB


@pytest.mark.parametrize(
    ("sample_rate", "n_fft", "n_mels", "fmin", "fmax"),
    [(16000, 512, 64, 50, 8000), (16000, 512, 40, 0, 8000), (22050, 2048, 128, 0, 11025), (8000, 256, 24, 300, 3400)],
)
def test_filterbank_is_librosas_bit_for_bit(sample_rate, n_fft, n_mels, fmin, fmax):
    """Made without importing librosa (seconds per process), the filter bank still has librosa's bits, so the
    spectrograms keep theirs."""
    ours = features.mel_filterbank(sample_rate, n_fft=n_fft, n_mels=n_mels, fmin=fmin, fmax=fmax)
    reference = librosa.filters.mel(sr=sample_rate, n_fft=n_fft, n_mels=n_mels, fmin=fmin, fmax=fmax)
    assert ours.dtype == np.float32 and ours.tobytes() == reference.astype(np.float32).tobytes()


def test_the_stage_does_not_import_librosa():
    code = (
        "import sys; from avemo.preprocess import melspec; "
        "melspec.filterbank({'sample_rate': 16000, 'n_fft': 512, 'n_mels': 64, 'fmin': 50, 'fmax': 8000}); "
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('librosa', 'scipy')))"
    )
    assert subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout == "[]\n"


def test_log_mel_puts_a_tone_in_the_right_band():
    tone = np.sin(2 * np.pi * 4000 * np.arange(16000) / 16000).astype(np.float32)
    params = {"duration": 1.0, "n_fft": 512, "hop_length": 160, "n_mels": 40, "fmin": 0, "fmax": 8000, "top_db": 80}
    spec = _log_mel(tone, params)
    centres = librosa.mel_frequencies(n_mels=42, fmin=0, fmax=8000)[1:-1]
    assert abs(centres[int(spec.mean(axis=1).argmax())] - 4000) < 300


def test_silence_gives_a_flat_spectrogram_not_nan():
    spec = _log_mel(np.zeros(8000, np.float32), tiny("melspec"))
    assert np.isfinite(spec).all() and (spec == 0).all()


def test_filterbank_rejects_fmax_above_nyquist():
    with pytest.raises(features.MelSettingsError, match="above the Nyquist frequency 4000 Hz of audio at 8000 Hz"):
        features.mel_filterbank(8000, n_fft=64, n_mels=8, fmin=0, fmax=8000)


def test_filterbank_rejects_bands_without_an_fft_bin():
    with pytest.raises(features.MelSettingsError, match="^64 of the 64 mel bands from 7990 to 8000 Hz hold no FFT bin"):
        features.mel_filterbank(16000, n_fft=512, n_mels=64, fmin=7990, fmax=8000)
    with pytest.raises(features.MelSettingsError, match="^13 of the 128 mel bands from 0 to 8000 Hz hold no FFT bin"):
        features.mel_filterbank(
            16000, n_fft=256, n_mels=128, fmin=0, fmax=8000
        )  # bands below ~1 kHz narrower than a bin


@pytest.mark.parametrize("sample_rate", [8000, 16000, 22050, 44100])
def test_the_schemas_empty_bands_are_librosas(sample_rate):
    """params.empty_mel_bands (pure maths, for the schema) finds exactly the bands whose librosa filter is zero."""
    import itertools
    import warnings

    from avemo.params import empty_mel_bands

    checked = 0
    for n_fft, n_mels, fmin, fmax in itertools.product(
        (64, 256, 512, 2048), (8, 40, 64, 128), (0, 50, 300, 3990, 7990), (2000, 4000, 8000, 11025)
    ):
        if fmin >= fmax or fmax > sample_rate / 2:
            continue
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # librosa's "Empty filters detected"
            bank = librosa.filters.mel(sr=sample_rate, n_fft=n_fft, n_mels=n_mels, fmin=fmin, fmax=fmax)
        ours = empty_mel_bands(sample_rate, n_fft=n_fft, n_mels=n_mels, fmin=fmin, fmax=fmax)
        assert ours == np.flatnonzero(bank.max(axis=1) <= 0).tolist(), (n_fft, n_mels, fmin, fmax)
        checked += 1
    assert checked >= 100


def test_preview_is_flipped_greyscale():
    spec = np.full((4, 6), -80.0, np.float32)
    spec[0] = 0.0  # lowest band loudest
    image = np.asarray(features.preview_image(spec, 80))
    assert image.shape == (4, 6)
    assert image[-1].tolist() == [255] * 6 and image[0].tolist() == [0] * 6


# numpy and OpenBLAS pick their kernels by CPU at start; with these they run the x86-64-v2 (SSE4) and
# Nehalem ones, a CPU unlike this one wherever this one has AVX2 or AVX-512.
OLDER_CPU = {"NPY_DISABLE_CPU_FEATURES": "X86_V3 X86_V4 AVX512_ICL AVX512_SPR", "OPENBLAS_CORETYPE": "Nehalem"}
LOG_MEL_BYTES = """
import sys, numpy as np
from avemo.preprocess import spectrogram as features
# 16-bit samples, as a WAV holds (np.sin would itself differ between the CPUs): a square wave and noise
steps = np.arange(16000)
pcm = np.where((steps // 40) % 2 == 0, 6000, -6000) + np.random.default_rng(1).integers(-300, 300, steps.size)
samples = pcm.astype(np.float32) / np.float32(32768)
basis = features.mel_filterbank(16000, n_fft=512, n_mels=40, fmin=50, fmax=8000)
spec = features.log_mel(samples, basis, sample_rate=16000, duration=1.0, hop_length=160, top_db=80)
sys.stdout.write(spec.tobytes().hex())
"""


def test_log_mel_has_the_same_bytes_on_an_older_cpu():
    import os
    import subprocess
    import sys

    def run(extra_env):
        env = {**os.environ, **extra_env}
        return subprocess.run(
            [sys.executable, "-c", LOG_MEL_BYTES], env=env, capture_output=True, text=True, check=True
        )

    here, older = run({}).stdout, run(OLDER_CPU).stdout
    assert len(here) == 2 * 4 * 40 * 101 and here == older

import numpy as np
import pytest
from conftest import tiny

from avemo import features


def test_fixed_length_centre_crops_and_pads():
    x = np.arange(10, dtype=np.float32)
    assert features.fixed_length(x, 4).tolist() == [3, 4, 5, 6]
    padded = features.fixed_length(x, 14)
    assert padded.size == 14 and padded[:2].tolist() == [0, 0] and padded[2:12].tolist() == x.tolist()


@pytest.mark.parametrize("seconds", [0.3, 1.0, 2.7])
def test_log_mel_shape_follows_params_whatever_the_length(seconds):
    params = tiny("melspec")
    rng = np.random.default_rng(0)
    samples = rng.standard_normal(int(seconds * 16000)).astype(np.float32)
    spec = features.log_mel(samples, 16000, **{k: params[k] for k in ("duration", "n_fft", "hop_length", "n_mels", "fmin", "fmax", "top_db")})
    assert spec.shape == (16, features.frame_count(1.0, 16000, 160)) == (16, 101)
    assert spec.dtype == np.float32
    assert spec.max() == pytest.approx(0.0) and spec.min() >= -80.0


def test_log_mel_puts_a_tone_in_the_right_band():
    t = np.arange(16000) / 16000
    tone = np.sin(2 * np.pi * 4000 * t).astype(np.float32)
    spec = features.log_mel(tone, 16000, duration=1.0, n_fft=512, hop_length=160, n_mels=40, fmin=0, fmax=8000, top_db=80)
    import librosa

    centres = librosa.mel_frequencies(n_mels=42, fmin=0, fmax=8000)[1:-1]
    assert abs(centres[int(spec.mean(axis=1).argmax())] - 4000) < 300


def test_log_mel_rejects_fmax_above_nyquist():
    with pytest.raises(ValueError, match="Nyquist"):
        features.log_mel(np.zeros(100, np.float32), 8000, duration=0.1, n_fft=64, hop_length=16, n_mels=8, fmin=0, fmax=8000, top_db=80)


def test_preview_is_flipped_greyscale():
    spec = np.full((4, 6), -80.0, np.float32)
    spec[0] = 0.0  # lowest band loudest
    image = np.asarray(features.preview_image(spec, 80))
    assert image.shape == (4, 6)
    assert image[-1].tolist() == [255] * 6 and image[0].tolist() == [0] * 6

"""avemo.modeling.inputs: what the encoder sees, spectrograms and faces as normalised images."""

import numpy as np
import torch
from PIL import Image

from avemo.modeling.inputs import IMAGENET_MEAN, IMAGENET_STD, face_input, spectrogram_input, spectrogram_unit_image


def test_spectrogram_normalisation_is_fixed_and_documented(tmp_path):
    spectrogram = np.full((16, 101), -80.0, dtype=np.float32)
    spectrogram[0, :] = 0.0  # the lowest mel band at the peak
    spectrogram[5, :] = -200.0  # below -top_db: clipped to silence
    unit = spectrogram_unit_image(spectrogram, 32, top_db=80)
    assert unit.shape == (3, 32, 32) and torch.equal(unit[0], unit[2])
    assert unit.min() >= 0 and unit.max() <= 1
    assert unit[0, -1].mean() > 0.9 and unit[0, 0].mean() < 0.05  # low frequencies at the bottom
    np.save(tmp_path / "clip.npy", spectrogram)
    assert torch.allclose(spectrogram_input(tmp_path / "clip.npy", 32, 80), (unit - IMAGENET_MEAN) / IMAGENET_STD)


def test_face_input_is_resized_and_imagenet_normalised(tmp_path):
    Image.new("RGB", (128, 128), (255, 0, 128)).save(tmp_path / "face.png")
    image = face_input(tmp_path / "face.png", 32)
    assert image.shape == (3, 32, 32)
    expected = (torch.tensor([1.0, 0.0, 128 / 255]).view(3, 1, 1) - IMAGENET_MEAN) / IMAGENET_STD
    assert torch.allclose(image, expected.expand(3, 32, 32), atol=1e-5)
    flipped = face_input(tmp_path / "face.png", 32, augment=True)
    assert flipped.shape == (3, 32, 32)

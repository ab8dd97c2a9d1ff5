"""avemo.modeling.classifiers: the AV model's one encoder, missing modalities, modality dropout."""

import pytest
import torch

from avemo.modeling.classifiers import build_model, model_config
from avemo.modeling.encoders import (
    Encoder,
)
from helpers import CLASSES
from helpers import ENCODER as PRETRAINED
from helpers import FINE_TUNED as TRAIN
from helpers import RANDOM_ENCODER as ENCODER


@pytest.mark.parametrize("fusion", ["concat", "mean"])
def test_av_model_has_one_encoder_and_works_with_a_missing_modality(fusion):
    model = build_model(
        model_config("av", PRETRAINED, CLASSES, TRAIN, {"method": fusion, "modality_dropout": 0.5}), pretrained=True
    ).eval()
    assert sum(isinstance(m, Encoder) for m in model.modules()) == 1
    audio, video = torch.randn(4, 3, 32, 32), torch.randn(4, 3, 32, 32)
    with torch.no_grad():
        both = model(audio, video)
        audio_only = model(audio=audio)
        faces_only = model(video=video)
        # Clip 1 has no face: its logits are those of its spectrogram alone; clip 0 keeps both.
        mixed = model(audio, video, video_present=torch.tensor([True, False, True, True]))
    assert both.shape == audio_only.shape == faces_only.shape == (4, 3)
    assert not torch.allclose(both, audio_only)
    assert torch.allclose(mixed[1], audio_only[1], atol=1e-5)
    assert torch.allclose(mixed[0], both[0], atol=1e-5)
    with pytest.raises(ValueError, match="at least one"):
        model()


def test_av_model_encodes_both_modalities_in_one_pass():
    model = build_model(
        model_config("av", ENCODER, CLASSES, TRAIN, {"method": "concat", "modality_dropout": 0.0})
    ).eval()
    calls = []
    model.encoder.register_forward_hook(lambda module, args, out: calls.append(args[0].shape[0]))
    with torch.no_grad():
        model(torch.randn(3, 3, 32, 32), torch.randn(3, 3, 32, 32))
    assert calls == [6]


def test_modality_dropout_hides_one_modality_only_in_training():
    model = build_model(model_config("av", ENCODER, CLASSES, TRAIN, {"method": "mean", "modality_dropout": 1.0}))
    present = torch.ones(1000, dtype=torch.bool)
    audio, video = model._drop_modalities(present, present)
    assert not (audio & video).any() and (audio | video).all()  # exactly one of the two survives
    assert 0.4 < audio.float().mean() < 0.6
    model.eval()
    features = torch.randn(4, model.encoder.feature_dim)
    with torch.no_grad():
        assert torch.equal(model.classify(features, features), model.classify(features, features))


def test_a_missing_modality_never_passes_the_encoder():
    model = build_model(model_config("av", ENCODER, CLASSES, TRAIN, {"method": "concat", "modality_dropout": 0.0}))
    seen = []
    model.encoder.register_forward_hook(lambda module, args, output: seen.append(args[0].shape[0]))
    audio, video = torch.randn(3, 3, 32, 32), torch.randn(3, 3, 32, 32)
    audio_present, video_present = torch.tensor([True, False, True]), torch.tensor([False, True, True])
    audio_features, video_features = model.eval().encode(audio, video, audio_present, video_present)
    assert seen == [4]  # the two spectrograms and two faces that exist, in one pass
    assert torch.equal(audio_features[1], torch.zeros_like(audio_features[1]))
    assert torch.equal(video_features[0], torch.zeros_like(video_features[0]))
    alone, _ = model.encode(audio[2:], None)  # a clip's features do not depend on the rest of the batch
    assert torch.allclose(audio_features[2], alone[0], atol=1e-5)

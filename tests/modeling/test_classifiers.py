"""avemo.modeling.classifiers: the AV model's encoder shared, separate or with a norm per modality,
missing modalities, modality dropout."""

import pytest
import torch

from avemo.modeling.classifiers import build_model, frozen_state_keys, model_config, trainable_parameters
from avemo.modeling.encoders import Encoder, ModalityNorm
from helpers import CLASSES, FUSION, TINY_TRAIN
from helpers import ENCODER as PRETRAINED
from helpers import RANDOM_ENCODER as ENCODER


def av_model(sharing="shared", encoder=PRETRAINED, **fusion):
    config = model_config("av", encoder, CLASSES, TINY_TRAIN, {**FUSION, "sharing": sharing, **fusion})
    return build_model(config, pretrained=encoder["pretrained"])


@pytest.mark.parametrize("fusion", ["concat", "mean"])
def test_av_model_has_one_encoder_and_works_with_a_missing_modality(fusion):
    model = av_model(method=fusion, modality_dropout=0.5).eval()
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


def test_the_shared_encoder_is_one_parameter_set_that_both_modalities_pass_in_one_pass():
    model = av_model("shared").eval()
    calls = []
    model.encoder.register_forward_hook(lambda module, args, out: calls.append(args[0].shape[0]))
    with torch.no_grad():
        model(torch.randn(3, 3, 32, 32), torch.randn(3, 3, 32, 32))
    assert calls == [6] and model.video_encoder is None
    assert model.encoder_of("audio") is model.encoder_of("video")


@pytest.mark.parametrize("sharing", ["shared", "separate", "modality_norm"])
def test_a_clips_frames_pass_as_images_and_its_video_features_are_their_mean(sharing):
    model = av_model(sharing).eval()
    calls = []
    for encoder in model.encoders():
        encoder.register_forward_hook(lambda module, args, out: calls.append(args[0].shape[0]))
    audio, frames = torch.randn(4, 3, 32, 32), torch.randn(4, 3, 3, 32, 32)  # 4 clips, 3 frames each
    video_present = torch.tensor([True, True, False, True])
    with torch.no_grad():
        audio_features, video_features = model.encode(audio, frames, None, video_present)
        faces = model.encoder_of("video")(frames[video_present])
        spectrograms = model.encoder_of("audio")(audio)
    assert calls[0] == (4 + 3 * 3 if sharing == "shared" else 4)  # shared: the 9 faces among the 4 spectrograms
    assert torch.allclose(video_features[video_present], faces, atol=1e-5) and not video_features[2].any()
    assert torch.allclose(audio_features, spectrograms, atol=1e-5)
    assert model(audio, frames, video_present=video_present).shape == (4, 3)


def test_one_frame_a_clip_takes_the_shared_pass_of_before_bit_for_bit():
    model = av_model("shared").eval()
    audio, video = torch.randn(4, 3, 32, 32), torch.randn(4, 3, 32, 32)
    present = torch.tensor([True, False, True, True])
    with torch.no_grad():
        audio_features, video_features = model.encode(audio, video, None, present)
        before = model.encoder(torch.cat([audio, video[present]]))  # one pass, one standardisation
    assert torch.equal(audio_features, before[:4]) and torch.equal(video_features[present], before[4:])


def test_separate_encoders_are_two_identical_copies_with_twice_the_trainable_encoder_weights():
    shared, separate = av_model("shared"), av_model("separate")
    assert len(separate.encoders()) == 2 and separate.encoder_of("audio") is not separate.encoder_of("video")
    assert trainable_parameters(separate)["encoder"] == 2 * trainable_parameters(shared)["encoder"] > 0
    audio_state, video_state = separate.encoder.state_dict(), separate.video_encoder.state_dict()
    assert all(torch.equal(audio_state[k], video_state[k]) for k in audio_state)  # initialised identically
    trained = {id(p) for p in separate.video_encoder.parameters() if p.requires_grad}
    assert trained.isdisjoint(id(p) for p in separate.encoder.parameters())


def test_norm_per_modality_shares_the_weights_and_keeps_a_batch_norm_per_modality():
    model = av_model("modality_norm").eval()
    norms = model.encoder.modality_norms()
    assert norms and len(model.encoders()) == 1
    assert all(isinstance(n, ModalityNorm) and set(n.norms) == {"audio", "video"} for n in norms)
    assert not [n for n in model.encoder.frozen_modules() for m in n.modules() if isinstance(m, ModalityNorm)]
    with torch.no_grad():
        norms[0].norms["video"].bias.add_(1.0)  # the faces' norm now differs from the spectrograms'
        images = torch.randn(2, 3, 32, 32)
        as_audio, as_video = model.encode(images, None)[0], model.encode(None, images)[1]
    assert not torch.allclose(as_audio, as_video)


def test_a_mixed_batch_is_normalised_like_a_batch_of_either_modality():
    model = av_model("shared").train()  # train mode: a pretrained encoder's batch norm keeps its statistics
    model.encoder.blocks[-1].rate = 0.0  # no drop-connect, so that train mode is deterministic
    audio, video = torch.randn(3, 3, 32, 32), torch.randn(3, 3, 32, 32) + 2.0
    with torch.no_grad():
        mixed_audio, mixed_video = model.encode(audio, video)
        alone_audio, _ = model.encode(audio, None)
        _, alone_video = model.encode(None, video)
    assert torch.allclose(mixed_audio, alone_audio, atol=1e-5) and torch.allclose(mixed_video, alone_video, atol=1e-5)


def test_only_the_layers_above_the_cut_train():
    model = av_model("shared", {**PRETRAINED, "trainable": 2})
    trained = {n.split(".")[1:3] and ".".join(n.split(".")[:3]) for n, p in model.named_parameters() if p.requires_grad}
    assert trained == {
        "encoder.blocks.14",
        "encoder.blocks.15",
        "encoder.tail.0",
        "encoder.tail.1",
        "head.1.weight",
        "head.1.bias",
    }
    frozen = frozen_state_keys(model)
    assert "encoder.blocks.13.block._bn0.running_mean" in frozen and not [k for k in frozen if "blocks.14" in k]


def test_modality_dropout_hides_one_modality_only_in_training():
    model = av_model(encoder=ENCODER, method="mean", modality_dropout=1.0)
    present = torch.ones(1000, dtype=torch.bool)
    audio, video = model._drop_modalities(present, present)
    assert not (audio & video).any() and (audio | video).all()  # exactly one of the two survives
    assert 0.4 < audio.float().mean() < 0.6
    seen = []
    model.encoder.register_forward_hook(lambda module, args, output: seen.append(args[0].shape[0]))
    images = torch.randn(6, 3, 32, 32)
    with torch.no_grad():
        model.train()(images, images)  # each clip keeps one modality: only that one passes the encoder
        model.eval()(images, images)  # evaluation hides nothing
    assert seen == [6, 12]


@pytest.mark.parametrize("sharing", ["shared", "separate", "modality_norm"])
def test_a_missing_modality_never_passes_the_encoder(sharing):
    model = av_model(sharing, ENCODER, modality_dropout=0.0)
    seen = []
    for encoder in model.encoders():
        encoder.register_forward_hook(lambda module, args, output: seen.append(args[0].shape[0]))
    audio, video = torch.randn(3, 3, 32, 32), torch.randn(3, 3, 32, 32)
    audio_present, video_present = torch.tensor([True, False, True]), torch.tensor([False, True, True])
    audio_features, video_features = model.eval().encode(audio, video, audio_present, video_present)
    assert sum(seen) == 4  # the two spectrograms and two faces that exist
    assert torch.equal(audio_features[1], torch.zeros_like(audio_features[1]))
    assert torch.equal(video_features[0], torch.zeros_like(video_features[0]))
    alone, _ = model.encode(audio[2:], None)  # a clip's features do not depend on the rest of the batch
    assert torch.allclose(audio_features[2], alone[0], atol=1e-5)

"""The shared encoder, its inputs, the AV fusion model and checkpoints."""

import numpy as np
import pytest
import torch
from PIL import Image

from avemo.modeling.checkpoints import load_checkpoint, save_checkpoint
from avemo.modeling.classifiers import AVClassifier, build_model, model_config
from avemo.modeling.encoders import (
    Encoder,
    MissingWeightsError,
    build_encoder,
    efficientnet_lite0_weights_file,
    first_conv,
)
from avemo.modeling.inputs import IMAGENET_MEAN, IMAGENET_STD, face_input, spectrogram_input, spectrogram_unit_image
from avemo.params import ARCHS
from helpers import TINY_PARAMS, merged_params, run_stage, write_params

CLASSES = ["ANG", "HAP", "SAD"]
ENCODER = {**TINY_PARAMS["encoder"], "pretrained": False}
TRAIN = {**TINY_PARAMS["train"], "freeze_encoder": False}  # a random encoder cannot stay frozen
# A randomly initialised encoder in eval mode maps every image to almost the same features: tests that
# compare outputs use the offline ImageNet weights.
PRETRAINED = dict(ENCODER, pretrained=True)


@pytest.fixture(autouse=True)
def _seeded():
    torch.manual_seed(0)


@pytest.mark.parametrize("arch", ARCHS)
def test_every_arch_maps_images_to_features_and_logits(arch):
    model = build_model(model_config("audio", dict(ENCODER, arch=arch), CLASSES, TRAIN)).eval()
    images = torch.randn(2, 3, 32, 32)
    with torch.no_grad():
        features = model.encoder(images)
        logits = model(images)
    assert features.shape == (2, model.encoder.feature_dim)
    assert logits.shape == (2, 3)
    assert first_conv(model.encoder).in_channels == 3  # the pretrained 3-channel first layer is kept


def test_efficientnet_lite0_loads_its_offline_imagenet_weights():
    encoder = build_encoder("efficientnet_lite0", pretrained=True)
    shipped = torch.load(efficientnet_lite0_weights_file(), map_location="cpu", weights_only=True)
    assert torch.equal(first_conv(encoder).weight, shipped["_conv_stem.weight"])
    assert torch.equal(encoder.features.net._bn0.running_mean, shipped["_bn0.running_mean"])


def test_missing_torchvision_weights_offline_name_the_file_the_url_and_where_to_put_it(tmp_path, monkeypatch):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))
    monkeypatch.setenv("https_proxy", "http://127.0.0.1:9")  # offline: every download is refused at once
    with pytest.raises(MissingWeightsError) as error:
        build_encoder("vgg16", pretrained=True)
    expected = tmp_path / "hub" / "checkpoints" / "vgg16-397923af.pth"
    assert f"put that file at {expected}" in str(
        error.value
    ) and "https://download.pytorch.org/models/vgg16-397923af.pth" in str(error.value)
    assert "pretrained: false" in str(error.value) and not expected.exists()


def test_a_resnet18_run_offline_without_cached_weights_ends_in_one_line(tmp_path):
    params = merged_params({"encoder": {"arch": "resnet18", "pretrained": True, "image_size": 32}})
    write_params(tmp_path / "params.yaml", params)
    done = run_stage(
        "embed",
        "--params",
        str(tmp_path / "params.yaml"),
        cwd=tmp_path,
        env={
            "TORCH_HOME": str(tmp_path / "torch"),
            "https_proxy": "http://127.0.0.1:9",
            "HTTPS_PROXY": "http://127.0.0.1:9",
        },
    )
    assert done.returncode == 1 and "Traceback" not in done.stderr, done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(
        "embed: encoder.arch resnet18 needs its ImageNet weights resnet18-f37072fd.pth"
    ), lines


def test_torchvision_weights_are_read_from_the_hub_cache(tmp_path, monkeypatch):
    import torchvision

    monkeypatch.setenv("TORCH_HOME", str(tmp_path))
    weights = torchvision.models.resnet18(weights=None).state_dict()
    (tmp_path / "hub" / "checkpoints").mkdir(parents=True)
    torch.save(weights, tmp_path / "hub" / "checkpoints" / "resnet18-f37072fd.pth")
    encoder = build_encoder("resnet18", pretrained=True)
    assert torch.equal(first_conv(encoder).weight, weights["conv1.weight"])


def test_unknown_arch_is_refused():
    with pytest.raises(ValueError, match="encoder.arch"):
        build_encoder("alexnet", pretrained=False)


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


def test_checkpoint_bytes_do_not_depend_on_the_run(tmp_path):
    config = model_config(
        "audio", PRETRAINED, CLASSES, {**TRAIN, "dropout": 0.1}, {"method": "concat", "modality_dropout": 0.3}
    )
    model = build_model(config, pretrained=True).eval()
    # torch.save into a file names the zip's folder after the (temporary, per-process) file name
    first = save_checkpoint(tmp_path / "audio.pt", model, config, {"best_epoch": 3}).read_bytes()
    second = save_checkpoint(tmp_path / "other.pt", model, config, {"best_epoch": 3}).read_bytes()
    assert first == second  # DVC sees an unchanged model as unchanged


def test_checkpoint_round_trip_with_weights_only(tmp_path):
    config = model_config(
        "av",
        PRETRAINED,
        CLASSES,
        {**TRAIN, "head_hidden": 16, "dropout": 0.1},
        {"method": "concat", "modality_dropout": 0.3},
    )
    model = build_model(config, pretrained=True).eval()
    path = save_checkpoint(tmp_path / "av.pt", model, config, {"best_epoch": 3})
    raw = torch.load(path, weights_only=True)
    assert raw["config"] == config and raw["info"] == {"best_epoch": 3}
    loaded, checkpoint = load_checkpoint(path)
    assert isinstance(loaded, AVClassifier) and not loaded.training
    audio, video = torch.randn(2, 3, 32, 32), torch.randn(2, 3, 32, 32)
    with torch.no_grad():
        expected = model(audio, video)
        assert torch.equal(loaded(audio, video), expected) and not torch.allclose(expected[0], expected[1])


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


def test_encoder_standardisation_is_saved_and_applied():
    encoder = build_encoder("efficientnet_lite0", pretrained=True).eval()
    images = torch.randn(6, 3, 32, 32)
    with torch.no_grad():
        raw = encoder.raw(images)
        encoder.set_standardisation(raw)
        scaled = encoder(images)
    informative = encoder.feature_mask.bool()
    assert torch.allclose(scaled.mean(dim=0), torch.zeros(encoder.feature_dim), atol=1e-4)
    assert torch.allclose(scaled[:, informative], ((raw - raw.mean(dim=0)) / raw.std(dim=0))[:, informative], atol=1e-4)
    assert {"feature_mean", "feature_std", "feature_mask"} <= {k.split(".")[-1] for k in encoder.state_dict()}


def test_a_feature_constant_in_training_cannot_dominate_another_input():
    encoder = build_encoder("efficientnet_lite0", pretrained=False)
    training = torch.randn(50, encoder.feature_dim)
    training[:, :43] = 0.25  # constant on the training inputs (as 43 features are on spectrograms)
    training[:, 43] = 0.25 + 1e-7 * torch.randn(50)  # constant but for float noise
    encoder.set_standardisation(training)
    assert encoder.feature_mask[:44].sum() == 0 and encoder.feature_mask[44:].all()
    other = training[:2] + torch.tensor([5.0]).repeat(encoder.feature_dim)  # another modality: far off everywhere
    z = encoder.standardise(other)
    assert torch.equal(z[:, :44], torch.zeros(2, 44))  # the masked features say nothing
    assert z.abs().max() <= 10.0  # and none says more than Z_LIMIT


def test_a_frozen_checkpoint_keeps_the_head_and_rebuilds_the_pretrained_encoder(tmp_path):
    config = model_config("video", PRETRAINED, CLASSES, {**TRAIN, "dropout": 0.1, "freeze_encoder": True})
    model = build_model(config, pretrained=True).eval()
    model.encoder.set_standardisation(torch.randn(8, model.encoder.feature_dim))
    path = save_checkpoint(tmp_path / "video.pt", model, config)
    saved = torch.load(path, weights_only=True)["state_dict"]
    assert config["frozen_encoder"] and not [k for k in saved if k.startswith("encoder.features.")]
    assert {"encoder.feature_mean", "encoder.feature_mask", "head.1.weight"} <= set(saved)
    assert path.stat().st_size < 100_000  # the 13 MB of ImageNet weights are not copied into every repeat's model
    loaded, _ = load_checkpoint(path)
    images = torch.randn(2, 3, 32, 32)
    with torch.no_grad():
        assert torch.equal(loaded(images), model(images))

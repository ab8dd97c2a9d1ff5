"""avemo.modeling.checkpoints: the same bytes every run, weights_only loading, checkpoints that hold the
trained layers and the head but not the frozen layers."""

import pytest
import torch

from avemo.modeling.checkpoints import load_checkpoint, save_checkpoint
from avemo.modeling.classifiers import AVClassifier, build_model, model_config
from helpers import CLASSES, FUSION, TINY_TRAIN
from helpers import ENCODER as PRETRAINED


def test_checkpoint_bytes_do_not_depend_on_the_run(tmp_path):
    config = model_config("audio", PRETRAINED, CLASSES, {**TINY_TRAIN, "dropout": 0.1})
    model = build_model(config, pretrained=True).eval()
    # torch.save into a file names the zip's folder after the (temporary, per-process) file name
    first = save_checkpoint(tmp_path / "audio.pt", model, config, {"best_epoch": 3}).read_bytes()
    second = save_checkpoint(tmp_path / "other.pt", model, config, {"best_epoch": 3}).read_bytes()
    assert first == second  # DVC sees an unchanged model as unchanged


@pytest.mark.parametrize("sharing", ["shared", "separate", "modality_norm"])
def test_checkpoint_round_trip_with_weights_only(tmp_path, sharing):
    config = model_config(
        "av", PRETRAINED, CLASSES, {**TINY_TRAIN, "head_hidden": 16, "dropout": 0.1}, {**FUSION, "sharing": sharing}
    )
    model = build_model(config, pretrained=True).eval()
    with torch.no_grad():  # trained layers that differ from the installed weights must come from the file
        for encoder in model.encoders():
            for p in encoder.blocks[-1].parameters():
                p.add_(0.01 * torch.randn_like(p))
    path = save_checkpoint(tmp_path / "av.pt", model, config, {"best_epoch": 3})
    raw = torch.load(path, weights_only=True)
    assert raw["config"] == config and raw["info"] == {"best_epoch": 3}
    loaded, checkpoint = load_checkpoint(path)
    assert isinstance(loaded, AVClassifier) and not loaded.training and loaded.sharing == sharing
    audio, video = torch.randn(2, 3, 32, 32), torch.randn(2, 3, 32, 32)
    with torch.no_grad():
        expected = model(audio, video)
        assert torch.equal(loaded(audio, video), expected) and not torch.allclose(expected[0], expected[1])


# The whole encoder's weights are 13 MB: the probe's checkpoint has none, the top block's 4 MB (the head
# convolution alone is 320 x 1280 weights).
@pytest.mark.parametrize(
    "trainable, kept_blocks, tail, most_bytes",
    [("none", [], False, 100_000), (1, [15], True, 5_000_000), (2, [14, 15], True, 7_000_000)],
)
def test_a_checkpoint_holds_the_trained_layers_and_the_head_not_the_frozen_ones(
    tmp_path, trainable, kept_blocks, tail, most_bytes
):
    config = model_config("video", {**PRETRAINED, "trainable": trainable}, CLASSES, {**TINY_TRAIN, "dropout": 0.1})
    model = build_model(config, pretrained=True).eval()
    model.encoder.set_standardisation(torch.randn(8, model.encoder.feature_dim))
    path = save_checkpoint(tmp_path / "video.pt", model, config)
    saved = torch.load(path, weights_only=True)["state_dict"]
    blocks = {int(k.split(".")[2]) for k in saved if k.startswith("encoder.blocks.")}
    assert blocks == set(kept_blocks) and not [k for k in saved if k.startswith("encoder.stem.")]
    assert any(k.startswith("encoder.tail.") for k in saved) == tail
    assert {"encoder.feature_mean", "encoder.feature_mask", "head.1.weight"} <= set(saved)
    assert path.stat().st_size < most_bytes  # the frozen ImageNet weights are not copied into every repeat's model
    loaded, _ = load_checkpoint(path)
    images = torch.randn(2, 3, 32, 32)
    with torch.no_grad():
        assert torch.equal(loaded(images), model(images))


def test_a_checkpoint_that_does_not_fit_its_config_is_refused(tmp_path):
    config = model_config("audio", PRETRAINED, CLASSES, TINY_TRAIN)
    path = save_checkpoint(tmp_path / "audio.pt", build_model(config, pretrained=True), config)
    checkpoint = torch.load(path, weights_only=True)
    checkpoint["config"]["trainable"] = 2  # block 14 is then trained, but the file has only the frozen one
    torch.save(checkpoint, path)
    with pytest.raises(ValueError, match="do not fit"):
        load_checkpoint(path)

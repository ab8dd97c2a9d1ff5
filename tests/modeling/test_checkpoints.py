"""avemo.modeling.checkpoints: the same bytes every run, weights_only loading, frozen checkpoints without
the backbone."""

import torch

from avemo.modeling.checkpoints import load_checkpoint, save_checkpoint
from avemo.modeling.classifiers import AVClassifier, build_model, model_config
from helpers import CLASSES
from helpers import ENCODER as PRETRAINED
from helpers import FINE_TUNED as TRAIN


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

"""avemo.modeling.checkpoints: the same bytes every run, weights_only loading, checkpoints that hold the
trained layers and the head but not the frozen layers, crafted files refused in one line before anything
is built, and a folder a killed run left incomplete named as such."""

import re

import pytest
import torch

from avemo.modeling import checkpoints
from avemo.modeling.checkpoints import (
    RUN_REPEATS,
    SYNTHETIC_SAMPLE,
    CheckpointError,
    incomplete_run,
    load_checkpoint,
    save_checkpoint,
)
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


@pytest.fixture
def saved(tmp_path):
    """An AV checkpoint with its preprocessing settings, as training writes one: (path, raw contents)."""
    config = model_config(
        "av",
        PRETRAINED,
        CLASSES,
        TINY_TRAIN,
        FUSION,
        {
            "audio": {"sample_rate": 16000, "n_fft": 256, "hop_length": 160, "fmin": 50, "fmax": 8000},
            "video": {},
            "frames": {"position": 0.5, "frames_per_clip": 1},
        },
    )
    info = {"best_epoch": 1, RUN_REPEATS: [[0, 0], [0, 1]], SYNTHETIC_SAMPLE: True}
    path = save_checkpoint(tmp_path / "fold0_seed0.pt", build_model(config, pretrained=True), config, info)
    return path, torch.load(path, weights_only=True)


# Crafted configs, each with the field its one line must name: huge sizes, an unknown arch, negative
# counts, wrong types, values no params.yaml could hold.
CRAFTED = [
    (
        ("image_size",),
        100_000,
        "config image_size is 100000; expected an integer >= 32 and <= 1024 (encoder.image_size)",
    ),
    (("head_hidden",), 10**9, "config head_hidden is 1000000000; expected an integer >= 0 and <= 8192"),
    (("head_hidden",), -4, "config head_hidden is -4"),
    (("arch",), "alexnet", "config arch is 'alexnet'; expected one of efficientnet_lite0"),
    (("classes",), "ANG", "config classes is 'ANG'; expected a list of at least 2 codes"),
    (("classes",), [], "config classes is []"),
    (("dropout",), "0.2", "config dropout is '0.2'; expected a number >= 0 and < 1 (train.dropout)"),
    (("pretrained",), 1, "config pretrained is 1; expected true or false"),
    (("trainable",), 40, "encoder.trainable is more blocks than encoder.arch has"),
    (("sharing",), "half", "config sharing is 'half'"),
    (("modality_dropout",), 3.0, "config modality_dropout is 3.0"),
    (("kind",), "text", "config kind is 'text'; expected one of audio, video, av"),
    (("preprocessing", "audio", "n_fft"), 10**9, "config preprocessing.audio.n_fft is 1000000000; expected an integer"),
    (("preprocessing", "audio", "sample_rate"), -1, "config preprocessing.audio.sample_rate is -1"),
    (("preprocessing", "audio", "fmax"), 9000, "melspec.fmax must be at most half of audio.sample_rate"),
    (("preprocessing", "video", "image_size"), 100_000, "config preprocessing.video.image_size is 100000"),
    (("preprocessing", "frames", "frames_per_clip"), 10**7, "config preprocessing.frames.frames_per_clip is 10000000"),
    (("preprocessing", "frames", "position"), 7, "config preprocessing.frames.position is 7; expected a number"),
    (("preprocessing", "video"), [1, 2], "config preprocessing is not a mapping of each modality to its settings"),
]


@pytest.mark.parametrize("where, value, expected", CRAFTED, ids=[".".join(c[0]) + f"={c[1]!r}"[:30] for c in CRAFTED])
def test_a_crafted_config_is_refused_in_one_line_before_any_model_is_built(saved, monkeypatch, where, value, expected):
    path, checkpoint = saved
    fields = checkpoint["config"]
    for key in where[:-1]:
        fields = fields[key]
    fields[where[-1]] = value
    torch.save(checkpoint, path)
    monkeypatch.setattr(checkpoints, "build_model", lambda *a, **k: pytest.fail("built a model from a crafted config"))
    with pytest.raises(CheckpointError) as refused:
        load_checkpoint(path)
    message = str(refused.value)
    assert message.startswith(f"{path}: refused before building its model: ") and "\n" not in message
    assert expected in message


@pytest.mark.parametrize(
    "edit, expected",
    [
        (lambda c: c["config"].pop("image_size"), "its config lacks image_size"),
        (lambda c: c.update(config=[1, 2]), "its config is not a mapping"),
        (lambda c: c["info"].update({RUN_REPEATS: [[0, -1]]}), "info run_repeats is not a list of [fold, seed] pairs"),
        (
            lambda c: c["info"].update({SYNTHETIC_SAMPLE: "yes"}),
            "info synthetic_sample is 'yes'; expected true or false",
        ),
        (lambda c: c.update(state_dict=[0]), "its state_dict is not a mapping"),
    ],
)
def test_a_checkpoint_of_the_wrong_shape_is_refused_in_one_line(saved, edit, expected):
    path, checkpoint = saved
    edit(checkpoint)
    torch.save(checkpoint, path)
    with pytest.raises(CheckpointError, match=re.escape(expected)):
        load_checkpoint(path)


def test_a_file_that_is_no_checkpoint_is_one_line(tmp_path):
    for name, write in (
        ("notes.pt", lambda p: p.write_text("not a checkpoint\n")),
        ("empty.pt", lambda p: p.write_bytes(b"")),
        ("list.pt", lambda p: torch.save([1, 2], p)),
        ("old.pt", lambda p: torch.save({"format": 2}, p)),
    ):
        write(tmp_path / name)
        with pytest.raises(CheckpointError) as refused:
            load_checkpoint(tmp_path / name)
        assert str(refused.value).startswith(f"{tmp_path / name}: ") and "\n" not in str(refused.value)


def test_a_weight_of_another_shape_is_one_line(saved):
    path, checkpoint = saved
    checkpoint["state_dict"]["head.1.weight"] = torch.zeros(7, 7)
    torch.save(checkpoint, path)
    with pytest.raises(CheckpointError, match="weights do not fit the model its config describes"):
        load_checkpoint(path)


def test_a_folder_is_incomplete_when_a_checkpoint_of_its_run_is_missing(saved):
    path, checkpoint = saved  # its run: fold 0 x seeds 0 and 1
    other = path.with_name("fold0_seed1.pt")
    assert incomplete_run(path.parent, {path: checkpoint}) == (
        f"{path.parent}: incomplete: 1 of the 2 checkpoints of its training run (1 fold(s) x 2 seed(s)), missing "
        "fold0_seed1.pt (the run stopped early?); rerun its training stage (`dvc repro`)"
    )
    assert incomplete_run(path.parent, {path: checkpoint, other: checkpoint}) is None
    stray = path.with_name("fold1_seed0.pt")
    assert "fold1_seed0.pt not of the training run" in incomplete_run(
        path.parent, {path: checkpoint, other: checkpoint, stray: checkpoint}
    )
    another_run = {**checkpoint, "info": {**checkpoint["info"], RUN_REPEATS: [[0, 0]]}}
    assert "checkpoints of 2 different training runs" in incomplete_run(
        path.parent, {path: checkpoint, other: another_run}
    )
    before = {**checkpoint, "info": {"best_epoch": 1}}  # made before checkpoints named their run: not judged
    assert incomplete_run(path.parent, {path: before}) is None

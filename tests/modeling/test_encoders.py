"""avemo.modeling.encoders: every arch maps images to features; ImageNet weights offline, from the hub
cache or a one-line error; the standardisation."""

import pytest
import torch

from avemo.modeling.classifiers import build_model, model_config
from avemo.modeling.encoders import (
    MissingWeightsError,
    ModalityNorm,
    batch_norms,
    build_encoder,
    efficientnet_lite0_weights_file,
    first_conv,
)
from avemo.params import ARCHS, BLOCKS
from helpers import CLASSES, merged_params, run_stage, write_params
from helpers import RANDOM_ENCODER as ENCODER
from helpers import TINY_TRAIN as TRAIN


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
    assert torch.equal(encoder.stem[1].running_mean, shipped["_bn0.running_mean"])


def test_missing_torchvision_weights_offline_name_the_file_the_url_and_where_to_put_it(tmp_path, monkeypatch):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))
    monkeypatch.setenv("https_proxy", "http://127.0.0.1:9")  # offline: every download is refused at once,
    monkeypatch.setenv("no_proxy", "")  # never a wait on a real connection, whatever the machine's proxy settings
    monkeypatch.setenv("NO_PROXY", "")
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
            "no_proxy": "",
            "NO_PROXY": "",
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


def test_a_pretrained_encoder_keeps_its_batch_norm_statistics_while_it_trains():
    encoder = build_encoder("efficientnet_lite0", pretrained=True)
    before = {k: v.clone() for k, v in encoder.state_dict().items() if "running_" in k}
    encoder.train()
    assert batch_norms(encoder) and not any(norm.training for norm in batch_norms(encoder))
    optimiser = torch.optim.SGD(encoder.parameters(), lr=0.1)
    encoder(torch.randn(4, 3, 32, 32) * 3 + 1).sum().backward()  # far from ImageNet's statistics
    optimiser.step()
    after = {k: v for k, v in encoder.state_dict().items() if "running_" in k}
    assert all(torch.equal(before[k], after[k]) for k in before)
    assert not torch.equal(first_conv(encoder).weight, first_conv(build_encoder("efficientnet_lite0", True)).weight)


def test_with_frozen_statistics_training_and_evaluation_are_the_same_function():
    # resnet18 has no dropout, so with its batch norm frozen its train-mode and eval-mode outputs agree.
    encoder = build_encoder("resnet18", pretrained=False)
    encoder.frozen_statistics = True  # as a pretrained one (its ImageNet weights are not installed offline)
    images = torch.randn(6, 3, 32, 32)
    trained = encoder.train()(images)
    assert torch.allclose(trained, encoder.eval()(images), atol=1e-6)


def test_a_random_encoder_learns_its_batch_norm_statistics_with_a_momentum_that_tracks():
    encoder = build_encoder("efficientnet_lite0", pretrained=False).train()
    assert all(norm.training and norm.momentum == 0.1 for norm in batch_norms(encoder))


def library_backbone(arch: str) -> torch.nn.Module:
    """The backbone as its library computes it (the reference for the stem, blocks and tail)."""
    import torchvision.models as tvm
    from efficientnet_lite_pytorch import EfficientNet

    if arch == "efficientnet_lite0":

        class Features(torch.nn.Module):
            def __init__(self):
                super().__init__()
                self.net = EfficientNet.from_name("efficientnet-lite0", image_size=None)

            def forward(self, x):
                return self.net.extract_features(x)

        return Features()
    net = getattr(tvm, arch)(weights=None)
    if arch == "resnet18":
        return torch.nn.Sequential(*list(net.children())[:-2])
    return net.features


@pytest.mark.parametrize("arch", ARCHS)
def test_every_arch_is_a_stem_its_blocks_and_a_tail_that_compute_the_librarys_backbone(arch):
    torch.manual_seed(0)
    encoder = build_encoder(arch, pretrained=False).eval()
    torch.manual_seed(0)  # the same random weights
    reference = library_backbone(arch).eval()
    for module in (encoder, reference):  # train-mode batch norm: eval mode's default statistics give ~0 here
        module.train()
        for block in getattr(module, "blocks", []):
            block.rate = 0.0
    if arch == "efficientnet_lite0":
        reference.net._global_params = reference.net._global_params._replace(drop_connect_rate=0.0)
    images = torch.randn(2, 3, 64, 64)
    with torch.no_grad():  # in the encoder's memory layout: the kernels (and last digits) follow it
        expected = reference(images.contiguous(memory_format=encoder.memory_format)).mean(dim=(2, 3))
        assert len(encoder.blocks) == BLOCKS[arch] and torch.allclose(encoder.raw(images), expected, atol=1e-5)


@pytest.mark.parametrize("arch", ARCHS)
@pytest.mark.parametrize("trainable", ["none", 1, 3, "all"])
def test_the_frozen_part_and_the_trained_part_compute_the_encoder(arch, trainable):
    encoder = build_encoder(arch, pretrained=False, trainable=trainable).eval()
    images = torch.randn(2, 3, 64, 64)
    with torch.no_grad():
        cut = encoder.frozen_part(images)
        assert torch.allclose(encoder.from_frozen(cut), encoder(images), atol=1e-5)
    trained = {id(p) for p in encoder.parameters() if p.requires_grad}
    frozen = {id(p) for m in encoder.frozen_modules() for p in m.parameters()}
    assert trained.isdisjoint(frozen) and trained | frozen == {id(p) for p in encoder.parameters()}
    if trainable == "none":
        assert cut.shape == (2, encoder.feature_dim) and not trained
    elif trainable == "all":
        assert cut is images and not frozen
    else:
        assert cut.dim() == 4 and len(encoder.trained_modules()) in (trainable, trainable + 1)


def test_train_mode_and_eval_mode_agree_on_training_data_when_the_top_trains():
    # Batch norm done right: the trained top keeps its (frozen) ImageNet statistics, so the network that is
    # trained is the one that is validated and tested. Drop-connect (a regulariser, off in eval) is set to 0.
    encoder = build_encoder("efficientnet_lite0", pretrained=True, trainable=2)
    for block in encoder.blocks[-2:]:
        block.rate = 0.0
    cut = encoder.eval().frozen_part(torch.randn(8, 3, 64, 64) * 2 + 1)  # far from ImageNet's statistics
    with torch.no_grad():
        assert torch.allclose(encoder.train().from_frozen(cut), encoder.eval().from_frozen(cut), atol=1e-5)


def test_a_norm_per_modality_gets_each_modalitys_statistics_from_its_own_inputs():
    encoder = build_encoder("efficientnet_lite0", pretrained=True, trainable=1).norm_per_modality()
    norms = encoder.modality_norms()
    assert norms and all(isinstance(n, ModalityNorm) for n in norms)
    spectrograms = encoder.eval().frozen_part(torch.randn(16, 3, 32, 32))
    faces = encoder.frozen_part(torch.randn(16, 3, 32, 32) * 3 + 2)
    encoder.estimate_modality_statistics("audio", spectrograms.split(4))
    encoder.estimate_modality_statistics("video", faces.split(4))
    first_audio, first_video = norms[0].norms["audio"], norms[0].norms["video"]
    with torch.no_grad():
        entering = encoder.blocks[-1].block._expand_conv(spectrograms)  # what the first norm sees
    assert torch.allclose(first_audio.running_mean, entering.mean(dim=(0, 2, 3)), atol=1e-4)
    assert not torch.allclose(first_audio.running_mean, first_video.running_mean)
    assert not encoder.train().blocks[-1].training or not any(n.training for n in batch_norms(encoder))


@pytest.mark.parametrize("trainable", ["none", 1, "all"])
def test_a_clips_frames_give_the_mean_of_their_raw_features_standardised_once(trainable):
    encoder = build_encoder("efficientnet_lite0", pretrained=True, trainable=trainable).eval()
    with torch.no_grad():
        encoder.set_standardisation(encoder.raw(torch.rand(12, 3, 32, 32)))  # a standardisation that does something
        frames = torch.rand(2, 3, 3, 32, 32)  # 2 clips x 3 frames
        each = torch.stack([encoder.raw(frames[:, k]) for k in range(3)], dim=1)
        expected = encoder.standardise(each.mean(dim=1))
        assert torch.allclose(encoder(frames), expected, atol=1e-5)
        cut = encoder.frozen_part(frames)  # each frame's, the frames axis kept (what embed caches)
        assert cut.shape[:2] == (2, 3)
        assert torch.allclose(encoder.from_frozen(cut), expected, atol=1e-5)
        # one frame a clip computes what it did before frames existed, bit for bit
        single = frames[:, 0]
        assert torch.equal(encoder(single), encoder.standardise(encoder.raw(single)))
        single_cut = encoder.frozen_part(single)
        assert torch.equal(encoder.from_frozen(single_cut), encoder.standardise(encoder.trained_part(single_cut)))
        # cut[:, 0] came out of a batch of 6 images, single_cut of 2: channels-last kernels pick their blocking by
        # the batch's size, so the two agree to rounding, not bit for bit
        assert torch.allclose(single_cut, cut[:, 0], atol=1e-5)

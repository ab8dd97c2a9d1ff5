"""The classifiers on the shared encoder: heads, the unimodal models, the audio-visual fusion model, and
the config that rebuilds any of them.

A head (dropout + linear, or a small MLP) maps encoder features to class logits. Losses take the logits
(CrossEntropyLoss); softmax is only for reporting.

The AV model has ONE encoder instance for both modalities: a clip's spectrogram and face go through
it in the same forward pass (one batch), and the two feature vectors are fused (`concat`: side by
side, a missing modality's half is zeros; `mean`: the mean of the present ones) before one head.
Modality dropout (training only) hides one of the two modalities of a clip with probability
`modality_dropout`, so the model still works when a modality is missing.
"""

from __future__ import annotations

import torch
from torch import nn

from avemo.modeling.encoders import Encoder, build_encoder
from avemo.modeling.kinds import KINDS
from avemo.params import FUSIONS


def make_head(in_dim: int, n_classes: int, hidden: int, dropout: float) -> nn.Sequential:
    """Dropout + linear (hidden 0), or dropout + linear + ReLU + dropout + linear."""
    if hidden:
        return nn.Sequential(
            nn.Dropout(dropout), nn.Linear(in_dim, hidden), nn.ReLU(), nn.Dropout(dropout), nn.Linear(hidden, n_classes)
        )
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

    def __init__(self, encoder: Encoder, head: nn.Module, fusion: str, modality_dropout: float):
        super().__init__()
        if fusion not in FUSIONS:
            raise ValueError(f"fusion.method must be one of {FUSIONS}, got {fusion!r}")
        if not 0.0 <= modality_dropout <= 1.0:
            raise ValueError(f"fusion.modality_dropout must be in [0, 1], got {modality_dropout}")
        self.encoder, self.head, self.fusion, self.modality_dropout = encoder, head, fusion, modality_dropout

    @staticmethod
    def fused_dim(feature_dim: int, fusion: str) -> int:
        return 2 * feature_dim if fusion == "concat" else feature_dim

    def encode(
        self, audio: torch.Tensor | None, video: torch.Tensor | None, audio_present=None, video_present=None
    ) -> tuple[torch.Tensor | None, torch.Tensor | None]:
        """Features of both modalities from one pass of the shared encoder. Only the images of present
        modalities pass it (a missing one is never encoded as a blank image: in training, a blank batch
        member would still move whatever the encoder learns); a missing modality's features are zeros,
        and a modality given as None is skipped."""
        images = {m: x for m, x in (("audio", audio), ("video", video)) if x is not None}
        if not images:
            raise ValueError("the AV model needs at least one of audio and video")
        batch = next(iter(images.values())).shape[0]
        device = next(iter(images.values())).device
        flags = {"audio": audio_present, "video": video_present}
        present = {m: _presence(flags[m], True, batch, device) for m in images}
        rows = torch.cat([x[present[m]] for m, x in images.items()])
        encoded = self.encoder(rows) if len(rows) else rows.new_zeros((0, self.encoder.feature_dim))
        features, start = {}, 0
        for m in images:
            count = int(present[m].sum())
            features[m] = encoded.new_zeros((batch, encoded.shape[1]))
            features[m][present[m]] = encoded[start : start + count]
            start += count
        return features.get("audio"), features.get("video")

    def _drop_modalities(
        self, audio_present: torch.Tensor, video_present: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
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
        audio_features, video_features = self.encode(audio, video, audio_present, video_present)
        return self.classify(audio_features, video_features, audio_present, video_present)


def _presence(flags, given: bool, batch: int, device) -> torch.Tensor:
    if not given:
        return torch.zeros(batch, dtype=torch.bool, device=device)
    if flags is None:
        return torch.ones(batch, dtype=torch.bool, device=device)
    return torch.as_tensor(flags, dtype=torch.bool, device=device)


def model_config(
    kind: str,
    encoder: dict,
    classes: list[str],
    train: dict,
    fusion: dict | None = None,
    preprocessing: dict | None = None,
) -> dict:
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
        "head_hidden": int(train["head_hidden"]),
        "dropout": float(train["dropout"]),
        "preprocessing": {str(m): dict(settings) for m, settings in (preprocessing or {}).items()},
        # A frozen encoder is the pretrained one: its checkpoint keeps the head and the standardisation only.
        "frozen_encoder": bool(train["freeze_encoder"]) and bool(encoder["pretrained"]),
    }
    if kind == "av":
        config["fusion"] = str(fusion["method"])
        config["modality_dropout"] = float(fusion["modality_dropout"])
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

"""The classifiers on the shared encoder: heads, the unimodal models, the audio-visual fusion model, and
the config that rebuilds any of them.

A head (dropout + linear, or a small MLP) maps encoder features to class logits. Losses take the logits
(CrossEntropyLoss); softmax is only for reporting.

The AV model's encoder layers are shared as fusion.sharing says: `shared` (the default), ONE encoder
instance for both modalities, a clip's spectrogram and face going through it in the same forward pass (one
batch); `separate`, a copy of the encoder per modality, initialised identically (the only difference from
`shared` is the sharing); `modality_norm`, one encoder whose trained part has a batch norm per modality
(avemo.modeling.encoders.ModalityNorm), each modality passing it on its own. The two feature vectors are
fused (`concat`: side by side, a missing modality's half is zeros; `mean`: the mean of the present ones)
before one head. Modality dropout (training only) hides one of the two modalities of a clip with
probability `modality_dropout`, so the model still works when a modality is missing.

Every model's forward pass takes images, or with `from_frozen` the outputs of its encoder's frozen part
(what the embed stage caches; see avemo.modeling.encoders.Encoder), so that training on cached activations
and evaluating on images are one function.
"""

from __future__ import annotations

import copy

import torch
from torch import nn

from avemo.modeling.encoders import Encoder, build_encoder
from avemo.modeling.kinds import KINDS
from avemo.params import FUSIONS, SHARINGS


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

    def encoders(self) -> list[Encoder]:
        return [self.encoder]

    def forward(self, images: torch.Tensor, from_frozen: bool = False) -> torch.Tensor:
        return self.head(self.encoder.from_frozen(images) if from_frozen else self.encoder(images))


class AVClassifier(nn.Module):
    """One shared encoder for spectrograms and faces, feature fusion and one head (module docstring)."""

    def __init__(self, encoder: Encoder, head: nn.Module, fusion: str, modality_dropout: float, sharing: str):
        super().__init__()
        if fusion not in FUSIONS:
            raise ValueError(f"fusion.method must be one of {FUSIONS}, got {fusion!r}")
        if not 0.0 <= modality_dropout <= 1.0:
            raise ValueError(f"fusion.modality_dropout must be in [0, 1], got {modality_dropout}")
        if sharing not in SHARINGS:
            raise ValueError(f"fusion.sharing must be one of {SHARINGS}, got {sharing!r}")
        self.encoder, self.head, self.fusion, self.modality_dropout = encoder, head, fusion, modality_dropout
        self.sharing = sharing
        # separate: the video's copy, made before any training so both start alike
        self.video_encoder = copy.deepcopy(encoder) if sharing == "separate" else None
        if sharing == "modality_norm":
            encoder.norm_per_modality()

    def encoders(self) -> list[Encoder]:
        """The encoder instances: one, or one per modality (sharing separate: audio's, then video's)."""
        return [self.encoder] if self.video_encoder is None else [self.encoder, self.video_encoder]

    def encoder_of(self, modality: str) -> Encoder:
        """The encoder `modality` passes, set to use that modality's batch norms (sharing modality_norm)."""
        if modality == "video" and self.video_encoder is not None:
            return self.video_encoder
        return self.encoder.for_modality(modality)

    @staticmethod
    def fused_dim(feature_dim: int, fusion: str) -> int:
        return 2 * feature_dim if fusion == "concat" else feature_dim

    def encode(
        self,
        audio: torch.Tensor | None,
        video: torch.Tensor | None,
        audio_present=None,
        video_present=None,
        from_frozen: bool = False,
    ) -> tuple[torch.Tensor | None, torch.Tensor | None]:
        """Features of both modalities: with sharing `shared` from one pass of the shared encoder, else
        from a pass per modality. Only the inputs of present modalities pass it (a missing one is never
        encoded as a blank image: in training, a blank batch member would still move whatever the encoder
        learns); a missing modality's features are zeros, and a modality given as None is skipped.
        `from_frozen`: the inputs are the encoders' frozen-part outputs (see the module docstring)."""
        inputs = {m: x for m, x in (("audio", audio), ("video", video)) if x is not None}
        if not inputs:
            raise ValueError("the AV model needs at least one of audio and video")
        batch = next(iter(inputs.values())).shape[0]
        device = next(iter(inputs.values())).device
        flags = {"audio": audio_present, "video": video_present}
        present = {m: _presence(flags[m], True, batch, device) for m in inputs}

        def run(encoder: Encoder, x: torch.Tensor) -> torch.Tensor:
            if not len(x):
                return x.new_zeros((0, encoder.feature_dim))
            return encoder.from_frozen(x) if from_frozen else encoder(x)

        if self.sharing == "shared":
            # One pass for all: a clip's K frames (frame.count) pass as K images among the spectrograms,
            # and their raw features are averaged per clip before the standardisation (Encoder.clip_raw).
            items = {m: self.encoder.frame_items(x[present[m]], from_frozen) for m, x in inputs.items()}
            flat = torch.cat([batch for batch, _ in items.values()])
            if not len(flat):
                raw = flat.new_zeros((0, self.encoder.feature_dim))
            else:
                raw = self.encoder.trained_part(flat) if from_frozen else self.encoder(flat, standardised=False)
            parts = torch.split(raw, [len(batch) for batch, _ in items.values()])
            per_modality = {
                m: self.encoder.standardise(Encoder.mean_over_frames(part, items[m][1]))
                for m, part in zip(items, parts)
            }
        else:
            per_modality = {m: run(self.encoder_of(m), x[present[m]]) for m, x in inputs.items()}
        features = {}
        for m, encoded in per_modality.items():
            features[m] = encoded.new_zeros((batch, encoded.shape[1]))
            features[m][present[m]] = encoded
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
        """Logits from (possibly missing) features: fusion and head."""
        reference = audio_features if audio_features is not None else video_features
        batch, device = reference.shape[0], reference.device
        a = _presence(audio_present, audio_features is not None, batch, device)
        v = _presence(video_present, video_features is not None, batch, device)
        audio_features = torch.zeros_like(reference) if audio_features is None else audio_features
        video_features = torch.zeros_like(reference) if video_features is None else video_features
        fa, fv = audio_features * a.unsqueeze(1), video_features * v.unsqueeze(1)
        if self.fusion == "concat":
            fused = torch.cat([fa, fv], dim=1)
        else:
            fused = (fa + fv) / (a.float() + v.float()).clamp(min=1.0).unsqueeze(1)
        return self.head(fused)

    def forward(self, audio=None, video=None, audio_present=None, video_present=None, from_frozen=False):
        """Logits; in training, modality dropout first hides modalities, which then never pass the encoder
        (their features would be zeroed anyway: skipping them saves a quarter of the AV model's encoding)."""
        if self.training and self.modality_dropout > 0 and audio is not None and video is not None:
            batch, device = audio.shape[0], audio.device
            audio_present, video_present = self._drop_modalities(
                _presence(audio_present, True, batch, device), _presence(video_present, True, batch, device)
            )
        audio_features, video_features = self.encode(audio, video, audio_present, video_present, from_frozen)
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
        "pretrained": bool(encoder["pretrained"]),
        # none, the number of top blocks trained, or all: the layers below them are the pretrained ones,
        # which a checkpoint leaves out (avemo.modeling.checkpoints)
        "trainable": encoder["trainable"] if isinstance(encoder["trainable"], str) else int(encoder["trainable"]),
    }
    if kind == "av":
        config["fusion"] = str(fusion["method"])
        config["modality_dropout"] = float(fusion["modality_dropout"])
        config["sharing"] = str(fusion["sharing"])
    return config


def has_frozen_part(config: dict) -> bool:
    """Whether a model keeps pretrained layers untrained (then they are rebuilt from the installed weights)."""
    return config["trainable"] != "all"


def build_model(config: dict, pretrained: bool = False) -> nn.Module:
    """The model a config describes; `pretrained` loads ImageNet weights into its encoder first."""
    encoder = build_encoder(config["arch"], pretrained, config["trainable"])
    n_classes = len(config["classes"])
    if config["kind"] == "av":
        in_dim = AVClassifier.fused_dim(encoder.feature_dim, config["fusion"])
        head = make_head(in_dim, n_classes, config["head_hidden"], config["dropout"])
        return AVClassifier(encoder, head, config["fusion"], config["modality_dropout"], config["sharing"])
    head = make_head(encoder.feature_dim, n_classes, config["head_hidden"], config["dropout"])
    return UnimodalClassifier(encoder, head, config["kind"])


def frozen_state_keys(model: nn.Module) -> set[str]:
    """The state-dict keys of the model's frozen layers (its encoders' frozen parts)."""
    frozen = {
        id(t)
        for encoder in model.encoders()
        for module in encoder.frozen_modules()
        for t in (*module.parameters(), *module.buffers())
    }
    return {key for key, value in model.state_dict(keep_vars=True).items() if id(value) in frozen}


def trainable_parameters(model: nn.Module) -> dict[str, int]:
    """Weights that training changes: in the encoders (each instance counted) and in all (with the head)."""
    encoder = sum(p.numel() for e in model.encoders() for p in e.parameters() if p.requires_grad)
    return {"encoder": encoder, "all": sum(p.numel() for p in model.parameters() if p.requires_grad)}

"""`avemo predict`: the emotion of any clip FFmpeg reads, by a trained model or a folder of them.

A clip's inputs are made by the pipeline's own code, with the settings stored in the model's checkpoint
(config["preprocessing"]: the settings.json of the spectrograms and faces it was trained on), never with
params.yaml:

- audio: media.decode_audio at the checkpoint's sample rate (extract_audio), features.segment_samples (the
  values melspec reads back from that WAV, without writing it) and melspec.spectrogram_of (melspec);
- video: media.frames_at the checkpoint's frame positions (extract_middle_frame: config["preprocessing"]
  ["frames"], its frames per clip, position and spread, so one frame or frame.count's K in one decoding
  pass) and face_crop.crop_clip_faces with the checkpoint's face settings (face_crop: MTCNN, margin, size,
  the fallback when no face is found, and a clip's status from its K frames');
- both then become the encoder's input as in training and evaluation (inputs.spectrogram_unit_image,
  inputs.face_unit_image, inputs.normalise); a clip's K faces as one (1, K, 3, S, S) input, whose features
  the model averages as in training.

A folder of checkpoints (a training stage's output: every fold and seed) predicts with the mean of the
checkpoints' class probabilities (each the softmax of its logits). Checkpoints with frozen layers
(encoder.trainable none or N) share them, the installed ImageNet weights, so the frozen part's output is
computed once per clip and each checkpoint runs its own trained layers, standardisation and head on it, as
eval_cross scores them from the embed stage's cached outputs (the same probabilities, tested).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from avemo.errors import UserError
from avemo.modeling.checkpoints import SYNTHETIC_SAMPLE, incomplete_run, load_checkpoint
from avemo.modeling.classifiers import has_frozen_part
from avemo.modeling.inference import pick_device, probabilities_of
from avemo.modeling.inputs import face_unit_image, normalise, spectrogram_unit_image
from avemo.modeling.kinds import MODALITIES_OF
from avemo.preprocess import facedetect as faces
from avemo.preprocess import media, melspec
from avemo.preprocess import spectrogram as features
from avemo.preprocess.clipindex import ClipFailure
from avemo.preprocess.face_crop import ClipFaces, crop_clip_faces

KIND_NAMES = {"audio": "audio", "video": "video", "av": "AV"}
# Settings the inputs of each modality need from a checkpoint's config["preprocessing"].
REQUIRED_SETTINGS = {
    "audio": ("sample_rate", *melspec.SETTINGS),
    "video": ("min_face_size", "detect_scale", "min_confidence", "margin", "image_size", "fallback"),
}
# ... and from extract_middle_frame's settings (config["preprocessing"]["frames"]), which frames of a clip.
FRAME_SETTINGS = ("position", "frames_per_clip")
# What must be equal across a folder's checkpoints for one set of inputs and one mean to make sense.
SHARED_CONFIG = ("kind", "classes", "image_size", "preprocessing", "arch", "pretrained", "trainable")
# Beside every prediction of a model trained on the synthetic sample (its checkpoint's info says so).
SYNTHETIC_NOTE = "model trained on the synthetic sample, not on real CREMA-D"


@dataclass
class Models:
    """The checkpoints of one call: one file, or every *.pt of a folder, all made the same way."""

    paths: list[Path]
    models: list[torch.nn.Module]
    config: dict  # the first checkpoint's; the others agree on everything predict reads (checked)
    device: torch.device
    synthetic: bool = False  # any checkpoint trained on the synthetic sample
    warnings: list[str] = field(default_factory=list)  # e.g. a folder a killed training run left incomplete

    @property
    def kind(self) -> str:
        return self.config["kind"]

    @property
    def classes(self) -> list[str]:
        return self.config["classes"]

    @property
    def modalities(self) -> tuple[str, ...]:
        return MODALITIES_OF[self.kind]

    @property
    def frozen(self) -> bool:
        """Whether every checkpoint keeps pretrained layers frozen, so all share their output."""
        return has_frozen_part(self.config)

    def describe(self) -> str:
        source = (
            self.paths[0]
            if len(self.paths) == 1
            else f"{len(self.paths)} checkpoints in {self.paths[0].parent} (mean of their probabilities)"
        )
        return f"{KIND_NAMES[self.kind]} model, {source}; classes {' '.join(self.classes)}; on {self.device.type}"


def load_models(path: str | Path, device: torch.device | None = None) -> Models:
    """A checkpoint file, or every checkpoint (*.pt) of a folder such as models/av, loaded once."""
    path = Path(path)
    if path.is_dir():
        paths = sorted(path.glob("*.pt"))
        if not paths:
            raise UserError(
                f"{path}: no checkpoint (*.pt) in this folder; `dvc repro` writes them to models/audio, models/video "
                "and models/av"
            )
    elif path.is_file():
        paths = [path]
    else:
        raise UserError(f"{path}: no such checkpoint file or folder (e.g. models/av after `dvc repro`)")
    device = device or pick_device()
    models, config, checkpoints = [], None, {}
    for checkpoint_path in paths:
        model, checkpoint = load_checkpoint(checkpoint_path, device)
        checkpoints[checkpoint_path] = checkpoint
        if config is None:
            config = checkpoint["config"]
            _check_config(checkpoint_path, config)
        else:
            differs = [key for key in SHARED_CONFIG if checkpoint["config"].get(key) != config.get(key)]
            if differs:
                raise UserError(
                    f"{checkpoint_path}: its {', '.join(differs)} differ from {paths[0].name}'s; give one training "
                    "stage's checkpoints (one folder of models/, or one file)"
                )
        models.append(model)
    synthetic = any(c.get("info", {}).get(SYNTHETIC_SAMPLE) for c in checkpoints.values())
    incomplete = incomplete_run(path, checkpoints) if path.is_dir() else None
    return Models(paths, models, config, device, synthetic, [incomplete] if incomplete else [])


def _check_config(path: Path, config: dict) -> None:
    for modality in MODALITIES_OF[config["kind"]]:
        settings = config.get("preprocessing", {}).get(modality, {})
        absent = [key for key in REQUIRED_SETTINGS[modality] if key not in settings]
        if absent:
            raise UserError(
                f"{path}: the checkpoint does not hold the {modality} settings its inputs were made with (missing "
                f"{', '.join(absent)}); retrain it with this version of avemo"
            )
    frames = config.get("preprocessing", {}).get("frames", {})
    if "video" in MODALITIES_OF[config["kind"]] and not all(key in frames for key in FRAME_SETTINGS):
        raise UserError(
            f"{path}: the checkpoint does not hold which frames of a clip its faces were of (frame.position, "
            "frame.count); retrain it with this version of avemo"
        )


@dataclass
class ClipInputs:
    """A clip's encoder inputs: (1, 3, S, S) per modality it has ((1, K, 3, S, S): a model of K frames a
    clip), and why each other one is missing."""

    images: dict[str, torch.Tensor] = field(default_factory=dict)
    missing: dict[str, str] = field(default_factory=dict)  # modality -> reason
    notes: list[str] = field(default_factory=list)  # e.g. a centre crop where no face was found


class ClipReader:
    """Makes a clip's inputs for a model with the pipeline's code and the model's settings. The filter
    bank and MTCNN are built once here, never per clip."""

    def __init__(self, config: dict):
        self.modalities = MODALITIES_OF[config["kind"]]
        self.image_size = int(config["image_size"])
        self.audio = config["preprocessing"].get("audio") if "audio" in self.modalities else None
        self.face = config["preprocessing"].get("video") if "video" in self.modalities else None
        self.mel_basis = melspec.filterbank(self.audio) if self.audio else None
        self.detector = faces.FaceDetector(self.face["min_face_size"], self.face["detect_scale"]) if self.face else None
        if self.face:  # where extract_middle_frame read the frames of the faces the model learnt from
            frames = config["preprocessing"]["frames"]
            self.positions = media.frame_positions(
                int(frames["frames_per_clip"]), float(frames["position"]), frames.get("spread")
            )

    def spectrogram(self, path: str | Path) -> np.ndarray:
        """What the melspec stage saves for this clip (after extract_audio) with the model's settings."""
        segment = media.decode_audio(path, int(self.audio["sample_rate"]))
        return melspec.spectrogram_of(features.segment_samples(segment), self.mel_basis, self.audio)

    def faces(self, path: str | Path) -> ClipFaces:
        """What face_crop makes of this clip's frames (after extract_middle_frame) with the model's settings."""
        return crop_clip_faces(
            self.detector, [frame.image for frame in media.frames_at(path, self.positions)], self.face
        )

    def inputs(self, path: str | Path) -> ClipInputs:
        found = ClipInputs()
        if self.audio:
            try:
                image = spectrogram_unit_image(self.spectrogram(path), self.image_size, float(self.audio["top_db"]))
                found.images["audio"] = normalise(image).unsqueeze(0)
            except ClipFailure as err:  # the clip's own problem (bad media, no audio track); anything else is a bug
                found.missing["audio"] = str(err)
        if self.face:
            try:
                face = self.faces(path)
            except ClipFailure as err:
                found.missing["video"] = str(err)
            else:
                if face.images is None:  # fallback: drop
                    found.missing["video"] = face.reason
                else:
                    units = [normalise(face_unit_image(image, self.image_size)) for image in face.images]
                    found.images["video"] = (units[0] if len(units) == 1 else torch.stack(units)).unsqueeze(0)
                    if face.status == "fallback":
                        found.notes.append(face.reason)
        return found


@dataclass
class Prediction:
    clip: str
    classes: list[str]
    probabilities: np.ndarray | None = None  # one per class; None when the clip cannot be used
    missing: dict[str, str] = field(default_factory=dict)  # modality -> reason (the AV model with one modality)
    notes: list[str] = field(default_factory=list)
    error: str | None = None
    seconds: float = 0.0

    @property
    def emotion(self) -> str | None:
        return None if self.probabilities is None else self.classes[int(np.argmax(self.probabilities))]

    def all_notes(self) -> list[str]:
        """What the reader should know: each missing modality and why, a centre crop for want of a face."""
        return [f"{m} missing: {why}" for m, why in self.missing.items()] + self.notes

    def as_json(self) -> dict:
        if self.error is not None:
            return {"clip": self.clip, "error": self.error}
        return {
            "clip": self.clip,
            "emotion": self.emotion,
            "probabilities": {c: float(p) for c, p in zip(self.classes, self.probabilities)},
            "missing": list(self.missing),
            "notes": self.all_notes(),
        }

    def as_text(self) -> str:
        if self.error is not None:
            return f"{self.clip}: cannot use it: {self.error}"
        line = f"{self.clip}: {self.emotion}  " + "  ".join(
            f"{c} {p:.3f}" for c, p in zip(self.classes, self.probabilities)
        )
        return line + "".join(f"  [{note}]" for note in self.all_notes())


@torch.inference_mode()
def class_probabilities(models: Models, images: dict[str, torch.Tensor]) -> np.ndarray:
    """The mean over the checkpoints of softmax(logits) for one clip, given the modalities in `images`."""
    modalities = [m for m in models.modalities if m in images]
    batch = {m: images[m].to(models.device) for m in modalities}
    batch |= {f"{m}_present": torch.ones(1, dtype=torch.bool, device=models.device) for m in modalities}
    if models.frozen:  # the frozen layers are the same in all: their output once, each checkpoint's top on it
        batch |= {m: models.models[0].encoders()[0].frozen_part(batch[m]) for m in modalities}
    total = np.zeros(len(models.classes), dtype=np.float64)
    for model in models.models:
        total += probabilities_of(model, [batch], modalities, models.device, from_frozen=models.frozen)[0]
    return total / len(models.models)


def predict_clip(models: Models, reader: ClipReader, clip: str | Path) -> Prediction:
    """One clip's prediction, or the reason it cannot be used (its own problem only: bad media, no track,
    no face); an AV model predicts from one modality when the other is missing, and says so."""
    started = time.monotonic()
    found = reader.inputs(clip)
    prediction = Prediction(str(clip), models.classes, missing=found.missing, notes=found.notes)
    if found.images:
        prediction.probabilities = class_probabilities(models, found.images)
        if models.synthetic:
            prediction.notes.append(SYNTHETIC_NOTE)
    else:
        reasons = list(dict.fromkeys(found.missing.values()))  # an empty file fails both the same way: say it once
        prediction.error = (
            "; ".join(reasons) if len(reasons) == 1 else "; ".join(f"{m}: {why}" for m, why in found.missing.items())
        )
        prediction.missing = {}
    prediction.seconds = time.monotonic() - started
    return prediction


def predict_parser(prog: str = "avemo predict") -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=prog,
        formatter_class=argparse.RawDescriptionHelpFormatter,
        description="""\
Predict the emotion of each CLIP with a trained model.

A CLIP is any file FFmpeg reads (FLV, MP4, MOV, MKV, ...; any name): its audio track becomes a log-Mel
spectrogram, its middle frame (or the frames the model was trained on: frame.count, frame.position) a
face crop, made by the pipeline's own code with the settings stored in the model's checkpoint (sample
rate, spectrogram, frame and face settings, classes), never params.yaml. An audio
model needs only the audio track, a video model only the video; the AV model predicts from one modality
when the clip has no audio track, or no video track or no face (with face.fallback: drop), and says so.
Where no face is found and the model was trained with face.fallback: centre, a centre crop is used and
noted.

Output (stdout), one line per clip in the order given:
  CLIP: EMOTION  ANG 0.712  HAP 0.201  SAD 0.087  [NOTE]...  every class's probability, in the model's order
  CLIP: cannot use it: REASON                                bad media, no track the model needs, no face
where a NOTE is e.g. "audio missing: no audio track", "no face found; centre crop" or, beside every
prediction of a model trained on the synthetic sample, "model trained on the synthetic sample, not on
real CREMA-D". With --json instead a JSON list, one object per clip:
  {"clip": CLIP, "emotion": "ANG", "probabilities": {"ANG": 0.712, ...}, "missing": ["audio"], "notes": [NOTE, ...]}
  {"clip": CLIP, "error": REASON}
"missing" names the modalities the AV model had to predict without (empty for a complete clip). The
probabilities are the softmax of the model's logits and sum to 1. The model(s) and the face detector load
once per call; stderr gets the model used, a warning when a folder does not hold all the checkpoints of
its training run (a run stopped early), and the time per clip.

Exit status: 0 when every clip was predicted, 1 when any could not be used (the others are still
predicted) or when the model cannot be loaded (one line).""",
    )
    parser.add_argument("clips", metavar="CLIP", nargs="+", help="media files with a video and/or an audio track")
    parser.add_argument(
        "--model",
        default="models/av",
        type=Path,
        help="a checkpoint file (models/av/fold0_seed0.pt), or a folder of them, a training stage's output "
        "(models/audio, models/video, models/av): then the probabilities are the mean over all its checkpoints, "
        "every fold and seed (default: models/av)",
    )
    parser.add_argument(
        "--json", action="store_true", help="print a JSON list (one object per clip) instead of one line per clip"
    )
    return parser


def predict_main(argv: list[str] | None = None, prog: str = "avemo predict") -> int:
    args = predict_parser(prog).parse_args(argv)
    # One clip at a time through a small network: on 2 busy cores one thread took 0.04 s a clip with the
    # audio models, two threads waiting on each other 0.4 to 0.6 s. MTCNN (faces.FaceDetector) sets the same.
    torch.set_num_threads(1)
    started = time.monotonic()
    models = load_models(args.model)
    reader = ClipReader(models.config)
    loaded_s = time.monotonic() - started
    print(f"{prog}: {models.describe()}", file=sys.stderr)
    for warning in models.warnings:
        print(f"{prog}: warning: {warning}", file=sys.stderr)
    predictions = []
    for clip in args.clips:
        predictions.append(predict_clip(models, reader, clip))
        if not args.json:
            print(predictions[-1].as_text(), flush=True)
    if args.json:
        print(json.dumps([p.as_json() for p in predictions], indent=2))
    failed = sum(p.error is not None for p in predictions)
    per_clip = sum(p.seconds for p in predictions) / len(predictions)
    print(
        f"{prog}: {len(predictions)} clip(s), {per_clip:.2f} s a clip after {loaded_s:.1f} s loading"
        + (f"; {failed} could not be used" if failed else ""),
        file=sys.stderr,
    )
    return 1 if failed else 0

"""Shared fixtures: where the real CREMA-D clips are, damaged inputs, and params shrunk for the CPU
(the helpers they use live in tests/helpers.py)."""

from __future__ import annotations

import copy
import os
import random
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from avemo.preprocess.clipindex import write_settings
from helpers import (
    CLASSES,
    COLOURS,
    DEPTHS,
    ENCODER,
    FACE_SETTINGS,
    FAILED_FACE,
    FALLBACK_FACE,
    FOLDS,
    REPO_ROOT,
    SPECTROGRAM_SETTINGS,
    TINY_PARAMS,
    folder_state,
    part_of,
    run_ffmpeg,
    run_preprocessing,
    sample_spec,
    tiny,
)


@pytest.fixture
def tiny_params() -> dict:
    return copy.deepcopy(TINY_PARAMS)


@pytest.fixture(scope="session")
def crema_d_dir() -> Path:
    """The real CREMA-D material beside the checkout (../shared/crema-d), or $AVEMO_CREMA_D."""
    path = Path(os.environ.get("AVEMO_CREMA_D", REPO_ROOT.parent / "shared" / "crema-d"))
    if not (path / "VideoFlash").is_dir():
        message = f"real CREMA-D clips not found at {path} (set AVEMO_CREMA_D)"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    return path


@pytest.fixture(scope="session")
def real_clips_dir(crema_d_dir) -> Path:
    return crema_d_dir / "VideoFlash"


@pytest.fixture(scope="session")
def real_clip(real_clips_dir) -> Path:
    return real_clips_dir / "1001_DFA_ANG_XX.flv"


@pytest.fixture(scope="session")
def bad_clips_dir(tmp_path_factory, real_clips_dir) -> Path:
    """A clip folder holding one good real clip and every kind of damaged input of helpers.BAD_INPUTS."""
    folder = tmp_path_factory.mktemp("bad_clips")
    good = real_clips_dir / "1001_DFA_HAP_XX.flv"
    shutil.copyfile(real_clips_dir / "1001_DFA_ANG_XX.flv", folder / "1001_DFA_ANG_XX.flv")
    (folder / "1002_DFA_ANG_XX.flv").write_bytes(b"")
    (folder / "1003_DFA_HAP_XX.flv").write_bytes(good.read_bytes()[:100_000])
    (folder / "1005_DFA_ANG_XX.flv").write_text("hello, not a video\n")
    (folder / "1006_DFA_SAD_XX.flv").write_bytes(bytes(range(256)) * 200)
    run_ffmpeg("-i", str(good), "-c", "copy", "-an", str(folder / "1007_DFA_HAP_XX.flv"))
    run_ffmpeg("-i", str(good), "-c", "copy", "-vn", "-f", "flv", str(folder / "1008_DFA_HAP_XX.flv"))
    damaged = bytearray((real_clips_dir / "1001_DFA_NEU_XX.flv").read_bytes())
    noise = random.Random(0)  # bytes overwritten all through the file, past its header
    for i in range(2000, len(damaged), 97):
        damaged[i] = noise.randrange(256)
    (folder / "1009_DFA_ANG_XX.flv").write_bytes(bytes(damaged))
    shutil.copyfile(good, folder / "angry_clip.flv")
    (folder / "notes.txt").write_text("not a clip\n")
    return folder


@pytest.fixture(scope="session")
def real_run(tmp_path_factory, real_clips_dir):
    """The four per-clip stages on the six real clips (tiny params, two workers): (output folder, clip list)."""
    out = tmp_path_factory.mktemp("real")
    before = folder_state(real_clips_dir)
    clips = run_preprocessing(real_clips_dir, out, jobs=2)
    assert folder_state(real_clips_dir) == before  # the input folder is never written to
    return out, clips


@pytest.fixture(scope="session")
def bad_run(tmp_path_factory, bad_clips_dir):
    """The four per-clip stages on bad_clips_dir: (output folder, clip list)."""
    out = tmp_path_factory.mktemp("bad")
    before = folder_state(bad_clips_dir)
    clips = run_preprocessing(bad_clips_dir, out, jobs=2)
    assert folder_state(bad_clips_dir) == before
    return out, clips


def fake_corpus(root: Path, frames: int = 1) -> dict:
    """6 actors x 2 sentences x 3 emotions: random spectrograms and faces (`frames` a clip, each its own noise)
    with a class-dependent pattern, split into two folds, the frames folder's settings and the embeddings
    (the frozen layers' outputs) for each of DEPTHS. One face failed, one is a fallback crop."""
    from avemo.modeling.embedding import embed_modality, write_embeddings  # torch: only for the tests that use models
    from avemo.modeling.encoders import build_encoder
    from avemo.preprocess.clipindex import clip_files
    from avemo.preprocess.extract_middle_frame import frame_settings

    rng = np.random.default_rng(0)
    melspec, faces, frame_dir = root / "melspec", root / "faces", root / "frames"
    melspec.mkdir(), faces.mkdir(), frame_dir.mkdir()
    rows, audio_index, face_index = [], [], []
    for actor in range(1001, 1007):
        for sentence in ("IEO", "TIE"):
            for k, emotion in enumerate(CLASSES):
                clip = f"{actor}_{sentence}_{emotion}_XX"
                spectrogram = rng.uniform(-80, -40, size=(16, 40)).astype(np.float32)
                spectrogram[5 * k : 5 * k + 5] = 0.0  # the emotion's band is loud
                np.save(melspec / f"{clip}.npy", spectrogram)
                audio_index.append({"clip": clip, "status": "ok", "reason": ""})
                status = "failed" if clip == FAILED_FACE else "fallback" if clip == FALLBACK_FACE else "ok"
                for name in clip_files(clip, ".png", frames):
                    noise = rng.integers(0, 40, size=(48, 48, 3))
                    face = np.clip(np.array(COLOURS[emotion]) + noise, 0, 255).astype(np.uint8)
                    if status != "failed":
                        Image.fromarray(face).save(faces / name)
                face_index.append({"clip": clip, "status": status, "reason": "no face" if status != "ok" else ""})
                rows += [
                    {"clip": clip, "actor": actor, "emotion": emotion, "fold": fold, "part": part_of(actor, fold)}
                    for fold in FOLDS
                ]
    pd.DataFrame(audio_index).to_csv(melspec / "index.csv", index=False)
    pd.DataFrame(face_index).to_csv(faces / "index.csv", index=False)
    write_settings(melspec, SPECTROGRAM_SETTINGS)
    write_settings(faces, FACE_SETTINGS if frames == 1 else {**FACE_SETTINGS, "frames_per_clip": frames})
    write_settings(frame_dir, frame_settings(0.5, frames, 0.4))
    pd.DataFrame(rows).sort_values(["fold", "clip"]).to_csv(root / "split.csv", index=False)
    embeddings = {}
    for depth in DEPTHS:
        embeddings[depth] = root / f"embeddings_{depth}"
        encoder = build_encoder(ENCODER["arch"], pretrained=True, trainable=depth)
        for modality, folder in (("audio", melspec), ("video", faces)):
            clips, features = embed_modality(encoder, modality, folder, image_size=32, batch_size=8, device="cpu")
            write_embeddings(embeddings[depth], modality, clips, features, {**ENCODER, "trainable": depth})
    return {
        "root": root,
        "split": root / "split.csv",
        "folders": {"audio": melspec, "video": faces},
        "frames": frame_dir,
        "embeddings": embeddings,
    }


@pytest.fixture(scope="session")
def model_corpus(tmp_path_factory) -> dict:
    """fake_corpus with one face a clip."""
    return fake_corpus(tmp_path_factory.mktemp("corpus"))


@pytest.fixture(scope="session")
def model_corpus_frames3(tmp_path_factory) -> dict:
    """fake_corpus with three faces a clip (frame.count 3, spread 0.4), each drawn with its own noise."""
    return fake_corpus(tmp_path_factory.mktemp("corpus_frames3"), frames=3)


def tiny_models(root: Path, corpus: dict, kinds, frames: int = 1) -> dict[str, Path]:
    """Tiny checkpoints (32 px, frozen encoder, 2 folds x 1 seed) of `kinds`, trained on a fake_corpus but
    recorded as made with the tiny params' full spectrogram and face settings (16 mels, 1 s; 32 px faces,
    centre fallback) and `frames` middle frames a clip (spread 0.4), so that avemo predict makes their inputs
    from real clips: kind -> models folder."""
    from avemo.preprocess.extract_middle_frame import frame_settings
    from helpers import train_models

    folders = {}
    face = tiny("face") if frames == 1 else {**tiny("face"), "frames_per_clip": frames}
    for modality, settings in (("audio", {"sample_rate": 16000, **tiny("melspec")}), ("video", face)):
        folders[modality] = root / modality
        shutil.copytree(corpus["folders"][modality], folders[modality])
        write_settings(folders[modality], settings)
    (root / "frames").mkdir()
    write_settings(root / "frames", frame_settings(0.5, frames, 0.4))
    corpus = {**corpus, "folders": folders, "frames": root / "frames"}
    for kind in kinds:
        train_models(corpus, root / "models", kind, seeds=[0])
    return {kind: root / "models" / kind for kind in kinds}


@pytest.fixture(scope="session")
def predict_models(tmp_path_factory, model_corpus) -> dict[str, Path]:
    """tiny_models of each kind, one frame a clip."""
    return tiny_models(tmp_path_factory.mktemp("predict_models"), model_corpus, ("audio", "video", "av"))


@pytest.fixture(scope="session")
def predict_models_frames3(tmp_path_factory, model_corpus_frames3) -> dict[str, Path]:
    """tiny_models of the kinds that read faces, three frames a clip."""
    return tiny_models(tmp_path_factory.mktemp("predict_models3"), model_corpus_frames3, ("video", "av"), frames=3)


@pytest.fixture(scope="session")
def synthetic_clips_dir(tmp_path_factory) -> Path:
    """A folder of one clip of the synthetic sample (1 s at 15 fps: 15 frames), as the sample stage renders it."""
    from avemo.synth.corpus import ClipId, write_clip

    folder = tmp_path_factory.mktemp("synthetic_clips")
    write_clip(folder / "1001_IEO_ANG_HI.flv", ClipId(1001, "IEO", "ANG", "HI"), sample_spec(duration=1.0, fps=15))
    return folder


@pytest.fixture(scope="session")
def real_run_frames3(tmp_path_factory, real_clips_dir):
    """extract_middle_frame (frame.count 3, spread 0.4) and face_crop (tiny params) on the six real clips:
    (output folder, clip list)."""
    from avemo.corpus import clips as dataset
    from avemo.preprocess.clipindex import read_index
    from avemo.preprocess.extract_middle_frame import run_extract_middle_frame
    from avemo.preprocess.face_crop import run_face_crop

    out = tmp_path_factory.mktemp("real_frames3")
    clips, _ = dataset.list_clips(real_clips_dir)
    run_extract_middle_frame(clips, out / "frames", position=0.5, count=3, spread=0.4, jobs=2)
    run_face_crop(read_index(out / "frames"), out / "frames", out / "faces", params=tiny("face"), jobs=2)
    return out, clips

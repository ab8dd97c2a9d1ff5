"""Training on a tiny fake corpus: epoch chosen on validation, test part never read, failed clips left out."""

import json

import numpy as np
import pandas as pd
import pytest
import torch
from helpers import REPO_ROOT, run_stage
from PIL import Image

from avemo.clipindex import read_index, write_settings
from avemo.inference import predict
from avemo.loading import FeatureBatches, clips_for, image_dataset, loader, modality_table
from avemo.models import load_checkpoint
from avemo.splits import read_split
from avemo.training import set_seed, train_and_save

CLASSES = ["ANG", "HAP", "SAD"]
COLOURS = {"ANG": (200, 40, 40), "HAP": (40, 200, 40), "SAD": (40, 40, 200)}
ENCODER = {"arch": "efficientnet_lite0", "pretrained": False, "image_size": 32}
SPECTROGRAM_SETTINGS = {"sample_rate": 16000, "top_db": 80, "n_mels": 16}
FACE_SETTINGS = {"image_size": 48, "margin": 0.2}
TRAIN = {"epochs": 6, "batch_size": 8, "weight_decay": 0.0, "seed": 0, "patience": 3, "augmentation": True,
         "freeze_encoder": True, "head_hidden": 0, "dropout": 0.0}
FAILED_FACE, FALLBACK_FACE = "1001_IEO_ANG_XX", "1002_IEO_HAP_XX"


@pytest.fixture(scope="module")
def corpus(tmp_path_factory) -> dict:
    """6 actors x 2 sentences x 3 emotions: random spectrograms and faces with a class-dependent pattern.
    Actors 1001-1004 train, 1005 validation, 1006 test. One face failed, one is a fallback crop."""
    root = tmp_path_factory.mktemp("corpus")
    rng = np.random.default_rng(0)
    melspec, faces = root / "melspec", root / "faces"
    melspec.mkdir(), faces.mkdir()
    rows, audio_index, face_index = [], [], []
    for actor in range(1001, 1007):
        for sentence in ("IEO", "TIE"):
            for k, emotion in enumerate(CLASSES):
                clip = f"{actor}_{sentence}_{emotion}_XX"
                spectrogram = rng.uniform(-80, -40, size=(16, 40)).astype(np.float32)
                spectrogram[5 * k : 5 * k + 5] = 0.0  # the emotion's band is loud
                np.save(melspec / f"{clip}.npy", spectrogram)
                audio_index.append({"clip": clip, "status": "ok", "reason": ""})
                noise = rng.integers(0, 40, size=(48, 48, 3))
                face = np.clip(np.array(COLOURS[emotion]) + noise, 0, 255).astype(np.uint8)
                status = "failed" if clip == FAILED_FACE else "fallback" if clip == FALLBACK_FACE else "ok"
                if status != "failed":
                    Image.fromarray(face).save(faces / f"{clip}.png")
                face_index.append({"clip": clip, "status": status, "reason": "no face" if status != "ok" else ""})
                part = "train" if actor <= 1004 else "validation" if actor == 1005 else "test"
                rows.append({"clip": clip, "actor": actor, "emotion": emotion, "part": part})
    pd.DataFrame(audio_index).to_csv(melspec / "index.csv", index=False)
    pd.DataFrame(face_index).to_csv(faces / "index.csv", index=False)
    write_settings(melspec, SPECTROGRAM_SETTINGS)
    write_settings(faces, FACE_SETTINGS)
    pd.DataFrame(rows).to_csv(root / "split.csv", index=False)
    return {"root": root, "split": root / "split.csv", "folders": {"audio": melspec, "video": faces}}


def train(corpus, tmp_path, kind, split=None, **overrides):
    folders = {m: corpus["folders"][m] for m in (("audio", "video") if kind == "av" else ("audio",) if kind == "audio" else ("video",))}
    metrics = train_and_save(
        kind, split_path=split or corpus["split"], folders=folders, encoder=ENCODER, train={**TRAIN, **overrides}, lr=0.01,
        fusion={"method": "concat", "modality_dropout": 0.3}, model_path=tmp_path / f"{kind}.pt",
        metrics_path=tmp_path / f"train_{kind}.json", live_dir=tmp_path / "live",
    )
    return metrics, json.loads((tmp_path / f"train_{kind}.json").read_text())


def read_curve(live_dir, name):
    return pd.read_csv(live_dir / "plots" / "metrics" / name, sep="\t")


def test_epoch_is_chosen_on_validation_and_the_checkpoint_reproduces_it(corpus, tmp_path):
    metrics, written = train(corpus, tmp_path, "audio")
    assert set(written) == {"val_accuracy", "val_loss", "train_accuracy", "best_epoch", "epochs_run", "train_clips", "validation_clips"}
    assert metrics == pytest.approx(written, abs=5e-5)  # the file holds them rounded to 4 decimals
    val = read_curve(tmp_path / "live", "val/accuracy.tsv")
    val_loss = read_curve(tmp_path / "live", "val/loss.tsv")
    assert list(val["step"]) == list(range(1, written["epochs_run"] + 1))  # one point per epoch, from 1
    assert (tmp_path / "live" / "plots" / "metrics" / "train" / "loss.tsv").is_file()
    # the kept epoch: best validation accuracy, ties broken by the lower validation loss
    best = max(range(len(val)), key=lambda i: (val["accuracy"][i], -val_loss["loss"][i]))
    assert written["best_epoch"] == best + 1 and written["val_accuracy"] == pytest.approx(val["accuracy"][best], abs=1e-4)
    assert written["epochs_run"] == TRAIN["epochs"] or written["epochs_run"] - written["best_epoch"] == TRAIN["patience"]

    checkpoint = torch.load(tmp_path / "audio.pt", weights_only=True)
    assert checkpoint["info"]["best_epoch"] == written["best_epoch"] and checkpoint["config"]["classes"] == CLASSES
    assert checkpoint["config"]["preprocessing"] == {"audio": SPECTROGRAM_SETTINGS}  # how its inputs were made
    model, _ = load_checkpoint(tmp_path / "audio.pt")
    table, _ = modality_table(read_split(corpus["split"]), {"audio": read_index(corpus["folders"]["audio"])})
    rows = clips_for(table[table["part"] == "validation"], ("audio",))
    images = image_dataset(rows, ("audio",), corpus["folders"], CLASSES, image_size=32, top_db=80)
    labels, predictions, _ = predict(model, loader(images, 8), ("audio",), "cpu")
    assert (labels == predictions).mean() == pytest.approx(written["val_accuracy"], abs=1e-4)


def test_test_labels_do_not_influence_training(corpus, tmp_path):
    first, _ = train(corpus, tmp_path / "a", "audio")
    split = pd.read_csv(corpus["split"])
    test = split["part"] == "test"
    split.loc[test, "emotion"] = split.loc[test, "emotion"].map({"ANG": "HAP", "HAP": "SAD", "SAD": "ANG"})
    split.to_csv(tmp_path / "relabelled.csv", index=False)
    second, _ = train(corpus, tmp_path / "b", "audio", split=tmp_path / "relabelled.csv")
    assert first == second  # same seed, same run: the test labels change nothing
    a, b = torch.load(tmp_path / "a" / "audio.pt", weights_only=True), torch.load(tmp_path / "b" / "audio.pt", weights_only=True)
    assert all(torch.equal(a["state_dict"][k], b["state_dict"][k]) for k in a["state_dict"])


def test_fine_tuned_video_leaves_out_the_failed_face_and_counts_the_fallback(corpus, tmp_path):
    _, written = train(corpus, tmp_path, "video", freeze_encoder=False, epochs=1)
    assert written["epochs_run"] == 1
    assert (written["train_clips"], written["validation_clips"]) == (23, 6)  # 24 minus the failed face
    assert load_checkpoint(tmp_path / "video.pt")[1]["config"]["preprocessing"] == {"video": FACE_SETTINGS}


def test_av_keeps_a_clip_with_one_modality_and_rebuilds_from_its_checkpoint(corpus, tmp_path):
    _, written = train(corpus, tmp_path, "av", freeze_encoder=False, epochs=1)
    assert written["train_clips"] == 24  # the clip without a face still has its spectrogram
    model, checkpoint = load_checkpoint(tmp_path / "av.pt")
    assert checkpoint["config"]["kind"] == "av" and checkpoint["config"]["fusion"] == "concat"
    with torch.no_grad():
        assert model(audio=torch.randn(2, 3, 32, 32)).shape == (2, 3)


def test_seeded_runs_are_identical(corpus, tmp_path):
    first, _ = train(corpus, tmp_path / "a", "video", epochs=3)
    second, _ = train(corpus, tmp_path / "b", "video", epochs=3)
    assert first == second


def test_feature_batches_are_deterministic_and_never_a_single_clip():
    items = {"label": torch.arange(9), "audio": torch.randn(9, 4)}
    set_seed(0)

    def epochs(n):
        batches = FeatureBatches(items, 4, shuffle=True, seed=1)
        return [[b["label"].tolist() for b in batches] for _ in range(n)]

    first, again = epochs(2), epochs(2)
    assert first == again and first[0] != first[1]  # a new order every epoch, the same orders every run
    assert all(len(batch) == 4 for batch in first[0])  # 9 = 4 + 4 + 1: the single last clip is dropped
    assert [b["label"].tolist() for b in FeatureBatches(items, 4)] == [[0, 1, 2, 3], [4, 5, 6, 7], [8]]


@pytest.mark.parametrize("stage", ["train_audio", "train_video", "train_av"])
def test_training_stage_help_names_its_params(stage):
    done = run_stage(stage, "--help", cwd=REPO_ROOT)
    assert done.returncode == 0 and "`lr`" in done.stdout and "--model" in done.stdout
    assert ("fusion" in done.stdout) == (stage == "train_av")

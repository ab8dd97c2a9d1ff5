"""The cross test on the tiny fake corpus: every model of every repeat on every fold's test clips."""

import shutil

import numpy as np
import pandas as pd
import pytest
import torch

from avemo.corpus.split_table import read_split
from avemo.evaluation.crosstest import CROSS_TESTS, cross_metrics, cross_predictions, human_baseline
from avemo.modeling.checkpoints import (
    RUN_REPEATS,
    CheckpointError,
    checkpoint_repeats,
    load_checkpoint,
    read_checkpoint,
)
from avemo.modeling.inference import predict
from avemo.modeling.inputs import face_input, loader, spectrogram_input
from avemo.modeling.loading import clips_for, image_dataset, modality_table
from avemo.predict import Models, class_probabilities
from avemo.preprocess.clipindex import read_index
from helpers import CLASSES, ENCODER, train_models


@pytest.fixture(scope="module")
def trained(model_corpus, tmp_path_factory):
    out = tmp_path_factory.mktemp("models")
    for kind in ("audio", "video", "av"):
        train_models(model_corpus, out, kind, epochs=3, seeds=[0, 1])
    split = read_split(model_corpus["split"])
    indexes = {m: read_index(f) for m, f in model_corpus["folders"].items()}
    predictions = cross_predictions(
        {k: out / k for k in ("audio", "video", "av")},
        split,
        indexes,
        model_corpus["folders"],
        model_corpus["embeddings"][ENCODER["trainable"]],
        batch_size=16,
    )
    return out, split, predictions


def test_every_comparison_of_every_repeat_scores_that_folds_test_clips(trained):
    _, split, predictions = trained
    assert set(predictions["comparison"]) == set(CROSS_TESTS)
    for (key, fold, seed), rows in predictions.groupby(["comparison", "fold", "seed"]):
        test = split[(split["fold"] == fold) & (split["part"] == "test")]
        assert set(rows["clip"]) <= set(test["clip"]) and rows["clip"].is_unique, (key, fold, seed)
        # the failed face of actor 1001 (tested in fold 1) is left out of the comparisons that give faces only
        needs_face = "video" in CROSS_TESTS[key][1]
        assert len(rows) == len(test) - (fold == 1 and needs_face), (key, fold)
    assert predictions.groupby(["fold", "seed"]).ngroups == 4 and set(predictions["predicted"]) <= set(CLASSES)


def test_cached_features_predict_what_the_checkpoint_predicts_on_images(trained, model_corpus):
    out, split, predictions = trained
    model, _ = load_checkpoint(out / "audio" / "fold0_seed1.pt")
    table, _ = modality_table(
        split[(split["fold"] == 0) & (split["part"] == "test")], {"video": read_index(model_corpus["folders"]["video"])}
    )
    rows = clips_for(table, ("video",))
    images = image_dataset(rows, ("video",), model_corpus["folders"], CLASSES, image_size=32)
    with torch.no_grad():
        _, on_images, _ = predict(model, loader(images, 8), ("video",), "cpu")  # the audio model on faces, from images
    cached = (
        predictions.query("comparison == 'audio_on_faces' and fold == 0 and seed == 1")
        .set_index("clip")
        .loc[rows["clip"], "predicted"]
    )
    assert list(cached) == [CLASSES[i] for i in on_images]


def test_metrics_of_every_comparison_and_the_av_against_the_best_single_model(trained):
    _, _, predictions = trained
    results = cross_metrics(predictions, CLASSES, n_boot=50, seed=0)
    for key in CROSS_TESTS:
        r = results[key]
        assert {
            "accuracy",
            "accuracy_std",
            "accuracy_ci95",
            "macro_f1",
            "uar",
            "repeats",
            "n",
            "actors",
            "chance_p_value",
        } <= set(r)
        assert r["repeats"] == 4 and r["accuracy_ci95"][0] < r["accuracy_ci95"][1]  # never zero width
    av = results["av_vs_best_single"]
    best = av["best_single"]
    assert best in ("audio", "video") and 0 <= av["p_value"] <= 1
    tested = predictions[predictions["comparison"] == "av_on_both"]
    assert av["actors"] == tested["actor"].nunique() and av["clips"] == tested["clip"].nunique()  # each clip once
    single = results["audio_on_audio" if best == "audio" else "video_on_faces"]["accuracy"]
    assert av["difference"] == pytest.approx(results["av_on_both"]["accuracy"] - single, abs=0.1)  # paired clips only


def test_repeats_are_read_from_the_checkpoint_names(trained):
    out, _, _ = trained
    assert checkpoint_repeats(out / "audio") == [(0, 0), (0, 1), (1, 0), (1, 1)]


def test_human_baseline_counts_each_test_clip_once(tmp_path):
    split = pd.DataFrame(
        {
            "clip": ["1001_IEO_SAD_HI", "1001_IEO_SAD_HI", "1002_IEO_SAD_HI"],
            "actor": [1001, 1001, 1002],
            "emotion": ["SAD"] * 3,
            "fold": [0, 1, 1],
            "part": ["test", "train", "test"],
        }
    )
    (tmp_path / "ratings.csv").write_text(
        "FileName,VoiceVote,FaceVote,MultiModalVote\n1001_IEO_SAD_HI,S,S,A:S\n1002_IEO_SAD_HI,N,S,S\n"
    )
    human = human_baseline(tmp_path / "ratings.csv", split)
    assert human["clips_rated"] == 2
    assert human["voice"]["accuracy"] == 0.5 and human["audiovisual"] == {"accuracy": 0.5, "accuracy_ties_shared": 0.75}


@pytest.mark.parametrize(
    "kind, comparison", [("audio", "audio_on_audio"), ("video", "video_on_faces"), ("av", "av_on_both")]
)
def test_the_saved_probabilities_are_those_avemo_predict_gives_for_the_clip(trained, model_corpus, kind, comparison):
    out, _, predictions = trained
    path = out / kind / "fold1_seed0.pt"
    model, checkpoint = load_checkpoint(path)  # not load_models: the fake corpus's settings are not a clip's
    models = Models([path], [model], checkpoint["config"], torch.device("cpu"))
    rows = predictions.query("comparison == @comparison and fold == 1 and seed == 0").set_index("clip")
    folders = model_corpus["folders"]
    for clip, row in rows.iterrows():
        given = {
            m: (
                spectrogram_input(folders["audio"] / f"{clip}.npy", 32, 80)
                if m == "audio"
                else face_input(folders["video"] / f"{clip}.png", 32)
            ).unsqueeze(0)
            for m in models.modalities
        }
        saved = [row[f"p_{c}"] for c in CLASSES]
        assert np.allclose(saved, class_probabilities(models, given), atol=2e-6) and abs(sum(saved) - 1) < 1e-5
        assert row["predicted"] == CLASSES[int(np.argmax(saved))]


def test_three_faces_a_clip_are_scored_as_one_example_from_the_cache_or_the_images(model_corpus_frames3, tmp_path):
    """frame.count 3 (fold 0, one seed): every comparison runs; a frozen model's video predictions (from the
    cached outputs of each face) are what its checkpoint predicts on the clips' three faces, and a wholly
    fine-tuned video model reads the three images of each clip."""
    corpus = model_corpus_frames3
    split = read_split(corpus["split"])
    split = split[split["fold"] == 0]
    split.to_csv(tmp_path / "one_fold.csv", index=False)
    indexes = {m: read_index(f) for m, f in corpus["folders"].items()}
    test = split[split["part"] == "test"]
    rows = clips_for(modality_table(test, {"video": indexes["video"]})[0], ("video",))
    images = image_dataset(rows, ("video",), corpus["folders"], CLASSES, image_size=32, frames=3)
    for trainable, kinds in ((1, ("audio", "video", "av")), ("all", ("video",))):
        out = tmp_path / str(trainable)
        for kind in kinds:
            train_models(
                corpus,
                out,
                kind,
                split=tmp_path / "one_fold.csv",
                epochs=1,
                seeds=[0],
                encoder={"trainable": trainable},
            )
        predictions = cross_predictions(
            {k: out / k for k in kinds},
            split,
            indexes,
            corpus["folders"],
            corpus["embeddings"][trainable],
            batch_size=16,
        )
        assert set(predictions["comparison"]) == {k for k, (kind, _) in CROSS_TESTS.items() if kind in kinds}
        saved = predictions.query("comparison == 'video_on_faces'").set_index("clip")
        assert len(saved) == len(test)  # each clip once (fold 0 tests actor 1006, whose faces all exist)
        model, _ = load_checkpoint(out / "video" / "fold0_seed0.pt")
        with torch.no_grad():
            _, on_images, _ = predict(model, loader(images, 8), ("video",), "cpu")
        assert list(saved.loc[rows["clip"], "predicted"]) == [CLASSES[i] for i in on_images], trainable


def test_a_models_folder_a_killed_training_run_left_incomplete_is_refused_in_one_line(trained, model_corpus, tmp_path):
    out, split, _ = trained
    folders = {k: shutil.copytree(out / k, tmp_path / k) for k in ("audio", "video", "av")}
    assert read_checkpoint(folders["av"] / "fold0_seed0.pt")["info"][RUN_REPEATS] == [[0, 0], [0, 1], [1, 0], [1, 1]]
    for name in ("fold1_seed0.pt", "fold1_seed1.pt"):  # the run was stopped after its first fold
        (folders["av"] / name).unlink()
    with pytest.raises(CheckpointError) as refused:
        cross_predictions(
            folders,
            split,
            {m: read_index(f) for m, f in model_corpus["folders"].items()},
            model_corpus["folders"],
            model_corpus["embeddings"][ENCODER["trainable"]],
            batch_size=16,
        )
    assert str(refused.value) == (
        f"{folders['av']}: incomplete: 2 of the 4 checkpoints of its training run (2 fold(s) x 2 seed(s)), missing "
        "fold1_seed0.pt, fold1_seed1.pt (the run stopped early?); rerun its training stage (`dvc repro`)"
    )

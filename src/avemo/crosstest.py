"""The cross test on the test part: every trained model on its own modality and on the other one.

| key              | model | inputs given                                                     |
|------------------|-------|------------------------------------------------------------------|
| audio_on_audio   | audio | spectrograms                                                     |
| audio_on_faces   | audio | faces (the course project's cross test)                          |
| video_on_faces   | video | faces                                                            |
| video_on_audio   | video | spectrograms (the course project's cross test)                   |
| av_on_both       | av    | spectrograms and faces                                           |
| av_on_audio_only | av    | spectrograms; the faces are given as missing                     |
| av_on_faces_only | av    | faces; the spectrograms are given as missing                     |

Each evaluation uses the test clips that have every modality it gives (a clip whose preprocessing
failed in one is left out of it and counted). Each model gets images of its own checkpoint's size;
spectrograms are scaled with the dB range the melspec stage wrote them with (its settings.json).
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from avemo.clipindex import read_settings
from avemo.evaluation import RATER_GROUPS, human_accuracy, read_ratings, score
from avemo.inference import pick_device, predict
from avemo.loading import clips_for, image_dataset, loader, modality_table
from avemo.models import load_checkpoint

# What goes into the metrics file of each evaluation: scalars (and the interval's two ends). The
# confusion matrix, which holds the per-class figures, is a plot.
METRIC_KEYS = ("n", "accuracy", "accuracy_ci95", "macro_f1", "uar")

# key -> (model kind, modalities given)
CROSS_TESTS = {
    "audio_on_audio": ("audio", ("audio",)),
    "audio_on_faces": ("audio", ("video",)),
    "video_on_faces": ("video", ("video",)),
    "video_on_audio": ("video", ("audio",)),
    "av_on_both": ("av", ("audio", "video")),
    "av_on_audio_only": ("av", ("audio",)),
    "av_on_faces_only": ("av", ("video",)),
}


def cross_evaluate(
    models: dict[str, str | Path],
    split: pd.DataFrame,
    indexes: dict[str, pd.DataFrame],
    folders: dict[str, str | Path],
    *,
    n_boot: int = 1000,
    seed: int = 0,
    batch_size: int = 64,
) -> tuple[dict, dict[str, tuple[list[str], list[str]]]]:
    """Metrics of every CROSS_TESTS entry and, per entry, the (true, predicted) labels for its confusion plot.

    `models` maps "audio", "video", "av" to checkpoints; `indexes` and `folders` map "audio" and "video"
    to the melspec and faces index.csv tables and folders.
    """
    device = pick_device()
    test, _ = modality_table(split[split["part"] == "test"], indexes)
    loaded = {kind: load_checkpoint(path, device) for kind, path in models.items()}
    top_db = float(read_settings(folders["audio"])["top_db"])
    results, labels = {}, {}
    for key, (kind, modalities) in CROSS_TESTS.items():
        model, checkpoint = loaded[kind]
        config = checkpoint["config"]
        classes = config["classes"]
        rows = clips_for(test, modalities, "all")
        rows = rows[rows["emotion"].isin(classes)]
        data = loader(image_dataset(rows, modalities, folders, classes, image_size=config["image_size"], top_db=top_db), batch_size)
        y_true, y_pred, _ = predict(model, data, modalities, device)
        true, predicted = [classes[i] for i in y_true], [classes[i] for i in y_pred]
        scores = score(true, predicted, classes, n_boot=n_boot, seed=seed)
        results[key] = {k: scores[k] for k in METRIC_KEYS} | {"clips_left_out": int(len(test) - len(rows))}
        labels[key] = (true, predicted)
    results["test_clips"] = int(len(test))
    return results, labels


def human_baseline(ratings_path: str | Path, split: pd.DataFrame) -> dict:
    """The raters' accuracy on the test clips (see avemo.evaluation), flat: <group>_accuracy and clips_rated."""
    test = split[split["part"] == "test"]
    human = human_accuracy(read_ratings(ratings_path), test["clip"], test["emotion"])
    return {"clips_rated": human["clips_rated"], **{f"{group}_accuracy": human[group]["accuracy"] for group in RATER_GROUPS}}

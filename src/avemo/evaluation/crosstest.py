"""The cross test on the test parts: every trained model on its own modality and on the other one, in
every fold of the split and for every training seed.

| key              | model | inputs given                                                     |
|------------------|-------|------------------------------------------------------------------|
| audio_on_audio   | audio | spectrograms                                                     |
| audio_on_faces   | audio | faces (the course project's cross test)                          |
| video_on_faces   | video | faces                                                            |
| video_on_audio   | video | spectrograms (the course project's cross test)                   |
| av_on_both       | av    | spectrograms and faces                                           |
| av_on_audio_only | av    | spectrograms; the faces are given as missing                     |
| av_on_faces_only | av    | faces; the spectrograms are given as missing                     |

Each evaluation uses the fold's test clips that have every modality it gives (a clip whose
preprocessing failed in one is left out of it). A model with frozen layers (encoder.trainable none or N)
reads the embed stage's cached frozen-part outputs, as it was trained; a wholly fine-tuned one reads images
of its checkpoint's size (spectrograms scaled with the dB range melspec wrote them with). A clip of K faces
(frame.count) is one test example, its video features the mean of its K faces' (as in training). Every prediction
is saved with its class probabilities (`p_<CLASS>`, the softmax of the logits), those `avemo predict`
gives for the clip with that checkpoint.

What the cross test measures: whether what a model learnt from one modality says anything about the
other. Spectrograms and faces land in different regions of the shared encoder's feature space, so a
model trained on one sees the other as inputs far outside its training range (standardised features
are clipped, so no single feature decides); an accuracy that the test against chance (over the test
actors, see avemo.evaluation.statistics) cannot tell from chance means nothing carried over.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import torch

from avemo.evaluation.raters import RATER_GROUPS, human_accuracy, read_ratings
from avemo.evaluation.statistics import chance_verdict, format_p, paired_difference, summarise
from avemo.modeling.checkpoints import (
    CheckpointError,
    checkpoint_name,
    checkpoint_repeats,
    incomplete_run,
    load_checkpoint,
    read_checkpoint,
)
from avemo.modeling.classifiers import has_frozen_part
from avemo.modeling.embedding import read_embeddings
from avemo.modeling.inference import pick_device, probabilities_of
from avemo.modeling.inputs import loader
from avemo.modeling.loading import FeatureBatches, clips_for, frozen_items, image_dataset, modality_table
from avemo.preprocess.clipindex import frames_per_clip, read_settings

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
SINGLE_MODALITY = {"audio": "audio_on_audio", "video": "video_on_faces"}  # each unimodal model on its own modality
PREDICTION_COLUMNS = ["comparison", "fold", "seed", "clip", "actor", "true", "predicted"]  # then p_<CLASS>
PROBABILITY_DECIMALS = 6  # in predictions.csv: float noise of the last bits does not reach the file


@torch.inference_mode()
def _probabilities(
    model, checkpoint: dict, rows: pd.DataFrame, modalities, classes, folders, embeddings, read, batch_size, device
):
    """`read`: how the images are made (image_dataset's top_db and frames), for a wholly fine-tuned model."""
    if has_frozen_part(checkpoint["config"]):
        items = {k: v.to(device) for k, v in frozen_items(rows, modalities, embeddings, classes).items()}
        return probabilities_of(model, FeatureBatches(items, batch_size), modalities, device, from_frozen=True)
    images = image_dataset(rows, modalities, folders, classes, image_size=checkpoint["config"]["image_size"], **read)
    return probabilities_of(model, loader(images, batch_size), modalities, device)


def cross_predictions(
    models_dirs: dict[str, str | Path],
    split: pd.DataFrame,
    indexes: dict[str, pd.DataFrame],
    folders: dict[str, str | Path],
    embeddings_dir: str | Path,
    *,
    batch_size: int,
) -> pd.DataFrame:
    """Predictions (PREDICTION_COLUMNS and each class's probability, p_<CLASS>) of every CROSS_TESTS entry
    whose model `models_dirs` holds, on the test part of every fold, for every seed. `models_dirs` maps
    "audio", "video", "av" (eval_cross: all three) to the training stages' models folders;
    `indexes` and `folders` map "audio" and "video" to the melspec and faces index.csv tables and folders.
    A models folder that does not hold every checkpoint of its training run (a run stopped early) is
    refused with one line (avemo.modeling.checkpoints.incomplete_run): its figures would pass for a whole run's."""
    device = pick_device()
    for folder in models_dirs.values():  # a killed training run's folder would score as if it were whole
        problem = incomplete_run(folder, {p: read_checkpoint(p) for p in sorted(Path(folder).glob("*.pt"))})
        if problem:
            raise CheckpointError(problem)
    repeats = {kind: checkpoint_repeats(folder) for kind, folder in models_dirs.items()}
    first = next(iter(repeats.values()))
    if len({tuple(r) for r in repeats.values()}) != 1 or not first:
        raise ValueError(
            f"the models folders hold different folds and seeds ({repeats}); rerun the training stages (dvc repro)"
        )
    embeddings = {m: read_embeddings(embeddings_dir, m) for m in folders}
    # the spectrograms' dB range, and the faces per clip: every model is given the faces as they are
    read = {
        "top_db": float(read_settings(folders["audio"])["top_db"]),
        "frames": frames_per_clip(read_settings(folders["video"])),
    }
    records = []
    for fold, seed in first:
        test, _ = modality_table(split[(split["fold"] == fold) & (split["part"] == "test")], indexes)
        loaded = {
            kind: load_checkpoint(Path(folder) / checkpoint_name(fold, seed), device)
            for kind, folder in models_dirs.items()
        }
        for key, (kind, modalities) in CROSS_TESTS.items():
            if kind not in loaded:
                continue
            model, checkpoint = loaded[kind]
            classes = checkpoint["config"]["classes"]
            rows = clips_for(test, modalities, "all")
            rows = rows[rows["emotion"].isin(classes)]
            probabilities = _probabilities(
                model, checkpoint, rows, modalities, classes, folders, embeddings, read, batch_size, device
            )
            records.append(
                pd.DataFrame(
                    {
                        "comparison": key,
                        "fold": fold,
                        "seed": seed,
                        "clip": rows["clip"].to_numpy(),
                        "actor": rows["actor"].to_numpy(),
                        "true": rows["emotion"].to_numpy(),
                        "predicted": [classes[i] for i in probabilities.argmax(axis=1)],
                        **{f"p_{c}": probabilities[:, i].round(PROBABILITY_DECIMALS) for i, c in enumerate(classes)},
                    }
                )
            )
    return pd.concat(records, ignore_index=True)


def cross_metrics(predictions: pd.DataFrame, classes: list[str], *, n_boot: int, seed: int) -> dict:
    """Figures of every comparison (evaluation.summarise), and the AV model on both modalities against
    the better single-modality model (evaluation.paired_difference: paired by clip, tested by actor)."""
    by_key = {key: rows for key, rows in predictions.groupby("comparison")}
    results = {key: summarise(by_key[key], classes, n_boot, seed) for key in CROSS_TESTS if key in by_key}
    best = max(SINGLE_MODALITY, key=lambda kind: results[SINGLE_MODALITY[kind]]["accuracy"])
    comparison = paired_difference(by_key["av_on_both"], by_key[SINGLE_MODALITY[best]], n_boot, seed)
    results["av_vs_best_single"] = {"best_single": best, **comparison}
    return results


def human_baseline(ratings_path: str | Path, split: pd.DataFrame) -> dict:
    """The raters' accuracy (see avemo.evaluation.statistics) on the test clips of all folds, each clip once."""
    test = split[split["part"] == "test"].drop_duplicates("clip")
    human = human_accuracy(read_ratings(ratings_path), test["clip"], test["emotion"])
    return {"clips_rated": human["clips_rated"], **{group: human[group] for group in RATER_GROUPS}}


def results_text(results: dict, n_classes: int) -> str:
    """eval_cross's metrics (cross_metrics, and `human` from human_baseline) as a table for the terminal."""
    lines = [
        f"eval_cross: test accuracy, mean over {results['audio_on_audio']['repeats']} repeats (folds x seeds), "
        f"{n_classes} classes (chance {1 / n_classes:.3f})",
        f"  {'comparison':<17} {'accuracy':>15} {'95% interval':>16} {'macro-F1':>9} {'UAR':>6} {'clips':>6}  vs "
        "chance",
    ]
    for key in CROSS_TESTS:
        r = results[key]
        low, high = r["accuracy_ci95"]
        chance = f"{chance_verdict(r['accuracy'], r['chance_p_value'], n_classes)} (p {format_p(r['chance_p_value'])})"
        lines.append(
            f"  {key:<17} {r['accuracy']:>7.3f} +- {r['accuracy_std']:.3f} [{low:.3f}, {high:.3f}] "
            f"{r['macro_f1']:>9.3f} {r['uar']:>6.3f} {r['n']:>6.1f}  {chance}"
        )
    av = results["av_vs_best_single"]
    low, high = av["difference_ci95"]
    lines.append(
        f"  AV on both minus the better single model ({av['best_single']}): {av['difference']:+.3f} [{low:+.3f}, "
        f"{high:+.3f}], paired sign-flip test over {av['actors']} actors p {format_p(av['p_value'])}"
    )
    human = results["human"]
    rated = ", ".join(f"{g} {human[g]['accuracy']:.3f}" for g in RATER_GROUPS if human[g]["accuracy"] is not None)
    lines.append(
        f"  human raters (real CREMA-D recordings of these {human['clips_rated']} clip names, six-way choice, ties "
        f"wrong): {rated or 'no test clip is rated'}"
    )
    return "\n".join(lines)

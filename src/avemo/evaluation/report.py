"""One report of a run: reports/results.md with every figure of eval_cross's metrics, the course
project's published numbers beside them, the human raters, the split's composition, and PNG confusion
matrices and training curves beside it.

Every number the report shows is read from the metrics files as they are (4 decimals), so the report
and `dvc metrics show` cannot disagree. Confusion matrices pool the test predictions of every fold and
seed (data/predictions.csv); the curves are each model's first repeat (dvclive), with the epoch that
repeat kept marked.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd

from avemo.evaluation.statistics import chance_verdict, confusion_matrix, format_p
from avemo.files import METRIC_DECIMALS, atomic_write
from avemo.preprocess.clipindex import frames_per_clip

# The course project: VGG16 fine-tuned on ANG, SAD, HAP, 273 clips, one random clip-level split, the
# epoch picked on test accuracy (its report's figures).
COURSE_PROJECT = {"audio_on_audio": 0.7683, "video_on_faces": 0.7073, "av_on_both": 0.6220}
COMPARISONS = {
    "audio_on_audio": "audio model, spectrograms",
    "video_on_faces": "video model, faces",
    "av_on_both": "AV model, both",
    "av_on_audio_only": "AV model, spectrograms only",
    "av_on_faces_only": "AV model, faces only",
    "audio_on_faces": "audio model, faces (cross test)",
    "video_on_audio": "video model, spectrograms (cross test)",
}
KINDS = {"audio": "audio model (spectrograms)", "video": "video model (faces)", "av": "AV model (both)"}


def _figure(path: Path, draw) -> Path:
    import matplotlib

    matplotlib.use("Agg")  # no display: files only
    import matplotlib.pyplot as plt

    figure = draw(plt)
    # Fixed metadata: the same figure gives the same bytes on every run (git-tracked files diff well).
    atomic_write(path, lambda tmp: figure.savefig(tmp, format="png", dpi=100, metadata={"Software": None}))
    plt.close(figure)
    return path


def confusion_png(path: Path, true: list[str], predicted: list[str], classes: list[str], title: str) -> Path:
    """A square confusion matrix of counts: every class in rows (true) and columns (predicted), each cell
    labelled with its count, zero included."""
    counts = np.array(confusion_matrix(true, predicted, classes))

    def draw(plt):
        figure, axes = plt.subplots(figsize=(4.2, 4.2))
        axes.imshow(counts, cmap="Blues", vmin=0)
        axes.set_xticks(range(len(classes)), classes)
        axes.set_yticks(range(len(classes)), classes)
        axes.set_xlabel("predicted emotion")
        axes.set_ylabel("true emotion")
        axes.set_title(title, fontsize=9)
        for i in range(len(classes)):
            for j in range(len(classes)):
                dark = counts[i, j] > counts.max() / 2
                axes.text(j, i, str(counts[i, j]), ha="center", va="center", color="white" if dark else "black")
        axes.set_aspect("equal")
        figure.tight_layout()
        return figure

    return _figure(path, draw)


def curves_png(path: Path, live_dir: Path, best_epoch: int, title: str) -> Path:
    """Loss and accuracy per epoch, train and validation, of a training stage's first repeat, with the
    kept epoch marked."""

    def series(part: str, name: str) -> pd.DataFrame:
        return pd.read_csv(live_dir / "plots" / "metrics" / part / f"{name}.tsv", sep="\t")

    def draw(plt):
        figure, axes = plt.subplots(1, 2, figsize=(8, 3.2))
        for ax, name in zip(axes, ("loss", "accuracy")):
            for part, label in (("train", "train"), ("val", "validation")):
                data = series(part, name)
                ax.plot(data["step"], data[name], label=label)
            ax.axvline(best_epoch, color="grey", linestyle="--", label=f"kept: epoch {best_epoch}")
            ax.set_xlabel("epoch")
            ax.set_ylabel(name)
            ax.legend(fontsize=8)
        figure.suptitle(title, fontsize=10)
        figure.tight_layout()
        return figure

    return _figure(path, draw)


def results_table(cross: dict, n_classes: int) -> list[str]:
    lines = [
        "| model, inputs | accuracy (mean of repeats) | sd | 95% interval | macro-F1 | UAR | repeats | test clips a "
        "repeat | vs chance |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for key, label in COMPARISONS.items():
        r = cross[key]
        verdict = chance_verdict(r["accuracy"], r["chance_p_value"], n_classes)
        lines.append(
            f"| {label} | {r['accuracy']} | {r['accuracy_std']} | [{r['accuracy_ci95'][0]}, {r['accuracy_ci95'][1]}] | "
            f"{r['macro_f1']} | {r['uar']} | {r['repeats']} | {r['n']} | {verdict} (p "
            f"{format_p(r['chance_p_value'], METRIC_DECIMALS)}) |"
        )
    return lines


def composition_table(composition: pd.DataFrame) -> list[str]:
    """Clips per emotion and actors per sex, by fold and part."""
    wide = composition.pivot_table(index=["fold", "part"], columns="name", values="count", aggfunc="sum", fill_value=0)
    order = {"train": 0, "validation": 1, "test": 2}
    wide = wide.sort_index(key=lambda index: index.map(lambda v: order.get(v, v)))
    clips = sorted(composition.loc[composition["of"] == "clips", "name"].unique())
    actors = sorted(composition.loc[composition["of"] == "actors", "name"].unique())
    lines = [
        "| fold | part | "
        + " | ".join(f"{c} clips" for c in clips)
        + " | "
        + " | ".join(f"{a} actors" for a in actors)
        + " |",
        "| --- | --- | " + " | ".join("---" for _ in clips + actors) + " |",
    ]
    for (fold, part), row in wide.iterrows():
        lines.append(f"| {fold} | {part} | " + " | ".join(str(int(row[c])) for c in clips + actors) + " |")
    return lines


def ablation_section(page: str | None) -> list[str]:
    """bench/ablation.py's page as a section: its headings one level down, its title replaced."""
    if not page:
        return []
    body = page.split("\n", 1)[1] if page.startswith("# ") else page
    demoted = [f"#{line}" if line.startswith("#") else line for line in body.strip().splitlines()]
    return [
        "## The encoder's configurations (bench/ablation.py)",
        "",
        "Not this run's figures: DVC experiments that `python bench/ablation.py --markdown docs/ablation.md` ran "
        "and tabulated (docs/ablation.md, a dependency of this stage), as they stood when that page was written.",
        *demoted,
        "",
    ]


SCHEMES = {
    "actors": "folds by actor (speaker-independent)",
    "published": "a published actor split (speaker-independent)",
    "clips": "the course project's clip-level split (actors shared between parts)",
    "ogm_ge": "the OGM-GE clip lists of the CREMA-D literature (actors shared between parts)",
}


def corpus_line(corpus: dict | None) -> str:
    """What data the figures below are of, in one line (list_clips's data/corpus.json): the synthetic sample,
    said to be synthetic, or the folder of real clips."""
    if corpus is None:
        return "Data: not recorded (no data/corpus.json of list_clips)."
    if corpus["synthetic_sample"]:
        return (
            f"Data: **the SYNTHETIC sample** (`{corpus['clips']}`, rendered by the `sample` stage: artificial faces "
            "and voices, not CREMA-D's recordings), so every figure below describes that sample and says nothing "
            "about real emotion recognition."
        )
    return f"Data: real clips, `{corpus['clips']}` (data.raw_dir)."


def protocol_line(split: dict, classes: list[str], frame: dict | None, encoder: dict | None) -> str:
    """What the figures below were measured under, in one line, so that two reports cannot be confused: the
    split, the classes, the video input and the encoder (its initialisation and how much of it trained)."""
    scheme = split.get("scheme", "actors")
    parts = [f"split `{scheme}`, {SCHEMES.get(scheme, scheme)}", f"{len(classes)} classes ({', '.join(classes)})"]
    if frame is not None:
        count = frames_per_clip(frame)
        if count == 1:
            parts.append(f"video: the face of one frame a clip, at position {frame['position']:g} of the clip")
        else:
            parts.append(
                f"video: the faces of {count} frames a clip (their features averaged), evenly spaced over "
                f"{frame['spread']:g} of the clip around position {frame['position']:g}"
            )
    if encoder is not None:
        trainable = encoder["trainable"]
        trained = {"none": "frozen (linear heads)", "all": "trained whole"}.get(
            str(trainable), f"its top {trainable} block(s) trained"
        )
        start = "ImageNet weights" if encoder["pretrained"] else "random weights (trained from scratch)"
        parts.append(f"encoder {encoder['arch']} at {encoder['image_size']} px from {start}, {trained}")
    return "Protocol: " + "; ".join(parts) + "."


def write_report(
    out_dir: str | Path,
    *,
    metrics_dir: str | Path,
    predictions: pd.DataFrame,
    composition: pd.DataFrame,
    live_dirs: dict[str, Path],
    ablation: str | None = None,
    frame_settings: dict | None = None,
    encoder_settings: dict | None = None,
    corpus: dict | None = None,
) -> Path:
    """reports/results.md and its PNGs in `out_dir`; see the module docstring. `ablation`: the text of
    bench/ablation.py's page (docs/ablation.md), shown as a section of its own. `frame_settings` and
    `encoder_settings`: the settings.json of extract_middle_frame and embed, for the protocol line;
    `corpus`: list_clips's data/corpus.json, for the first line (what data the figures are of)."""
    out_dir, metrics_dir = Path(out_dir), Path(metrics_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    for old in out_dir.glob("*.png"):  # a rerun with other comparisons leaves no stale picture
        old.unlink()
    cross = json.loads((metrics_dir / "eval_cross.json").read_text())
    split = json.loads((metrics_dir / "split.json").read_text())
    classes = sorted(predictions["true"].unique())
    av = cross["av_vs_best_single"]
    human = cross["human"]
    synthetic = corpus is not None and corpus["synthetic_sample"]
    this_run = "this run (synthetic sample)" if synthetic else "this run"
    lines = [
        "# Results",
        "",
        corpus_line(corpus),
        "",
        protocol_line(split, classes, frame_settings, encoder_settings),
        "",
        "Written by the `report` stage from `metrics/*.json`, `data/predictions.csv`, `plots/split_composition.csv` "
        "and the",
        "training curves; every number below is the metrics files' own (`dvc metrics show`).",
        "",
        f"{split['clips']} clips of {split['actors']} actors, {len(classes)} classes ({', '.join(classes)}), "
        f"{split['folds']} fold(s) x {cross['av_on_both']['repeats'] // max(split['folds'], 1)} seed(s) = "
        f"{cross['av_on_both']['repeats']} repeats; {split['actors_in_two_parts']} actors in two parts of a fold"
        + (
            " (**the split shares actors between training and test: these accuracies are not speaker-independent**)."
            if split["actors_in_two_parts"]
            else " (speaker-independent)."
        ),
        "",
        "## Test accuracy",
        "",
        *results_table(cross, len(classes)),
        "",
        "Intervals and tests take the actor as their unit (clips of one actor are correlated, and one clip's "
        "predictions by two seeds' models are not independent): the 95% interval is a bootstrap over actors of the "
        "pooled predictions, each actor with all its clips and seeds (Clopper-Pearson at 0 or 1); `vs chance` a "
        f"sign-flip permutation test of the actors' accuracies against 1/{len(classes)}. The AV model on both minus "
        f"the better single model ({av['best_single']}), paired clip by clip within each repeat: {av['difference']} "
        f"[{av['difference_ci95'][0]}, {av['difference_ci95'][1]}], a paired sign-flip permutation test of the "
        f"{av['actors']} actors' accuracy differences (their {av['clips']} clips, every seed) p "
        f"{format_p(av['p_value'], METRIC_DECIMALS)}.",
        "",
        "## Beside the course project",
        "",
        f"| model, inputs | {this_run} | course project (real CREMA-D) |",
        "| --- | --- | --- |",
        *[f"| {COMPARISONS[key]} | {cross[key]['accuracy']} | {value:.4f} |" for key, value in COURSE_PROJECT.items()],
        "",
        "The course project fine-tuned VGG16 on 273 real CREMA-D clips (ANG, HAP, SAD; sentence IEO at HI), split the "
        "clips at",
        "random (the same actors in training and test), picked the epoch on test accuracy and reported one run; this "
        "run",
        "chooses each epoch on validation, tests every actor once per seed in actor-disjoint folds and reports the "
        "mean of the",
        "repeats, on the data and with the encoder of `params.yaml` (the `presets/course-project.args` preset reruns "
        "the",
        "course project's configuration)."
        + (
            " **This run's figures are of the synthetic sample, the course project's of real CREMA-D recordings: the "
            "two columns are of different data and do not compare.**"
            if synthetic
            else ""
        ),
        "",
        "## Human raters",
        "",
        f"CREMA-D's crowd raters, majority vote, on the {human['clips_rated']} test clips whose names they rated (a "
        "six-way choice,",
        "whatever classes the models learn; they judged the real CREMA-D recordings of these names, so on the "
        "synthetic sample",
        "they describe those recordings, not the sample's clips):",
        "",
        "| raters | accuracy (a tie wrong) | accuracy (a tie shared) |",
        "| --- | --- | --- |",
        *[
            f"| {group} | {human[group]['accuracy']} | {human[group]['accuracy_ties_shared']} |"
            for group in ("voice", "face", "audiovisual")
        ],
        "",
        *ablation_section(ablation),
        "## Split",
        "",
        *composition_table(composition),
        "",
        "## Confusion matrices (test clips of every fold and seed)",
        "",
    ]
    for key, label in COMPARISONS.items():
        rows = predictions[predictions["comparison"] == key]
        name = f"confusion_{key}.png"
        confusion_png(out_dir / name, rows["true"].tolist(), rows["predicted"].tolist(), classes, label)
        lines.append(f"![{label}]({name})")
    lines += ["", "## Training curves (first repeat of each model; the kept epoch dashed)", ""]
    for kind, live_dir in live_dirs.items():
        first = pd.read_csv(Path(live_dir) / "repeats.csv").iloc[0]
        name = f"curves_{kind}.png"
        curves_png(
            out_dir / name,
            Path(live_dir),
            int(first["best_epoch"]),
            f"{KINDS[kind]}: fold {int(first['fold'])}, seed {int(first['seed'])}",
        )
        lines.append(f"![{KINDS[kind]}]({name})")
    report = out_dir / "results.md"
    atomic_write(report, lambda tmp: tmp.write_text("\n".join(lines) + "\n"))
    return report

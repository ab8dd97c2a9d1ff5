"""The report: every figure equal to the metrics files', square confusion matrices of every class, curves."""

import json

import pandas as pd
import pytest
from PIL import Image

from avemo.evaluation.crosstest import CROSS_TESTS
from avemo.evaluation.report import ablation_section, write_report
from helpers import CLASSES, assert_report_equals_metrics


@pytest.fixture
def run(tmp_path):
    """Metrics, predictions, composition and curves as the stages write them, for 3 classes and 2 repeats."""
    metrics = tmp_path / "metrics"
    metrics.mkdir()
    cross = {
        key: {
            "accuracy": 0.5 + i / 100,
            "accuracy_std": 0.01 * i,
            "accuracy_ci95": [0.4, 0.6 + i / 100],
            "macro_f1": 0.45,
            "uar": 0.5,
            "repeats": 2,
            "n": 3.0,
            "actors": 1,
            "chance_p_value": 0.2 if "faces" in key and "audio" in key else 0.0001,
        }
        for i, key in enumerate(CROSS_TESTS)
    }
    cross["av_vs_best_single"] = {
        "best_single": "video",
        "difference": 0.05,
        "difference_ci95": [0.01, 0.09],
        "p_value": 0.03,
        "actors": 4,
        "clips": 6,
    }
    cross["human"] = {
        "clips_rated": 3,
        **{g: {"accuracy": 0.5, "accuracy_ties_shared": 0.6} for g in ("voice", "face", "audiovisual")},
    }
    (metrics / "eval_cross.json").write_text(json.dumps(cross))
    (metrics / "split.json").write_text(json.dumps({"folds": 2, "clips": 6, "actors": 4, "actors_in_two_parts": 0}))
    predictions = pd.DataFrame(
        [
            {"comparison": key, "fold": 0, "seed": 0, "clip": f"c{i}", "actor": 1001, "true": true, "predicted": "ANG"}
            for key in CROSS_TESTS
            for i, true in enumerate(CLASSES)
        ]
    )  # HAP and SAD never predicted
    composition = pd.DataFrame(
        [
            {"group": f"fold 0 {part} {name}", "count": 1, "of": of, "fold": 0, "part": part, "name": name}
            for part in ("train", "validation", "test")
            for name, of in (("ANG", "clips"), ("Male", "actors"))
        ]
    )
    live = {}
    for kind in ("audio", "video", "av"):
        folder = tmp_path / "dvclive" / f"train_{kind}"
        for part in ("train", "val"):
            (folder / "plots" / "metrics" / part).mkdir(parents=True)
            for name in ("loss", "accuracy"):
                (folder / "plots" / "metrics" / part / f"{name}.tsv").write_text(
                    "step\t" + name + "\n1\t0.9\n2\t0.5\n3\t0.6\n"
                )
        (folder / "repeats.csv").write_text("fold,seed,best_epoch,epochs_run\n0,0,2,3\n")
        live[kind] = folder
    report = write_report(
        tmp_path / "reports",
        metrics_dir=metrics,
        predictions=predictions,
        composition=composition,
        live_dirs=live,
        corpus={"clips": "data/sample/VideoFlash", "synthetic_sample": True},
    )
    return report, cross


def test_every_figure_of_the_report_is_the_metrics_files_own(run):
    report, cross = run
    text = report.read_text()
    assert_report_equals_metrics(text, cross)
    assert "| audio model, faces (cross test) | 0.51 |" in text and "not distinguishable (p 0.2000)" in text
    assert "| AV model, both | 0.54 | 0.6220 |" in text  # the course project's figure beside ours, saying what each is
    assert "| model, inputs | this run (synthetic sample) | course project (real CREMA-D) |" in text
    assert "**This run's figures are of the synthetic sample, the course project's of real CREMA-D" in text
    assert "| voice | 0.5 | 0.6 |" in text and "| 0 | test | 1 | 1 |" in text
    assert "(video), paired clip by clip within each repeat: 0.05 [0.01, 0.09]" in text
    assert "test of the 4 actors' accuracy differences (their 6 clips, every seed) p 0.0300." in text


def test_confusion_matrices_are_square_with_every_class_and_curves_are_drawn(run):
    report, _ = run
    folder = report.parent
    for key in CROSS_TESTS:
        with Image.open(folder / f"confusion_{key}.png") as image:
            assert image.width == image.height
        assert f"(confusion_{key}.png)" in report.read_text()
    for kind in ("audio", "video", "av"):
        with Image.open(folder / f"curves_{kind}.png") as image:
            assert image.width > 2 * image.height  # loss and accuracy side by side


def test_a_rerun_gives_the_same_bytes(run, tmp_path):
    report, _ = run
    first = {p.name: p.read_bytes() for p in report.parent.iterdir()}
    metrics, live = tmp_path / "metrics", {k: tmp_path / "dvclive" / f"train_{k}" for k in ("audio", "video", "av")}
    predictions = pd.DataFrame(
        [
            {"comparison": key, "fold": 0, "seed": 0, "clip": f"c{i}", "actor": 1001, "true": true, "predicted": "ANG"}
            for key in CROSS_TESTS
            for i, true in enumerate(CLASSES)
        ]
    )
    composition = pd.DataFrame(
        [{"group": "fold 0 test ANG", "count": 1, "of": "clips", "fold": 0, "part": "test", "name": "ANG"}]
    )
    again = write_report(
        tmp_path / "again", metrics_dir=metrics, predictions=predictions, composition=composition, live_dirs=live
    )
    assert {p.name: p.read_bytes() for p in again.parent.iterdir() if p.suffix == ".png"} == {
        k: v for k, v in first.items() if k.endswith(".png")
    }


def test_the_ablation_page_is_a_section_with_its_headings_one_level_down():
    page = "# Ablation: the shared encoder's configurations\n\nSome caption.\n\n## Paired differences\n\n| a | b |\n"
    section = ablation_section(page)
    assert section[0] == "## The encoder's configurations (bench/ablation.py)"
    assert "### Paired differences" in section and "| a | b |" in section
    assert not [line for line in section if line.startswith("# ")]  # the page's title is replaced
    assert ablation_section(None) == []


def test_the_protocol_line_names_split_classes_frame_and_encoder():
    from avemo.evaluation.report import protocol_line

    encoder = {"arch": "efficientnet_lite0", "pretrained": True, "image_size": 128, "trainable": 1}
    line = protocol_line({"scheme": "actors"}, ["ANG", "HAP", "SAD"], {"position": 0.5}, encoder)
    assert line == (
        "Protocol: split `actors`, folds by actor (speaker-independent); 3 classes (ANG, HAP, SAD); video: the face of "
        "one frame a "
        "clip, at position 0.5 of the clip; encoder efficientnet_lite0 at 128 px from ImageNet weights, its top 1 "
        "block(s) trained."
    )
    scratch = {"arch": "resnet18", "pretrained": False, "image_size": 224, "trainable": "all"}
    line = protocol_line({"scheme": "ogm_ge"}, list("ABCDEF"), {"position": 0.5}, scratch)
    assert "split `ogm_ge`, the OGM-GE clip lists of the CREMA-D literature (actors shared between parts)" in line
    assert (
        "6 classes (A, B, C, D, E, F)" in line
        and "resnet18 at 224 px from random weights (trained from scratch), trained whole" in line
    )


def test_the_first_lines_name_the_data_the_protocol_and_the_classes(run):
    report, _ = run
    first = report.read_text().splitlines()[:5]
    assert first[2].startswith(
        "Data: **the SYNTHETIC sample** (`data/sample/VideoFlash`, rendered by the `sample` stage"
    )
    assert "says nothing about real emotion recognition" in first[2]
    assert first[4].startswith("Protocol: split `actors`") and "3 classes (ANG, HAP, SAD)" in first[4]


def test_real_clips_are_named_by_their_folder_and_nothing_says_synthetic():
    from avemo.evaluation.report import corpus_line

    line = corpus_line({"clips": "/home/me/crema-d/VideoFlash", "synthetic_sample": False})
    assert line == "Data: real clips, `/home/me/crema-d/VideoFlash` (data.raw_dir)."
    assert corpus_line(None).startswith("Data: not recorded")

"""The whole pipeline as DVC runs it, in a temporary git repository on a tiny synthetic sample:
repro then nothing, `dvc exp run -S lr=...`, a face parameter, metrics diff between branches, plots."""

import json
import subprocess

import pytest
from conftest import TINY_PARAMS, dvc, make_repo_copy

ALL_STAGES = ["sample", "list_clips", "extract_audio", "melspec", "extract_middle_frame", "face_crop",
              "split", "train_audio", "train_video", "train_av", "eval_cross"]
CROSS_KEYS = ["audio_on_audio", "audio_on_faces", "video_on_faces", "video_on_audio", "av_on_both", "av_on_audio_only", "av_on_faces_only"]

# The front half's tiny params, with enough actors for three parts, and the back half shrunk for the CPU.
# lr differs from the 0.001 the test sets with `dvc exp run -S lr=0.001`.
PARAMS = {
    **TINY_PARAMS,
    "lr": 0.003,
    "sample": {**TINY_PARAMS["sample"], "actors": 5},
    "split": {"scheme": "stratified", "fractions": {"train": 0.6, "validation": 0.2, "test": 0.2}, "seed": 0, "candidates": 20},
    "encoder": {"arch": "efficientnet_lite0", "pretrained": True, "image_size": 32, "spectrogram_top_db": 80},
    "fusion": {"method": "concat", "modality_dropout": 0.5},
    "train": {"epochs": 3, "batch_size": 8, "weight_decay": 0.0001, "seed": 0, "patience": 2, "augmentation": True,
              "freeze_encoder": True, "head_hidden": 0, "dropout": 0.2},
    "eval": {"bootstrap": 100, "seed": 0, "batch_size": 16},
}


def ran(output: str) -> set[str]:
    return {stage for stage in ALL_STAGES if f"Running stage '{stage}'" in output}


def git(repo, *args):
    return subprocess.run(["git", "-c", "user.name=t", "-c", "user.email=t@t", *args], cwd=repo, check=True, capture_output=True, text=True)


def set_param(repo, old: str, new: str):
    text = (repo / "params.yaml").read_text()
    assert text.count(old) == 1, old
    (repo / "params.yaml").write_text(text.replace(old, new))


@pytest.mark.slow
def test_full_pipeline_under_dvc(tmp_path):
    repo = make_repo_copy(tmp_path / "repo", PARAMS)

    first = dvc(repo, "repro")
    assert ran(first.stdout) == set(ALL_STAGES), first.stdout
    for kind in ("audio", "video", "av"):
        metrics = json.loads((repo / "metrics" / f"train_{kind}.json").read_text())
        assert {"val_accuracy", "test_accuracy", "test_macro_f1", "epochs_run"} <= set(metrics)
        assert (repo / "models" / f"{kind}.pt").is_file()
    cross = json.loads((repo / "metrics" / "eval_cross.json").read_text())
    for key in CROSS_KEYS:
        assert {"accuracy", "macro_f1", "uar", "accuracy_ci95"} <= set(cross[key]), key

    assert ran(dvc(repo, "repro").stdout) == set()  # nothing changed: nothing runs

    # Metrics are git-tracked; DVC shows them, and the plots (curves, confusion matrices) render.
    shown = json.loads(dvc(repo, "metrics", "show", "--json").stdout)
    assert "metrics/eval_cross.json" in json.dumps(shown)
    plots = json.loads(dvc(repo, "plots", "show", "--json").stdout)
    assert not plots.get("errors"), plots.get("errors")
    drawn = plots["data"]
    for kind in ("audio", "video", "av"):
        for metric in ("loss", "accuracy"):
            values = drawn[f"train_{kind}_{metric}"][0]["content"]["data"]["values"]
            assert {v["filename"] for v in values} == {f"train/{metric}.tsv", f"val/{metric}.tsv"}  # both curves
    for key in CROSS_KEYS:
        assert drawn[f"dvclive/eval_cross/plots/sklearn/confusion/{key}.json"][0]["content"]["data"]["values"], key

    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "lr 0.003")
    git(repo, "branch", "lr-0.003")

    exp = dvc(repo, "exp", "run", "-S", "lr=0.001")
    assert ran(exp.stdout) == {"train_audio", "train_video", "train_av", "eval_cross"}, exp.stdout
    assert "lr: 0.001" in (repo / "params.yaml").read_text()

    git(repo, "checkout", "-qb", "lr-0.001")
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "lr 0.001")
    diff = json.loads(dvc(repo, "metrics", "diff", "lr-0.003", "lr-0.001", "--json").stdout)
    for kind in ("audio", "video", "av"):
        changed = diff.get(f"metrics/train_{kind}.json", {})
        assert any(v.get("diff") not in (0, None) for v in changed.values()), (kind, changed)
    lr = json.loads(dvc(repo, "params", "diff", "lr-0.003", "lr-0.001", "--json").stdout)["params.yaml"]["lr"]
    assert (lr["old"], lr["new"]) == (0.003, 0.001)

    set_param(repo, "margin: 0.2", "margin: 0.35")
    margin = dvc(repo, "repro")
    assert ran(margin.stdout) == {"face_crop", "train_video", "train_av", "eval_cross"}, margin.stdout

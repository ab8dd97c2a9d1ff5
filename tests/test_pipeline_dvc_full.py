"""The whole pipeline as DVC runs it, in a temporary git repository on a tiny synthetic sample: repro
then nothing; `dvc status` after a one-line edit of each library file; a fresh clone reproduces the
committed bytes on an emulated other CPU; a bad `dvc exp run -S lr=abc` stops in seconds and leaves
every output in place; `dvc exp run -S lr=...`, metrics and plots diff between
branches; a face parameter, the AV model's sharing and the encoder's trained depth rerun what they
must; the `dvc exp show` line of the README fits 120 columns."""

import json
import re
import subprocess
import time

import pytest
import yaml

from avemo.dvcdeps import code_closure, stage_scripts
from helpers import OTHER_CPU, REPO_ROOT, TINY_PARAMS, assert_report_equals_metrics, dvc, git, make_repo_copy

ALL_STAGES = [
    "check_params",
    "sample",
    "list_clips",
    "extract_audio",
    "melspec",
    "extract_middle_frame",
    "face_crop",
    "split",
    "embed",
    "train_audio",
    "train_video",
    "train_av",
    "eval_cross",
    "report",
]
CROSS_KEYS = [
    "audio_on_audio",
    "audio_on_faces",
    "video_on_faces",
    "video_on_audio",
    "av_on_both",
    "av_on_audio_only",
    "av_on_faces_only",
]
TRACKED_RESULTS = ["metrics", "dvclive", "plots", "reports"]  # git-tracked outputs: metrics, plot data, the report

# Enough actors for three parts; lr differs from the 0.001 the test sets with `dvc exp run -S lr=0.001`.
PARAMS = {**TINY_PARAMS, "lr": 0.003, "sample": {**TINY_PARAMS["sample"], "actors": 5}}


def ran(output: str) -> set[str]:
    return {stage for stage in ALL_STAGES if f"Running stage '{stage}'" in output}


def set_param(repo, old: str, new: str):
    text = (repo / "params.yaml").read_text()
    assert text.count(old) == 1, old
    (repo / "params.yaml").write_text(text.replace(old, new))


def stages_running(path, repo) -> set[str]:
    """The stages whose code (imports, resources) or param-named data files include `path`."""
    dvc_yaml = yaml.safe_load((repo / "dvc.yaml").read_text())
    params = yaml.safe_load((repo / "params.yaml").read_text())
    found = set()
    for name, stage in dvc_yaml["stages"].items():
        code = set().union(*(code_closure(s, repo / "src") for s in stage_scripts(stage, repo)))
        named = set()
        for dep in stage["deps"]:
            for section, key in re.findall(r"\$\{(\w+)\.(\w+)\}", dep):
                named.add((repo / params[section][key]).resolve())
        if path in code or path.resolve() in named:
            found.add(name)
    return found


def readme_command(prefix: str) -> list[str]:
    """The README's line that starts with `prefix`, split as a shell would."""
    import shlex

    lines = [
        line.split("#")[0].strip()
        for line in (REPO_ROOT / "README.md").read_text().splitlines()
        if line.startswith(prefix)
    ]
    assert lines, f"README.md has no line starting with {prefix!r}"
    return shlex.split(lines[0])


@pytest.mark.slow
def test_full_pipeline_under_dvc(tmp_path):
    repo = make_repo_copy(tmp_path / "repo", PARAMS)

    first = dvc(repo, "repro")
    assert ran(first.stdout) == set(ALL_STAGES), first.stdout
    repeats = 3 * 2  # TINY_PARAMS: 3 folds x 2 seeds
    for kind in ("audio", "video", "av"):
        metrics = json.loads((repo / "metrics" / f"train_{kind}.json").read_text())
        assert {"val_accuracy", "val_accuracy_std", "best_epoch"} <= set(metrics) and metrics["repeats"] == repeats
        assert not [k for k in metrics if k.startswith("test")]  # the test parts are scored by eval_cross only
        assert len(list((repo / "models" / kind).glob("fold*_seed*.pt"))) == repeats
    cross = json.loads((repo / "metrics" / "eval_cross.json").read_text())
    for key in CROSS_KEYS:
        assert {"accuracy", "accuracy_std", "accuracy_ci95", "macro_f1", "uar", "repeats", "n"} <= set(cross[key]), key
        assert cross[key]["repeats"] == repeats and cross[key]["accuracy_ci95"][0] < cross[key]["accuracy_ci95"][1]
    assert 0 <= cross["av_vs_best_single"]["p_value"] <= 1
    assert_report_equals_metrics((repo / "reports" / "results.md").read_text(), cross)
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
        assert drawn[f"confusion_{key}"][0]["content"]["data"]["values"], key
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "lr 0.003")
    assert git(repo, "status", "--porcelain").stdout == ""  # every result is either git-tracked or DVC-cached

    # A bad value stops `dvc exp run` at check_params in seconds, in one line, before DVC removes any output:
    # git sees only params.yaml changed, and with it restored DVC has nothing to rerun.
    start = time.monotonic()
    bad = dvc(repo, "exp", "run", "-S", "lr=abc", check=False)
    assert bad.returncode != 0 and time.monotonic() - start < 10, (time.monotonic() - start, bad.stderr)
    assert ran(bad.stdout) == {"check_params"} and "Traceback" not in bad.stderr, bad.stdout + bad.stderr
    # DVC's own lines (its ERROR naming the stage; a WARNING for outputs that dvc.lock does not list yet) aside
    ours = [line for line in bad.stderr.splitlines() if line and not line.startswith(("ERROR: ", "WARNING: "))]
    assert ours == ["check_params: params.yaml: lr is 'abc'; expected a number > 0 and <= 10"], bad.stderr
    assert git(repo, "status", "--porcelain").stdout == " M params.yaml\n"
    git(repo, "checkout", "params.yaml")
    assert json.loads(dvc(repo, "status", "--json").stdout) == {}  # every output, cached ones too, in place

    # A one-line edit of any library file marks exactly the stages that run it, and no others.
    for path in sorted(p for p in (repo / "src" / "avemo").rglob("*") if p.is_file() and "__pycache__" not in p.parts):
        original = path.read_bytes()
        path.write_bytes(original + b"\n# an edit\n")
        marked = set(json.loads(dvc(repo, "status", "--json").stdout))
        path.write_bytes(original)
        assert marked == stages_running(path, repo), path.relative_to(repo)
    assert json.loads(dvc(repo, "status", "--json").stdout) == {}

    # The README's `dvc exp show` line fits 120 columns and shows lr and the three models' test accuracy.
    table = dvc(repo, *readme_command("dvc exp show")[1:], env={"COLUMNS": "120"}).stdout
    assert max(len(line) for line in table.splitlines()) <= 120 and "…" not in table, table
    for column in ("lr", "audio_on_audio.accuracy", "video_on_faces.accuracy", "av_on_both.accuracy"):
        assert column in table, table

    # A fresh clone (no DVC cache, no remote) on another machine (another CPU, as far as the libraries can be
    # told so, one worker process) reproduces every committed byte: the sample's hash and every other in
    # dvc.lock, the metrics, plot data and the report.
    clone = tmp_path / "clone"
    subprocess.run(["git", "clone", "-q", str(repo), str(clone)], check=True)
    another_machine = {**OTHER_CPU, "AVEMO_JOBS": "1"}
    assert ran(dvc(clone, "repro", env=another_machine).stdout) >= set(ALL_STAGES) - {
        "eval_cross",
        "report",
    }  # their inputs reproduced byte for byte
    assert git(clone, "status", "--porcelain").stdout == ""
    dvc(clone, "repro", "--force", "eval_cross", env=another_machine)
    assert git(clone, "status", "--porcelain").stdout == ""

    # An experiment with another learning rate reruns training and evaluation only; committed on a branch,
    # `dvc metrics diff` and `dvc plots diff` against main compare both revisions.
    exp = dvc(clone, "exp", "run", "-S", "lr=0.001")
    assert ran(exp.stdout) == {"check_params", "train_audio", "train_video", "train_av", "eval_cross", "report"}, (
        exp.stdout
    )
    assert "lr: 0.001" in (clone / "params.yaml").read_text()
    git(clone, "checkout", "-qb", "lr-0.001")
    git(clone, "add", "-A")
    git(clone, "commit", "-qm", "lr 0.001")
    diff = json.loads(dvc(clone, "metrics", "diff", "master", "--json").stdout)
    for kind in ("audio", "video", "av"):
        changed = diff.get(f"metrics/train_{kind}.json", {})
        assert any(v.get("diff") not in (0, None) for v in changed.values()), (kind, changed)
    lr = json.loads(dvc(clone, "params", "diff", "master", "--json").stdout)["params.yaml"]["lr"]
    assert (lr["old"], lr["new"]) == (0.003, 0.001)
    plots_diff = dvc(clone, "plots", "diff", "master", "--json")
    assert "failed to load" not in plots_diff.stderr, plots_diff.stderr
    curves = json.loads(plots_diff.stdout)
    assert not curves.get("errors"), curves.get("errors")
    revisions = {v["rev"] for v in curves["data"]["train_audio_loss"][0]["content"]["data"]["values"]}
    assert revisions == {"master", "workspace"}, revisions

    set_param(clone, "n_mels: 16", "n_mels: 20")
    mels = dvc(clone, "repro")
    assert ran(mels.stdout) == {
        "check_params",
        "melspec",
        "embed",
        "train_audio",
        "train_av",
        "eval_cross",
        "report",
    }, mels.stdout

    set_param(clone, "margin: 0.2", "margin: 0.35")
    margin = dvc(clone, "repro")
    # split and embed rerun (they read the faces) and give the audio features unchanged: train_audio stays.
    assert ran(margin.stdout) == {
        "check_params",
        "face_crop",
        "split",
        "embed",
        "train_video",
        "train_av",
        "eval_cross",
        "report",
    }, margin.stdout

    # Sharing is the AV model's alone; the trained depth moves embed's cut, never the preprocessing.
    set_param(clone, "sharing: shared", "sharing: separate")
    sharing = dvc(clone, "repro")
    assert ran(sharing.stdout) == {"check_params", "train_av", "eval_cross", "report"}, sharing.stdout
    set_param(clone, "trainable: 1", "trainable: 2")
    depth = dvc(clone, "repro")
    assert ran(depth.stdout) == {
        "check_params",
        "embed",
        "train_audio",
        "train_video",
        "train_av",
        "eval_cross",
        "report",
    }, depth.stdout

"""dvc.yaml against the code: every stage lists exactly the code it runs and the params it reads, and
`python -m avemo.dvcdeps` writes and checks those lists."""

import copy
import shutil
import subprocess
import sys

import pytest
import yaml

from avemo.dvcdeps import (
    WHOLE_FILE,
    code_closure,
    dependency_mismatches,
    param_mismatches,
    params_read,
    stage_scripts,
    written_dvc_yaml,
)
from helpers import REPO_ROOT, SRC

DVC_YAML = yaml.safe_load((REPO_ROOT / "dvc.yaml").read_text())


def test_every_stage_lists_exactly_the_code_it_runs():
    assert dependency_mismatches(DVC_YAML, REPO_ROOT) == []


def test_every_stage_declares_exactly_the_params_it_reads():
    assert param_mismatches(DVC_YAML, REPO_ROOT) == []


def test_a_stage_script_is_the_only_code_that_reads_params():
    library_readers = [
        p.name for p in (SRC / "avemo").rglob("*.py") if p.name != "params.py" and "read_params(" in p.read_text()
    ]
    assert library_readers == []


def test_every_stage_script_is_a_stage():
    scripts = {s.name for stage in DVC_YAML["stages"].values() for s in stage_scripts(stage, REPO_ROOT)}
    assert scripts == {p.name for p in (REPO_ROOT / "stages").glob("*.py")}


def test_the_import_walk_follows_function_level_imports_and_names_resources():
    closure = {p.relative_to(REPO_ROOT).as_posix() for p in code_closure(REPO_ROOT / "stages" / "list_clips.py", SRC)}
    assert "src/avemo/corpus/checksums.py" in closure  # imported at module level by the script
    assert "src/avemo/corpus/resources/crema_d_videoflash_sha256.csv" in closure  # opened by checksums.py
    assert "src/avemo/corpus/__init__.py" in closure  # the package's __init__ runs on the way
    face = {p.relative_to(REPO_ROOT).as_posix() for p in code_closure(REPO_ROOT / "stages" / "face_crop.py", SRC)}
    assert "src/avemo/preprocess/facedetect.py" in face and "src/avemo/modeling/training.py" not in face
    embed = {p.relative_to(REPO_ROOT).as_posix() for p in code_closure(REPO_ROOT / "stages" / "embed.py", SRC)}
    assert "src/avemo/modeling/encoders.py" in embed  # imported inside main(), after the params check
    assert params_read(REPO_ROOT / "stages" / "train_av.py") == {"lr", "encoder", "train", "fusion"}


@pytest.mark.parametrize(
    "stage, dep",
    [
        ("face_crop", "src/avemo/preprocess/facedetect.py"),
        ("eval_cross", "src/avemo/modeling/inference.py"),
        ("sample", "src/avemo/params.py"),
    ],
)
def test_a_dependency_removed_from_a_copy_of_dvc_yaml_is_named(stage, dep):
    edited = copy.deepcopy(DVC_YAML)
    edited["stages"][stage]["deps"].remove(dep)
    assert dependency_mismatches(edited, REPO_ROOT) == [f"{stage}: runs {dep} but dvc.yaml does not list it"]


def test_a_dependency_the_stage_does_not_run_is_named():
    edited = copy.deepcopy(DVC_YAML)
    edited["stages"]["extract_audio"]["deps"].append("src/avemo/modeling/training.py")
    assert dependency_mismatches(edited, REPO_ROOT) == [
        "extract_audio: dvc.yaml lists src/avemo/modeling/training.py but the stage does not run it"
    ]


def test_a_params_section_removed_or_added_is_named():
    edited = copy.deepcopy(DVC_YAML)
    edited["stages"]["train_av"]["params"].remove("fusion")
    edited["stages"]["melspec"]["params"].append("face")
    assert param_mismatches(edited, REPO_ROOT) == [
        "melspec: dvc.yaml declares params `face` but the stage does not read it",
        "train_av: reads params `fusion` but dvc.yaml does not declare it",
    ]


def test_the_whole_file_check_is_declared_as_all_of_params_yaml():
    assert params_read(REPO_ROOT / "stages" / "check_params.py") == {WHOLE_FILE}
    edited = copy.deepcopy(DVC_YAML)
    edited["stages"]["check_params"]["params"] = ["lr"]
    edited["stages"]["sample"]["params"].append({"params.yaml": None})
    assert param_mismatches(edited, REPO_ROOT) == [
        "check_params: reads the whole params.yaml (`- params.yaml:`) but dvc.yaml does not declare it",
        "check_params: dvc.yaml declares params `lr` but the stage does not read it",
        "sample: dvc.yaml declares the whole params.yaml (`- params.yaml:`) but the stage does not read it",
    ]


def upstream_stages(name: str) -> set[str]:
    """The stages whose outputs `name` depends on, directly or through others (DVC's graph: a dependency
    on an output or on a path inside one; params-named paths left out, as they may point anywhere)."""
    outs = {
        stage: [next(iter(o)) if isinstance(o, dict) else o for o in s.get("outs", []) + s.get("metrics", [])]
        for stage, s in DVC_YAML["stages"].items()
    }
    found, todo = set(), [name]
    while todo:
        for dep in DVC_YAML["stages"][todo.pop()].get("deps", []):
            for stage, paths in outs.items():
                if stage not in found and any(dep == out or dep.startswith(out + "/") for out in paths):
                    found.add(stage)
                    todo.append(stage)
    return found


def test_every_stage_runs_after_the_params_check():
    """DVC removes a stage's outputs just before running it, in the graph's order: with every stage below
    check_params, a bad value stops the run before any output is removed."""
    later = [name for name in DVC_YAML["stages"] if name != "check_params"]
    assert [name for name in later if "check_params" not in upstream_stages(name)] == []
    assert DVC_YAML["stages"]["check_params"]["params"] == [{"params.yaml": None}]  # reruns on every change


def test_writing_the_deps_changes_nothing_in_the_committed_file():
    text = (REPO_ROOT / "dvc.yaml").read_text()
    assert written_dvc_yaml(text, REPO_ROOT) == text


def test_the_command_checks_rewrites_a_damaged_file_and_keeps_data_deps_and_comments(tmp_path):
    for name in ("stages", "src"):
        shutil.copytree(REPO_ROOT / name, tmp_path / name, ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"))
    text = (REPO_ROOT / "dvc.yaml").read_text()
    line = "      - src/avemo/preprocess/facedetect.py\n"
    assert text.count(line) == 1  # only face_crop runs the detector
    damaged = text.replace(line, "").replace(
        "      - stages/melspec.py\n", "      - stages/melspec.py\n      - src/avemo/modeling/training.py\n"
    )
    (tmp_path / "dvc.yaml").write_text(damaged)

    def command(*args):
        return subprocess.run(
            [sys.executable, "-m", "avemo.dvcdeps", *args, "--root", str(tmp_path)], capture_output=True, text=True
        )

    check = command("--check")
    assert check.returncode == 1
    assert check.stderr.splitlines() == [
        "melspec: dvc.yaml lists src/avemo/modeling/training.py but the stage does not run it",
        "face_crop: runs src/avemo/preprocess/facedetect.py but dvc.yaml does not list it",
    ]
    assert command("--write").returncode == 0
    assert (tmp_path / "dvc.yaml").read_text() == text  # every entry back in its place, data deps and comments kept
    assert command("--check").returncode == 0

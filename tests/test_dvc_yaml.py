"""dvc.yaml against the code: every stage lists exactly the code it runs and the params it reads."""

import copy

import pytest
import yaml
from helpers import REPO_ROOT, SRC, code_closure, dependency_mismatches, param_mismatches, params_read, stage_scripts

DVC_YAML = yaml.safe_load((REPO_ROOT / "dvc.yaml").read_text())


def test_every_stage_lists_exactly_the_code_it_runs():
    assert dependency_mismatches(DVC_YAML) == []


def test_every_stage_declares_exactly_the_params_it_reads():
    assert param_mismatches(DVC_YAML) == []


def test_a_stage_script_is_the_only_code_that_reads_params():
    library_readers = [p.name for p in (SRC / "avemo").rglob("*.py") if p.name != "params.py" and "read_params(" in p.read_text()]
    assert library_readers == []


def test_every_stage_script_is_a_stage():
    scripts = {s.name for stage in DVC_YAML["stages"].values() for s in stage_scripts(stage)}
    assert scripts == {p.name for p in (REPO_ROOT / "stages").glob("*.py")}


def test_the_import_walk_follows_function_level_imports_and_names_resources():
    closure = {p.relative_to(REPO_ROOT).as_posix() for p in code_closure(REPO_ROOT / "stages" / "list_clips.py")}
    assert "src/avemo/checksums.py" in closure  # imported at module level by the script
    assert "src/avemo/resources/crema_d_videoflash_sha256.csv" in closure  # opened by checksums.py
    face = {p.relative_to(REPO_ROOT).as_posix() for p in code_closure(REPO_ROOT / "stages" / "face_crop.py")}
    assert "src/avemo/faces.py" in face and "src/avemo/training.py" not in face
    assert params_read(REPO_ROOT / "stages" / "train_av.py") == {"lr", "encoder", "train", "fusion"}


@pytest.mark.parametrize("stage, dep", [("face_crop", "src/avemo/faces.py"), ("eval_cross", "src/avemo/inference.py"), ("sample", "src/avemo/params.py")])
def test_a_dependency_removed_from_a_copy_of_dvc_yaml_is_named(stage, dep):
    edited = copy.deepcopy(DVC_YAML)
    edited["stages"][stage]["deps"].remove(dep)
    assert dependency_mismatches(edited) == [f"{stage}: runs {dep} but dvc.yaml does not list it"]


def test_a_dependency_the_stage_does_not_run_is_named():
    edited = copy.deepcopy(DVC_YAML)
    edited["stages"]["extract_audio"]["deps"].append("src/avemo/training.py")
    assert dependency_mismatches(edited) == ["extract_audio: dvc.yaml lists src/avemo/training.py but the stage does not run it"]


def test_a_params_section_removed_or_added_is_named():
    edited = copy.deepcopy(DVC_YAML)
    edited["stages"]["train_av"]["params"].remove("fusion")
    edited["stages"]["melspec"]["params"].append("face")
    assert param_mismatches(edited) == [
        "melspec: dvc.yaml declares params `face` but the stage does not read it",
        "train_av: reads params `fusion` but dvc.yaml does not declare it",
    ]


def test_a_line_deleted_from_a_copy_of_the_dvc_yaml_file_fails_the_check(tmp_path):
    text = (REPO_ROOT / "dvc.yaml").read_text()
    line = "      - src/avemo/faces.py\n"
    assert text.count(line) == 1  # only face_crop runs the detector
    (tmp_path / "dvc.yaml").write_text(text.replace(line, ""))
    edited = yaml.safe_load((tmp_path / "dvc.yaml").read_text())
    assert dependency_mismatches(edited) == ["face_crop: runs src/avemo/faces.py but dvc.yaml does not list it"]

"""The front half as DVC runs it, in a temporary copy of the repository on a tiny synthetic sample."""

import json

import pytest
from conftest import TINY_PARAMS, dvc, make_repo_copy

from avemo.perclip import read_index

@pytest.fixture(scope="module")
def repo(tmp_path_factory):
    return make_repo_copy(tmp_path_factory.mktemp("repo"), TINY_PARAMS)


@pytest.mark.slow
def test_repro_face_crop_then_nothing_then_only_melspec(repo):
    first = dvc(repo, "repro", "face_crop")
    for stage in ["sample", "list_clips", "extract_middle_frame", "face_crop"]:
        assert f"Running stage '{stage}'" in first.stdout, first.stdout
    assert "Running stage 'melspec'" not in first.stdout  # not upstream of face_crop
    faces = read_index(repo / "data" / "faces")
    assert len(faces) == 6 and (faces.status == "ok").all(), faces  # MTCNN finds every synthetic face

    dvc(repo, "repro", "melspec")
    second = dvc(repo, "repro", "face_crop", "melspec")
    assert "Running stage" not in second.stdout, second.stdout
    assert json.loads(dvc(repo, "status", "face_crop", "melspec", "--json").stdout) == {}

    params = (repo / "params.yaml").read_text()
    assert "n_mels: 16" in params
    (repo / "params.yaml").write_text(params.replace("n_mels: 16", "n_mels: 20"))
    changed = set(json.loads(dvc(repo, "status", "face_crop", "melspec", "--json").stdout))
    assert changed == {"melspec"}, changed  # not extract_audio, extract_middle_frame or face_crop


@pytest.mark.slow
def test_dvc_config_turns_analytics_off(repo):
    assert dvc(repo, "config", "core.analytics").stdout.strip() == "false"

"""The front half as DVC runs it, in a temporary copy of the repository: caching by params, clip folders
whose names a shell would misread, and `dvc exp run -S` on the committed params.yaml."""

import json
import shutil
import time

import pytest

from avemo.preprocess.clipindex import read_index
from helpers import REPO_ROOT, TINY_PARAMS, dvc, git, make_repo_copy

FRONT_HALF = ["list_clips", "extract_audio", "melspec", "extract_middle_frame", "face_crop"]


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
    # a row for every clip; MTCNN misses about one synthetic take in fifty (10 of the default sample's 450;
    # bench/sample_stats prints the share), one of these six
    assert len(faces) == 6 and set(faces.status) <= {"ok", "fallback"}, faces
    assert (faces.status == "ok").sum() >= 5, faces

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


# A space, both quotes, a `;` that a shell would take for the end of a command, and non-ASCII letters.
AWKWARD_NAME = """clips 'quoted' "twice"; touch stray; émotions"""


@pytest.mark.slow
def test_a_clip_folder_named_with_shell_characters_is_only_ever_a_path(tmp_path, crema_d_dir):
    raw = tmp_path / AWKWARD_NAME
    shutil.copytree(crema_d_dir / "VideoFlash", raw)
    demographics = tmp_path / "VideoDemographics.csv"
    shutil.copyfile(crema_d_dir / "VideoDemographics.csv", demographics)
    data = {
        **TINY_PARAMS["data"],
        "raw_dir": str(raw),
        "demographics": str(demographics),
        "classes": ["ANG", "DIS", "FEA", "HAP", "NEU", "SAD"],
    }
    repo = make_repo_copy(tmp_path / "repo", {**TINY_PARAMS, "data": data})
    before = {p.name for p in tmp_path.iterdir()}

    done = dvc(repo, "repro", *FRONT_HALF)
    for stage in FRONT_HALF:
        assert f"Running stage '{stage}'" in done.stdout, done.stdout
    for folder in ("audio", "melspec", "frames", "faces"):
        index = read_index(repo / "data" / folder)
        assert len(index) == 6 and (index.status == "ok").all(), (folder, index)
    assert "Running stage" not in dvc(repo, "repro", *FRONT_HALF).stdout  # the odd folder is tracked as a dependency

    assert not list(tmp_path.rglob("stray")) and not list(repo.rglob("stray"))  # nothing ran as a command
    assert {p.name for p in tmp_path.iterdir()} == before
    assert sorted(p.name for p in raw.iterdir()) == sorted(
        p.name for p in (crema_d_dir / "VideoFlash").iterdir()
    )  # input untouched


@pytest.mark.slow
def test_the_six_real_clips_beside_the_sample_run_end_to_end(tmp_path, crema_d_dir):
    """Real clips in the folder the pipeline reads do not break it (alone they are one actor: the split
    stops them with one line, tested in test_splits.py)."""
    params = {
        **TINY_PARAMS,
        "sample": {**TINY_PARAMS["sample"], "actors": 5},
        "train": {**TINY_PARAMS["train"], "seeds": [0]},
    }
    repo = make_repo_copy(tmp_path / "repo", params)
    dvc(repo, "repro", "sample")
    mixed = tmp_path / "clips"
    shutil.copytree(repo / "data" / "sample" / "VideoFlash", mixed)
    for clip in (crema_d_dir / "VideoFlash").glob("*.flv"):
        shutil.copyfile(clip, mixed / clip.name)
    text = (repo / "params.yaml").read_text().replace("raw_dir: data/sample/VideoFlash", f"raw_dir: {mixed}")
    (repo / "params.yaml").write_text(
        text.replace(
            "demographics: data/sample/VideoDemographics.csv",
            f"demographics: {repo / 'data' / 'sample' / 'VideoDemographics.csv'}",
        )
    )
    done = dvc(repo, "repro")
    assert "Running stage 'eval_cross'" in done.stdout, done.stdout
    clips = read_index(repo / "data" / "faces")
    real = clips[clips["clip"].str.startswith("1001_DFA_")]
    assert (
        sorted(real["clip"]) == ["1001_DFA_ANG_XX", "1001_DFA_HAP_XX", "1001_DFA_SAD_XX"]
        and (real["status"] == "ok").all()
    )
    split = json.loads((repo / "metrics" / "split.json").read_text())
    assert split["clips"] == 5 * 3 + 3  # the tiny sample's clips and the three real ANG, HAP, SAD clips
    assert json.loads((repo / "metrics" / "eval_cross.json").read_text())["av_on_both"]["repeats"] == 3


def changed_lines(repo) -> list[str]:
    """The lines `git diff params.yaml` removes and adds."""
    diff = git(repo, "diff", "-U0", "params.yaml").stdout.splitlines()
    return [line for line in diff if line[:1] in "-+" and not line.startswith(("---", "+++"))]


@pytest.mark.slow
def test_dvc_exp_run_set_param_on_the_committed_params_yaml(tmp_path):
    """`dvc exp run -S` itself on the repository's own params.yaml: a bad value stops at check_params in
    seconds with one line and nothing but that line changed; a good one changes exactly its line."""
    repo = make_repo_copy(tmp_path / "repo", {})
    shutil.copyfile(REPO_ROOT / "params.yaml", repo / "params.yaml")  # the committed form, not a dump of it
    git(repo, "commit", "-qam", "the committed params.yaml")

    start = time.monotonic()
    bad = dvc(repo, "exp", "run", "-S", "lr=abc", check=False)
    assert bad.returncode != 0 and time.monotonic() - start < 10, (time.monotonic() - start, bad.stderr)
    # DVC's own lines (its ERROR naming the stage; a WARNING for outputs that dvc.lock does not list yet) aside
    ours = [line for line in bad.stderr.splitlines() if line and not line.startswith(("ERROR: ", "WARNING: "))]
    assert ours == ["check_params: params.yaml: lr is 'abc'; expected a number > 0 and <= 10"], bad.stderr
    assert "Running stage 'sample'" not in bad.stdout, bad.stdout
    assert git(repo, "status", "--porcelain").stdout == " M params.yaml\n"
    assert changed_lines(repo) == ["-lr: 0.001", "+lr: abc"]

    git(repo, "checkout", "params.yaml")
    dvc(repo, "exp", "run", "-S", "melspec.n_mels=40", "check_params")  # the check alone: no stage needs to run
    assert changed_lines(repo) == ["-  n_mels: 64", "+  n_mels: 40"]

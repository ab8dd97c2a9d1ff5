"""Sharing results through a DVC remote, as the README shows it: repository A runs the tiny pipeline,
commits and pushes to a remote (a local folder here); a clone B, whose `dvc checkout` fails without it,
pulls every output and has nothing to rerun; after A commits and pushes a run with another learning rate,
B pulls it and can still go back to the first commit with `git checkout` and `dvc checkout`, its models
restored byte for byte; a clone made later gets the first commit's outputs with `dvc pull`."""

import hashlib
import json
import subprocess

import pytest
import yaml

from helpers import TINY_PARAMS, dvc, git, make_repo_copy

PARAMS = {**TINY_PARAMS, "sample": {**TINY_PARAMS["sample"], "actors": 5}}
MODEL = "models/audio/fold0_seed0.pt"


def md5(path) -> str:
    return hashlib.md5(path.read_bytes()).hexdigest()


def outputs(repo) -> dict[str, str]:
    """md5 of every file of the DVC-cached outputs (models, preprocessed data)."""
    found = {}
    for top in ("data", "models"):
        for path in sorted((repo / top).rglob("*")):
            if path.is_file():
                found[str(path.relative_to(repo))] = md5(path)
    return found


def locked_md5(repo, commit: str, file: str) -> str:
    """The md5 that `commit`'s dvc.lock records for `file`, a file inside a folder output: through the
    folder's .dir listing in the DVC cache."""
    lock = yaml.safe_load(git(repo, "show", f"{commit}:dvc.lock").stdout)
    for stage in lock["stages"].values():
        for out in stage.get("outs", []):
            if file.startswith(out["path"] + "/"):
                digest = out["md5"].removesuffix(".dir")
                listing = repo / ".dvc" / "cache" / "files" / "md5" / digest[:2] / f"{digest[2:]}.dir"
                entries = {e["relpath"]: e["md5"] for e in json.loads(listing.read_text())}
                return entries[file.removeprefix(out["path"] + "/")]
    raise AssertionError(f"{commit}:dvc.lock has no output holding {file}")


def ran(output: str) -> list[str]:
    return [line for line in output.splitlines() if line.startswith("Running stage")]


@pytest.mark.slow
def test_a_second_clone_gets_every_output_from_a_remote(tmp_path):
    a = make_repo_copy(tmp_path / "a", PARAMS)
    remote = tmp_path / "remote"  # stands for an S3 bucket, an SSH host or a shared drive
    dvc(a, "remote", "add", "-d", "storage", str(remote))  # in .dvc/config, committed: every clone finds it
    dvc(a, "repro")
    git(a, "add", "-A")
    git(a, "commit", "-qm", "tiny run, remote")
    first, first_outputs = git(a, "rev-parse", "HEAD").stdout.strip(), outputs(a)
    assert MODEL in first_outputs
    dvc(a, "push")
    assert json.loads(dvc(a, "status", "--cloud", "--json").stdout) == {}  # the remote holds every output

    # B, a fresh clone: git brings code, params, dvc.lock, metrics and plot data; the cache is empty.
    b = tmp_path / "b"
    subprocess.run(["git", "clone", "-q", str(a), str(b)], check=True)
    assert "storage" in dvc(b, "remote", "list").stdout
    missing = dvc(b, "checkout", check=False)
    assert (
        missing.returncode != 0 and "Is your cache up to date?" in missing.stdout + missing.stderr
    )  # as a new user saw
    dvc(b, "pull")
    assert json.loads(dvc(b, "status", "--json").stdout) == {}
    assert ran(dvc(b, "repro").stdout) == []  # nothing to recompute
    assert outputs(b) == first_outputs

    # A: another learning rate, committed and pushed.
    exp = dvc(a, "exp", "run", "-S", "lr=0.003")
    assert ran(exp.stdout), exp.stdout
    git(a, "add", "-A")
    git(a, "commit", "-qm", "lr 0.003")
    dvc(a, "push")
    second_outputs = outputs(a)
    assert second_outputs[MODEL] != first_outputs[MODEL]

    # B follows: git pull, dvc pull; then back to the first commit with its models.
    git(b, "pull", "-q", "--ff-only")
    dvc(b, "pull")
    assert json.loads(dvc(b, "status", "--json").stdout) == {} and outputs(b) == second_outputs
    git(b, "checkout", "-q", first)
    dvc(b, "checkout")
    assert json.loads(dvc(b, "status", "--json").stdout) == {}
    assert md5(b / MODEL) == locked_md5(b, first, MODEL) == first_outputs[MODEL]
    assert outputs(b) == first_outputs

    # C, cloned now, never pulled the first commit: `git checkout` it and `dvc pull` gets its outputs.
    c = tmp_path / "c"
    subprocess.run(["git", "clone", "-q", str(a), str(c)], check=True)
    git(c, "checkout", "-q", first)
    dvc(c, "pull")
    assert json.loads(dvc(c, "status", "--json").stdout) == {} and outputs(c) == first_outputs

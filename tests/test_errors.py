"""How a stage ends: one line for what a user can change or did (Ctrl-C), a traceback for a bug."""

import pytest

from avemo.errors import INTERRUPTED, UserError, run_stage


def _raising(error):
    def main():
        raise error

    return main


@pytest.mark.parametrize(
    "error, status, line",
    [
        (UserError("set lr to a number"), 1, "train_audio: set lr to a number"),
        (
            FileNotFoundError(2, "No such file or directory", "data/clips.csv"),
            1,
            "train_audio: No such file or directory: data/clips.csv",
        ),
        (KeyboardInterrupt(), INTERRUPTED, "train_audio: interrupted (Ctrl-C); `dvc repro` runs the stage again"),
    ],
    ids=["user error", "missing file", "ctrl-c"],
)
def test_what_a_user_causes_ends_in_one_line(capsys, error, status, line):
    assert run_stage("train_audio", _raising(error)) == status
    assert capsys.readouterr().err.splitlines() == [line]


def test_a_bug_keeps_its_traceback():
    with pytest.raises(ZeroDivisionError):
        run_stage("train_audio", _raising(ZeroDivisionError("a bug")))

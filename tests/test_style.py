"""The code stays formatted and linted: ruff (configured in pyproject.toml, line length 120, imports sorted)."""

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from helpers import REPO_ROOT


def ruff() -> str:
    found = shutil.which("ruff", path=str(Path(sys.executable).parent)) or shutil.which("ruff")
    if found is None:
        pytest.fail("ruff is not installed: pip install -r requirements.txt")
    return found


@pytest.mark.parametrize("command", [["check", "."], ["format", "--check", "."]], ids=["check", "format"])
def test_ruff_finds_nothing_to_change(command):
    done = subprocess.run([ruff(), *command], cwd=REPO_ROOT, capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr

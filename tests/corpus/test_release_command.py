"""avemo.corpus.release_command: the help of `avemo fetch` and `avemo verify`, and errors a user can cause,
each one line."""

from __future__ import annotations

import re
import socket

import pytest

from avemo.corpus.download import DEFAULT_BASE_URL
from helpers import SELECT_SIX, python_m_avemo, run_avemo


def closed_port() -> int:
    """A port of 127.0.0.1 that nothing listens on: a connection to it is refused at once, no time-out."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.parametrize("case", ["unknown code", "unknown actor", "DEST is a file", "unreachable server", "not http"])
def test_user_errors_give_one_line(tmp_path, capsys, case):
    dest, url, extra = tmp_path / "dest", "http://127.0.0.1:9", []
    if case == "unknown code":
        extra = ["--emotions", "ANG,JOY"]
    elif case == "unknown actor":
        extra = ["--actors", "1200"]
    elif case == "DEST is a file":
        dest.write_text("not a folder")
    elif case == "unreachable server":
        url = f"http://127.0.0.1:{closed_port()}"
    else:
        url = "ftp://example.org/crema-d"
    status, out, err = run_avemo(capsys, "fetch", str(dest), "--base-url", url, *SELECT_SIX, "--retries", "0", *extra)
    assert status == 1
    assert len(err.strip().splitlines()) <= 2 and "Traceback" not in err, err  # the start line, then the error
    expected = {
        "unknown code": "unknown emotion ['JOY']",
        "unknown actor": "unknown actor 1200; CREMA-D's actors are 1001-1091",
        "DEST is a file": "exists and is not a folder",
        "unreachable server": "cannot reach http://127.0.0.1:",
        "not http": "--base-url must be an http:// or https:// address",
    }[case]
    assert err.strip().splitlines()[-1].startswith("avemo fetch: ") and expected in err, err


def test_help_lists_the_commands_and_explains_fetch():
    top = python_m_avemo("--help")
    out, _ = top.communicate(timeout=60)
    assert top.returncode == 0
    assert re.search(r"^  fetch +download CREMA-D .+$", out, re.M), out
    assert re.search(r"^  verify +check a copy .+$", out, re.M), out

    fetch_help = python_m_avemo("fetch", "--help")
    out, _ = fetch_help.communicate(timeout=60)
    assert fetch_help.returncode == 0
    for flag in (
        "DEST",
        "--base-url",
        "--folders",
        "--actors",
        "--sentences",
        "--emotions",
        "--levels",
        "--jobs",
        "--retries",
        "--timeout",
        "--no-demographics",
        "--dry-run",
    ):
        assert flag in out, flag
    flat = " ".join(out.split())
    assert DEFAULT_BASE_URL in flat
    assert "DEST/VideoFlash/1001_DFA_ANG_XX.flv" in flat  # the layout
    assert "rerun the same command and each continues where it stopped, with an HTTP range request" in flat

"""`avemo fetch` and `avemo verify` against a small HTTP server on 127.0.0.1 that serves the six real
CREMA-D clips under the official layout, honours range requests, and misbehaves on demand."""

from __future__ import annotations

import csv
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from helpers import SRC

from avemo.corpus import fetch as fetching
from avemo.__main__ import main

CLIPS = [f"1001_DFA_{emotion}_XX.flv" for emotion in ("ANG", "DIS", "FEA", "HAP", "NEU", "SAD")]
SIX = ["--actors", "1001", "--sentences", "DFA"]  # the selection that the six served clips make up


class ClipServer:
    """Serves `files` (path in the dataset -> bytes) with range requests; logs every request as
    (path, Range header or None, status). Misbehaviour on demand: `corrupt` paths are served with wrong
    bytes, `cut_first[path] = n` sends only n bytes of the first answer for that path and hangs up,
    `ignore_range` answers every request with the whole file, `hold[path] = n` sends n bytes, sets
    `held`, then waits for `release`, `refuse = (status, text)` answers every request so. At most MAX_REQUESTS are answered, so a runaway client cannot loop."""

    MAX_REQUESTS = 100

    def __init__(self, files: dict[str, bytes]):
        self.files = files
        self.requests: list[tuple[str, str | None, int]] = []
        self.corrupt: set[str] = set()
        self.cut_first: dict[str, int] = {}
        self.ignore_range = False
        self.hold: dict[str, int] = {}
        self.refuse: tuple[int, str] | None = None
        self.held, self.release = threading.Event(), threading.Event()
        self._lock = threading.Lock()
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                server.answer(self)

            def log_message(self, *args):  # quiet
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)

    def requested(self, path: str) -> list[tuple[str | None, int]]:
        return [(range_, status) for p, range_, status in self.requests if p == path]

    def answer(self, handler: BaseHTTPRequestHandler):
        path = urllib.parse.unquote(urllib.parse.urlsplit(handler.path).path).lstrip("/")
        range_ = handler.headers.get("Range")
        with self._lock:
            over = len(self.requests) >= self.MAX_REQUESTS
            body = self.files.get(path)
            cut = self.cut_first.pop(path, None)
            hold = self.hold.pop(path, None)
        if self.refuse:
            self.requests.append((path, range_, self.refuse[0]))
            message = self.refuse[1].encode()
            handler.send_response(self.refuse[0])
            handler.send_header("Content-Type", "text/plain; charset=utf-8")
            handler.send_header("Content-Length", str(len(message)))
            handler.end_headers()
            handler.wfile.write(message)
            return
        if over or body is None:
            status = 503 if over else 404
            self.requests.append((path, range_, status))
            handler.send_error(status)
            return
        if path in self.corrupt:
            body = bytes(b ^ 0xFF for b in body[:64]) + body[64:]  # same length, wrong bytes
        start, status = 0, 200
        match = re.fullmatch(r"bytes=(\d+)-", range_ or "")
        if match and not self.ignore_range:
            start, status = int(match[1]), 206
            if start >= len(body):
                self.requests.append((path, range_, 416))
                handler.send_response(416)
                handler.send_header("Content-Range", f"bytes */{len(body)}")
                handler.end_headers()
                return
        self.requests.append((path, range_, status))
        payload = body[start:]
        handler.send_response(status)
        handler.send_header("Content-Length", str(len(payload)))
        if not self.ignore_range:
            handler.send_header("Accept-Ranges", "bytes")
        if status == 206:
            handler.send_header("Content-Range", f"bytes {start}-{len(body) - 1}/{len(body)}")
        handler.end_headers()
        if cut is not None:  # hang up midway (HTTP/1.0: the connection closes when the handler returns)
            handler.wfile.write(payload[:cut])
            return
        if hold is not None:
            handler.wfile.write(payload[:hold])
            handler.wfile.flush()
            self.held.set()
            self.release.wait(30)
            return
        handler.wfile.write(payload)


@pytest.fixture
def server(crema_d_dir):
    files = {f"VideoFlash/{name}": (crema_d_dir / "VideoFlash" / name).read_bytes() for name in CLIPS}
    files["VideoDemographics.csv"] = (crema_d_dir / "VideoDemographics.csv").read_bytes()
    clip_server = ClipServer(files)
    clip_server.thread.start()
    yield clip_server
    clip_server.release.set()
    clip_server.httpd.shutdown()
    clip_server.httpd.server_close()
    clip_server.thread.join(10)


def run_avemo(capsys, *args: str) -> tuple[int, str, str]:
    """`avemo ARGS` in this process: (exit status, stdout, stderr)."""
    status = main(list(args))
    out, err = capsys.readouterr()
    return status, out, err


def python_m_avemo(*args: str, **popen) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": f"{SRC}{os.pathsep}{os.environ.get('PYTHONPATH', '')}"}
    return subprocess.Popen([sys.executable, "-m", "avemo", *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env, **popen)


def files_in(folder: Path) -> dict[str, bytes]:
    """Every file under `folder` (hidden ones too) by its path relative to it."""
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def clip_files(server: ClipServer, *names: str) -> dict[str, bytes]:
    return {f"VideoFlash/{n}": server.files[f"VideoFlash/{n}"] for n in names}


def part_of(dest: Path, name: str) -> Path:
    return dest / "VideoFlash" / f".{name}.part"


# --- fetch -----------------------------------------------------------------------------------------


def test_fetch_through_python_m_gets_all_six_clips_verified(tmp_path, server):
    dest = tmp_path / "crema d"  # a space in the path: nothing passes through a shell
    done = python_m_avemo("fetch", str(dest), "--base-url", server.url, *SIX, "--jobs", "3")
    out, err = done.communicate(timeout=120)
    assert done.returncode == 0, err
    assert files_in(dest) == {**clip_files(server, *CLIPS), "VideoDemographics.csv": server.files["VideoDemographics.csv"]}
    assert sorted(p for p, _, _ in server.requests) == sorted([f"VideoFlash/{n}" for n in CLIPS] + ["VideoDemographics.csv"])
    assert "6 clips: 6 fetched, 0 already present and verified, 0 missing" in err
    assert "VideoDemographics.csv fetched (not verified" in err


def test_a_clip_served_with_wrong_bytes_is_retried_reported_and_not_kept(tmp_path, capsys, server):
    server.corrupt.add("VideoFlash/1001_DFA_SAD_XX.flv")
    status, _, err = run_avemo(capsys, "fetch", str(tmp_path), "--base-url", server.url, *SIX, "--retries", "2", "--no-demographics")
    assert status == 1
    good = [n for n in CLIPS if n != "1001_DFA_SAD_XX.flv"]
    assert files_in(tmp_path) == clip_files(server, *good)  # neither the clip nor its temporary file is kept
    assert len(server.requested("VideoFlash/1001_DFA_SAD_XX.flv")) == 3  # 1 + 2 retries, then it gives up
    assert "1 of 6 files missing" in err
    assert "VideoFlash/1001_DFA_SAD_XX.flv: SHA-256 differs from the official release (after 3 attempts)" in err
    assert "6 clips: 5 fetched, 0 already present and verified, 1 missing" in err


def test_a_transfer_cut_off_midway_is_resumed_with_a_range_request(tmp_path, capsys, server):
    server.cut_first["VideoFlash/1001_DFA_ANG_XX.flv"] = 100_000
    status, _, err = run_avemo(capsys, "fetch", str(tmp_path), "--base-url", server.url, *SIX, "--no-demographics")
    assert status == 0, err
    assert files_in(tmp_path) == clip_files(server, *CLIPS)
    assert server.requested("VideoFlash/1001_DFA_ANG_XX.flv") == [(None, 200), ("bytes=100000-", 206)]


def test_a_server_that_ignores_range_requests_restarts_the_file(tmp_path, capsys, server):
    server.ignore_range = True
    server.cut_first["VideoFlash/1001_DFA_ANG_XX.flv"] = 100_000
    status, _, err = run_avemo(capsys, "fetch", str(tmp_path), "--base-url", server.url, *SIX, "--no-demographics")
    assert status == 0, err
    assert files_in(tmp_path) == clip_files(server, *CLIPS)  # the whole file once, not the first part twice
    assert server.requested("VideoFlash/1001_DFA_ANG_XX.flv") == [(None, 200), ("bytes=100000-", 200)]


def test_a_leftover_partial_file_is_resumed(tmp_path, capsys, server):
    name = "1001_DFA_HAP_XX.flv"
    part_of(tmp_path, name).parent.mkdir(parents=True)
    part_of(tmp_path, name).write_bytes(server.files[f"VideoFlash/{name}"][:123_456])
    status, _, err = run_avemo(capsys, "fetch", str(tmp_path), "--base-url", server.url, *SIX, "--emotions", "HAP", "--no-demographics")
    assert status == 0, err
    assert files_in(tmp_path) == clip_files(server, name)
    assert server.requested(f"VideoFlash/{name}") == [("bytes=123456-", 206)]


def test_a_leftover_partial_file_with_wrong_bytes_is_started_again(tmp_path, capsys, server):
    name = "1001_DFA_HAP_XX.flv"
    part_of(tmp_path, name).parent.mkdir(parents=True)
    part_of(tmp_path, name).write_bytes(b"\0" * 100_000)
    status, _, err = run_avemo(capsys, "fetch", str(tmp_path), "--base-url", server.url, *SIX, "--emotions", "HAP", "--no-demographics")
    assert status == 0, err
    assert files_in(tmp_path) == clip_files(server, name)
    assert server.requested(f"VideoFlash/{name}") == [("bytes=100000-", 206), (None, 200)]


def test_a_selection_by_emotion_fetches_only_those_clips(tmp_path, capsys, server):
    status, _, err = run_avemo(capsys, "fetch", str(tmp_path), "--base-url", server.url, *SIX, "--emotions", "hap,SAD", "--no-demographics")
    assert status == 0, err
    assert files_in(tmp_path) == clip_files(server, "1001_DFA_HAP_XX.flv", "1001_DFA_SAD_XX.flv")
    assert sorted(p for p, _, _ in server.requests) == ["VideoFlash/1001_DFA_HAP_XX.flv", "VideoFlash/1001_DFA_SAD_XX.flv"]


def test_a_second_run_skips_verified_files_and_replaces_a_damaged_one(tmp_path, capsys, server):
    assert run_avemo(capsys, "fetch", str(tmp_path), "--base-url", server.url, *SIX)[0] == 0
    first = len(server.requests)
    before = {p: p.stat().st_mtime_ns for p in tmp_path.rglob("*") if p.is_file()}
    status, _, err = run_avemo(capsys, "fetch", str(tmp_path), "--base-url", server.url, *SIX)
    assert status == 0 and len(server.requests) == first  # nothing asked of the server
    assert {p: p.stat().st_mtime_ns for p in tmp_path.rglob("*") if p.is_file()} == before
    assert "6 clips: 0 fetched, 6 already present and verified, 0 missing" in err

    damaged = tmp_path / "VideoFlash" / "1001_DFA_NEU_XX.flv"
    damaged.write_bytes(damaged.read_bytes()[:-10] + b"0123456789")
    status, _, err = run_avemo(capsys, "fetch", str(tmp_path), "--base-url", server.url, *SIX)
    assert status == 0 and "6 clips: 1 fetched, 5 already present and verified" in err
    assert damaged.read_bytes() == server.files["VideoFlash/1001_DFA_NEU_XX.flv"]
    assert [p for p, _, _ in server.requests[first:]] == ["VideoFlash/1001_DFA_NEU_XX.flv"]


def test_a_file_the_server_does_not_have_is_listed_as_missing(tmp_path, capsys, server):
    del server.files["VideoFlash/1001_DFA_FEA_XX.flv"]
    status, _, err = run_avemo(capsys, "fetch", str(tmp_path), "--base-url", server.url, *SIX, "--no-demographics")
    assert status == 1
    assert "  VideoFlash/1001_DFA_FEA_XX.flv: HTTP 404" in err
    assert len(server.requested("VideoFlash/1001_DFA_FEA_XX.flv")) == 1  # a refusal is final: not asked again
    assert sorted(files_in(tmp_path)) == [f"VideoFlash/{n}" for n in CLIPS if "FEA" not in n]


def test_a_server_over_its_git_lfs_quota_is_named_with_its_message_and_a_hint(tmp_path, capsys, server):
    server.refuse = (403, "This repository is over its data quota. Account responsible for LFS bandwidth should purchase more data packs to restore access.")
    status, _, err = run_avemo(capsys, "fetch", str(tmp_path), "--base-url", server.url, *SIX, "--no-demographics")
    assert status == 1
    assert len(server.requests) == 6  # a refusal is final: each clip asked once
    assert "  VideoFlash/1001_DFA_ANG_XX.flv: HTTP 403 Forbidden: This repository is over its data quota." in err
    assert "git-lfs bandwidth quota is exhausted; try again next month or use --base-url with a mirror" in err
    assert files_in(tmp_path) == {}


def test_ctrl_c_leaves_only_a_partial_file_that_the_next_run_resumes(tmp_path, server):
    name = "1001_DFA_ANG_XX.flv"
    server.hold[f"VideoFlash/{name}"] = 50_000
    running = python_m_avemo("fetch", str(tmp_path), "--base-url", server.url, *SIX, "--emotions", "ANG", "--no-demographics")
    try:
        assert server.held.wait(60), "the client never asked for the clip"
        deadline = time.monotonic() + 30  # the client writes what it received (a wait, not a timing)
        while not (part_of(tmp_path, name).exists() and part_of(tmp_path, name).stat().st_size == 50_000):
            assert time.monotonic() < deadline, "the partial file never reached the bytes sent"
            time.sleep(0.05)
        running.send_signal(signal.SIGINT)
        _, err = running.communicate(timeout=30)
    finally:
        server.release.set()
        if running.poll() is None:
            running.kill()
    assert running.returncode == 130, err
    assert "interrupted" in err and "rerun the same command to resume" in err
    assert files_in(tmp_path) == {f"VideoFlash/.{name}.part": server.files[f"VideoFlash/{name}"][:50_000]}

    resumed = python_m_avemo("fetch", str(tmp_path), "--base-url", server.url, *SIX, "--emotions", "ANG", "--no-demographics")
    _, err = resumed.communicate(timeout=120)
    assert resumed.returncode == 0, err
    assert files_in(tmp_path) == clip_files(server, name)
    assert server.requested(f"VideoFlash/{name}")[-1] == ("bytes=50000-", 206)


def closed_port() -> int:
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
    status, out, err = run_avemo(capsys, "fetch", str(dest), "--base-url", url, *SIX, "--retries", "0", *extra)
    assert status == 1
    assert len(err.strip().splitlines()) <= 2 and "Traceback" not in err, err  # the start line, then the error
    expected = {"unknown code": "unknown emotion ['JOY']", "unknown actor": "unknown actor 1200; CREMA-D's actors are 1001-1091",
                "DEST is a file": "exists and is not a folder", "unreachable server": "cannot reach http://127.0.0.1:",
                "not http": "--base-url must be an http:// or https:// address"}[case]
    assert err.strip().splitlines()[-1].startswith("avemo fetch: ") and expected in err, err


# --- selection ----------------------------------------------------------------------------------------


def test_selection_flags_pick_exactly_the_matching_names_of_the_manifest(crema_d_dir, capsys):
    with open(crema_d_dir / "checksums.csv") as f:
        official = [row["path"] for row in csv.DictReader(f)]
    expected = [p for p in official if re.fullmatch(r"VideoFlash/1001_DFA_(ANG|SAD)_[A-Z]{2}\.flv", p)]
    assert expected == ["VideoFlash/1001_DFA_ANG_XX.flv", "VideoFlash/1001_DFA_SAD_XX.flv"]

    status, out, _ = run_avemo(capsys, "fetch", "unused", "--actors", "1001", "--sentences", "DFA", "--emotions", "ANG,SAD", "--dry-run")
    assert status == 0
    assert [line.split("\t")[0] for line in out.splitlines()[:-1]] == expected
    assert out.splitlines()[-1] == "2 files, 503.3 KiB"

    manifest = fetching.official_manifest()
    audio = fetching.select_clips(manifest, folders=["AudioWAV", "AudioMP3"], actors=["1091"], levels=["HI"])
    assert [e.path for e in audio] == [p for p in official if re.fullmatch(r"Audio(WAV|MP3)/1091_[A-Z]{3}_[A-Z]{3}_HI\.(wav|mp3)", p)]
    assert len(fetching.select_clips(manifest)) == 7442  # VideoFlash, every clip, by default


# --- verify ------------------------------------------------------------------------------------------


@pytest.fixture
def copy_of_six(tmp_path, crema_d_dir) -> Path:
    root = tmp_path / "copy"
    (root / "VideoFlash").mkdir(parents=True)
    for name in CLIPS:
        (root / "VideoFlash" / name).write_bytes((crema_d_dir / "VideoFlash" / name).read_bytes())
    (root / "VideoDemographics.csv").write_bytes((crema_d_dir / "VideoDemographics.csv").read_bytes())
    return root


def test_verify_reports_a_clean_copy(copy_of_six, capsys):
    status, out, _ = run_avemo(capsys, "verify", str(copy_of_six), *SIX, "--jobs", "2")
    assert status == 0
    assert out == "verify: 6 ok, 0 damaged, 0 unexpected, 0 missing\n"


def test_verify_finds_damaged_unexpected_and_missing_files(copy_of_six, capsys):
    clips = copy_of_six / "VideoFlash"
    (clips / "1001_DFA_HAP_XX.flv").unlink()
    with open(clips / "1001_DFA_SAD_XX.flv", "r+b") as f:  # same size, other bytes
        f.seek(5000)
        f.write(b"\0\0\0\0")
    (clips / "1001_DFA_NEU_XX.flv").write_bytes((clips / "1001_DFA_NEU_XX.flv").read_bytes()[:1000])
    (clips / "notes.txt").write_text("not a clip\n")
    (clips / ".1001_DFA_HAP_XX.flv.part").write_bytes(b"partial")
    status, out, _ = run_avemo(capsys, "verify", str(copy_of_six), *SIX)
    assert status == 1
    assert out.splitlines() == [
        "damaged VideoFlash/1001_DFA_NEU_XX.flv: 1000 bytes, expected 251524",
        "damaged VideoFlash/1001_DFA_SAD_XX.flv: SHA-256 differs from the official release",
        "unexpected VideoFlash/.1001_DFA_HAP_XX.flv.part: an interrupted download; `avemo fetch` resumes it",
        "unexpected VideoFlash/notes.txt: not a file of the official release",
        "missing VideoFlash/1001_DFA_HAP_XX.flv",
        "verify: 3 ok, 2 damaged, 2 unexpected, 1 missing",
    ]


def test_verify_lists_every_clip_of_the_folders_as_missing_by_default(copy_of_six, capsys):
    status, out, _ = run_avemo(capsys, "verify", str(copy_of_six), "--folders", "VideoFlash,AudioWAV")
    assert status == 1
    assert out.splitlines()[-1] == "verify: 6 ok, 0 damaged, 0 unexpected, 14878 missing"
    assert "missing AudioWAV/1001_DFA_ANG_XX.wav" in out.splitlines()


def test_verify_of_the_clip_folder_itself_says_to_pass_the_folder_above(copy_of_six, capsys):
    status, out, err = run_avemo(capsys, "verify", str(copy_of_six / "VideoFlash"))
    assert status == 1 and out == ""
    assert err == f"avemo verify: {copy_of_six / 'VideoFlash'} holds clips itself; pass the folder above it (the one that holds VideoFlash/)\n"


# --- the command line ----------------------------------------------------------------------------------


def test_help_lists_the_commands_and_explains_fetch():
    top = python_m_avemo("--help")
    out, _ = top.communicate(timeout=60)
    assert top.returncode == 0
    assert re.search(r"^  fetch +download CREMA-D .+$", out, re.M) and re.search(r"^  verify +check a copy .+$", out, re.M), out

    fetch_help = python_m_avemo("fetch", "--help")
    out, _ = fetch_help.communicate(timeout=60)
    assert fetch_help.returncode == 0
    for flag in ("DEST", "--base-url", "--folders", "--actors", "--sentences", "--emotions", "--levels", "--jobs", "--retries",
                 "--timeout", "--no-demographics", "--dry-run"):
        assert flag in out, flag
    flat = " ".join(out.split())
    assert fetching.DEFAULT_BASE_URL in flat
    assert "DEST/VideoFlash/1001_DFA_ANG_XX.flv" in flat  # the layout
    assert "rerun the same command and each continues where it stopped, with an HTTP range request" in flat


def test_a_selection_that_matches_no_clip_is_a_user_error(capsys):
    status, out, err = run_avemo(capsys, "fetch", "unused", *SIX, "--levels", "HI", "--dry-run")
    assert status == 1 and out == ""
    assert err == "avemo fetch: the selection matches no clip of the release (each option narrows it; see --help)\n"

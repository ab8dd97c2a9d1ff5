"""avemo.corpus.download through `avemo fetch`, against a small HTTP server on 127.0.0.1 that serves the six real
CREMA-D clips under the official layout, honours range requests, and misbehaves on demand."""

from __future__ import annotations

import re
import signal
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from helpers import PASSWD, SELECT_SIX, SIX_CLIPS, python_m_avemo, run_avemo


class ClipServer:
    """Serves `files` (path in the dataset -> bytes) with range requests; logs every request as
    (path, Range header or None, status). Misbehaviour on demand: `corrupt` paths are served with wrong
    bytes, `cut_first[path] = n` sends only n bytes of the first answer for that path and hangs up,
    `ignore_range` answers every request with the whole file, `hold[path] = n` sends n bytes, sets
    `held`, then waits for `release`, `refuse = (status, text)` answers every request so, `extra[path] = n`
    sends n junk bytes after the file (and counts them in Content-Length), `unannounced` paths are sent without
    a Content-Length, `endless` paths are followed by junk until the client hangs up (or ENDLESS_CAP bytes).
    `sent[path]`: the bytes the last answer for that path got out. At most MAX_REQUESTS are answered, so a
    runaway client cannot loop."""

    MAX_REQUESTS = 100
    ENDLESS_CAP = 1 << 30

    def __init__(self, files: dict[str, bytes]):
        self.files = files
        self.requests: list[tuple[str, str | None, int]] = []
        self.corrupt: set[str] = set()
        self.cut_first: dict[str, int] = {}
        self.ignore_range = False
        self.hold: dict[str, int] = {}
        self.refuse: tuple[int, str] | None = None
        self.extra: dict[str, int] = {}
        self.unannounced: set[str] = set()
        self.endless: set[str] = set()
        self.sent: dict[str, int] = {}
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
        payload = body[start:] + bytes(self.extra.get(path, 0))
        handler.send_response(status)
        if path not in self.unannounced | self.endless:
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
        self.sent[path] = 0
        try:
            for block in self._blocks(payload, endless=path in self.endless):
                handler.wfile.write(block)
                self.sent[path] += len(block)
        except OSError:  # the client hung up
            pass

    def _blocks(self, payload: bytes, endless: bool):
        for at in range(0, len(payload), 1 << 16):
            yield payload[at : at + (1 << 16)]
        for _ in range(self.ENDLESS_CAP >> 16 if endless else 0):
            yield b"\xff" * (1 << 16)


@pytest.fixture
def server(crema_d_dir):
    files = {f"VideoFlash/{name}": (crema_d_dir / "VideoFlash" / name).read_bytes() for name in SIX_CLIPS}
    files["VideoDemographics.csv"] = (crema_d_dir / "VideoDemographics.csv").read_bytes()
    clip_server = ClipServer(files)
    clip_server.thread.start()
    yield clip_server
    clip_server.release.set()
    clip_server.httpd.shutdown()
    clip_server.httpd.server_close()
    clip_server.thread.join(10)


def fetch_six(capsys, dest: Path, server: ClipServer, *args: str) -> tuple[int, str, str]:
    """`avemo fetch DEST` of the six served clips (narrowed further by `args`), in this process."""
    return run_avemo(capsys, "fetch", str(dest), "--base-url", server.url, *SELECT_SIX, *args)


def files_in(folder: Path) -> dict[str, bytes]:
    """Every file under `folder` (hidden ones too) by its path relative to it."""
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def clip_files(server: ClipServer, *names: str) -> dict[str, bytes]:
    return {f"VideoFlash/{n}": server.files[f"VideoFlash/{n}"] for n in names}


def part_of(dest: Path, name: str) -> Path:
    return dest / "VideoFlash" / f".{name}.part"


def test_fetch_through_python_m_gets_all_six_clips_verified(tmp_path, server):
    dest = tmp_path / "crema d"  # a space in the path: nothing passes through a shell
    done = python_m_avemo("fetch", str(dest), "--base-url", server.url, *SELECT_SIX, "--jobs", "3")
    out, err = done.communicate(timeout=120)
    assert done.returncode == 0, err
    demographics = server.files["VideoDemographics.csv"]
    assert files_in(dest) == {**clip_files(server, *SIX_CLIPS), "VideoDemographics.csv": demographics}
    expected = [f"VideoFlash/{n}" for n in SIX_CLIPS] + ["VideoDemographics.csv"]
    assert sorted(p for p, _, _ in server.requests) == sorted(expected)
    assert "6 clips: 6 fetched, 0 already present and verified, 0 missing" in err
    assert "VideoDemographics.csv fetched (not verified: no official checksum; its columns checked)" in err


def test_a_clip_served_with_wrong_bytes_is_retried_reported_and_not_kept(tmp_path, capsys, server):
    server.corrupt.add("VideoFlash/1001_DFA_SAD_XX.flv")
    status, _, err = fetch_six(capsys, tmp_path, server, "--retries", "2", "--no-demographics")
    assert status == 1
    good = [n for n in SIX_CLIPS if n != "1001_DFA_SAD_XX.flv"]
    assert files_in(tmp_path) == clip_files(server, *good)  # neither the clip nor its temporary file is kept
    assert len(server.requested("VideoFlash/1001_DFA_SAD_XX.flv")) == 3  # 1 + 2 retries, then it gives up
    assert "1 of 6 files missing" in err
    assert "VideoFlash/1001_DFA_SAD_XX.flv: SHA-256 differs from the official release (after 3 attempts)" in err
    assert "6 clips: 5 fetched, 0 already present and verified, 1 missing" in err


def test_a_transfer_cut_off_midway_is_resumed_with_a_range_request(tmp_path, capsys, server):
    server.cut_first["VideoFlash/1001_DFA_ANG_XX.flv"] = 100_000
    status, _, err = fetch_six(capsys, tmp_path, server, "--no-demographics")
    assert status == 0, err
    assert files_in(tmp_path) == clip_files(server, *SIX_CLIPS)
    assert server.requested("VideoFlash/1001_DFA_ANG_XX.flv") == [(None, 200), ("bytes=100000-", 206)]


def test_a_server_that_ignores_range_requests_restarts_the_file(tmp_path, capsys, server):
    server.ignore_range = True
    server.cut_first["VideoFlash/1001_DFA_ANG_XX.flv"] = 100_000
    status, _, err = fetch_six(capsys, tmp_path, server, "--no-demographics")
    assert status == 0, err
    assert files_in(tmp_path) == clip_files(server, *SIX_CLIPS)  # the whole file once, not the first part twice
    assert server.requested("VideoFlash/1001_DFA_ANG_XX.flv") == [(None, 200), ("bytes=100000-", 200)]


def test_a_leftover_partial_file_is_resumed(tmp_path, capsys, server):
    name = "1001_DFA_HAP_XX.flv"
    part_of(tmp_path, name).parent.mkdir(parents=True)
    part_of(tmp_path, name).write_bytes(server.files[f"VideoFlash/{name}"][:123_456])
    status, _, err = fetch_six(capsys, tmp_path, server, "--emotions", "HAP", "--no-demographics")
    assert status == 0, err
    assert files_in(tmp_path) == clip_files(server, name)
    assert server.requested(f"VideoFlash/{name}") == [("bytes=123456-", 206)]


def test_a_leftover_partial_file_with_wrong_bytes_is_started_again(tmp_path, capsys, server):
    name = "1001_DFA_HAP_XX.flv"
    part_of(tmp_path, name).parent.mkdir(parents=True)
    part_of(tmp_path, name).write_bytes(b"\0" * 100_000)
    status, _, err = fetch_six(capsys, tmp_path, server, "--emotions", "HAP", "--no-demographics")
    assert status == 0, err
    assert files_in(tmp_path) == clip_files(server, name)
    assert server.requested(f"VideoFlash/{name}") == [("bytes=100000-", 206), (None, 200)]


def test_a_selection_by_emotion_fetches_only_those_clips(tmp_path, capsys, server):
    status, _, err = fetch_six(capsys, tmp_path, server, "--emotions", "hap,SAD", "--no-demographics")
    assert status == 0, err
    assert files_in(tmp_path) == clip_files(server, "1001_DFA_HAP_XX.flv", "1001_DFA_SAD_XX.flv")
    requested = sorted(p for p, _, _ in server.requests)
    assert requested == ["VideoFlash/1001_DFA_HAP_XX.flv", "VideoFlash/1001_DFA_SAD_XX.flv"]


def test_a_second_run_skips_verified_files_and_replaces_a_damaged_one(tmp_path, capsys, server):
    assert fetch_six(capsys, tmp_path, server)[0] == 0
    first = len(server.requests)
    before = {p: p.stat().st_mtime_ns for p in tmp_path.rglob("*") if p.is_file()}
    status, _, err = fetch_six(capsys, tmp_path, server)
    assert status == 0 and len(server.requests) == first  # nothing asked of the server
    assert {p: p.stat().st_mtime_ns for p in tmp_path.rglob("*") if p.is_file()} == before
    assert "6 clips: 0 fetched, 6 already present and verified, 0 missing" in err

    damaged = tmp_path / "VideoFlash" / "1001_DFA_NEU_XX.flv"
    damaged.write_bytes(damaged.read_bytes()[:-10] + b"0123456789")
    status, _, err = fetch_six(capsys, tmp_path, server)
    assert status == 0 and "6 clips: 1 fetched, 5 already present and verified" in err
    assert damaged.read_bytes() == server.files["VideoFlash/1001_DFA_NEU_XX.flv"]
    assert [p for p, _, _ in server.requests[first:]] == ["VideoFlash/1001_DFA_NEU_XX.flv"]


def test_a_file_the_server_does_not_have_is_listed_as_missing(tmp_path, capsys, server):
    del server.files["VideoFlash/1001_DFA_FEA_XX.flv"]
    status, _, err = fetch_six(capsys, tmp_path, server, "--no-demographics")
    assert status == 1
    assert "  VideoFlash/1001_DFA_FEA_XX.flv: HTTP 404" in err
    assert len(server.requested("VideoFlash/1001_DFA_FEA_XX.flv")) == 1  # a refusal is final: not asked again
    assert sorted(files_in(tmp_path)) == [f"VideoFlash/{n}" for n in SIX_CLIPS if "FEA" not in n]


def test_a_server_over_its_git_lfs_quota_is_named_with_its_message_and_a_hint(tmp_path, capsys, server):
    server.refuse = (
        403,
        "This repository is over its data quota. Account responsible for LFS bandwidth should purchase more data "
        "packs to restore access.",
    )
    status, _, err = fetch_six(capsys, tmp_path, server, "--no-demographics")
    assert status == 1
    assert len(server.requests) == 6  # a refusal is final: each clip asked once
    assert "  VideoFlash/1001_DFA_ANG_XX.flv: HTTP 403 Forbidden: This repository is over its data quota." in err
    assert "git-lfs bandwidth quota is exhausted; try again next month or use --base-url with a mirror" in err
    assert files_in(tmp_path) == {}


def test_ctrl_c_leaves_only_a_partial_file_that_the_next_run_resumes(tmp_path, server):
    name = "1001_DFA_ANG_XX.flv"
    server.hold[f"VideoFlash/{name}"] = 50_000
    command = ("fetch", str(tmp_path), "--base-url", server.url, *SELECT_SIX, "--emotions", "ANG", "--no-demographics")
    running = python_m_avemo(*command)
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

    resumed = python_m_avemo(*command)
    _, err = resumed.communicate(timeout=120)
    assert resumed.returncode == 0, err
    assert files_in(tmp_path) == clip_files(server, name)
    assert server.requested(f"VideoFlash/{name}")[-1] == ("bytes=50000-", 206)


def test_a_clip_served_longer_than_its_official_size_is_cut_off_there_and_not_kept(tmp_path, capsys, server):
    big, endless = "VideoFlash/1001_DFA_ANG_XX.flv", "VideoFlash/1001_DFA_HAP_XX.flv"
    size = {path: len(server.files[path]) for path in (big, endless)}
    server.extra[big] = 60_000_000  # 60 MB for a clip of 266 kB, announced in Content-Length: never read
    server.endless.add(endless)  # the clip, then junk without end (no Content-Length): read up to its size
    status, _, err = fetch_six(capsys, tmp_path, server, "--emotions", "ANG,HAP", "--retries", "1", "--no-demographics")
    assert status == 1
    assert (
        f"  {big}: the server sends more than the release's {size[big]} bytes (cut off there, not kept) (after 2 "
        "attempts)" in err
    )
    assert f"  {endless}: the server sends more than the release's {size[endless]} bytes (cut off there" in err
    assert files_in(tmp_path) == {}  # neither the clips nor their temporary files
    assert len(server.requested(big)) == len(server.requested(endless)) == 2
    assert server.sent[endless] < size[endless] + 50_000_000  # the client hung up: what the socket buffers held at most


def test_demographics_of_the_wrong_size_or_columns_are_not_kept(tmp_path, capsys, server, crema_d_dir):
    demographics = "VideoDemographics.csv"
    one_clip = ("--emotions", "ANG", "--retries", "0")
    server.files[demographics] = b"x," * 15_000_000  # 30 MB of junk, sent without a Content-Length
    server.unannounced.add(demographics)
    status, _, err = fetch_six(capsys, tmp_path, server, *one_clip)
    assert status == 1
    assert f"  {demographics}: the server sends more than 1048576 bytes, far more than this file holds" in err
    assert sorted(files_in(tmp_path)) == ["VideoFlash/1001_DFA_ANG_XX.flv"]
    assert server.sent[demographics] < 30_000_000

    server.files[demographics] = PASSWD.encode()  # small, but not the table
    status, _, err = fetch_six(capsys, tmp_path, server, *one_clip)
    assert status == 1 and "Traceback" not in err
    assert (
        f"  {demographics}: not CREMA-D's VideoDemographics.csv (Error tokenizing data. C error: Expected 1 fields in "
        "line 3, saw 2); expected a CSV file with columns ActorID, Age, Sex, Race, Ethnicity (after 1 attempts)"
    ) in err
    assert sorted(files_in(tmp_path)) == ["VideoFlash/1001_DFA_ANG_XX.flv"]

    (tmp_path / demographics).write_bytes(PASSWD.encode())  # junk an earlier version kept: fetched again
    server.files[demographics] = (crema_d_dir / demographics).read_bytes()
    status, _, err = fetch_six(capsys, tmp_path, server, *one_clip)
    assert status == 0, err
    assert (tmp_path / demographics).read_bytes() == server.files[demographics]
    assert f"{demographics} fetched (not verified: no official checksum; its columns checked)" in err

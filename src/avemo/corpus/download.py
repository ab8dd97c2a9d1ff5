"""Getting files of the release over HTTP into the dataset's own layout, several at a time, resumable.

Each file is downloaded to a hidden temporary name beside its final one (`.<name>.part`) that it resumes with
an HTTP range request; a file gets its final name only once its size and SHA-256 match the official manifest
(mismatch), so an interrupted or damaged download never looks like a clip. No more than a file's official size
is ever written (MAX_UNSIZED_BYTES for a file without one, which passes a check of its own instead of the SHA-256).
"""

from __future__ import annotations

import http.client
import os
import tempfile
import threading
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from avemo import __version__
from avemo.corpus.checksums import Entry, mismatch
from avemo.corpus.threads import Progress, run_in_threads
from avemo.errors import UserError

# The release's git-lfs media address: each file is served at <base>/<path in the dataset>.
DEFAULT_BASE_URL = "https://media.githubusercontent.com/media/CheyneyComputerScience/CREMA-D/master"
PART_SUFFIX = ".part"
CHUNK = 1 << 16
# The most bytes kept of a file the manifest gives no size for (VideoDemographics.csv: 4 kB); a clip's limit is its
# official size. A server that sends more (a wrong file, an endless stream) is cut off there, never filling a disk.
MAX_UNSIZED_BYTES = 1 << 20
RETRYABLE_HTTP = {408, 425, 429, 500, 502, 503, 504}  # worth asking again; any other error status is final


def part_path(final: Path) -> Path:
    """Where a file is downloaded before it checks out: hidden beside its final name, so that a clip
    folder with an interrupted download still lists only complete clips."""
    return final.with_name(f".{final.name}{PART_SUFFIX}")


def is_part_file(path: Path) -> bool:
    """Whether `path` is named as part_path names an unfinished download."""
    return path.name.startswith(".") and path.name.endswith(PART_SUFFIX)


class TransferFailed(Exception):
    """A transfer that went wrong in a way a new attempt may fix (cut off, server busy)."""


class NotServed(Exception):
    """The server refuses the file for good (e.g. 404, or 403 when a git-lfs quota is exhausted)."""


class Unreachable(Exception):
    """No connection to the server at all (refused, unknown host, timeout on connect)."""


class TooLong(Exception):
    """The server sent, or announced, more bytes than the file can have: the wrong file; nothing of it is kept."""


@dataclass
class Outcome:
    entry: Entry
    status: str  # fetched | present | missing | stopped
    reason: str = ""


@dataclass
class Downloader:
    """Downloads entries of the manifest from `base_url` into `dest` (the dataset's layout)."""

    dest: Path
    base_url: str
    retries: int = 3
    timeout: float = 60.0
    progress: Progress | None = None
    stop: threading.Event = field(default_factory=threading.Event)
    # Checks of files without an official checksum, by path in the dataset: why the file at a path is not
    # what it should be, or None. A file that fails is not kept.
    checks: dict[str, Callable[[Path], str | None]] = field(default_factory=dict)

    def _problem(self, entry: Entry, path: Path) -> str | None:
        """Why the downloaded `path` is not `entry`: its size or SHA-256, or for a file without a checksum,
        its check."""
        if entry.verifiable:
            return mismatch(path, entry)
        check = self.checks.get(entry.path)
        return check(path) if check else None

    def url_of(self, entry: Entry) -> str:
        return f"{self.base_url.rstrip('/')}/{urllib.parse.quote(entry.path)}"

    def _count(self, entry: Entry, n: int):
        """Move the bar by n bytes of `entry` on disk (negative: bytes thrown away)."""
        if self.progress and n and entry.verifiable:  # the bar's total is the clips' sizes
            self.progress.add(n)

    def fetch(self, entry: Entry) -> Outcome:
        """One file: skipped when already there and verified, else downloaded (resuming a partial
        download) and renamed into place once it checks out; up to 1 + retries attempts."""
        final = self.dest / entry.path
        part = part_path(final)
        if final.is_file():
            if self._problem(entry, final) is None:
                self._count(entry, entry.size or 0)
                return Outcome(entry, "present")
            final.unlink()  # damaged (or junk kept by an older version): replaced by a fresh download below
        if part.exists():
            self._count(entry, part.stat().st_size)  # a partial download to resume
        reason, network_trouble = "", False
        for attempt in range(1 + self.retries):
            if network_trouble:
                self.stop.wait(0.5 * attempt)  # a pause before asking a struggling server again
            if self.stop.is_set():
                return Outcome(entry, "stopped")
            network_trouble = True
            try:
                self._transfer(entry, part)
            except NotServed as err:
                return Outcome(entry, "missing", str(err))
            except TooLong as err:
                reason, network_trouble = str(err), False  # as wrong bytes: ask again at once
                continue
            except TransferFailed as err:
                reason = str(err)
                continue
            except Unreachable as err:
                if attempt < self.retries:
                    reason = f"connection failed: {err}"
                    continue
                raise UserError(
                    f"cannot reach {self.base_url}: {err} (files fetched so far are kept; rerun to resume)"
                ) from None
            if self.stop.is_set():
                return Outcome(entry, "stopped")
            size = part.stat().st_size
            if entry.verifiable and size < entry.size:
                reason = f"transfer cut off at {size} of {entry.size} bytes"
                continue  # the partial file stays: the next attempt resumes it
            reason = self._problem(entry, part)
            if reason is None:
                os.replace(part, final)
                return Outcome(entry, "fetched")
            network_trouble = False  # the server answered in full, with the wrong bytes: ask again at once
            self._discard(entry, part, size)  # wrong bytes are never kept
        return Outcome(entry, "missing", f"{reason} (after {1 + self.retries} attempts)")

    def _transfer(self, entry: Entry, part: Path):
        """Download into `part`, from its current end when the server honours a range request; never more than
        the file's official size (MAX_UNSIZED_BYTES without one): a server that sends more raises TooLong."""
        limit = entry.size if entry.verifiable else MAX_UNSIZED_BYTES
        offset = part.stat().st_size if part.exists() else 0
        if offset and (not entry.verifiable or offset > entry.size):
            part.unlink()  # nothing to resume: no known size, or longer than the file
            self._count(entry, -offset)
            offset = 0
        if entry.verifiable and offset == entry.size:
            return  # complete already; the caller checks it
        headers = {"User-Agent": f"avemo/{__version__}"}
        if offset:
            headers["Range"] = f"bytes={offset}-"
        try:
            request = urllib.request.Request(self.url_of(entry), headers=headers)
            response = urllib.request.urlopen(request, timeout=self.timeout)
        except urllib.error.HTTPError as err:
            if err.code == 416:  # our range is past the server's end: start over
                part.unlink(missing_ok=True)
                self._count(entry, -offset)
                raise TransferFailed("HTTP 416: server refused the range; restarting the file") from None
            detail = _error_detail(err)
            if err.code in RETRYABLE_HTTP:
                raise TransferFailed(detail) from None
            raise NotServed(detail) from None
        except urllib.error.URLError as err:
            raise Unreachable(getattr(err.reason, "strerror", None) or str(err.reason)) from None
        except (OSError, http.client.HTTPException) as err:  # e.g. the server hung up before answering
            raise TransferFailed(f"connection failed: {err or type(err).__name__}") from None
        with response:
            if response.status == 206:
                start = _range_start(response.headers.get("Content-Range", ""))
                if start != offset:
                    part.unlink(missing_ok=True)
                    self._count(entry, -offset)
                    raise TransferFailed(
                        f"transfer: server sent bytes from {start}, asked from {offset}; restarting the file"
                    )
                mode = "ab"
            else:  # 200: the whole file (a server that ignores range requests): start over
                self._count(entry, -offset)
                offset, mode = 0, "wb"
            length = response.headers.get("Content-Length")
            expected = (
                f"the release's {limit} bytes" if entry.verifiable else f"{limit} bytes, far more than this file holds"
            )
            too_long = TooLong(f"the server sends more than {expected} (cut off there, not kept)")
            if length is not None and length.isdigit() and offset + int(length) > limit:
                self._discard(entry, part, offset)
                raise too_long  # announced: nothing of it is read
            received = 0
            # Unbuffered: what arrived is on disk, so an interrupted run leaves a true prefix to resume.
            with open(part, mode, buffering=0) as out:
                while not self.stop.is_set():
                    try:  # what has arrived, up to CHUNK (no wait for a full chunk) and one byte past the limit
                        block = response.read1(min(CHUNK, limit - offset - received + 1))
                    except (OSError, http.client.HTTPException) as err:
                        raise TransferFailed(
                            f"transfer cut off at {offset + received} bytes: {err or type(err).__name__}"
                        ) from None
                    if not block:
                        break
                    if offset + received + len(block) > limit:
                        out.close()
                        self._discard(entry, part, offset + received)
                        raise too_long
                    out.write(block)
                    received += len(block)
                    self._count(entry, len(block))
            if not self.stop.is_set() and length is not None and received < int(length):
                raise TransferFailed(f"transfer cut off at {offset + received} bytes")

    def _discard(self, entry: Entry, part: Path, size: int):
        """Delete a download of `size` bytes so far, and take them off the bar."""
        part.unlink(missing_ok=True)
        self._count(entry, -size)


def _error_detail(err: urllib.error.HTTPError) -> str:
    """`HTTP 403 Forbidden: <the start of the server's message>` (a plain-text or JSON message such as
    git-lfs's quota notice; an HTML error page says nothing the status does not)."""
    detail = f"HTTP {err.code} {err.reason}"
    if "html" in (err.headers.get("Content-Type") or "").lower():
        return detail
    try:
        message = " ".join(err.read(200).decode("utf-8", "replace").split())
    except (OSError, http.client.HTTPException):
        message = ""
    return f"{detail}: {message}" if message else detail


def _range_start(content_range: str) -> int | None:
    """The first byte of `bytes 100-199/200`, or None when the header is not that."""
    try:
        unit, span = content_range.split(" ", 1)
        return int(span.split("-", 1)[0]) if unit == "bytes" else None
    except ValueError:
        return None


def prepare_folder(folder: Path):
    """Make `folder` and prove it writable, or raise a UserError saying why not."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=folder):
            pass
    except OSError as err:
        raise UserError(f"cannot write to {folder}: {err.strerror or err}") from None


def fetch(
    dest: Path,
    entries: list[Entry],
    base_url: str,
    jobs: int = 4,
    retries: int = 3,
    timeout: float = 60.0,
    checks: dict[str, Callable[[Path], str | None]] | None = None,
) -> list[Outcome]:
    """Fetch `entries` into `dest`; one Outcome per entry, sorted by path (files are checked as the
    module describes; `checks`: see Downloader)."""
    if urllib.parse.urlsplit(base_url).scheme not in ("http", "https"):
        raise UserError(f"--base-url must be an http:// or https:// address, not {base_url!r}")
    if dest.exists() and not dest.is_dir():
        raise UserError(f"{dest} exists and is not a folder")
    for folder in sorted({(dest / e.path).parent for e in entries}):
        prepare_folder(folder)
    total = sum(e.size for e in entries if e.verifiable)
    progress = Progress(total, "fetch")
    downloader = Downloader(dest, base_url, retries=retries, timeout=timeout, progress=progress, checks=checks or {})
    try:
        outcomes = [outcome for _, outcome in run_in_threads(downloader.fetch, entries, jobs, downloader.stop)]
    finally:
        progress.close()
    return sorted(outcomes, key=lambda o: o.entry.path)

"""Getting CREMA-D and checking a copy: `avemo fetch` and `avemo verify`.

The official manifest (path, size and SHA-256 of every clip of VideoFlash, AudioWAV and AudioMP3, from the
release's git-lfs pointers) ships in `avemo/corpus/resources/`. `fetch` downloads the selected clips from a base
URL into the dataset's own layout, several at a time, each to a hidden temporary name beside its final one
(`.<name>.part`) that it resumes with an HTTP range request; a file gets its final name only once its size
and SHA-256 match the manifest. `verify` checks every file of a copy's media folders against the manifest.
"""

from __future__ import annotations

import argparse
import http.client
import os
import queue
import sys
import tempfile
import threading
import urllib.error
import urllib.parse
import urllib.request
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from avemo import __version__
from avemo.corpus.checksums import FOLDERS, Entry, official_manifest, sha256_of
from avemo.errors import UserError
from avemo.corpus.clips import EMOTIONS, LEVELS, SENTENCES, parse_clip_name, validate_codes

# The release's git-lfs media address: each file is served at <base>/<path in the dataset>.
DEFAULT_BASE_URL = "https://media.githubusercontent.com/media/CheyneyComputerScience/CREMA-D/master"
# An ordinary git file of the release, not a git-lfs object: it has no official SHA-256, so it is fetched
# but never verified (and verify does not look at it).
DEMOGRAPHICS = "VideoDemographics.csv"
PART_SUFFIX = ".part"
MAX_LISTED = 20  # missing files listed one per line; the rest are counted by reason
CHUNK = 1 << 16
RETRYABLE_HTTP = {408, 425, 429, 500, 502, 503, 504}  # worth asking again; any other error status is final
QUOTA_HINT = ("the official server answers so when the repository's git-lfs bandwidth quota is exhausted; "
              "try again next month or use --base-url with a mirror")


def split_codes(text: str | None) -> list[str]:
    """`ANG, sad` -> ['ANG', 'SAD'] (a comma-separated option; None or empty selects everything)."""
    return [code.strip().upper() for code in (text or "").split(",") if code.strip()]


def select_clips(manifest: dict[str, Entry], folders=None, actors=None, sentences=None, emotions=None, levels=None) -> list[Entry]:
    """The manifest's clips in `folders` (VideoFlash when none) that match every given list of codes; an
    unknown code is a UserError (a typo must not silently select nothing)."""
    folders = list(folders or ["VideoFlash"])
    unknown = [f for f in folders if f not in FOLDERS]
    if unknown:
        raise UserError(f"unknown folder {', '.join(unknown)}; CREMA-D has {', '.join(FOLDERS)}")
    try:
        sentences = set(validate_codes(sentences, SENTENCES, "sentence"))
        emotions = set(validate_codes(emotions, EMOTIONS, "emotion"))
        levels = set(validate_codes(levels, LEVELS, "level"))
    except ValueError as err:
        raise UserError(str(err)) from None
    names = {path: parse_clip_name(Path(path).name) for path in manifest}
    known_actors = sorted({name.actor for name in names.values()})
    wanted_actors = set()
    for actor in actors or []:
        if not str(actor).isdigit() or int(actor) not in known_actors:
            raise UserError(f"unknown actor {actor}; CREMA-D's actors are {known_actors[0]}-{known_actors[-1]}")
        wanted_actors.add(int(actor))
    return [
        entry
        for path, entry in manifest.items()
        if path.split("/")[0] in folders
        and (not wanted_actors or names[path].actor in wanted_actors)
        and (not sentences or names[path].sentence in sentences)
        and (not emotions or names[path].emotion in emotions)
        and (not levels or names[path].level in levels)
    ]


def part_path(final: Path) -> Path:
    """Where a file is downloaded before it checks out: hidden beside its final name, so that a clip
    folder with an interrupted download still lists only complete clips."""
    return final.with_name(f".{final.name}{PART_SUFFIX}")


def mismatch(path: Path, entry: Entry) -> str | None:
    """Why the file at `path` is not `entry` of the release (its size, else its SHA-256), or None when it is."""
    size = path.stat().st_size
    if size != entry.size:
        return f"{size} bytes, expected {entry.size}"
    return None if sha256_of(path) == entry.sha256 else "SHA-256 differs from the official release"


class TransferFailed(Exception):
    """A transfer that went wrong in a way a new attempt may fix (cut off, server busy)."""


class NotServed(Exception):
    """The server refuses the file for good (e.g. 404, or 403 when a git-lfs quota is exhausted)."""


class Unreachable(Exception):
    """No connection to the server at all (refused, unknown host, timeout on connect)."""


class Progress:
    """A counter of bytes (or files) done with a progress bar, shown on a terminal only; thread-safe."""

    def __init__(self, total: int, description: str, unit: str = "B"):
        from tqdm import tqdm

        in_bytes = unit == "B"
        self._bar = tqdm(total=total, desc=description, unit=unit, unit_scale=in_bytes, unit_divisor=1024, disable=None, leave=False)
        self._lock = threading.Lock()

    def add(self, n: int):
        with self._lock:
            self._bar.update(n)

    def close(self):
        with self._lock:
            self._bar.close()  # later add() calls are ignored: a closed bar is disabled


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
            if not entry.verifiable:
                return Outcome(entry, "present")
            if mismatch(final, entry) is None:
                self._count(entry, entry.size)
                return Outcome(entry, "present")
            final.unlink()  # damaged: replaced by a fresh download below
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
            except TransferFailed as err:
                reason = str(err)
                continue
            except Unreachable as err:
                if attempt < self.retries:
                    reason = f"connection failed: {err}"
                    continue
                raise UserError(f"cannot reach {self.base_url}: {err} (files fetched so far are kept; rerun to resume)") from None
            if self.stop.is_set():
                return Outcome(entry, "stopped")
            if not entry.verifiable:
                os.replace(part, final)
                return Outcome(entry, "fetched")
            size = part.stat().st_size
            if size < entry.size:
                reason = f"transfer cut off at {size} of {entry.size} bytes"
                continue  # the partial file stays: the next attempt resumes it
            reason = mismatch(part, entry)
            if reason is None:
                os.replace(part, final)
                return Outcome(entry, "fetched")
            network_trouble = False  # the server answered in full, with the wrong bytes: ask again at once
            part.unlink()  # wrong bytes are never kept
            self._count(entry, -size)
        return Outcome(entry, "missing", f"{reason} (after {1 + self.retries} attempts)")

    def _transfer(self, entry: Entry, part: Path):
        """Download into `part`, from its current end when the server honours a range request."""
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
            response = urllib.request.urlopen(urllib.request.Request(self.url_of(entry), headers=headers), timeout=self.timeout)
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
                    raise TransferFailed(f"transfer: server sent bytes from {start}, asked from {offset}; restarting the file")
                mode = "ab"
            else:  # 200: the whole file (a server that ignores range requests): start over
                self._count(entry, -offset)
                offset, mode = 0, "wb"
            length = response.headers.get("Content-Length")
            received = 0
            # Unbuffered: what arrived is on disk, so an interrupted run leaves a true prefix to resume.
            with open(part, mode, buffering=0) as out:
                while not self.stop.is_set():
                    try:
                        block = response.read1(CHUNK)  # what has arrived, up to CHUNK: no wait for a full chunk
                    except (OSError, http.client.HTTPException) as err:
                        raise TransferFailed(f"transfer cut off at {offset + received} bytes: {err or type(err).__name__}") from None
                    if not block:
                        break
                    out.write(block)
                    received += len(block)
                    self._count(entry, len(block))
            if not self.stop.is_set() and length is not None and received < int(length):
                raise TransferFailed(f"transfer cut off at {offset + received} bytes")


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


def run_in_threads(work: Callable, items: list, jobs: int, stop: threading.Event) -> Iterator[tuple[object, object]]:
    """Yield (item, work(item)) as each finishes, `jobs` at a time. Daemon threads, so that Ctrl-C ends
    the program at once even while a thread waits on a stalled connection (a download then leaves only
    its partial file). An exception in `work` stops the others and is raised here."""
    todo: queue.Queue = queue.Queue()
    done: queue.Queue = queue.Queue()
    for item in items:
        todo.put(item)

    def worker():
        while not stop.is_set():
            try:
                item = todo.get_nowait()
            except queue.Empty:
                return
            try:
                done.put((item, work(item), None))
            except BaseException as err:  # noqa: BLE001 - handed to the main thread, which raises it
                done.put((item, None, err))

    for _ in range(max(1, min(jobs, len(items)))):
        threading.Thread(target=worker, daemon=True).start()
    try:
        for _ in items:
            item, result, error = done.get()
            if error is not None:
                raise error
            yield item, result
    finally:
        stop.set()


def prepare_folder(folder: Path):
    """Make `folder` and prove it writable, or raise a UserError saying why not."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=folder):
            pass
    except OSError as err:
        raise UserError(f"cannot write to {folder}: {err.strerror or err}") from None


def fetch(dest: Path, entries: list[Entry], base_url: str, jobs: int = 4, retries: int = 3, timeout: float = 60.0) -> list[Outcome]:
    """Fetch `entries` into `dest`; one Outcome per entry, sorted by path (files are checked as the
    module describes)."""
    if urllib.parse.urlsplit(base_url).scheme not in ("http", "https"):
        raise UserError(f"--base-url must be an http:// or https:// address, not {base_url!r}")
    if dest.exists() and not dest.is_dir():
        raise UserError(f"{dest} exists and is not a folder")
    for folder in sorted({(dest / e.path).parent for e in entries}):
        prepare_folder(folder)
    total = sum(e.size for e in entries if e.verifiable)
    progress = Progress(total, "fetch")
    downloader = Downloader(dest, base_url, retries=retries, timeout=timeout, progress=progress)
    try:
        outcomes = [outcome for _, outcome in run_in_threads(downloader.fetch, entries, jobs, downloader.stop)]
    finally:
        progress.close()
    return sorted(outcomes, key=lambda o: o.entry.path)


@dataclass
class VerifyReport:
    ok: list[str] = field(default_factory=list)
    damaged: list[tuple[str, str]] = field(default_factory=list)  # (path, why)
    unexpected: list[tuple[str, str]] = field(default_factory=list)  # (path, note)
    missing: list[str] = field(default_factory=list)

    @property
    def clean(self) -> bool:
        return not (self.damaged or self.unexpected or self.missing)

    def summary(self) -> str:
        return f"verify: {len(self.ok)} ok, {len(self.damaged)} damaged, {len(self.unexpected)} unexpected, {len(self.missing)} missing"


def verify_copy(root: Path, selected: Iterable[Entry], jobs: int = 4) -> VerifyReport:
    """Every file in `root`'s media folders against the manifest (damaged: size or SHA-256 differs;
    unexpected: not in the manifest), and which of `selected` are missing. Files outside the media
    folders (VideoDemographics.csv, the rest of a git clone) are not looked at."""
    manifest = official_manifest()
    report = VerifyReport()
    known = []
    for folder in FOLDERS:
        for path in sorted(p for p in (root / folder).rglob("*") if p.is_file()):
            relative = path.relative_to(root).as_posix()
            if relative in manifest:
                known.append((path, manifest[relative]))
            elif path.name.startswith(".") and path.name.endswith(PART_SUFFIX):
                report.unexpected.append((relative, "an interrupted download; `avemo fetch` resumes it"))
            else:
                report.unexpected.append((relative, "not a file of the official release"))

    progress = Progress(len(known), "verify", unit="file")
    try:
        for (_, entry), problem in run_in_threads(lambda item: mismatch(*item), known, jobs, threading.Event()):
            progress.add(1)
            if problem:
                report.damaged.append((entry.path, problem))
            else:
                report.ok.append(entry.path)
    finally:
        progress.close()
    report.damaged.sort()
    report.ok.sort()
    report.missing = [e.path for e in selected if not (root / e.path).is_file()]
    return report


# --- command line --------------------------------------------------------------------------------

LAYOUT = """\
layout: DEST/VideoFlash/1001_DFA_ANG_XX.flv, DEST/AudioWAV/1001_DFA_ANG_XX.wav, DEST/AudioMP3/...
  (the dataset's own), and DEST/VideoDemographics.csv. A clip's URL is the base URL, `/`, and its path
  in the dataset, e.g. <base>/VideoFlash/1001_DFA_ANG_XX.flv."""


def add_selection_arguments(parser: argparse.ArgumentParser):
    group = parser.add_argument_group("which clips (comma-separated codes; every option narrows the selection)")
    group.add_argument("--folders", default="VideoFlash", help=f"media folders: some of {', '.join(FOLDERS)} (default: VideoFlash)")
    group.add_argument("--actors", help="actor ids, 1001-1091 (default: all), e.g. 1001,1002")
    group.add_argument("--sentences", help=f"sentence codes: some of {', '.join(SENTENCES)} (default: all)")
    group.add_argument("--emotions", help=f"emotion codes: some of {', '.join(EMOTIONS)} (default: all)")
    group.add_argument("--levels", help=f"intensity levels: some of {', '.join(LEVELS)} (default: all)")


def selected_entries(args) -> list[Entry]:
    entries = select_clips(official_manifest(), folders=[f.strip() for f in args.folders.split(",") if f.strip()],
                           actors=split_codes(args.actors), sentences=split_codes(args.sentences),
                           emotions=split_codes(args.emotions), levels=split_codes(args.levels))
    if not entries:
        raise UserError("the selection matches no clip of the release (each option narrows it; see --help)")
    return entries


def positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, not {value}")
    return value


def non_negative_int(text: str) -> int:
    value = int(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be 0 or more, not {value}")
    return value


def fetch_parser(prog: str = "avemo fetch") -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=prog,
        formatter_class=argparse.RawDescriptionHelpFormatter,
        description=f"""\
Download CREMA-D clips into DEST, each checked against the official release's SHA-256.

Files come from --base-url, by default the release's git-lfs media server
  {DEFAULT_BASE_URL}
whose bandwidth quota is often exhausted (it then refuses every file): use --base-url for a mirror or a
local server (e.g. `python -m http.server` in a copy: http://127.0.0.1:8000).

{LAYOUT}

Each file is downloaded to a hidden temporary name beside its final one (.1001_DFA_ANG_XX.flv.part) and
gets its final name only once its size and SHA-256 match the official ones; a mismatch is downloaded
again (--retries), then reported and deleted, never kept. Files already present and verified are
skipped, a damaged one is downloaded again. Resuming: an interrupted run (Ctrl-C, a lost connection)
leaves only the .part files; rerun the same command and each continues where it stopped, with an HTTP
range request (from the start when the server ignores ranges). VideoDemographics.csv is fetched too
(--no-demographics: not); the release publishes no checksum for it, so it is not verified.

Exit status: 0 when every selected file is in DEST and verified, 1 when any is missing at the end (each
is listed with the reason) or on an error such as an unknown code, an unwritable DEST or an unreachable
server (one line), 130 when interrupted.""",
    )
    parser.add_argument("dest", metavar="DEST", type=Path, help="folder to download into (made when missing)")
    parser.add_argument("--base-url", default=DEFAULT_BASE_URL, help="where the dataset's files are served (default: the official git-lfs media address above)")
    add_selection_arguments(parser)
    parser.add_argument("--no-demographics", action="store_true", help=f"do not fetch {DEMOGRAPHICS} (fetched by default, unverified)")
    parser.add_argument("--jobs", type=positive_int, default=4, help="concurrent downloads (default: 4)")
    parser.add_argument("--retries", type=non_negative_int, default=3, help="further attempts for a file that is cut off or fails its check (default: 3)")
    parser.add_argument("--timeout", type=float, default=60.0, help="seconds to wait for the server before an attempt fails (default: 60)")
    parser.add_argument("--dry-run", action="store_true", help="list the selected files and their total size on stdout; download nothing")
    return parser


def fetch_main(argv: list[str] | None = None, prog: str = "avemo fetch") -> int:
    args = fetch_parser(prog).parse_args(argv)
    entries = selected_entries(args)
    if args.dry_run:
        for entry in entries:
            print(f"{entry.path}\t{entry.size}")
        print(f"{len(entries)} files, {_size(sum(e.size for e in entries))}")
        return 0
    extras = [] if args.no_demographics else [Entry(DEMOGRAPHICS, None, None)]
    print(f"{prog}: {_plural(len(entries), 'clip')} ({_size(sum(e.size for e in entries))}) from {args.base_url} into {args.dest}", file=sys.stderr)
    try:
        outcomes = fetch(args.dest, entries + extras, args.base_url, jobs=args.jobs, retries=args.retries, timeout=args.timeout)
    except KeyboardInterrupt:
        print(f"{prog}: interrupted; partial downloads are kept as hidden .<name>.part files beside their final "
              "names; rerun the same command to resume them", file=sys.stderr)
        return 130
    by_status = {status: [o for o in outcomes if o.status == status] for status in ("fetched", "present", "missing")}
    missing = by_status["missing"]
    if missing:
        print(f"{prog}: {len(missing)} of {len(outcomes)} files missing (not kept):", file=sys.stderr)
        for outcome in missing[:MAX_LISTED]:
            print(f"  {outcome.entry.path}: {outcome.reason}", file=sys.stderr)
        if len(missing) > MAX_LISTED:
            reasons = Counter(o.reason for o in missing[MAX_LISTED:])
            print(f"  ... and {len(missing) - MAX_LISTED} more: " + "; ".join(f"{n} x {why}" for why, n in reasons.most_common(3))
                  + f" (`avemo verify {args.dest}` with the same selection lists every missing file)", file=sys.stderr)
        if any(o.reason.startswith(("HTTP 403", "HTTP 429")) for o in missing):
            print(f"{prog}: {QUOTA_HINT}", file=sys.stderr)
    clips = [o for o in outcomes if o.entry.verifiable]
    line = (f"{prog}: {len(clips)} clips: {sum(o.status == 'fetched' for o in clips)} fetched, "
            f"{sum(o.status == 'present' for o in clips)} already present and verified, {sum(o.status == 'missing' for o in clips)} missing")
    for outcome in outcomes:
        if not outcome.entry.verifiable and outcome.status != "missing":
            line += f"; {outcome.entry.path} {outcome.status} (not verified: no official checksum)"
    print(line, file=sys.stderr)
    return 1 if missing else 0


def verify_parser(prog: str = "avemo verify") -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=prog,
        formatter_class=argparse.RawDescriptionHelpFormatter,
        description=f"""\
Check a copy of CREMA-D (DIR as `avemo fetch` makes it) against the official release's sizes and SHA-256.

{LAYOUT}

Every file in DIR's media folders (VideoFlash, AudioWAV, AudioMP3) is checked: listed as damaged when its
size or SHA-256 differs, unexpected when it is not a file of the release (an interrupted download's
.part file among them). Of the clips the options select (all clips of --folders by default), those
absent are listed as missing. Files outside the media folders (VideoDemographics.csv, the rest of a git
clone) are not looked at. Ends with a summary line; exit status 1 when anything is damaged, unexpected
or missing, 0 when the copy is clean.""",
    )
    parser.add_argument("dir", metavar="DIR", type=Path, help="the copy's folder (the one that holds VideoFlash/)")
    add_selection_arguments(parser)
    parser.add_argument("--jobs", type=positive_int, default=4, help="files hashed at once (default: 4)")
    return parser


def verify_main(argv: list[str] | None = None, prog: str = "avemo verify") -> int:
    args = verify_parser(prog).parse_args(argv)
    entries = selected_entries(args)
    if not args.dir.is_dir():
        raise UserError(f"no such folder: {args.dir}")
    if not any((args.dir / folder).is_dir() for folder in FOLDERS) and any(
        p.suffix in FOLDERS.values() for p in args.dir.iterdir()
    ):
        raise UserError(f"{args.dir} holds clips itself; pass the folder above it (the one that holds VideoFlash/)")
    report = verify_copy(args.dir, entries, jobs=args.jobs)
    for path, why in report.damaged:
        print(f"damaged {path}: {why}")
    for path, note in report.unexpected:
        print(f"unexpected {path}: {note}")
    for path in report.missing:
        print(f"missing {path}")
    print(report.summary())
    return 0 if report.clean else 1


def _plural(n: int, noun: str) -> str:
    return f"{n} {noun}" + ("" if n == 1 else "s")


def _size(n: float) -> str:
    """Bytes in binary units, as the progress bar counts them: `2.3 GiB`."""
    for unit in ("B", "KiB", "MiB"):
        if n < 1024:
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n:.1f} GiB"

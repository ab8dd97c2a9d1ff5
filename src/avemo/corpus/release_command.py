"""The command lines of `avemo fetch` (getting CREMA-D) and `avemo verify` (checking a copy): their options,
help and what they print.

The official manifest (path, size and SHA-256 of every clip of VideoFlash, AudioWAV and AudioMP3, from the
release's git-lfs pointers) ships in `avemo/corpus/resources/`. `fetch` downloads the selected clips
(avemo.corpus.selection) from a base URL into the dataset's own layout (avemo.corpus.download: resumable, each
file checked before it gets its final name); `verify` checks every file of a copy's media folders against the
manifest (avemo.corpus.verify).
"""

from __future__ import annotations

import argparse
import sys
from collections import Counter
from pathlib import Path

from avemo.corpus.checksums import FOLDERS, Entry
from avemo.corpus.clips import TableError, load_demographics
from avemo.corpus.download import DEFAULT_BASE_URL, MAX_UNSIZED_BYTES, fetch
from avemo.corpus.selection import add_selection_arguments, selected_entries
from avemo.corpus.verify import missing_by_folder_and_actor, verify_copy
from avemo.errors import UserError

# An ordinary git file of the release, not a git-lfs object: it has no official SHA-256, so it is fetched
# but never verified (and verify does not look at it).
DEMOGRAPHICS = "VideoDemographics.csv"
MAX_LISTED = 20  # missing files listed one per line (fetch: the rest counted by reason; verify: summed up)
QUOTA_HINT = (
    "the official server answers so when the repository's git-lfs bandwidth quota is exhausted; try again next month "
    "or use --base-url with a mirror"
)

LAYOUT = """\
layout: DEST/VideoFlash/1001_DFA_ANG_XX.flv, DEST/AudioWAV/1001_DFA_ANG_XX.wav, DEST/AudioMP3/...
  (the dataset's own), and DEST/VideoDemographics.csv. A clip's URL is the base URL, `/`, and its path
  in the dataset, e.g. <base>/VideoFlash/1001_DFA_ANG_XX.flv."""


def demographics_problem(path: Path) -> str | None:
    """Why a downloaded VideoDemographics.csv is not CREMA-D's (its columns, its actor ids), or None."""
    try:
        load_demographics(path, param=None)
    except TableError as error:
        return error.problem
    return None


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
gets its final name only once its size and SHA-256 match the official ones; a mismatch (or a server that
sends more than the official size: it is cut off there) is downloaded again (--retries), then reported and
deleted, never kept. Files already present and verified are skipped, a damaged one is downloaded again.
Resuming: an interrupted run (Ctrl-C, a lost connection) leaves only the .part files; rerun the same
command and each continues where it stopped, with an HTTP range request (from the start when the server
ignores ranges). VideoDemographics.csv is fetched too (--no-demographics: not); the release publishes no
checksum for it, so it is checked for CREMA-D's columns and distinct actor ids instead, and kept only if it
passes and holds at most {MAX_UNSIZED_BYTES >> 20} MiB (it has 4 kB).

Exit status: 0 when every selected file is in DEST and verified, 1 when any is missing at the end (each
is listed with the reason) or on an error such as an unknown code, an unwritable DEST or an unreachable
server (one line), 130 when interrupted.""",
    )
    parser.add_argument("dest", metavar="DEST", type=Path, help="folder to download into (made when missing)")
    parser.add_argument(
        "--base-url",
        default=DEFAULT_BASE_URL,
        help="where the dataset's files are served (default: the official git-lfs media address above)",
    )
    add_selection_arguments(parser)
    parser.add_argument(
        "--no-demographics", action="store_true", help=f"do not fetch {DEMOGRAPHICS} (fetched by default, unverified)"
    )
    parser.add_argument("--jobs", type=positive_int, default=4, help="concurrent downloads (default: 4)")
    parser.add_argument(
        "--retries",
        type=non_negative_int,
        default=3,
        help="further attempts for a file that is cut off or fails its check (default: 3)",
    )
    parser.add_argument(
        "--timeout",
        type=float,
        default=60.0,
        help="seconds to wait for the server before an attempt fails (default: 60)",
    )
    parser.add_argument(
        "--dry-run",
        action="store_true",
        help="list the selected files and their total size on stdout; download nothing",
    )
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
    print(
        f"{prog}: {_plural(len(entries), 'clip')} ({_size(sum(e.size for e in entries))}) from {args.base_url} into "
        f"{args.dest}",
        file=sys.stderr,
    )
    try:
        outcomes = fetch(
            args.dest,
            entries + extras,
            args.base_url,
            jobs=args.jobs,
            retries=args.retries,
            timeout=args.timeout,
            checks={DEMOGRAPHICS: demographics_problem},
        )
    except KeyboardInterrupt:
        print(
            f"{prog}: interrupted; partial downloads are kept as hidden .<name>.part files beside their final names; "
            "rerun the same command to resume them",
            file=sys.stderr,
        )
        return 130
    missing = [o for o in outcomes if o.status == "missing"]
    if missing:
        print(f"{prog}: {len(missing)} of {len(outcomes)} files missing (not kept):", file=sys.stderr)
        for outcome in missing[:MAX_LISTED]:
            print(f"  {outcome.entry.path}: {outcome.reason}", file=sys.stderr)
        if len(missing) > MAX_LISTED:
            reasons = Counter(o.reason for o in missing[MAX_LISTED:])
            print(
                f"  ... and {len(missing) - MAX_LISTED} more: "
                + "; ".join(f"{n} x {why}" for why, n in reasons.most_common(3))
                + f" (`avemo verify {args.dest} --list-missing` with the same selection lists every missing file)",
                file=sys.stderr,
            )
        if any(o.reason.startswith(("HTTP 403", "HTTP 429")) for o in missing):
            print(f"{prog}: {QUOTA_HINT}", file=sys.stderr)
    clips = [o for o in outcomes if o.entry.verifiable]
    line = (
        f"{prog}: {len(clips)} clips: {sum(o.status == 'fetched' for o in clips)} fetched, "
        f"{sum(o.status == 'present' for o in clips)} already present and verified, "
        f"{sum(o.status == 'missing' for o in clips)} missing"
    )
    for outcome in outcomes:
        if not outcome.entry.verifiable and outcome.status != "missing":
            line += f"; {outcome.entry.path} {outcome.status} (not verified: no official checksum; its columns checked)"
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
absent are listed as missing, one line each up to {MAX_LISTED}; more are summed up in a line per media
folder, by actor (--list-missing lists every one). Files outside the media folders
(VideoDemographics.csv, the rest of a git clone) are not looked at. Ends with a summary line; exit
status 1 when anything is damaged, unexpected or missing, 0 when the copy is clean.""",
    )
    parser.add_argument("dir", metavar="DIR", type=Path, help="the copy's folder (the one that holds VideoFlash/)")
    add_selection_arguments(parser)
    parser.add_argument("--jobs", type=positive_int, default=4, help="files hashed at once (default: 4)")
    parser.add_argument(
        "--list-missing",
        action="store_true",
        help=f"list every missing file, one a line (default: when more than {MAX_LISTED}, a line per folder, by actor)",
    )
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
    if args.list_missing or len(report.missing) <= MAX_LISTED:
        for path in report.missing:
            print(f"missing {path}")
    else:  # a partial copy lacks thousands: a line per folder, where the summary below can still be seen
        print(f"missing {len(report.missing)} files, by folder and actor (--list-missing lists each):")
        for line in missing_by_folder_and_actor(report.missing, entries):
            print(f"  {line}")
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

"""Running one job per clip: parallel across cores, with a progress bar, atomic writes and an index.csv.

Every per-clip stage writes `index.csv` beside its outputs with one row per input clip
(`clip,status,reason` plus stage columns), `status` one of ok, fallback, failed, so nothing is skipped
silently. Outputs are written under a temporary name and renamed into place, so a killed run leaves no
half-written file.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import sys
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from tqdm import tqdm

if TYPE_CHECKING:  # pandas is imported where used: worker processes never need it
    import pandas as pd

STATUSES = ("ok", "fallback", "failed")
USABLE = ("ok", "fallback")  # statuses whose output later stages use (a fallback is counted, not dropped)
INDEX_NAME = "index.csv"


class ClipFailure(Exception):
    """A clip that cannot be processed; str(error) is the one-line reason for index.csv."""


@dataclass
class ClipResult:
    clip: str
    status: str
    reason: str = ""
    extra: dict = field(default_factory=dict)

    def __post_init__(self):
        if self.status not in STATUSES:
            raise ValueError(f"status must be one of {STATUSES}, got {self.status!r}")


def default_jobs() -> int:
    """All cores, unless AVEMO_JOBS says otherwise (a machine setting, so not in params.yaml)."""
    return int(os.environ.get("AVEMO_JOBS", "0")) or os.cpu_count() or 1


def atomic_write(path: str | Path, write: Callable[[Path], None]) -> Path:
    """Call `write(tmp)` on a temporary name beside `path` (its folder made if need be), then rename it into place."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.stem}.tmp{os.getpid()}{path.suffix}")
    try:
        write(tmp)
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()
    return path


def write_json(path: str | Path, data: dict) -> Path:
    """Pretty JSON with a final newline, written atomically (git-tracked metrics diff well)."""
    return atomic_write(path, lambda tmp: tmp.write_text(json.dumps(data, indent=2) + "\n"))


def prepare_output_dir(out_dir: str | Path, suffixes: Iterable[str]) -> Path:
    """Create `out_dir` and remove what an earlier run left there (its index and files with `suffixes`)."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    suffixes = set(suffixes)
    for old in out_dir.iterdir():
        if old.is_file() and (old.name == INDEX_NAME or old.suffix in suffixes or ".tmp" in old.name):
            old.unlink()
    return out_dir


_worker_state: dict = {}


def _init_worker(initializer, initargs):
    # One set-up per worker process (e.g. one face detector), never one per clip.
    _worker_state["state"] = initializer(*initargs) if initializer else None


def _call(job, task):
    clip = task[0]
    try:
        return job(_worker_state.get("state"), *task)
    except ClipFailure as err:
        return ClipResult(clip, "failed", str(err))
    except Exception as err:  # one broken clip must not stop the others; its reason is kept
        return ClipResult(clip, "failed", f"{type(err).__name__}: {err}".splitlines()[0])


def _call_packed(args):
    return _call(*args)


def run_per_clip(
    job: Callable[..., ClipResult],
    tasks: list[tuple],
    *,
    jobs: int | None = None,
    initializer: Callable | None = None,
    initargs: tuple = (),
    desc: str = "clips",
    uses_torch: bool = False,
) -> list[ClipResult]:
    """Run `job(state, clip, *args)` for every task `(clip, *args)`, in `jobs` processes.

    `state` is what `initializer(*initargs)` returned in that worker. Results come back in task order.
    """
    jobs = max(1, min(jobs or default_jobs(), len(tasks) or 1))
    bar = dict(total=len(tasks), desc=desc, unit="clip", file=sys.stderr, disable=None)
    if jobs == 1:
        _init_worker(initializer, initargs)
        return [_call(job, task) for task in tqdm(tasks, **bar)]
    # Forked workers start at once with the parent's modules; torch's thread pools are not fork-safe,
    # so jobs that use torch get freshly spawned interpreters.
    methods = multiprocessing.get_all_start_methods()
    context = multiprocessing.get_context("spawn" if uses_torch or "fork" not in methods else "fork")
    with context.Pool(jobs, initializer=_init_worker, initargs=(initializer, initargs)) as pool:
        work = pool.imap(_call_packed, [(job, task) for task in tasks], chunksize=1)
        return list(tqdm(work, **bar))


def write_index(out_dir: str | Path, results: list[ClipResult], columns: Iterable[str] = ()) -> Path:
    """Write `index.csv` (sorted by clip) with clip, status, reason and the stage's own columns."""
    import pandas as pd

    columns = list(columns)
    rows = [{"clip": r.clip, "status": r.status, "reason": r.reason, **{c: r.extra.get(c, "") for c in columns}} for r in results]
    frame = pd.DataFrame(rows, columns=["clip", "status", "reason", *columns]).sort_values("clip", kind="stable")
    return atomic_write(Path(out_dir) / INDEX_NAME, lambda tmp: frame.to_csv(tmp, index=False, lineterminator="\n"))


def read_index(path: str | Path) -> pd.DataFrame:
    """A stage's index.csv (`path` is the file or its folder)."""
    import pandas as pd

    path = Path(path)
    if path.is_dir():
        path = path / INDEX_NAME
    return pd.read_csv(path, dtype={"clip": str, "status": str, "reason": str}, keep_default_na=False)


def summarize(stage: str, results: list[ClipResult], strict: bool) -> int:
    """Print what happened and return the stage's exit status.

    Non-zero only when no clip survived, or when `strict` is set and any clip failed.
    """
    counts = {s: sum(r.status == s for r in results) for s in STATUSES}
    failed = [r for r in results if r.status == "failed"]
    print(f"{stage}: {len(results)} clips: {counts['ok']} ok, {counts['fallback']} fallback, {counts['failed']} failed", file=sys.stderr)
    for r in failed[:20]:
        print(f"  failed {r.clip}: {r.reason}", file=sys.stderr)
    if len(failed) > 20:
        print(f"  ... and {len(failed) - 20} more (see index.csv)", file=sys.stderr)
    if results and counts["ok"] + counts["fallback"] == 0:
        print(f"{stage}: no clip survived", file=sys.stderr)
        return 1
    if not results:
        print(f"{stage}: no input clips", file=sys.stderr)
        return 1
    if strict and failed:
        print(f"{stage}: strict is set and {len(failed)} clip(s) failed: {', '.join(r.clip for r in failed)}", file=sys.stderr)
        return 1
    return 0


def stage_parser(doc: str, section: str, out_default: str, *, reads_clips: bool) -> argparse.ArgumentParser:
    """The command line every per-clip stage shares: --params, its input, --out and --jobs.

    Stages that read the clips themselves take --clips and --raw-dir; the others add their own input.
    """
    parser = argparse.ArgumentParser(description=doc, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--params", default="params.yaml", help=f"params file (reads `{section}` and `strict`)")
    if reads_clips:
        parser.add_argument("--clips", default="data/clips.csv", help="clip list from the list_clips stage")
        parser.add_argument("--raw-dir", required=True, help="folder of the clips (params.yaml data.raw_dir)")
    parser.add_argument("--out", default=out_default, help="output folder for the per-clip files and index.csv")
    parser.add_argument("--jobs", type=int, default=default_jobs(), help="worker processes (default: all cores, or $AVEMO_JOBS)")
    return parser

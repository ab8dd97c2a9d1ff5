"""The command line that the four per-clip stages share, and how they report and exit."""

from __future__ import annotations

import argparse
import sys

from avemo.machine import default_jobs
from avemo.preprocess.clipindex import STATUSES, ClipResult


def stage_parser(
    doc: str, section: str, input_option: str, input_default: str, input_help: str, out_default: str
) -> argparse.ArgumentParser:
    """--params, the stage's one input (`input_option`), --out and --jobs."""
    parser = argparse.ArgumentParser(description=doc, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--params", default="params.yaml", help=f"params file (reads `{section}` and `strict`)")
    parser.add_argument(input_option, default=input_default, help=f"{input_help} (default: {input_default})")
    parser.add_argument(
        "--out",
        default=out_default,
        help=f"output folder for the per-clip files and index.csv (default: {out_default})",
    )
    parser.add_argument(
        "--jobs", type=int, default=default_jobs(), help="worker processes (default: all cores, or $AVEMO_JOBS)"
    )
    return parser


def summarize(stage: str, results: list[ClipResult], strict: bool) -> int:
    """Print what happened and return the stage's exit status.

    Non-zero only when no clip survived, or when `strict` is set and any clip failed.
    """
    counts = {s: sum(r.status == s for r in results) for s in STATUSES}
    failed = [r for r in results if r.status == "failed"]
    print(
        f"{stage}: {len(results)} clips: {counts['ok']} ok, {counts['fallback']} fallback, {counts['failed']} failed",
        file=sys.stderr,
    )
    for r in failed[:20]:
        print(f"  failed {r.clip}: {r.reason}", file=sys.stderr)
    if len(failed) > 20:
        print(f"  ... and {len(failed) - 20} more (see index.csv)", file=sys.stderr)
    if not results:
        print(f"{stage}: no input clips", file=sys.stderr)
        return 1
    if counts["ok"] + counts["fallback"] == 0:
        print(f"{stage}: no clip survived", file=sys.stderr)
        return 1
    if strict and failed:
        print(
            f"{stage}: strict is set and {len(failed)} clip(s) failed: {', '.join(r.clip for r in failed)}",
            file=sys.stderr,
        )
        return 1
    return 0

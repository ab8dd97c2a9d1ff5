"""Checking a copy of CREMA-D against the official sizes and SHA-256: every file of its media folders, with the
same check a download must pass (checksums.mismatch), and which selected clips it lacks."""

from __future__ import annotations

import threading
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from avemo.corpus.checksums import FOLDERS, Entry, mismatch, official_manifest
from avemo.corpus.download import is_part_file
from avemo.corpus.threads import Progress, run_in_threads


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
        return (
            f"verify: {len(self.ok)} ok, {len(self.damaged)} damaged, {len(self.unexpected)} unexpected, "
            f"{len(self.missing)} missing"
        )


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
            elif is_part_file(path):
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


def missing_by_folder_and_actor(missing: Iterable[str], selected: Iterable[Entry]) -> list[str]:
    """The missing files in one line per media folder, by actor: the actors whose every selected file of
    that folder is missing as ranges (`1002-1091`), the others with their counts (`1001: 3 of 82`).
    What `avemo verify` prints instead of one line per file when many are missing."""
    wanted: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for entry in selected:
        folder, name = entry.path.split("/", 1)
        wanted[folder][name[:4]] += 1
    absent: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for path in missing:
        folder, name = path.split("/", 1)
        absent[folder][name[:4]] += 1
    lines = []
    for folder, actors in absent.items():
        whole = [a for a in sorted(actors) if actors[a] == wanted[folder][a]]
        partly = [f"{a}: {actors[a]} of {wanted[folder][a]}" for a in sorted(actors) if a not in whole]
        parts = ([f"every file of actor(s) {_ranges(whole)}"] if whole else []) + partly
        lines.append(
            f"{folder}: {sum(actors.values())} of {sum(wanted[folder].values())} selected files; " + "; ".join(parts)
        )
    return lines


def _ranges(actors: list[str]) -> str:
    """`1001-1003, 1007` for sorted four-digit actor ids (as text)."""
    runs: list[list[int]] = []
    for actor in map(int, actors):
        if runs and actor == runs[-1][-1] + 1:
            runs[-1].append(actor)
        else:
            runs.append([actor])
    return ", ".join(f"{r[0]}-{r[-1]}" if len(r) > 1 else str(r[0]) for r in runs)

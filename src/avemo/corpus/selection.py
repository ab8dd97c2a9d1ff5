"""Which clips of the official release a command works on: the manifest's clips of some media folders, narrowed
by actor, sentence, emotion and level, and the command-line options that `avemo fetch` and `avemo verify` share
for it."""

from __future__ import annotations

import argparse
from pathlib import Path

from avemo.corpus.checksums import FOLDERS, Entry, official_manifest
from avemo.corpus.clips import EMOTIONS, LEVELS, SENTENCES, parse_clip_name, validate_codes
from avemo.errors import UserError


def split_codes(text: str | None) -> list[str]:
    """`ANG, sad` -> ['ANG', 'SAD'] (a comma-separated option; None or empty selects everything)."""
    return [code.strip().upper() for code in (text or "").split(",") if code.strip()]


def select_clips(
    manifest: dict[str, Entry], folders=None, actors=None, sentences=None, emotions=None, levels=None
) -> list[Entry]:
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


def add_selection_arguments(parser: argparse.ArgumentParser):
    group = parser.add_argument_group("which clips (comma-separated codes; every option narrows the selection)")
    group.add_argument(
        "--folders", default="VideoFlash", help=f"media folders: some of {', '.join(FOLDERS)} (default: VideoFlash)"
    )
    group.add_argument("--actors", help="actor ids, 1001-1091 (default: all), e.g. 1001,1002")
    group.add_argument("--sentences", help=f"sentence codes: some of {', '.join(SENTENCES)} (default: all)")
    group.add_argument("--emotions", help=f"emotion codes: some of {', '.join(EMOTIONS)} (default: all)")
    group.add_argument("--levels", help=f"intensity levels: some of {', '.join(LEVELS)} (default: all)")


def selected_entries(args: argparse.Namespace) -> list[Entry]:
    """The clips that the options of add_selection_arguments select; none is a UserError."""
    entries = select_clips(
        official_manifest(),
        folders=[f.strip() for f in args.folders.split(",") if f.strip()],
        actors=split_codes(args.actors),
        sentences=split_codes(args.sentences),
        emotions=split_codes(args.emotions),
        levels=split_codes(args.levels),
    )
    if not entries:
        raise UserError("the selection matches no clip of the release (each option narrows it; see --help)")
    return entries

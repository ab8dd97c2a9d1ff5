"""CREMA-D naming and metadata: parse clip names, list and filter a folder of clips, join demographics.

A clip name is `ActorID_Sentence_Emotion_Level` (e.g. `1001_DFA_ANG_XX`). A file whose name does not
parse is reported as failed with the reason, never guessed at.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from avemo.errors import UserError
from avemo.params import EMOTIONS, LEVELS, SENTENCES  # CREMA-D's codes, which the params schema checks too

# Containers a clip may come in (CREMA-D ships FLV; copies circulate as MP4), matched in any case.
VIDEO_SUFFIXES = (".flv", ".mp4", ".m4v", ".mov", ".mkv", ".avi", ".webm")

# Columns of the clip list that every later stage reads (data/clips.csv). `path` is the clip's path as
# the stages open it (data.raw_dir joined with `file`), so no stage needs the folder on its command line.
CLIP_COLUMNS = ["clip", "file", "path", "actor", "sentence", "emotion", "level", "sex", "age", "status", "reason"]

# ASCII digits only, and matched in full: `$` alone would also accept a name ending in a newline.
_NAME = re.compile(r"(?P<actor>\d{4})_(?P<sentence>[A-Z]{3})_(?P<emotion>[A-Z]{3})_(?P<level>[A-Z]{2})", re.ASCII)


class ClipNameError(ValueError):
    """A file name that is not a CREMA-D clip name."""


@dataclass(frozen=True)
class ClipName:
    actor: int
    sentence: str
    emotion: str
    level: str

    @property
    def stem(self) -> str:
        return f"{self.actor}_{self.sentence}_{self.emotion}_{self.level}"


def parse_clip_name(name: str) -> ClipName:
    """Parse `1001_DFA_ANG_XX` (a suffix such as `.flv` is allowed); raise ClipNameError saying why not."""
    stem = Path(name).stem
    match = _NAME.fullmatch(stem)
    if not match:
        raise ClipNameError(f"name {stem!r} is not ActorID_Sentence_Emotion_Level (e.g. 1001_DFA_ANG_XX)")
    parts = match.groupdict()
    if parts["sentence"] not in SENTENCES:
        raise ClipNameError(f"name {stem!r}: unknown sentence code {parts['sentence']!r}")
    if parts["emotion"] not in EMOTIONS:
        raise ClipNameError(f"name {stem!r}: unknown emotion code {parts['emotion']!r}")
    if parts["level"] not in LEVELS:
        raise ClipNameError(f"name {stem!r}: unknown level {parts['level']!r}")
    return ClipName(int(parts["actor"]), parts["sentence"], parts["emotion"], parts["level"])


def validate_codes(values, allowed, what: str) -> list[str]:
    """Upper-case a list of codes from params and reject unknown ones (a typo must not select nothing)."""
    codes = [str(v).upper() for v in (values or [])]
    unknown = sorted(set(codes) - set(allowed))
    if unknown:
        raise ValueError(f"unknown {what} {unknown}; expected some of {sorted(allowed)}")
    return codes


class TableError(UserError, ValueError):
    """A CREMA-D table (demographics, ratings) of the wrong format: str(error) names the file and what it
    should hold, `problem` says the same without the file's name."""

    def __init__(self, path, param: str | None, problem: str):
        self.problem = problem
        super().__init__(f"{path} (params.yaml {param}): {problem}" if param else f"{path}: {problem}")


def read_table(path: str | Path, columns, what: str, param: str | None, **read_csv_args) -> pd.DataFrame:
    """The CSV file `path` (params.yaml `param` names it, if any), which must hold `columns` (`what`: the
    kind of file, e.g. CREMA-D's VideoDemographics.csv); a TableError in one line when it is missing or is
    not such a file (not text, not CSV, another table)."""
    expected = f"expected a CSV file with columns {', '.join(columns)}"
    if not Path(path).is_file():
        raise TableError(path, param, f"{'not a file' if Path(path).exists() else 'not found'}; {expected}")
    try:
        frame = pd.read_csv(path, **read_csv_args)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as error:
        detail = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        raise TableError(path, param, f"not {what} ({detail}); {expected}") from None
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        got = ", ".join(printable(str(c))[:40] for c in list(frame.columns)[:6])
        more = f" and {len(frame.columns) - 6} more" if len(frame.columns) > 6 else ""
        raise TableError(path, param, f"not {what}: no column {', '.join(missing)} (it has {got}{more}); {expected}")
    return frame


DEMOGRAPHICS_COLUMNS = {"ActorID": "actor", "Age": "age", "Sex": "sex", "Race": "race", "Ethnicity": "ethnicity"}


def load_demographics(path: str | Path | None, param: str | None = "data.demographics") -> pd.DataFrame:
    """VideoDemographics.csv as a frame indexed by actor id (columns age, sex, race, ethnicity); a TableError
    in one line when the file is not such a table (see read_table) or its ActorIDs are not distinct integers."""
    if not path:
        return pd.DataFrame(columns=["age", "sex", "race", "ethnicity"], index=pd.Index([], name="actor"))
    what = "CREMA-D's VideoDemographics.csv"
    frame = read_table(path, DEMOGRAPHICS_COLUMNS, what, param)
    actors = pd.to_numeric(frame["ActorID"], errors="coerce")
    if actors.isna().any() or (actors % 1 != 0).any() or actors.duplicated().any():
        raise TableError(path, param, f"not {what}: its ActorIDs are not distinct integers")
    frame = frame.assign(ActorID=actors.astype(int)).rename(columns=DEMOGRAPHICS_COLUMNS)
    return frame.set_index("actor")[["age", "sex", "race", "ethnicity"]]


def clip_entries(raw_dir: Path) -> tuple[list[Path], int]:
    """Every file or link under `raw_dir` (subfolders too), and every folder named like a clip file (with a
    video suffix: such a folder is a mistake, and an empty one would otherwise leave no trace), sorted, and
    how many hidden ones were left out (names starting with a dot: a system's own files, such as .DS_Store)."""
    entries, hidden = [], 0
    for folder, subfolders, names in os.walk(raw_dir):
        subfolders[:] = sorted(d for d in subfolders if not d.startswith("."))
        entries += [Path(folder) / d for d in subfolders if Path(d).suffix.lower() in VIDEO_SUFFIXES]
        for name in names:
            if name.startswith("."):
                hidden += 1
            else:
                entries.append(Path(folder) / name)
    return sorted(entries, key=lambda p: p.relative_to(raw_dir).as_posix()), hidden


def printable(text: str) -> str:
    """`text` as one line of valid UTF-8: the bytes of a name that is not UTF-8 as \\xNN, control characters
    (a newline, a tab) as \\n, \\t, ... (a file name may hold both; clips.csv and the stage's lines must not)."""
    text = os.fsencode(text).decode("utf-8", "backslashreplace")
    return "".join(c if c.isprintable() else c.encode("unicode_escape").decode("ascii") for c in text)


def _unusable_name(relative: str) -> str | None:
    """Why a path in the clip folder cannot name a clip (not UTF-8, a control character in it), or None."""
    try:
        relative.encode("utf-8")
    except UnicodeEncodeError:  # os.walk hands over undecodable bytes as surrogates
        return f"its path ({printable(relative)}) is not valid UTF-8 (shown with \\x escapes); rename it"
    if not relative.isprintable():
        return f"its path ({printable(relative)}) holds a control character; rename it"
    return None


def _unreadable(path: Path) -> str | None:
    """Why a clip file cannot be read, or None."""
    if path.is_symlink() and not path.exists():
        return f"broken link: its target {os.readlink(path)} does not exist"
    if path.is_dir():
        return "a folder, not a video file"
    if not path.is_file():
        return "not a regular file"
    if not os.access(path, os.R_OK):
        return "not readable (permission denied)"
    return None


def list_clips(
    raw_dir: str | Path,
    classes=None,
    actors=None,
    sentences=None,
    levels=None,
    demographics: pd.DataFrame | None = None,
    exclude: dict[str, str] | None = None,
) -> tuple[pd.DataFrame, dict[str, int]]:
    """Every file under `raw_dir` (subfolders included) as one row of the clip list, sorted by path.

    A clip is a file named `ActorID_Sentence_Emotion_Level` with a video container's suffix
    (VIDEO_SUFFIXES, in any case: .flv, .FLV, .mp4, ...). Files whose name parses but falls outside the
    filters (classes, actors, sentences, levels) are not inputs and are only counted. Everything else is
    kept with status `failed` and the reason: a name that does not parse, another suffix, a path that is not
    valid UTF-8 or holds a control character (shown escaped), a folder named like a clip file, a broken link,
    an unreadable file, a second file of a clip already listed (the first by path is kept). A clip named in
    `exclude` (clip name -> why: the release's known faulty clips, data.exclude) that passes the filters is
    kept with status `excluded` and that reason, so that every later count shows it. Returns the clip list
    (CLIP_COLUMNS) and counts of what was left out, by filter and as hidden files.
    """
    raw_dir = Path(raw_dir)
    if not raw_dir.is_dir():
        raise FileNotFoundError(f"clip folder not found: {raw_dir} (params.yaml data.raw_dir)")
    classes = validate_codes(classes, EMOTIONS, "emotion")
    sentences = validate_codes(sentences, SENTENCES, "sentence")
    levels = validate_codes(levels, LEVELS, "level")
    actors = {int(a) for a in (actors or [])}
    demographics = demographics if demographics is not None else load_demographics(None)

    entries, hidden = clip_entries(raw_dir)
    rows, kept = [], {}
    left_out = {"emotion": 0, "actor": 0, "sentence": 0, "level": 0, "hidden": hidden}
    for path in entries:
        relative = path.relative_to(raw_dir).as_posix()
        # A failed row's id is its path in the folder, less a video suffix: unique, and still readable. A
        # folder's keeps its suffix and gets a slash (the clip inside a `1001_DFA_ANG_XX.flv/` has the other id).
        if path.is_dir() and not path.is_symlink():
            failed_id = f"{relative}/"
        elif path.suffix.lower() in VIDEO_SUFFIXES:
            failed_id = relative[: -len(path.suffix)]
        else:
            failed_id = relative
        problem = _unusable_name(relative) or _unreadable(path)
        if problem:
            rows.append(_row(failed_id, path, None, demographics, "failed", problem))
            continue
        try:
            name = parse_clip_name(path.name)
        except ClipNameError as err:
            rows.append(_row(failed_id, path, None, demographics, "failed", str(err)))
            continue
        if path.suffix.lower() not in VIDEO_SUFFIXES:
            rows.append(
                _row(
                    failed_id,
                    path,
                    None,
                    demographics,
                    "failed",
                    f"not a video file ({path.suffix or 'no suffix'}; expected {', '.join(VIDEO_SUFFIXES)})",
                )
            )
            continue
        if name.stem in kept:  # its id keeps the suffix: without it, it would be the kept clip's id
            rows.append(
                _row(
                    relative,
                    path,
                    None,
                    demographics,
                    "failed",
                    f"a second file of clip {name.stem} (kept: {kept[name.stem]})",
                )
            )
            continue
        excluded_by = next(
            (
                what
                for what, chosen, value in (
                    ("emotion", classes, name.emotion),
                    ("actor", actors, name.actor),
                    ("sentence", sentences, name.sentence),
                    ("level", levels, name.level),
                )
                if chosen and value not in chosen
            ),
            None,
        )
        kept[name.stem] = relative
        if excluded_by:
            left_out[excluded_by] += 1
            continue
        if name.stem in (exclude or {}):
            rows.append(_row(name.stem, path, name, demographics, "excluded", f"data.exclude: {exclude[name.stem]}"))
            continue
        rows.append(_row(name.stem, path, name, demographics, "ok", ""))
    clips = pd.DataFrame(rows, columns=CLIP_COLUMNS)
    return clips, left_out


def _row(clip, path: Path, name: ClipName | None, demographics: pd.DataFrame, status: str, reason: str) -> dict:
    known = name is not None and name.actor in demographics.index
    shown = printable if name is None else str  # a failed name may be unprintable; clips.csv stays valid UTF-8
    return {
        "clip": shown(clip),
        "file": shown(path.name),
        "path": shown(str(path)),
        "actor": name.actor if name else None,
        "sentence": name.sentence if name else None,
        "emotion": name.emotion if name else None,
        "level": name.level if name else None,
        "sex": demographics.at[name.actor, "sex"] if known else None,
        "age": demographics.at[name.actor, "age"] if known else None,
        "status": status,
        "reason": printable(reason),
    }


def read_clip_list(path: str | Path) -> pd.DataFrame:
    """The clip list written by the list_clips stage (actor ids as nullable ints)."""
    clips = pd.read_csv(
        path,
        dtype={"clip": str, "file": str, "path": str, "reason": str},
        keep_default_na=False,
        na_values={"actor": [""], "age": [""]},
    )
    clips["actor"] = clips["actor"].astype("Int64")
    return clips

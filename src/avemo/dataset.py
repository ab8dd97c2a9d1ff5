"""CREMA-D naming and metadata: parse clip names, list and filter a folder of clips, join demographics.

A clip name is `ActorID_Sentence_Emotion_Level` (e.g. `1001_DFA_ANG_XX`). A file whose name does not
parse is reported as failed with the reason, never guessed at.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

EMOTIONS = {
    "ANG": "anger",
    "DIS": "disgust",
    "FEA": "fear",
    "HAP": "happy",
    "NEU": "neutral",
    "SAD": "sad",
}
SENTENCES = ("IEO", "TIE", "IOM", "IWW", "TAI", "MTI", "IWL", "ITH", "DFA", "ITS", "TSI", "WSI")
LEVELS = ("LO", "MD", "HI", "XX")
VIDEO_SUFFIX = ".flv"

# Columns of the clip list that every later stage reads (data/clips.csv). `path` is the clip's path as
# the stages open it (data.raw_dir joined with `file`), so no stage needs the folder on its command line.
CLIP_COLUMNS = ["clip", "file", "path", "actor", "sentence", "emotion", "level", "sex", "age", "status", "reason"]

_NAME = re.compile(r"^(?P<actor>\d{4})_(?P<sentence>[A-Z]{3})_(?P<emotion>[A-Z]{3})_(?P<level>[A-Z]{2})$")


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
    match = _NAME.match(stem)
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


def load_demographics(path: str | Path | None) -> pd.DataFrame:
    """VideoDemographics.csv as a frame indexed by actor id (columns age, sex, race, ethnicity)."""
    if not path:
        return pd.DataFrame(columns=["age", "sex", "race", "ethnicity"], index=pd.Index([], name="actor"))
    frame = pd.read_csv(path)
    expected = {"ActorID", "Age", "Sex", "Race", "Ethnicity"}
    if not expected <= set(frame.columns):
        raise ValueError(f"{path}: expected CREMA-D demographics columns {sorted(expected)}, got {list(frame.columns)}")
    frame = frame.rename(columns={"ActorID": "actor", "Age": "age", "Sex": "sex", "Race": "race", "Ethnicity": "ethnicity"})
    return frame.set_index("actor")[["age", "sex", "race", "ethnicity"]]


def list_clips(
    raw_dir: str | Path,
    classes=None,
    actors=None,
    sentences=None,
    levels=None,
    demographics: pd.DataFrame | None = None,
) -> tuple[pd.DataFrame, dict[str, int]]:
    """Every file in `raw_dir` as one row of the clip list, sorted by name.

    Files whose name parses but falls outside the filters (classes, actors, sentences, levels) are not
    inputs and are only counted; files whose name does not parse are kept with status `failed`.
    Returns the clip list (CLIP_COLUMNS) and counts of what was left out by each filter.
    """
    raw_dir = Path(raw_dir)
    if not raw_dir.is_dir():
        raise FileNotFoundError(f"clip folder not found: {raw_dir} (params.yaml data.raw_dir)")
    classes = validate_codes(classes, EMOTIONS, "emotion")
    sentences = validate_codes(sentences, SENTENCES, "sentence")
    levels = validate_codes(levels, LEVELS, "level")
    actors = {int(a) for a in (actors or [])}
    demographics = demographics if demographics is not None else load_demographics(None)

    rows, left_out = [], {"emotion": 0, "actor": 0, "sentence": 0, "level": 0}
    for path in sorted(p for p in raw_dir.iterdir() if p.is_file() and not p.name.startswith(".")):
        try:
            name = parse_clip_name(path.name)
        except ClipNameError as err:
            clip = path.name[: -len(VIDEO_SUFFIX)] if path.name.lower().endswith(VIDEO_SUFFIX) else path.name
            rows.append(_row(clip, path, None, demographics, "failed", str(err)))
            continue
        if not path.name.endswith(VIDEO_SUFFIX):
            rows.append(_row(path.name, path, None, demographics, "failed", f"not a {VIDEO_SUFFIX} clip"))
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
        if excluded_by:
            left_out[excluded_by] += 1
            continue
        rows.append(_row(name.stem, path, name, demographics, "ok", ""))
    clips = pd.DataFrame(rows, columns=CLIP_COLUMNS)
    return clips, left_out


def _row(clip, path: Path, name: ClipName | None, demographics: pd.DataFrame, status: str, reason: str) -> dict:
    known = name is not None and name.actor in demographics.index
    return {
        "clip": clip,
        "file": path.name,
        "path": str(path),
        "actor": name.actor if name else None,
        "sentence": name.sentence if name else None,
        "emotion": name.emotion if name else None,
        "level": name.level if name else None,
        "sex": demographics.at[name.actor, "sex"] if known else None,
        "age": demographics.at[name.actor, "age"] if known else None,
        "status": status,
        "reason": reason,
    }


def read_clip_list(path: str | Path) -> pd.DataFrame:
    """The clip list written by the list_clips stage (actor ids as nullable ints)."""
    clips = pd.read_csv(path, dtype={"clip": str, "file": str, "path": str, "reason": str}, keep_default_na=False, na_values={"actor": [""], "age": [""]})
    clips["actor"] = clips["actor"].astype("Int64")
    return clips

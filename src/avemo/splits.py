"""Splitting clips into train / validation / test by actor, so that no actor is in two parts.

Two schemes:

- `stratified`: actors are shuffled with `seed` and cut into parts of `fractions` of the actors.
  Actors are stratified by sex (actors of unknown sex form their own stratum), so each part gets its
  share of each sex. Among `candidates` such shuffles, the one whose parts' emotion proportions (and
  clip shares) are closest to the whole corpus's is kept: stratification by emotion, at the level of
  whole actors.
- `published`: a published actor split, a JSON file with `train`, `dev` (or `validation`) and `test`
  lists of actor ids, such as CREMA-D's speaker_splits.json. Clips of actors it does not list are left
  out and counted.

Only clips with status ok in the clip list are split. The result is one table (clip, actor, emotion,
part) that every training stage reads, so the audio and the face of a part are always the same clips.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd

PARTS = ("train", "validation", "test")
SPLIT_COLUMNS = ["clip", "actor", "emotion", "part"]
SCHEMES = ("stratified", "published")
# Names a published split may use for each part.
PUBLISHED_NAMES = {"train": "train", "dev": "validation", "val": "validation", "validation": "validation", "test": "test"}
UNKNOWN_SEX = "unknown"


def check_fractions(fractions: dict) -> dict[str, float]:
    """`fractions` as {part: float} for the three parts, each > 0, summing to 1."""
    if set(fractions) != set(PARTS):
        raise ValueError(f"split.fractions must name exactly {list(PARTS)}, got {sorted(fractions)}")
    values = {part: float(fractions[part]) for part in PARTS}
    if any(v <= 0 for v in values.values()):
        raise ValueError(f"every split fraction must be > 0 (validation chooses the epoch, test is reported), got {values}")
    if abs(sum(values.values()) - 1.0) > 1e-6:
        raise ValueError(f"split.fractions must sum to 1, got {sum(values.values())}")
    return values


def usable_clips(clips: pd.DataFrame) -> pd.DataFrame:
    """The rows of the clip list that are real clips (status ok)."""
    return clips[clips["status"] == "ok"].copy()


def actor_table(clips: pd.DataFrame) -> pd.DataFrame:
    """One row per actor: its sex (UNKNOWN_SEX when not known) and its clip count per emotion."""
    counts = pd.crosstab(clips["actor"], clips["emotion"])
    sex = clips.groupby("actor")["sex"].first().fillna("").astype(str).replace("", UNKNOWN_SEX)
    return counts.assign(sex=sex.reindex(counts.index)).sort_index()


def part_sizes(n_actors: int, fractions: dict[str, float]) -> dict[str, int]:
    """Actors per part: largest-remainder rounding of fractions * n_actors, at least one per part."""
    if n_actors < len(PARTS):
        raise ValueError(f"{n_actors} actor(s) cannot be split into {len(PARTS)} parts without sharing an actor")
    exact = {p: fractions[p] * n_actors for p in PARTS}
    sizes = {p: int(np.floor(v)) for p, v in exact.items()}
    for p in sorted(PARTS, key=lambda p: -(exact[p] - sizes[p]))[: n_actors - sum(sizes.values())]:
        sizes[p] += 1
    for p in PARTS:  # a tiny corpus: take an actor from the largest part for an empty one
        if sizes[p] == 0:
            sizes[max(sizes, key=sizes.get)] -= 1
            sizes[p] = 1
    return sizes


def _candidate(strata: list[np.ndarray], n_actors: int, cuts: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Part number of every actor (positions as in actor_table) for one random shuffle."""
    # Systematic sampling: within each stratum (sex), actors get evenly spaced keys in random order;
    # sorting all actors by key interleaves the strata, so cutting the sorted list at `cuts` gives every
    # part its share of each stratum (to within one actor).
    keys = np.empty(n_actors)
    for members in strata:
        keys[members] = (rng.permutation(len(members)) + rng.random()) / len(members)
    parts = np.empty(n_actors, dtype=int)
    parts[np.argsort(keys, kind="stable")] = np.searchsorted(cuts, np.arange(n_actors), side="right") - 1
    return parts


def _imbalance(counts: np.ndarray, parts: np.ndarray, fractions: np.ndarray) -> float:
    """How far the parts are from the corpus: L1 distance of emotion proportions plus of clip shares."""
    overall = counts.sum(axis=0) / counts.sum()
    score = 0.0
    for part, fraction in enumerate(fractions):
        in_part = counts[parts == part].sum(axis=0)
        n = in_part.sum()
        score += float(np.abs(in_part / max(n, 1) - overall).sum()) + abs(n / counts.sum() - fraction)
    return score


def stratified_actor_split(clips: pd.DataFrame, fractions: dict, seed: int, candidates: int = 200) -> pd.Series:
    """Part of every actor (a Series indexed by actor id); see the module docstring."""
    fractions = check_fractions(fractions)
    actors = actor_table(clips)
    sizes = part_sizes(len(actors), fractions)
    counts = actors.drop(columns="sex").to_numpy(dtype=float)
    strata = [np.flatnonzero(actors["sex"].to_numpy() == sex) for sex in sorted(actors["sex"].unique())]
    cuts = np.cumsum([0] + [sizes[p] for p in PARTS])
    targets = np.array([fractions[p] for p in PARTS])
    rng = np.random.default_rng(seed)
    best, best_score = None, np.inf
    for _ in range(max(1, int(candidates))):
        parts = _candidate(strata, len(actors), cuts, rng)
        score = _imbalance(counts, parts, targets)
        if score < best_score - 1e-12:  # strictly better only, so the result depends on the seed alone
            best, best_score = parts, score
    return pd.Series([PARTS[i] for i in best], index=actors.index).sort_index()


def read_published_split(path: str | Path) -> pd.Series:
    """A published actor split (JSON of part name -> actor ids) as a Series actor id -> part."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"published split not found: {path} (params.yaml split.published)")
    lists = json.loads(path.read_text())
    if not isinstance(lists, dict) or set(lists) - set(PUBLISHED_NAMES):
        got = sorted(lists) if isinstance(lists, dict) else type(lists).__name__
        raise ValueError(f"{path}: expected lists named train, dev (or validation) and test, got {got}")
    parts: dict[int, str] = {}
    for name, actors in lists.items():
        for actor in actors:
            actor = int(actor)
            part = PUBLISHED_NAMES[name]
            if parts.setdefault(actor, part) != part:
                raise ValueError(f"{path}: actor {actor} is in two parts ({parts[actor]} and {part})")
    missing = set(PARTS) - set(parts.values())
    if missing:
        raise ValueError(f"{path}: no actor in part(s) {sorted(missing)}")
    return pd.Series(parts).sort_index()


def split_table(clips: pd.DataFrame, actor_parts: pd.Series) -> tuple[pd.DataFrame, int]:
    """The split table (SPLIT_COLUMNS, sorted by clip) and the number of clips whose actor has no part."""
    parts = clips["actor"].astype(int).map(actor_parts)
    table = clips.assign(part=parts)[SPLIT_COLUMNS]
    kept = table[table["part"].notna()].sort_values("clip", kind="stable").reset_index(drop=True)
    kept["actor"] = kept["actor"].astype(int)
    return kept, int(table["part"].isna().sum())


def make_split(clips: pd.DataFrame, params: dict) -> tuple[pd.DataFrame, dict, pd.DataFrame]:
    """Split the ok clips of a clip list as `params` (the `split` section) says; returns the table, a
    flat summary and the parts' composition (see summarize_split)."""
    scheme = params.get("scheme", "stratified")
    if scheme not in SCHEMES:
        raise ValueError(f"split.scheme must be one of {SCHEMES}, got {scheme!r}")
    usable = usable_clips(clips)
    if usable.empty:
        raise ValueError("the clip list has no clip with status ok")
    if scheme == "published":
        actor_parts = read_published_split(params["published"])
    else:
        actor_parts = stratified_actor_split(usable, params["fractions"], int(params["seed"]), int(params.get("candidates", 200)))
    table, unassigned = split_table(usable, actor_parts)
    check_actor_disjoint(table)
    summary, composition = summarize_split(table, usable)
    summary.update(clips_listed=len(clips), clips_not_ok=int(len(clips) - len(usable)), clips_actor_not_in_split=unassigned)
    return table, summary, composition


def check_actor_disjoint(table: pd.DataFrame) -> None:
    """Raise when an actor appears in two parts (the course project's leak)."""
    parts_per_actor = table.groupby("actor")["part"].nunique()
    leaking = parts_per_actor[parts_per_actor > 1].index.tolist()
    if leaking:
        raise AssertionError(f"actors in more than one part: {leaking}")


def summarize_split(table: pd.DataFrame, clips: pd.DataFrame) -> tuple[dict, pd.DataFrame]:
    """Actors and clips per part (flat, for metrics/split.json), and the composition of every part: one
    row per part and group (an emotion: its clips; a sex: its actors), for a plot."""
    sex = clips.drop_duplicates("actor").set_index("actor")["sex"].fillna("").astype(str).replace("", UNKNOWN_SEX)
    summary, composition = {}, []
    for part in PARTS:
        rows = table[table["part"] == part]
        actors = sorted(rows["actor"].unique().tolist())
        summary[f"{part}_actors"], summary[f"{part}_clips"] = len(actors), len(rows)
        for emotion, n in rows["emotion"].value_counts().sort_index().items():
            composition.append({"group": f"{part} {emotion}", "count": int(n), "of": "clips"})
        for s, n in sex.reindex(actors).value_counts().sort_index().items():
            composition.append({"group": f"{part} {s}", "count": int(n), "of": "actors"})
    return summary, pd.DataFrame(composition, columns=["group", "count", "of"])


def read_split(path: str | Path) -> pd.DataFrame:
    """The split table written by the split stage, checked for actor leakage."""
    table = pd.read_csv(path, dtype={"clip": str, "emotion": str, "part": str}, keep_default_na=False)
    if list(table.columns) != SPLIT_COLUMNS:
        raise ValueError(f"{path}: expected columns {SPLIT_COLUMNS}, got {list(table.columns)}")
    unknown = set(table["part"]) - set(PARTS)
    if unknown:
        raise ValueError(f"{path}: unknown part(s) {sorted(unknown)}")
    check_actor_disjoint(table)
    return table

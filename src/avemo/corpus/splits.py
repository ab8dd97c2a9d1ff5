"""Which clips train, validate and test the models: repeated, speaker-independent folds by default.

Schemes (`split.scheme`):

- `actors` (default): actors are the unit, so no actor is in two parts of a fold. With `folds` K >= 3,
  the actors are dealt into K groups and fold k tests group k, validates on group k+1 (mod K) and trains
  on the rest: every actor is tested exactly once and validates exactly once. With `folds: 1`, one split
  into `fractions` of the actors.
- `clips`: the course project's way, clips are the unit, dealt at random, so an actor's clips land in
  several parts (the speaker leaks from training into test). Folds as for `actors`. Only for showing
  the leak: its accuracies are not speaker-independent.
- `published`: one fold from a published actor split, a JSON file with `train`, `dev` (or
  `validation`) and `test` lists of actor ids, such as CREMA-D's speaker_splits.json. Clips of actors
  it does not list are left out and counted.
- `ogm_ge`: one fold from the OGM-GE paper's clip lists (avemo.corpus.published_lists), the split the
  modality-balancing literature reports on: its test list is the test part; `validation_share` of its
  train list's clips, drawn clip-wise (every actor is in both lists, so no actor-wise draw exists),
  stratified by emotion with `seed`, validate, the rest train. Not speaker-independent. Clips of the lists
  that the corpus lacks, and clips of the corpus that the lists lack, are counted.

Groups are stratified: actors by sex (actors of unknown sex form their own stratum), clips by emotion;
among `candidates` random deals, the one whose groups' emotion proportions (and sizes) are closest to
the whole corpus's is kept, so each group also has the corpus's emotion mix.

Only clips with status ok in the clip list that survived preprocessing in at least one modality are
split. The result is one table (clip, actor, emotion, fold, part), a row per clip and fold, that every
training stage and eval_cross read, so the audio and the face of a part are always the same clips.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd

from avemo.corpus.published_lists import read_clip_lists
from avemo.corpus.split_table import SPLIT_COLUMNS
from avemo.errors import UserError
from avemo.params import PARTS, require

# The parts' composition (a plot): `group` labels a bar; fold, part and name (an emotion or a sex) say the
# same for tables.
COMPOSITION_COLUMNS = ["group", "count", "of", "fold", "part", "name"]
# Names a published split may use for each part.
PUBLISHED_NAMES = {
    "train": "train",
    "dev": "validation",
    "val": "validation",
    "validation": "validation",
    "test": "test",
}
UNKNOWN_SEX = "unknown"
LEAK_WARNING = (
    "split.scheme clips and ogm_ge share actors between train and test (the course project's leak): their "
    "accuracies are not speaker-independent; use them only to compare with scheme actors"
)


class SplitError(UserError, ValueError):
    """A split that the params and the corpus cannot give; str(error) says what to change."""


def check_fractions(fractions: dict) -> dict[str, float]:
    """`fractions` as {part: float} for the three parts (the schema's rule: each > 0, summing to 1)."""
    require("split", "fractions", fractions, SplitError)
    return {part: float(fractions[part]) for part in PARTS}


def usable_clips(clips: pd.DataFrame, survived: set[str] | None = None) -> pd.DataFrame:
    """The rows of the clip list that are real clips (status ok) and, when `survived` is given, are in it
    (the clips that preprocessing turned into at least one modality)."""
    ok = clips["status"] == "ok"
    if survived is not None:
        ok &= clips["clip"].isin(survived)
    return clips[ok].copy()


def actor_sexes(clips: pd.DataFrame) -> pd.Series:
    """The sex of every actor of `clips` (UNKNOWN_SEX when not known), indexed by actor id."""
    return clips.groupby("actor")["sex"].first().fillna("").astype(str).replace("", UNKNOWN_SEX)


def actor_table(clips: pd.DataFrame) -> pd.DataFrame:
    """One row per actor: its sex (UNKNOWN_SEX when not known) and its clip count per emotion."""
    counts = pd.crosstab(clips["actor"], clips["emotion"])
    return counts.assign(sex=actor_sexes(clips).reindex(counts.index)).sort_index()


def group_sizes(n_units: int, fractions: list[float], unit: str = "actor") -> list[int]:
    """Units per group: largest-remainder rounding of fractions * n_units, at least one per group."""
    if n_units < len(fractions):
        raise SplitError(
            f"{n_units} {unit}(s) found; {len(fractions)} groups (a fold's test, or a part, each) need at least "
            f"{len(fractions)}, one each: use fewer split.folds, or more {unit}s"
        )
    exact = [f * n_units for f in fractions]
    sizes = [int(np.floor(v)) for v in exact]
    for i in sorted(range(len(sizes)), key=lambda i: -(exact[i] - sizes[i]))[: n_units - sum(sizes)]:
        sizes[i] += 1
    for i in range(len(sizes)):  # a tiny corpus: take a unit from the largest group for an empty one
        if sizes[i] == 0:
            sizes[int(np.argmax(sizes))] -= 1
            sizes[i] = 1
    return sizes


def _candidate(strata: list[np.ndarray], n_units: int, cuts: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Group number of every unit for one random deal."""
    # Systematic sampling: within each stratum, units get evenly spaced keys in random order; sorting all
    # units by key interleaves the strata, so cutting the sorted list at `cuts` gives every group its
    # share of each stratum (to within one unit).
    keys = np.empty(n_units)
    for members in strata:
        keys[members] = (rng.permutation(len(members)) + rng.random()) / len(members)
    groups = np.empty(n_units, dtype=int)
    groups[np.argsort(keys, kind="stable")] = np.searchsorted(cuts, np.arange(n_units), side="right") - 1
    return groups


def _imbalance(counts: np.ndarray, groups: np.ndarray, fractions: np.ndarray) -> float:
    """How far the groups are from the corpus: L1 distance of emotion proportions plus of clip shares."""
    overall = counts.sum(axis=0) / counts.sum()
    score = 0.0
    for group, fraction in enumerate(fractions):
        in_group = counts[groups == group].sum(axis=0)
        n = in_group.sum()
        score += float(np.abs(in_group / max(n, 1) - overall).sum()) + abs(n / counts.sum() - fraction)
    return score


def stratified_groups(
    counts: np.ndarray,
    strata_labels: np.ndarray,
    fractions: list[float],
    seed: int,
    candidates: int = 200,
    unit: str = "actor",
) -> np.ndarray:
    """Group of every unit (rows of `counts`: clips per emotion) for the best of `candidates` deals,
    stratified by `strata_labels`; see the module docstring."""
    sizes = group_sizes(len(counts), fractions, unit)
    strata = [np.flatnonzero(strata_labels == label) for label in sorted(set(strata_labels))]
    cuts = np.cumsum([0] + sizes)
    targets = np.asarray(fractions, dtype=float)
    rng = np.random.default_rng(seed)
    best, best_score = None, np.inf
    for _ in range(max(1, int(candidates))):
        groups = _candidate(strata, len(counts), cuts, rng)
        score = _imbalance(counts, groups, targets)
        if score < best_score - 1e-12:  # strictly better only, so the result depends on the seed alone
            best, best_score = groups, score
    return best


def stratified_actor_split(clips: pd.DataFrame, fractions: dict, seed: int, candidates: int) -> pd.Series:
    """Part of every actor (a Series indexed by actor id) for one split into `fractions`."""
    fractions = check_fractions(fractions)
    actors = actor_table(clips)
    groups = stratified_groups(
        actors.drop(columns="sex").to_numpy(dtype=float),
        actors["sex"].to_numpy(),
        [fractions[p] for p in PARTS],
        seed,
        candidates,
    )
    return pd.Series([PARTS[g] for g in groups], index=actors.index).sort_index()


def fold_parts(groups: np.ndarray, folds: int) -> list[np.ndarray]:
    """Per fold, the part of every unit: fold k tests group k, validates on group k+1 (mod K), trains on the rest."""
    parts = []
    for k in range(folds):
        part = np.full(len(groups), "train", dtype=object)
        part[groups == (k + 1) % folds] = "validation"
        part[groups == k] = "test"
        parts.append(part)
    return parts


def unit_parts(
    clips: pd.DataFrame, scheme: str, folds: int, fractions: dict, seed: int, candidates: int
) -> tuple[pd.Index, list[np.ndarray]]:
    """The units (actor ids, or clip names for scheme clips) and, per fold, the part of each."""
    require("split", "folds", folds, SplitError)
    if scheme == "actors":
        actors = actor_table(clips)
        units, counts, strata, unit = (
            actors.index,
            actors.drop(columns="sex").to_numpy(dtype=float),
            actors["sex"].to_numpy(),
            "actor",
        )
    else:
        emotions = clips.set_index("clip")["emotion"].sort_index()
        units, counts, strata, unit = (
            emotions.index,
            pd.get_dummies(emotions).to_numpy(dtype=float),
            emotions.to_numpy(),
            "clip",
        )
    if folds == 1:
        fractions = check_fractions(fractions)
        groups = stratified_groups(counts, strata, [fractions[p] for p in PARTS], seed, candidates, unit)
        return units, [np.array([PARTS[g] for g in groups], dtype=object)]
    groups = stratified_groups(counts, strata, [1.0 / folds] * folds, seed, candidates, unit)
    return units, fold_parts(groups, folds)


def read_published_split(path: str | Path) -> pd.Series:
    """A published actor split (JSON of part name -> actor ids) as a Series actor id -> part."""
    path = Path(path)
    expected = "expected a JSON object of actor id lists named train, dev (or validation) and test"
    if not path.is_file():
        raise SplitError(f"published split not found: {path} (params.yaml split.published)")
    try:
        lists = json.loads(path.read_bytes())
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise SplitError(f"{path} (params.yaml split.published) is not JSON ({error}); {expected}") from None
    if not isinstance(lists, dict) or set(lists) - set(PUBLISHED_NAMES):
        got = ", ".join(map(str, sorted(lists))) if isinstance(lists, dict) else f"a JSON {type(lists).__name__}"
        raise SplitError(f"{path} (params.yaml split.published): {expected}, got {got}")
    parts: dict[int, str] = {}
    for name, actors in lists.items():
        if not isinstance(actors, list) or not all(
            (isinstance(a, int) and not isinstance(a, bool)) or (isinstance(a, str) and a.isdigit()) for a in actors
        ):
            raise SplitError(f"{path} (params.yaml split.published): {name} is not a list of actor ids; {expected}")
        for actor in actors:
            actor = int(actor)
            part = PUBLISHED_NAMES[name]
            if parts.setdefault(actor, part) != part:
                raise SplitError(f"{path}: actor {actor} is in two parts ({parts[actor]} and {part})")
    missing = set(PARTS) - set(parts.values())
    if missing:
        raise SplitError(f"{path}: no actor in part(s) {sorted(missing)}")
    return pd.Series(parts).sort_index()


def make_split(
    clips: pd.DataFrame, params: dict, survived: set[str] | None = None
) -> tuple[pd.DataFrame, dict, pd.DataFrame]:
    """Split the usable clips of a clip list as `params` (the `split` section) says.

    `survived`: the clips that preprocessing turned into at least one modality (None: all). Returns the
    split table (SPLIT_COLUMNS, a row per clip and fold, sorted by fold and clip), a flat summary and
    the composition of every fold's parts (see summarize_split). Raises SplitError when the params and
    the corpus cannot give a split with clips in every part of every fold.
    """
    scheme = require("split", "scheme", params["scheme"], SplitError)
    usable = usable_clips(clips, survived)
    if usable.empty:
        raise SplitError("no clip to split: none has status ok in the clip list and survived preprocessing")
    folds = int(params["folds"]) if scheme in ("actors", "clips") else 1
    listed = None
    if scheme == "published":
        actor_parts = read_published_split(params["published"])
        per_fold = [usable["actor"].astype(int).map(actor_parts)]
    elif scheme == "ogm_ge":
        listed = read_clip_lists()
        per_fold = [listed_parts(usable, listed, params)]
    else:
        units, parts = unit_parts(
            usable, scheme, folds, params["fractions"], int(params["seed"]), int(params["candidates"])
        )
        key = usable["actor"].astype(int) if scheme == "actors" else usable["clip"]
        per_fold = [key.map(pd.Series(p, index=units)) for p in parts]
    tables = [usable.assign(fold=k, part=part)[SPLIT_COLUMNS] for k, part in enumerate(per_fold)]
    table = (
        pd.concat(tables).dropna(subset=["part"]).sort_values(["fold", "clip"], kind="stable").reset_index(drop=True)
    )
    table["actor"] = table["actor"].astype(int)
    check_parts_not_empty(table, params, scheme)
    if scheme in ("actors", "published"):
        check_actor_disjoint(table)
    summary, composition = summarize_split(table, usable)
    summary["scheme"] = scheme
    outside = int(len(usable) - table[table["fold"] == 0]["clip"].nunique())
    summary.update(
        clips_listed=len(clips),
        clips_not_ok=int((clips["status"] != "ok").sum()),
        clips_excluded=int((clips["status"] == "excluded").sum()),
        clips_without_modality=int(len(usable_clips(clips)) - len(usable)),
        clips_actor_not_in_split=outside if listed is None else 0,
    )
    if listed is not None:
        summary.update(
            published_list_clips=len(listed),
            published_list_clips_found=int(listed.index.isin(usable["clip"]).sum()),
            clips_not_in_published_lists=outside,
        )
    return table, summary, composition


def listed_parts(usable: pd.DataFrame, listed: pd.Series, params: dict) -> pd.Series:
    """The part of every usable clip under the published clip lists `listed` (NaN where unlisted): the test
    list tests; `validation_share` of the train list's clips, stratified by emotion, validate."""
    part = usable["clip"].map(listed)
    in_train = usable[part == "train"]
    share = float(require("split", "validation_share", params["validation_share"], SplitError))
    if in_train.empty:
        return part
    groups = stratified_groups(
        pd.get_dummies(in_train["emotion"]).to_numpy(dtype=float),
        in_train["emotion"].to_numpy(),
        [1.0 - share, share],
        int(params["seed"]),
        int(params["candidates"]),
        "clip",
    )
    part.loc[in_train.index[groups == 1]] = "validation"
    return part


def check_parts_not_empty(table: pd.DataFrame, params: dict, scheme: str) -> None:
    """Raise SplitError naming the fold and part that holds no clip (e.g. a published split of other actors)."""
    for fold, rows in table.groupby("fold"):
        empty = [p for p in PARTS if not (rows["part"] == p).any()]
        if empty:
            hints = {
                "published": f"split.published {params.get('published')} lists no actor of this corpus in it; use "
                "split.scheme actors",
                "ogm_ge": "the OGM-GE clip lists hold no clip of this corpus in it; use split.scheme actors",
            }
            hint = hints.get(scheme, "use fewer split.folds, or more data")
            raise SplitError(f"fold {fold}: no clip in part(s) {', '.join(empty)}: {hint}")


def check_actor_disjoint(table: pd.DataFrame) -> None:
    """Raise when an actor appears in two parts of one fold (the course project's leak)."""
    leaking = actors_in_two_parts(table)
    if leaking:
        raise AssertionError(f"actors in more than one part of a fold: {leaking}")


def actors_in_two_parts(table: pd.DataFrame) -> list:
    """The actors that are in more than one part of some fold: none for a speaker-independent split."""
    parts_per_actor = table.groupby(["fold", "actor"])["part"].nunique()
    return sorted({actor for (_, actor) in parts_per_actor[parts_per_actor > 1].index})


def summarize_split(table: pd.DataFrame, clips: pd.DataFrame) -> tuple[dict, pd.DataFrame]:
    """Folds, clips and actors split, actors shared between parts (flat, for metrics/split.json), and the
    composition of every fold's parts: one row per fold, part and group (an emotion: its clips; a sex:
    its actors), for a plot."""
    sex = actor_sexes(clips)
    summary = {
        "folds": int(table["fold"].nunique()),
        "clips": int(table["clip"].nunique()),
        "actors": int(table["actor"].nunique()),
        "test_clips_per_fold": round(float(table[table["part"] == "test"].groupby("fold").size().mean()), 1),
        "actors_in_two_parts": len(actors_in_two_parts(table)),
    }
    composition = []
    for (fold, part), rows in table.groupby(["fold", "part"], sort=True):
        for emotion, n in rows["emotion"].value_counts().sort_index().items():
            composition.append(
                {
                    "group": f"fold {fold} {part} {emotion}",
                    "count": int(n),
                    "of": "clips",
                    "fold": fold,
                    "part": part,
                    "name": emotion,
                }
            )
        for s, n in sex.reindex(sorted(rows["actor"].unique())).value_counts().sort_index().items():
            composition.append(
                {
                    "group": f"fold {fold} {part} {s}",
                    "count": int(n),
                    "of": "actors",
                    "fold": fold,
                    "part": part,
                    "name": s,
                }
            )
    return summary, pd.DataFrame(composition, columns=COMPOSITION_COLUMNS)

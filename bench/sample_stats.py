"""What the synthetic sample lets a model learn: the pipeline's models across splits.

For one sample seed (or several: --seeds), and optionally another emotion set, this
1. generates the corpus with the `sample` stage (timed) into OUT/sample, from a temporary params file
   (OUT/params.yaml: the params with the sample overrides, data.* pointing at OUT);
2. runs list_clips, the four preprocessing stages and embed on it with dvc.yaml's commands (subprocesses;
   their data/ paths moved into OUT, AVEMO_JOBS=--jobs), and reports the share of clips face_crop marks
   `ok` (MTCNN found the face);
3. for each split kind, the pipeline's own code end to end: the split stage's make_split, the training
   stages' run_training (one model per fold and per train.seeds; unless encoder.trainable is all, trained
   on the embed stage's cached frozen-layer outputs as the stages train) and eval_cross's cross_predictions on the test
   parts, of which it keeps the audio model on spectrograms, the video model on faces and the AV model
   on both. The split kinds:
   - actor-independent: split.scheme `actors` (no test actor in training);
   - clip-level: split.scheme `clips` (the course project's), every actor in train, validation and test;
   every other setting (folds, candidates, encoder, epochs, ...) is the params'; --repeats R splits each
   kind with the split seeds split.seed, split.seed + 1, ..., split.seed + R - 1;
4. prints mean +- sd (min..max) of test accuracy per model and split kind (over the models: split
   seeds x folds x training seeds), the gaps the sample is designed to show, accuracy by intensity level
   and by ambiguity (clear, ambiguous face, ambiguous voice), an exact binomial test of each model against
   chance over clips (on each split seed's first training seed, where every clip is tested once; eval_cross
   tests over actors instead, the stricter unit), how
   well the same models name the actor from each modality's features (the clip-level split of
   split.seed, actors as the labels), and issue 8's targets, met or not; the same figures go to
   OUT/summary.json, the test predictions to OUT/predictions.csv.

It is a benchmark: it prints figures and asserts nothing. Run from the repository root:

    python bench/sample_stats.py --seed 0                      # the default sample (3 classes)
    python bench/sample_stats.py --seed 1 --emotions ANG DIS FEA HAP NEU SAD
    python bench/sample_stats.py --seed 0 --set speaker_style=0   # what-if on a sample param
    python bench/sample_stats.py --seeds 0 1 2 3 --markdown docs/sample-stats.md   # the docs' figures

A rerun with the same params reuses OUT (corpus and features) and only retrains the models; --fresh
regenerates. OUT defaults to a folder in the system temp dir named by the sample params (with --seeds,
one per seed; a given --out gets a subfolder seed<N> per seed).
"""

from __future__ import annotations

import argparse
import contextlib
import copy
import hashlib
import json
import os
import shlex
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

import pandas as pd
import yaml

REPO = Path(__file__).resolve().parents[1]
MODELS = ("audio", "video", "av")
# eval_cross's comparison that is each model on its own inputs
COMPARISON_OF = {"audio": "audio_on_audio", "video": "video_on_faces", "av": "av_on_both"}
SPLIT_KINDS = {"actor-independent": "actors", "clip-level": "clips"}  # split kind -> split.scheme
# The stages that make the corpus and the encoder's features, in dvc.yaml's order; their params sections
# (read from dvc.yaml) decide whether OUT's corpus and features still hold for a rerun.
PREPARING_STAGES = ("sample", "list_clips", "extract_audio", "melspec", "extract_middle_frame", "face_crop", "embed")
TRAINING_SECTIONS = ("lr", "encoder", "train", "fusion", "split")  # what run_training and make_split read


def parse_args(argv=None) -> argparse.Namespace:
    from avemo.machine import default_jobs

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    seeds = parser.add_mutually_exclusive_group()
    seeds.add_argument("--seed", type=int, help="sample.seed (default: params.yaml's)")
    seeds.add_argument("--seeds", type=int, nargs="+", help="several sample seeds, one after the other")
    parser.add_argument(
        "--emotions",
        nargs="+",
        help="sample.emotions and data.classes (default: params.yaml's, e.g. ANG DIS FEA HAP NEU SAD for six classes)",
    )
    parser.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="override another sample param (YAML value), e.g. --set ambiguous_voice=0.2",
    )
    parser.add_argument("--params", default=str(REPO / "params.yaml"), help="base params file")
    parser.add_argument("--out", help="work folder (default: <tmp>/avemo-sample-stats/<sample params hash>)")
    parser.add_argument("--fresh", action="store_true", help="regenerate the corpus and features even if OUT has them")
    parser.add_argument(
        "--repeats", type=int, default=1, help="split seeds per split kind, split.folds folds each (default 1)"
    )
    parser.add_argument(
        "--jobs",
        type=int,
        default=default_jobs(),
        help="worker processes of the per-clip stages (default: $AVEMO_JOBS or all cores)",
    )
    parser.add_argument(
        "--markdown", metavar="FILE", help="also write the report of every seed to FILE (e.g. docs/sample-stats.md)"
    )
    return parser.parse_args(argv)


# ---------------------------------------------------------------------------
# 1-2. corpus, preprocessing and features, as dvc.yaml runs them
# ---------------------------------------------------------------------------


def effective_params(args, seed: int | None) -> dict:
    params = yaml.safe_load(Path(args.params).read_text())
    sample = params["sample"]
    if seed is not None:
        sample["seed"] = seed
    if args.emotions:
        sample["emotions"] = list(args.emotions)
        params["data"]["classes"] = list(args.emotions)
    for item in args.set:
        key, _, value = item.partition("=")
        sample[key.strip()] = yaml.safe_load(value)
    return params


def work_params(params: dict, out: Path) -> dict:
    work = copy.deepcopy(params)
    work["data"].update(
        raw_dir=str(out / "sample" / "VideoFlash"),
        demographics=str(out / "sample" / "VideoDemographics.csv"),
        actors=[],
        sentences=[],
        levels=[],
        verify_checksums=False,
    )
    return work


def dvc_stages() -> dict:
    return yaml.safe_load((REPO / "dvc.yaml").read_text())["stages"]


def preparing_sections() -> list[str]:
    """The params sections the preparing stages read, as dvc.yaml lists them."""
    stages = dvc_stages()
    return sorted({section for name in PREPARING_STAGES for section in stages[name].get("params", [])})


def run_stage(name: str, command: list[str], jobs: int) -> float:
    """Run one stage's command line from the repository root with AVEMO_JOBS=jobs; returns its seconds."""
    pythonpath = os.pathsep.join([str(REPO / "src"), os.environ.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    env = dict(os.environ, PYTHONPATH=pythonpath, AVEMO_JOBS=str(jobs))
    start = time.perf_counter()
    result = subprocess.run(command, env=env, cwd=REPO, capture_output=True, text=True)
    seconds = time.perf_counter() - start
    if result.returncode != 0:
        sys.exit(f"stage {name} failed ({result.returncode}):\n{result.stdout[-2000:]}\n{result.stderr[-4000:]}")
    print(f"  {name}: {seconds:.1f} s", flush=True)
    return seconds


def prepare(out: Path, params_file: Path, jobs: int) -> dict:
    """Generate, preprocess and embed into `out` with dvc.yaml's commands, their data/ paths moved into `out`;
    returns the stage times."""
    stages = dvc_stages()
    # the machine's load when the timed stage starts: other work on the same cores slows it down
    times = {"load_before_sample": os.getloadavg()[0]}
    for name in PREPARING_STAGES:
        _python, *words = shlex.split(stages[name]["cmd"])  # python stages/<name>.py --out data/... ...: this Python
        words = [str(out / word.removeprefix("data/")) if word.startswith("data/") else word for word in words]
        times[name] = run_stage(name, [sys.executable, *words, "--params", str(params_file)], jobs)
    return times


# ---------------------------------------------------------------------------
# 3. the pipeline's split, training and test predictions
# ---------------------------------------------------------------------------


def train_and_test(split: pd.DataFrame, folder: Path, out: Path, params: dict) -> pd.DataFrame:
    """The training stages' models on `split` (written to folder/split.csv; models and metrics in `folder`,
    their per-epoch log in folder/training.log) and eval_cross's predictions of each on its folds' test
    parts, for the comparisons of COMPARISON_OF (crosstest.PREDICTION_COLUMNS and `model`)."""
    from avemo.evaluation.crosstest import cross_predictions
    from avemo.files import write_csv
    from avemo.machine import inference_batch_size
    from avemo.modeling.training_command import run_training
    from avemo.preprocess.clipindex import read_index

    write_csv(folder / "split.csv", split)
    folders = {"audio": str(out / "melspec"), "video": str(out / "faces")}
    models = {kind: folder / "models" / kind for kind in MODELS}
    with open(folder / "training.log", "w") as log, contextlib.redirect_stderr(log):  # every epoch of every model
        for kind in MODELS:
            # the stage's own parsed command line, less its dvclive folder
            stage_args = argparse.Namespace(
                split=folder / "split.csv",
                melspec=folders["audio"],
                faces=folders["video"],
                embeddings=out / "embeddings",
                models=models[kind],
                metrics=folder / "metrics" / f"train_{kind}.json",
                live=None,
                loader_workers=None,
                amp=None,
            )
            run_training(kind, stage_args, params)
        predictions = cross_predictions(
            models,
            split,
            {m: read_index(f) for m, f in folders.items()},
            folders,
            out / "embeddings",
            batch_size=inference_batch_size(),
        )
    model_of = {comparison: model for model, comparison in COMPARISON_OF.items()}
    return predictions[predictions["comparison"].isin(model_of)].assign(model=predictions["comparison"].map(model_of))


def split_of(clips: pd.DataFrame, out: Path, split_params: dict, scheme: str, seed: int) -> pd.DataFrame:
    """The split stage's table for `scheme` and `seed`, of the clips that preprocessing kept in a modality."""
    from avemo.corpus.splits import make_split
    from avemo.preprocess.clipindex import usable_in_any

    survived = usable_in_any(out / folder for folder in ("melspec", "faces"))
    table, _, _ = make_split(clips, {**split_params, "scheme": scheme, "seed": seed}, survived)
    return table


def evaluate(out: Path, params: dict, repeats: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Test predictions (split kind, repeat, model, fold, seed, clip, true, predicted, correct) of every split
    kind and repeat, and those of the same models trained to name the actor (clip-level split of split.seed)."""
    from avemo.corpus.clips import read_clip_list

    clips = read_clip_list(out / "clips.csv")
    results = []
    for kind, scheme in SPLIT_KINDS.items():
        for repeat in range(repeats):
            split = split_of(clips, out, params["split"], scheme, int(params["split"]["seed"]) + repeat)
            started = time.perf_counter()
            predictions = train_and_test(split, out / "runs" / f"{scheme}-{repeat}", out, params)
            print(f"  {kind} split {repeat}: {time.perf_counter() - started:.1f} s", flush=True)
            results.append(predictions.assign(kind=kind, repeat=repeat))
            if scheme == "clips" and repeat == 0:  # the same folds, the actor as the label
                started = time.perf_counter()
                speakers = train_and_test(
                    split.assign(emotion=split["actor"].astype(str)), out / "runs" / "speakers", out, params
                )
                print(f"  speaker identification: {time.perf_counter() - started:.1f} s", flush=True)
    predictions = pd.concat(results, ignore_index=True)
    return (
        predictions.assign(correct=predictions["true"] == predictions["predicted"]),
        speakers.assign(correct=speakers["true"] == speakers["predicted"]),
    )


# ---------------------------------------------------------------------------
# 4. report
# ---------------------------------------------------------------------------


def model_accuracies(predictions: pd.DataFrame) -> pd.DataFrame:
    """Test accuracy of every model trained: one row per split kind, model, repeat, fold and training seed."""
    keys = ["kind", "model", "repeat", "fold", "seed"]
    return predictions.groupby(keys)["correct"].mean().rename("accuracy").reset_index()


def report(
    results: pd.DataFrame, speakers: pd.DataFrame, clips: pd.DataFrame, classes: list[str], sample: dict, facts: dict
) -> tuple[dict, list[str]]:
    """The tables as lines of text, and the summary (also written to OUT/summary.json)."""
    from avemo.evaluation.statistics import chance_p_value, chance_verdict
    from avemo.synth import ClipId, SampleSpec, plan_clip

    chance = 1 / len(classes)
    per_model = model_accuracies(results)
    summary = per_model.groupby(["kind", "model"])["accuracy"].agg(["mean", "std", "min", "max", "count"])
    n_models = int(summary["count"].iloc[0])
    n_splits = len(per_model[per_model["kind"] == "actor-independent"][["repeat", "fold"]].drop_duplicates())
    lines = [
        f"clips: {facts['clips']} ({facts['actors']} actors); face_crop ok {facts['face_ok_share']:.3f} "
        f"({facts['face_statuses']})",
        f"sample stage {facts['sample_seconds']:.1f} s with --jobs {facts['jobs']} (load average "
        f"{facts['load_before_sample']:.1f} at its start)",
        "",
        f"Test accuracy, mean +- sd (min..max) over {n_models} models ({n_splits} split folds x {n_models // n_splits} "
        "training seeds);",
        f"{len(classes)} classes ({' '.join(classes)}), chance {chance:.3f}",
        f"  {'model':6} {'actor-independent':>28} {'clip-level':>28} {'clip - actor':>13}",
    ]
    for model in MODELS:
        a, c = summary.loc[("actor-independent", model)], summary.loc[("clip-level", model)]
        lines.append(
            f"  {model:6} {a['mean']:.3f} +- {a['std']:.3f} ({a['min']:.2f}..{a['max']:.2f})   {c['mean']:.3f} +- "
            f"{c['std']:.3f} ({c['min']:.2f}..{c['max']:.2f})   {c['mean'] - a['mean']:+.3f}"
        )
    mean = summary["mean"]
    independent_mean = {m: float(mean[("actor-independent", m)]) for m in MODELS}
    clip_mean = {m: float(mean[("clip-level", m)]) for m in MODELS}
    better = max(("audio", "video"), key=independent_mean.get)
    wide = per_model[per_model["kind"] == "actor-independent"].pivot_table(
        index=["repeat", "fold", "seed"], columns="model", values="accuracy"
    )
    av_beats = {m: int((wide["av"] > wide[m]).sum()) for m in ("audio", "video")}
    fusion_gain = independent_mean["av"] - independent_mean[better]
    sharing_gain = clip_mean[better] - independent_mean[better]
    lines += [
        "",
        f"  AV - better single modality ({better}), actor-independent: {fusion_gain:+.3f}; AV beats audio in "
        f"{av_beats['audio']}/{len(wide)} models, video in {av_beats['video']}/{len(wide)}",
        f"  clip-level - actor-independent, better single modality ({better}): {sharing_gain:+.3f}",
    ]

    independent = results[results["kind"] == "actor-independent"]
    spec = SampleSpec(**sample)
    tested = clips.set_index("clip").loc[independent["clip"].unique()]
    ambiguity = {
        name: plan_clip(spec, ClipId(int(row.actor), row.sentence, row.emotion, row.level)).ambiguous or "clear"
        for name, row in tested.iterrows()
    }
    independent = independent.assign(
        level=independent["clip"].map(tested["level"]), ambiguity=independent["clip"].map(ambiguity)
    )
    for column, label in (("level", "intensity level"), ("ambiguity", "ambiguity (which modality is ambiguous)")):
        table = independent.pivot_table(index="model", columns=column, values="correct", aggfunc="mean").reindex(
            list(MODELS)
        )
        counts = independent[independent["model"] == "audio"].drop_duplicates("clip").groupby(column).size()
        lines += [
            "",
            f"  actor-independent accuracy by {label} (clips: {', '.join(f'{k} {v}' for k, v in counts.items())})",
            "    " + table.to_string(float_format=lambda v: f"{v:.3f}").replace("\n", "\n    "),
        ]

    lines += [
        "",
        f"  exact binomial test against chance ({chance:.3f}) over clips, actor-independent split: on each split's",
        "  first training seed (every clip tested once); the largest p over the splits:",
    ]
    binomial = {}
    first_seed = independent[independent["seed"] == independent["seed"].min()]
    for model in MODELS:
        rows = first_seed[first_seed["model"] == model]
        binomial[model] = max(
            chance_p_value(int(g["correct"].sum()), len(g), len(classes)) for _, g in rows.groupby("repeat")
        )
        hits, n = int(rows["correct"].sum()), len(rows)
        lines.append(
            f"    {model:6} {hits}/{n} correct ({hits / n:.3f}), p = {binomial[model]:.2g}: "
            f"{chance_verdict(hits / n, binomial[model], len(classes))} chance"
        )

    speaker_means = model_accuracies(speakers.assign(kind="clip-level", repeat=0)).groupby("model")["accuracy"].mean()
    speaker_id = {m: float(speaker_means[m]) for m in MODELS}
    lines += [
        "",
        f"  speaker identification by the same models ({facts['actors']} actors, chance {1 / facts['actors']:.3f}), "
        "clip-level split:",
        f"    audio {speaker_id['audio']:.3f}, video {speaker_id['video']:.3f}, AV {speaker_id['av']:.3f}",
    ]

    result = {
        **facts,
        "classes": classes,
        "splits": n_splits,
        "models": n_models,
        "actor_independent": independent_mean,
        "clip_level": clip_mean,
        "speaker_id": speaker_id,
        "actor_independent_sd": {m: float(summary.loc[("actor-independent", m), "std"]) for m in MODELS},
        "clip_level_sd": {m: float(summary.loc[("clip-level", m), "std"]) for m in MODELS},
        "better_single": better,
        "av_minus_better_single": fusion_gain,
        "clip_minus_actor_independent": sharing_gain,
        "av_beats_splits": av_beats,
        "binomial_p": binomial,
    }
    result["targets"] = [{"target": text, "met": met} for text, met in targets(result)]
    lines += ["", "  issue 8 targets:"] + [
        f"    [{'met' if t['met'] else 'NOT MET'}] {t['target']}" for t in result["targets"]
    ]
    return result, lines


def targets(s: dict) -> list[tuple[str, bool]]:
    """Issue 8's targets, met or not (the 3-class ones on 3 classes, the 6-class ones on 6)."""
    a, checks = s["actor_independent"], []
    if len(s["classes"]) == 3:
        checks += [
            (
                f"audio and video each in [.60, .85]: {a['audio']:.3f}, {a['video']:.3f}",
                all(0.60 <= a[m] <= 0.85 for m in ("audio", "video")),
            ),
            (
                f"AV >= better single + .04 and <= .95: {a['av']:.3f} ({s['av_minus_better_single']:+.3f})",
                s["av_minus_better_single"] >= 0.04 and a["av"] <= 0.95,
            ),
            (
                f"clip-level - actor-independent, better single >= .08: {s['clip_minus_actor_independent']:+.3f}",
                s["clip_minus_actor_independent"] >= 0.08,
            ),
        ]
    if len(s["classes"]) == 6:
        checks += [
            (
                "every model above chance, binomial p < .05: "
                + ", ".join(f"{p:.1g}" for p in s["binomial_p"].values()),
                all(p < 0.05 for p in s["binomial_p"].values()),
            ),
            (
                f"AV above each single modality: {a['av']:.3f} vs {a['audio']:.3f}, {a['video']:.3f}",
                a["av"] > max(a["audio"], a["video"]),
            ),
        ]
    checks.append((f"face_crop ok >= .98: {s['face_ok_share']:.3f}", s["face_ok_share"] >= 0.98))
    if s["default_corpus"]:  # the time target is for the default corpus (any seed)
        checks.append(
            (
                f"sample stage < 30 s: {s['sample_seconds']:.1f} s (--jobs {s['jobs']}, load average "
                f"{s['load_before_sample']:.1f} when it started)",
                s["sample_seconds"] < 30,
            )
        )
    return checks


# ---------------------------------------------------------------------------
# one seed, and the markdown of several
# ---------------------------------------------------------------------------


def out_folder(args, params: dict, several: bool) -> Path:
    """--out (a subfolder per seed when there are several), else a temp folder named by the sample params and the
    generator's code, so a change to either starts afresh."""
    seed = params["sample"]["seed"]
    if args.out:
        return Path(args.out) / f"seed{seed}" if several else Path(args.out)
    digest = hashlib.sha256(json.dumps(params["sample"], sort_keys=True).encode())
    for source in sorted((REPO / "src" / "avemo" / "synth").glob("*.py")):
        digest.update(source.read_bytes())
    return Path(tempfile.gettempdir()) / "avemo-sample-stats" / f"seed{seed}-{digest.hexdigest()[:10]}"


def run_seed(args, seed: int | None, several: bool) -> tuple[dict, list[str]]:
    """Everything above for one sample seed (None: the params'); returns the summary and the report's lines."""
    from avemo.corpus.clips import read_clip_list
    from avemo.params import read_params

    params = effective_params(args, seed)
    out = out_folder(args, params, several).resolve()
    params = work_params(params, out)
    params_file = out / "params.yaml"
    sections = preparing_sections()
    prepared = yaml.safe_load(params_file.read_text()) if params_file.is_file() else None
    same = prepared is not None and all(prepared.get(s) == params.get(s) for s in sections)
    print(f"sample params: {json.dumps(params['sample'])}\nwork folder: {out}", flush=True)
    out.mkdir(parents=True, exist_ok=True)
    params_file.write_text(yaml.safe_dump(params, sort_keys=False))
    if same and (out / "times.json").is_file() and not args.fresh:
        print("  reusing the corpus and features of an earlier run (--fresh regenerates)")
        times = json.loads((out / "times.json").read_text())
    else:
        (out / "times.json").unlink(missing_ok=True)  # written last: a run that stops half-way leaves nothing to reuse
        times = {**prepare(out, params_file, args.jobs), "jobs": args.jobs}
        (out / "times.json").write_text(json.dumps(times))
    checked = read_params(params_file, *TRAINING_SECTIONS)  # checked by the schema, as the stages read them
    classes = sorted(params["data"]["classes"])

    started = time.perf_counter()
    results, speakers = evaluate(out, checked, args.repeats)
    training_seconds = time.perf_counter() - started
    results.to_csv(out / "predictions.csv", index=False)
    clips = read_clip_list(out / "clips.csv")
    clips = clips[clips["status"] == "ok"]
    faces = pd.read_csv(out / "faces" / "index.csv")
    preparing_seconds = sum(times[name] for name in PREPARING_STAGES)
    facts = {
        "sample": params["sample"],
        "clips": int(len(clips)),
        "actors": int(clips["actor"].nunique()),
        "sample_seconds": times["sample"],
        "jobs": times["jobs"],
        "load_before_sample": times["load_before_sample"],
        "face_ok_share": float((faces["status"] == "ok").mean()),
        "face_statuses": ", ".join(f"{k} {v}" for k, v in faces["status"].value_counts().items()),
        "default_corpus": not (args.emotions or args.set),
        "preparing_seconds": preparing_seconds,
        "training_seconds": training_seconds,
    }
    summary, lines = report(results, speakers, clips, classes, params["sample"], facts)
    lines += [
        "",
        f"  time: {preparing_seconds:.0f} s to make the corpus and its features, {training_seconds:.0f} s to train and "
        "test the models",
    ]
    print("\n" + "\n".join(lines), flush=True)
    (out / "summary.json").write_text(json.dumps(summary, indent=1))
    return summary, lines


def machine_kind() -> str:
    """CPU cores this process may use, and the GPU if any (what the stage times depend on)."""
    import torch

    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    gpu = f"GPU {torch.cuda.get_device_name(0)}" if torch.cuda.is_available() else "no GPU"
    return f"{cores} CPU cores, {gpu}"


def wrapped(paragraph: str) -> str:
    return textwrap.fill(paragraph, width=110, break_on_hyphens=False)


def markdown(command: str, runs: list[tuple[dict, list[str]]]) -> str:
    """The report of every seed run, under a headline table, saying where it comes from."""

    def sd(s: dict, kind: str, model: str) -> str:
        return f"{s[kind][model]:.3f} ± {s[f'{kind}_sd'][model]:.3f}"

    first = runs[0][0]
    lines = [
        "# What the synthetic sample lets the pipeline's models learn",
        "",
        wrapped(
            f"Generated file: written on {machine_kind()} (shared with other work: the stage times vary with the "
            "machine's load, printed beside them) by the command below; do not edit it by hand, rerun the command. "
            "Every figure is on the SYNTHETIC sample (params.yaml's `sample` section, at the seeds below): it says "
            "what the sample lets the pipeline's models learn, nothing about real emotion recognition."
        ),
        "",
        f"    {command}",
        "",
        wrapped(
            "The bench runs the pipeline's own stages and code on each sample: sample, list_clips, the four "
            "preprocessing stages and embed, then per split kind the split (`split.scheme` actors: actor-independent; "
            "clips: clip-level, the course project's), the three training stages and eval_cross's test predictions, "
            f"with params.yaml's settings; each figure is a mean over {first['models']} models ({first['splits']} "
            f"folds x {first['models'] // first['splits']} training seeds), ± their sd. {len(first['classes'])} "
            f"classes ({' '.join(first['classes'])}), chance {1 / len(first['classes']):.3f}. The bench's docstring "
            "says what each figure is."
        ),
        "",
        "| sample seed | audio | video | AV | AV - better single | video, clip-level | audio, clip-level | speaker id "
        "audio / video | face_crop ok | sample stage | issue 8 targets met |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for s, _ in runs:
        a, c = s["actor_independent"], s["clip_level"]
        met = sum(t["met"] for t in s["targets"])
        lines.append(
            f"| {s['sample']['seed']} | {sd(s, 'actor_independent', 'audio')} | {sd(s, 'actor_independent', 'video')} "
            f"| {sd(s, 'actor_independent', 'av')} | {s['av_minus_better_single']:+.3f} ({s['better_single']}) | "
            f"{c['video']:.3f} ({c['video'] - a['video']:+.3f}) | {c['audio']:.3f} ({c['audio'] - a['audio']:+.3f}) | "
            f"{s['speaker_id']['audio']:.3f} / {s['speaker_id']['video']:.3f} | {s['face_ok_share']:.1%} | "
            f"{s['sample_seconds']:.1f} s (load {s['load_before_sample']:.1f}) | {met}/{len(s['targets'])} |"
        )
    lines += [
        "",
        wrapped(
            "The accuracies are actor-independent unless named clip-level (in brackets: clip-level minus "
            "actor-independent); speaker id: the share of test clips whose actor the same models name, trained with "
            "the actor as the label on the clip-level split."
        ),
    ]
    for s, report_lines in runs:
        lines += [
            "",
            f"## Sample seed {s['sample']['seed']}",
            "",
            "```text",
            *report_lines,
            "```",
        ]
    return "\n".join(lines) + "\n"


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    args = parse_args(argv)
    seeds = args.seeds or [args.seed]
    runs = [run_seed(args, seed, several=len(seeds) > 1) for seed in seeds]
    if args.markdown:
        command = shlex.join(["python", "bench/sample_stats.py", *argv])
        Path(args.markdown).parent.mkdir(parents=True, exist_ok=True)
        Path(args.markdown).write_text(markdown(command, runs))
        print(f"\nwrote {args.markdown}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

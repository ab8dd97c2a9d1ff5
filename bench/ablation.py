"""The comparison table of the encoder's configurations (and of frames per clip), through DVC's own experiments.

For every configuration of CONFIGURATIONS (or those of --names) this
1. queues a DVC experiment named after it, `dvc exp run --queue --name <name> -S key=value ...`: the
   configuration's overrides, then every --set (which win over a configuration's own value of a key), and
   runs the queue with `dvc exp run --run-all --jobs N` (DVC's queue is the engine: it snapshots the
   workspace when each experiment is queued, runs each in its own temporary copy, N at a time, and keeps
   its results as an experiment of the current commit). Experiments of those names already on that commit
   are removed first, unless --reuse, which reads them instead (checking that they were run with the
   configuration's overrides and the --set values) and runs only the missing ones. The queue runs every
   task it holds, also ones queued by hand before;
2. reads each experiment's metrics (`dvc exp show --json`) and its test predictions, the DVC-cached
   data/predictions.csv (`dvc.api.read(..., rev=<experiment's commit>)`, from the local cache);
3. prints one markdown table (and writes it with --markdown FILE): a row per configuration with the test
   accuracy of the audio model on spectrograms, the video model on faces and the AV model on both (mean
   +- sd over the repeats, folds x seeds, [95% actor-bootstrap interval]; avemo.evaluation.statistics'
   summarise), the AV model minus the better single model (paired by clip, sign-flip test over actors),
   the two cross tests (the audio model on faces, the video model on spectrograms), and each model's
   trainable parameters (metrics/train_<kind>.json) and training time (the stage's last line in `dvc queue
   logs <name>`; n/a where absent);
   then the paired differences that answer the questions of PAIRS (statistics.paired_difference: by clip
   within each repeat, intervals and sign-flip tests over actors), a pair skipped where one of its
   configurations was not run;
4. beside them, the crude baselines of bench/crude_baselines.py on the preprocessed data in the workspace
   (data/melspec, data/faces) and the split the experiments used (data/split.csv of the first one read; the
   workspace's where none was): for every fold, a multinomial logistic regression (standardised inputs,
   weight decay chosen on the fold's validation part) trained on the train part and scored on the test
   part, on (a) 5 global statistics of each spectrogram and (b) the face crop as a 16x16 grey thumbnail:
   how much of each model's accuracy so simple a shortcut already reaches.

It is a benchmark: it prints figures and asserts nothing. Run it from the repository root with the
environment active; it leaves the workspace as it is (experiments live in git refs and the DVC cache):

    python bench/ablation.py                                  # every configuration, one at a time
    python bench/ablation.py --markdown docs/ablation.md --readme   # the page, the report and README show
    python bench/ablation.py --set 'train.seeds=[0]' --set split.folds=3   # a quick run: fewer repeats
    python bench/ablation.py --names top1 separate            # a subset
    python bench/ablation.py --reuse                          # the table again, from the experiments run before

`dvc exp show`, `dvc exp apply <name>` and `dvc queue logs <name>` work on the experiments as on any other.
"""

from __future__ import annotations

import avemo.kernels  # noqa: F401  (first: holds numpy's and torch's CPU kernels; see its docstring)

import argparse
import io
import json
import os
import re
import shlex
import subprocess
import sys
import tempfile
import textwrap
import time
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import yaml
from crude_baselines import WEIGHT_DECAYS, run_baselines  # bench/, on sys.path as the script's folder

REPO = Path(__file__).resolve().parents[1]


@dataclass(frozen=True)
class Configuration:
    name: str  # also the DVC experiment's name
    overrides: tuple[str, ...]  # dvc exp run -S key=value
    description: str


CONFIGURATIONS = (
    Configuration("probe", ("encoder.trainable=none",), "frozen encoder, linear head on its features"),
    Configuration(
        "top1",
        ("encoder.trainable=1", "fusion.sharing=shared"),
        "the encoder's top block trained, one copy for both modalities (the default)",
    ),
    Configuration("top2", ("encoder.trainable=2",), "the top two blocks trained"),
    Configuration(
        "separate",
        ("encoder.trainable=1", "fusion.sharing=separate"),
        "the AV model trains one copy of the top block per modality",
    ),
    Configuration(
        "modality_norm",
        ("encoder.trainable=1", "fusion.sharing=modality_norm"),
        "one shared top block, batch norm per modality",
    ),
    Configuration(
        "frames3",
        ("encoder.trainable=1", "fusion.sharing=shared", "frame.count=3"),
        "the default (top1) on 3 frames a clip (frame.spread around frame.position), their features averaged",
    ),
)


@dataclass(frozen=True)
class Pair:
    question: str
    first: tuple[str, str]  # (configuration, comparison); the difference is first minus second
    second: tuple[str, str]


PAIRS = (
    Pair("trained top block vs frozen encoder: audio model", ("top1", "audio_on_audio"), ("probe", "audio_on_audio")),
    Pair("trained top block vs frozen encoder: video model", ("top1", "video_on_faces"), ("probe", "video_on_faces")),
    Pair("trained top block vs frozen encoder: AV model", ("top1", "av_on_both"), ("probe", "av_on_both")),
    Pair("two trained blocks vs one: AV model", ("top2", "av_on_both"), ("top1", "av_on_both")),
    Pair("one shared top block vs one per modality: AV model", ("top1", "av_on_both"), ("separate", "av_on_both")),
    Pair("batch norm per modality vs shared: AV model", ("modality_norm", "av_on_both"), ("top1", "av_on_both")),
    Pair(
        "the AV model on spectrograms alone vs the audio model",
        ("top1", "av_on_audio_only"),
        ("top1", "audio_on_audio"),
    ),
    Pair("the AV model on faces alone vs the video model", ("top1", "av_on_faces_only"), ("top1", "video_on_faces")),
    Pair("3 frames vs 1: video model", ("frames3", "video_on_faces"), ("top1", "video_on_faces")),
    Pair("3 frames vs 1: AV model", ("frames3", "av_on_both"), ("top1", "av_on_both")),
)

KINDS = ("audio", "video", "av")
OWN_COMPARISON = {"audio": "audio_on_audio", "video": "video_on_faces", "av": "av_on_both"}
CROSS_COMPARISONS = ("audio_on_faces", "video_on_audio")
PREDICTION_KEYS = ["comparison", "fold", "seed", "clip", "actor", "true", "predicted"]  # extra p_<CLASS> dropped
SAMPLE_CLIPS = "data/sample/VideoFlash"  # the sample stage's clip folder (dvc.yaml): data.raw_dir of synthetic runs


def parse_args(argv=None) -> argparse.Namespace:
    configurations = "\n".join(
        f"  {c.name:<14} {' '.join('-S ' + o for o in c.overrides)}\n  {'':<14} {c.description}" for c in CONFIGURATIONS
    )
    pairs = "\n".join(f"  {p.question}:\n  {'':<14} {' '.join(p.first)} - {' '.join(p.second)}" for p in PAIRS)
    parser = argparse.ArgumentParser(
        description=__doc__,
        epilog=f"configurations:\n{configurations}\n\npaired differences (first - second):\n{pairs}",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--names",
        nargs="+",
        choices=[c.name for c in CONFIGURATIONS],
        metavar="NAME",
        help=f"configurations to run, of: {' '.join(c.name for c in CONFIGURATIONS)} (default: all)",
    )
    parser.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="a param override added to every configuration (dvc exp run -S syntax; repeatable), "
        "e.g. --set 'train.seeds=[0]' --set split.folds=3",
    )
    parser.add_argument(
        "--jobs", type=int, default=1, help="experiments DVC runs at a time (dvc exp run --run-all --jobs; default 1)"
    )
    parser.add_argument(
        "--reuse",
        action="store_true",
        help="read the experiments of those names already on the current commit instead of rerunning them "
        "(they must have the configuration's overrides and the --set values); run only the missing ones",
    )
    parser.add_argument("--markdown", metavar="FILE", help="also write the tables to FILE")
    parser.add_argument(
        "--readme",
        action="store_true",
        help="also write the short table (means and paired differences) into README.md's marked block, linking FILE",
    )
    parser.add_argument(
        "--log",
        metavar="FILE",
        help="where DVC's whole output of the run goes (default: a file in the system temp dir, named when it runs)",
    )
    args = parser.parse_args(argv)
    if args.jobs < 1:
        parser.error("--jobs must be at least 1")
    for item in args.set:
        if "=" not in item:
            parser.error(f"--set {item!r}: expected KEY=VALUE")
    return args


# ---------------------------------------------------------------------------
# 1. DVC's experiments
# ---------------------------------------------------------------------------


def dvc_environment() -> dict[str, str]:
    """The environment of every dvc command. PYTHONPATH `src` (relative: each stage's Python resolves it in
    its own working directory) makes a queued experiment's stages import the avemo of the experiment's own
    snapshot: the editable install points at the workspace's src/, which may have changed since the
    experiment was queued."""
    pythonpath = os.pathsep.join(p for p in ("src", os.environ.get("PYTHONPATH", "")) if p)
    return dict(os.environ, PYTHONPATH=pythonpath, PYTHONUNBUFFERED="1")


def dvc(*words: str) -> str:
    """Run `dvc <words>` in the repository root; its stdout, or exit with its error."""
    command = [sys.executable, "-m", "dvc", *words]
    result = subprocess.run(command, cwd=REPO, env=dvc_environment(), capture_output=True, text=True)
    if result.returncode != 0:
        sys.exit(f"{shlex.join(['dvc', *words])} failed ({result.returncode}):\n{result.stderr[-3000:]}")
    return result.stdout


def experiments_of(baseline: str | None) -> tuple[str, dict[str, dict]]:
    """The commit (HEAD where `baseline` is None) and its experiments that finished, by name: each the
    newest one's `dvc exp show --json` revision (rev, timestamp, params, metrics, outs ...)."""
    shown = json.loads(dvc("exp", "show", "--json", *(["--rev", baseline] if baseline else [])))
    commit = next(entry for entry in shown if entry["rev"] != "workspace")
    finished: dict[str, dict] = {}
    for experiment in commit.get("experiments") or []:
        state = (experiment.get("executor") or {}).get("state", "success")
        for revision in experiment.get("revs") or []:
            data = revision.get("data") or {}
            name = revision.get("name") or experiment.get("name")
            if state != "success" or revision.get("error") or not data.get("metrics"):
                continue  # queued, running or failed: no results to read
            if name not in finished or data["timestamp"] > finished[name]["timestamp"]:
                finished[name] = data
    return commit["rev"], finished


def queue_and_run(configurations, sets: list[str], jobs: int, log_path: Path) -> None:
    """Queue one experiment per configuration and run the queue, DVC's output to `log_path` and its
    progress (experiments and stages) to stderr."""
    for configuration in configurations:
        overrides = [*configuration.overrides, *sets]  # the last -S of a key wins: --set over the configuration
        dvc("exp", "run", "--queue", "--name", configuration.name, *(word for o in overrides for word in ("-S", o)))
        print(f"queued {configuration.name}: -S {' -S '.join(overrides)}", file=sys.stderr, flush=True)
    # --run-all starts the workers and waits for each task's result; `dvc queue start` alone would return at once
    command = [sys.executable, "-m", "dvc", "exp", "run", "--run-all", "--jobs", str(jobs)]
    progress = re.compile(r"^(Reproducing experiment|Running stage|Ran experiment|ERROR|WARNING|\w+: \d+ models)")
    started = time.perf_counter()
    print(f"running the queue ({jobs} at a time); DVC's output: {log_path}", file=sys.stderr, flush=True)
    with (
        open(log_path, "w") as log,
        subprocess.Popen(
            command, cwd=REPO, env=dvc_environment(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
        ) as process,
    ):
        for line in process.stdout:
            log.write(line)
            if progress.match(line):
                print(f"  [{time.perf_counter() - started:6.0f} s] {line.rstrip()}", file=sys.stderr, flush=True)
    if process.returncode != 0:
        print(f"dvc exp run --run-all exited with {process.returncode}; see {log_path}", file=sys.stderr)
    print(f"queue done in {time.perf_counter() - started:.0f} s", file=sys.stderr, flush=True)


MISSING = object()  # a params key that a params.yaml does not have


def value_at(params: dict, dotted: str):
    value = params
    for key in dotted.split("."):
        if not isinstance(value, dict) or key not in value:
            return MISSING
        value = value[key]
    return value


def override_value(text: str):
    """The value of a -S override as DVC writes it into params.yaml: YAML, except that 1e-3 is a number
    there (Hydra's grammar) where YAML 1.1 reads a string."""
    value = yaml.safe_load(text)
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            pass
    return value


def override_mismatches(params: dict, overrides) -> list[str]:
    """The overrides (key=value) whose value an experiment's params.yaml does not hold."""
    mismatches = []
    for override in overrides:
        key, _, value = override.partition("=")
        held = value_at(params, key.strip())
        if held is MISSING or held != override_value(value):
            mismatches.append(f"{key}={value} (it has {'no such key' if held is MISSING else json.dumps(held)})")
    return mismatches


@dataclass
class Experiment:
    configuration: Configuration
    rev: str  # the experiment's commit
    params: dict  # its params.yaml
    metrics: dict  # metrics file -> its values
    predictions: pd.DataFrame  # data/predictions.csv, PREDICTION_KEYS
    split: pd.DataFrame  # data/split.csv
    train_seconds: dict  # kind -> seconds its training stage took, from the run's log (machine-dependent, so
    # not a metric: metrics must be the same bytes on every machine)

    def training(self, kind: str, key: str):
        if key == "train_seconds":
            return self.train_seconds.get(kind)
        return self.metrics.get(f"metrics/train_{kind}.json", {}).get(key)


TRAINING_DONE = re.compile(r"^train_(audio|video|av): \d+ models, .*; (\d+) s$", re.MULTILINE)


def training_seconds(name: str) -> dict:
    """The seconds each training stage of experiment `name` took, from its last line in `dvc queue logs`."""
    result = subprocess.run(
        [sys.executable, "-m", "dvc", "queue", "logs", name],
        cwd=REPO,
        env=dvc_environment(),
        capture_output=True,
        text=True,
    )
    return (
        {kind: int(seconds) for kind, seconds in TRAINING_DONE.findall(result.stdout)} if result.returncode == 0 else {}
    )


def read_experiment(configuration: Configuration, shown: dict) -> Experiment:
    """One experiment from its `dvc exp show --json` revision; its DVC-cached outputs by dvc.api at its commit."""
    import dvc.api

    from avemo.corpus.split_table import read_split

    def cached(path: str) -> io.StringIO:
        return io.StringIO(dvc.api.read(path, repo=str(REPO), rev=shown["rev"]))

    predictions = pd.read_csv(cached("data/predictions.csv"), dtype={"clip": str, "true": str, "predicted": str})
    return Experiment(
        configuration=configuration,
        rev=shown["rev"],
        params=shown["params"]["params.yaml"]["data"],
        metrics={path: value.get("data", {}) for path, value in shown["metrics"].items()},
        predictions=predictions[PREDICTION_KEYS],
        split=read_split(cached("data/split.csv")),
        train_seconds=training_seconds(configuration.name),
    )


def run_experiments(args, configurations) -> tuple[str, list[Experiment], list[str]]:
    """The commit, the experiments of `configurations` (run or reused) and the names that have none."""
    baseline, existing = experiments_of(None)
    if args.reuse:
        for configuration in configurations:
            if configuration.name in existing:
                params = existing[configuration.name]["params"]["params.yaml"]["data"]
                mismatches = override_mismatches(params, [*configuration.overrides, *args.set])
                if mismatches:
                    sys.exit(
                        f"experiment {configuration.name} was run with other params: {'; '.join(mismatches)}. "
                        "Rerun it (without --reuse) or pass the --set values it was run with."
                    )
        to_run = [c for c in configurations if c.name not in existing]
        if len(to_run) < len(configurations):
            reused = " ".join(c.name for c in configurations if c.name in existing)
            print(f"reusing the experiments {reused} of {baseline[:7]}", file=sys.stderr)
    else:
        to_run = list(configurations)
        # DVC refuses to queue a name that an experiment of the commit has. Removed by its full ref: a bare
        # name may also belong to an experiment of another commit, and `dvc exp remove` takes no commit sha.
        stale = [f"refs/exps/{baseline[:2]}/{baseline[2:]}/{c.name}" for c in configurations if c.name in existing]
        if stale:
            dvc("exp", "remove", *stale)
    if to_run:
        log_path = Path(args.log) if args.log else Path(tempfile.mkstemp(prefix="avemo-ablation-", suffix=".log")[1])
        queue_and_run(to_run, args.set, args.jobs, log_path)
        baseline, existing = experiments_of(baseline)  # the commit they were queued on, even if HEAD moved
    experiments, missing = [], []
    for configuration in configurations:
        if configuration.name in existing:
            experiments.append(read_experiment(configuration, existing[configuration.name]))
        else:
            missing.append(configuration.name)
            print(f"no results for {configuration.name}: `dvc queue logs {configuration.name}`", file=sys.stderr)
    return baseline, experiments, missing


# ---------------------------------------------------------------------------
# 2. tables
# ---------------------------------------------------------------------------


def accuracy_cell(summary: dict | None) -> str:
    if summary is None:
        return "n/a"
    low, high = summary["accuracy_ci95"]
    return f"{summary['accuracy']:.3f} ± {summary['accuracy_std']:.3f} [{low:.3f}, {high:.3f}]"


def difference_cell(difference: dict) -> str:
    from avemo.evaluation.statistics import format_p

    low, high = difference["difference_ci95"]
    return f"{difference['difference']:+.3f} [{low:+.3f}, {high:+.3f}], p {format_p(difference['p_value'])}"


def count_cell(value) -> str:
    if value is None:
        return "n/a"
    value = float(value)
    for size, suffix in ((1e6, "M"), (1e3, "k")):
        if value >= size:
            return f"{value / size:.3g}{suffix}"
    return f"{value:.0f}"


def seconds_cell(value) -> str:
    return "n/a" if value is None else f"{float(value):.0f} s"


def per_kind(experiment: Experiment, key: str, cell) -> str:
    """audio / video / AV figures of one training metric, or one n/a where no model reports it."""
    values = [experiment.training(kind, key) for kind in KINDS]
    return "n/a" if all(v is None for v in values) else " / ".join(cell(v) for v in values)


def by_comparison(experiment: Experiment) -> dict[str, pd.DataFrame]:
    return {key: rows.drop(columns="comparison") for key, rows in experiment.predictions.groupby("comparison")}


def warn_unlike_metrics(experiment: Experiment, summaries: dict[str, dict]) -> None:
    """Say so where an accuracy from the predictions differs from the experiment's metrics/eval_cross.json
    (rounded to 4 decimals there): its predictions and metrics would not be of one run."""
    reported = experiment.metrics.get("metrics/eval_cross.json", {})
    for key, summary in summaries.items():
        accuracy = (reported.get(key) or {}).get("accuracy")
        if accuracy is not None and abs(summary["accuracy"] - accuracy) > 1e-4:
            print(
                f"warning: {experiment.configuration.name} {key}: accuracy {summary['accuracy']:.4f} from "
                f"data/predictions.csv, {accuracy} in metrics/eval_cross.json",
                file=sys.stderr,
            )


def wrapped(text: str) -> str:
    return textwrap.fill(text, width=120, break_long_words=False, break_on_hyphens=False)


def describe_data(experiments: list[Experiment]) -> str:
    params = experiments[0].params
    folds = sorted({int(e.params["split"]["folds"]) for e in experiments})
    seeds = sorted({len(e.params["train"]["seeds"]) for e in experiments})
    repeats = (
        f"{folds[0] * seeds[0]} repeats per configuration ({folds[0]} folds x {seeds[0]} training "
        f"seed{'s' if seeds[0] > 1 else ''})"
        if len(folds) == len(seeds) == 1
        else f"repeats differ between configurations (folds {folds}, training seeds {seeds})"
    )
    if params["data"]["raw_dir"] == SAMPLE_CLIPS:
        data = (
            f"SYNTHETIC data: the embedded sample of one sample seed (sample.seed {params['sample']['seed']}, "
            f"{params['sample']['actors']} actors), so these figures describe that sample, not real emotion "
            "recognition, and another sample seed may rank the configurations otherwise"
        )
    else:
        data = f"data: the clips of {params['data']['raw_dir']}"
    return f"{data}; {repeats}, every configuration on the same split and seeds."


def tables(
    baseline: str,
    experiments: list[Experiment],
    missing: list[str],
    baselines: list[dict],
    args,
    n_boot: int,
    seed: int,
) -> str:
    """The page (markdown), and its short form for the README (the means, and the paired differences)."""
    from avemo.evaluation.statistics import format_p, paired_difference, summarise

    lines = ["# Ablation: the shared encoder's configurations", ""]
    short = [
        "| configuration | audio | video | AV | trainable weights (audio / video / AV) | training time |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    if experiments:
        classes = sorted(experiments[0].split["emotion"].unique())
        lines += [
            wrapped(
                f"DVC experiments of commit {baseline[:7]}, one per configuration (`dvc exp show`), each run with "
                f"its overrides{' and ' + ' '.join(f'`-S {s}`' for s in args.set) if args.set else ''}. "
                + describe_data(experiments)
                + f" Test accuracy: mean ± sd over the repeats [95% interval: bootstrap of the "
                f"{experiments[0].predictions['actor'].nunique()} test actors, {n_boot} resamples, each actor "
                "with all its clips and seeds]. AV - better single: the AV model on both minus the better of "
                "the audio and video models, paired by clip, with its actor-bootstrap interval and a two-sided "
                "sign-flip test over actors. Trainable parameters per model (audio / video / AV) as "
                "metrics/train_<kind>.json reports them; training time per model from the experiment's log "
                "(`dvc queue logs`), n/a where the stage did not run in it (its params are the commit's, so DVC "
                "took the commit's models; `python bench/repro.py` times the commit's own). The tables say how "
                "the configurations compare on this data and these repeats; they do not say why, nor whether "
                "the ranking holds on real CREMA-D."
            ),
            "",
        ]
        lines += [
            f"- `{c.name}` (`{' '.join('-S ' + o for o in c.overrides)}`): {c.description}"
            for c in (e.configuration for e in experiments)
        ]
        lines += [
            "",
            "| configuration | audio | video | AV | AV - better single | audio on faces | video on audio "
            "| trainable parameters | training time |",
            "| --- | --- | --- | --- | --- | --- | --- | --- | --- |",
        ]
        comparisons = {e.configuration.name: by_comparison(e) for e in experiments}
        for experiment in experiments:
            rows = comparisons[experiment.configuration.name]
            summaries = {key: summarise(table, classes, n_boot, seed) for key, table in rows.items()}
            warn_unlike_metrics(experiment, summaries)
            singles = [k for k in ("audio", "video") if OWN_COMPARISON[k] in summaries]
            gain = "n/a"
            if "av_on_both" in rows and singles:
                better = max(singles, key=lambda kind: summaries[OWN_COMPARISON[kind]]["accuracy"])
                difference = paired_difference(rows["av_on_both"], rows[OWN_COMPARISON[better]], n_boot, seed)
                gain = f"{difference_cell(difference)} ({better})"
            cells = [
                f"`{experiment.configuration.name}`",
                *(accuracy_cell(summaries.get(OWN_COMPARISON[kind])) for kind in KINDS),
                gain,
                *(accuracy_cell(summaries.get(key)) for key in CROSS_COMPARISONS),
                per_kind(experiment, "trainable_parameters", count_cell),
                per_kind(experiment, "train_seconds", seconds_cell),
            ]
            lines.append("| " + " | ".join(cells) + " |")
            own = [summaries.get(OWN_COMPARISON[kind]) for kind in KINDS]
            means = [f"{o['accuracy']:.3f} ± {o['accuracy_std']:.3f}" if o else "n/a" for o in own]
            short.append("| " + " | ".join([cells[0], *means, cells[-2], cells[-1]]) + " |")

        answered = [
            p
            for p in PAIRS
            if all(name in comparisons and key in comparisons[name] for name, key in (p.first, p.second))
        ]
        if answered:
            lines += [
                "",
                "## Paired differences",
                "",
                wrapped(
                    "First minus second, test accuracy paired clip by clip within each repeat (fold and seed); "
                    "each actor's difference over all its clips and seeds is one observation: the interval is the "
                    f"actor bootstrap ({n_boot} resamples), p the two-sided sign-flip test over actors. "
                    f"{len(answered)} tests, not corrected for multiple comparisons."
                ),
                "",
                "| question | first | second | difference [95% interval] | p | actors | clips |",
                "| --- | --- | --- | --- | --- | --- | --- |",
            ]
            short += ["", "| question (first minus second) | difference [95% interval] | p |", "| --- | --- | --- |"]
            for pair in answered:
                first, second = (comparisons[name][key] for name, key in (pair.first, pair.second))
                difference = paired_difference(first, second, n_boot, seed)
                low, high = difference["difference_ci95"]
                interval = f"{difference['difference']:+.3f} [{low:+.3f}, {high:+.3f}]"
                lines.append(
                    f"| {pair.question} | `{pair.first[0]}` {pair.first[1]} | `{pair.second[0]}` {pair.second[1]} "
                    f"| {interval} | {format_p(difference['p_value'])} | {difference['actors']} "
                    f"| {difference['clips']} |"
                )
                short.append(f"| {pair.question} | {interval} | {format_p(difference['p_value'])} |")
    else:
        lines.append("No experiment has results.")
    if missing:
        lines += ["", f"No results (`dvc queue logs <name>` says why): {', '.join(missing)}."]

    if baselines:
        folds = len(baselines[0]["weight_decays"])
        lines += [
            "",
            "## Crude baselines",
            "",
            wrapped(
                "How much a shortcut explains: per fold of the same split, a multinomial logistic regression on "
                "inputs standardised by the train part, trained on the train part with the weight decay (of "
                f"{', '.join(f'{d:g}' for d in WEIGHT_DECAYS)}) that scored best on the validation part, scored on "
                "the test part; on the preprocessed spectrograms and faces in the workspace (data/melspec, "
                f"data/faces). Accuracy: mean ± sd over the {folds} folds [95% actor-bootstrap interval]; vs chance: "
                "the sign-flip test over actors against 1 / classes."
            ),
            "",
            "| baseline | inputs | accuracy | vs chance | weight decay per fold |",
            "| --- | --- | --- | --- | --- |",
        ]
        for result, column in reversed(list(zip(baselines, (1, 2)))):  # statistics: the audio column, thumbnails: video
            cells = ["", "", "", "", ""]
            cells[column - 1] = f"{result['summary']['accuracy']:.3f} ± {result['summary']['accuracy_std']:.3f}"
            short.insert(2 + len(experiments), f"| baseline: {result['name']} | " + " | ".join(cells) + " |")
        for result in baselines:
            summary = result["summary"]
            lines.append(
                f"| {result['name']} | {result['inputs']} | {accuracy_cell(summary)} | "
                f"p {format_p(summary['chance_p_value'])} | {' '.join(f'{d:g}' for d in result['weight_decays'])} |"
            )
    return "\n".join(lines) + "\n", short


README_START = "<!-- the table bench/ablation.py --readme writes: do not edit by hand -->"
README_END = "<!-- end of the table bench/ablation.py --readme writes -->"


def write_readme_table(short: list[str], page: str) -> None:
    """Replace the README's lines between README_START and README_END by `short` and a link to `page`."""
    readme = REPO / "README.md"
    text = readme.read_text()
    if README_START not in text or README_END not in text:
        sys.exit(f"README.md has no {README_START} ... {README_END} block to write the table into")
    before, rest = text.split(README_START, 1)
    after = rest.split(README_END, 1)[1]
    block = "\n".join(
        [README_START, *short, "", f"The whole table, with intervals and baselines: [{page}]({page}).", README_END]
    )
    readme.write_text(before + block + after)


def main(argv=None) -> int:
    from avemo.corpus.split_table import read_split

    argv = sys.argv[1:] if argv is None else argv
    args = parse_args(argv)
    configurations = [c for c in CONFIGURATIONS if not args.names or c.name in args.names]
    eval_params = yaml.safe_load((REPO / "params.yaml").read_text())["eval"]
    n_boot, seed = int(eval_params["bootstrap"]), int(eval_params["seed"])

    started = time.perf_counter()
    baseline, experiments, missing = run_experiments(args, configurations)
    print(f"experiments: {time.perf_counter() - started:.0f} s", file=sys.stderr)

    started = time.perf_counter()
    # the baselines on the experiments' split (the quick runs' folds too), else on the workspace's
    split = experiments[0].split if experiments else read_split(REPO / "data" / "split.csv")
    baselines = run_baselines(split, REPO / "data", n_boot, seed)
    print(f"baselines: {time.perf_counter() - started:.0f} s", file=sys.stderr)

    text, short = tables(baseline, experiments, missing, baselines, args, n_boot, seed)
    print(text)
    if args.markdown:
        command = shlex.join(["python", "bench/ablation.py", *argv])
        Path(args.markdown).parent.mkdir(parents=True, exist_ok=True)
        Path(args.markdown).write_text(f"{text}\nMade by `{command}`.\n")
        print(f"wrote {args.markdown}", file=sys.stderr)
    if args.readme:
        if not args.markdown:
            sys.exit("--readme links the page --markdown writes: give both")
        write_readme_table(short, Path(args.markdown).resolve().relative_to(REPO).as_posix())
        print("wrote the table into README.md", file=sys.stderr)
    return 1 if missing else 0


if __name__ == "__main__":
    sys.exit(main())

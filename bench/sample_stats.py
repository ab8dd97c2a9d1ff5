"""What the synthetic sample lets a model learn: the pipeline's models across splits.

For one sample seed (or several: --seeds), and optionally another emotion set, this
1. generates the corpus with the `sample` stage (timed) into OUT/sample, from a temporary params file
   (OUT/params.yaml: the params with the sample overrides, data.* pointing at OUT);
2. runs list_clips, the four preprocessing stages and embed on it with dvc.yaml's commands (subprocesses;
   their data/ paths moved into OUT, AVEMO_JOBS=--jobs), and reports the share of clips face_crop marks
   `ok` (MTCNN found the face). Two variants of the inputs are prepared the same way, each from a params
   file that differs from OUT/params.yaml in one setting only:
   - the frozen probe's features (unless --no-probe, and only where encoder.trainable is not none): embed
     with encoder.trainable none (OUT/params-probe.yaml) into OUT/embeddings-probe;
   - the faces of another frame (unless --no-frame-effect): extract_middle_frame, face_crop and embed with
     frame.position --frame-position P (default 0.15; OUT/frame-P/params.yaml) into OUT/frame-P/frames,
     faces and embeddings, the corpus and the spectrograms being OUT's;
3. for each split kind, the pipeline's own code end to end: the split stage's make_split, the training
   stages' run_training (one model per fold and per train.seeds; unless encoder.trainable is all, trained
   on the embed stage's cached frozen-layer outputs as the stages train) and eval_cross's cross_predictions on the test
   parts, of which it keeps the audio model on spectrograms, the video model on faces and the AV model
   on both. The split kinds:
   - actor-independent: split.scheme `actors` (no test actor in training);
   - clip-level: split.scheme `clips` (the course project's), every actor in train, validation and test;
   every other setting (folds, candidates, encoder, epochs, ...) is the params'; --repeats R splits each
   kind with the split seeds split.seed, split.seed + 1, ..., split.seed + R - 1. On the same split tables:
   - the crude baselines of bench/crude_baselines.py on OUT/melspec (spectrogram statistics, the audio side)
     and OUT/faces (face thumbnail, the video side), on every split kind and repeat: a logistic regression
     per fold, so its figures are over the folds (one fit each), not over training seeds;
   - the frozen probe: the audio, video and AV models with encoder.trainable none on the probe's features,
     on the actor-independent split (every repeat); where encoder.trainable is none already, the probe is
     the main models and is not trained twice;
   - the frame-position effect: the video model alone on the faces of frame.position P, on the
     actor-independent split (every repeat), paired with the main video model by (repeat, fold, seed);
4. prints mean +- sd (min..max) of test accuracy per model and split kind (over the models: split
   seeds x folds x training seeds), the crude baselines and the probe beside them, the gaps the sample is
   designed to show, the frame-position effect (the video model at the params' frame.position minus at P:
   mean and sd over the paired models, and in how many the params' position scores higher), accuracy by
   intensity level and by ambiguity (clear, ambiguous face, ambiguous voice), an exact binomial test of each
   model against chance over clips (on each split seed's first training seed, where every clip is tested once;
   eval_cross tests over actors instead, the stricter unit), how well the same models name the actor from
   each modality's features (the clip-level split of split.seed, actors as the labels; --no-speaker-id
   skips it), and issue 17's targets, met or not; the same figures go to OUT/summary.json, the main models'
   test predictions to OUT/predictions.csv, the crude baselines', the probe's and the frame run's to
   OUT/predictions-crude.csv, predictions-probe.csv and predictions-frame.csv.

Issue 17's targets (3 classes, actor-independent): the crude baselines at least .08 below the trained
models on each modality; the frozen probe below the trained video model (listed only where a separate
probe was trained); AV above the better single model; clip-level minus actor-independent on the better
single modality at least .08; the video model at the params' frame.position at least .04 above it at P
(listed unless --no-frame-effect); audio and video each in [.55, .85], AV at most .95; face_crop ok on at
least .98 of the clips; on the default corpus, the sample stage under 40 s. On 6 classes: every model
above chance (binomial p < .05) and AV above each single modality, then the same face_crop and time checks.

It is a benchmark: it prints figures and asserts nothing. Run from the repository root:

    python bench/sample_stats.py --seed 0                      # the default sample (3 classes)
    python bench/sample_stats.py --seed 1 --emotions ANG DIS FEA HAP NEU SAD
    python bench/sample_stats.py --seed 0 --set speaker_style=0   # what-if on a sample param
    python bench/sample_stats.py --seeds 0 1 2 3 --markdown docs/sample-stats.md   # the docs' figures
    python bench/sample_stats.py --seed 7 --set actors=9 --no-speaker-id --no-frame-effect   # a quick look

A rerun with the same params reuses OUT (corpus and features, the probe's features and the frame's faces,
each where the params of its stages and the corpus it was made from are unchanged: OUT/times.json,
times-probe.json and frame-P/times.json record what made them) and only retrains the models; --fresh
regenerates. OUT defaults to a folder in the system temp dir named by the sample params (with --seeds, one per
seed; a given --out gets a subfolder seed<N> per seed).
"""

from __future__ import annotations

import avemo.kernels  # noqa: F401  (first: holds numpy's and torch's CPU kernels; see its docstring)

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
from dataclasses import dataclass, replace
from pathlib import Path

import pandas as pd
import yaml
from crude_baselines import BASELINES, baseline_predictions, one_thread, usable_features  # bench/, the script's folder

REPO = Path(__file__).resolve().parents[1]
MODELS = ("audio", "video", "av")
# eval_cross's comparison that is each model on its own inputs
COMPARISON_OF = {"audio": "audio_on_audio", "video": "video_on_faces", "av": "av_on_both"}
SPLIT_KINDS = {"actor-independent": "actors", "clip-level": "clips"}  # split kind -> split.scheme
SUMMARY_KEYS = {"actor-independent": "actor_independent", "clip-level": "clip_level"}  # split kind -> summary key
# The stages that make the corpus and the encoder's features, in dvc.yaml's order; their params sections
# (read from dvc.yaml) decide whether OUT's corpus and features still hold for a rerun.
PREPARING_STAGES = ("sample", "list_clips", "extract_audio", "melspec", "extract_middle_frame", "face_crop", "embed")
TRAINING_SECTIONS = ("lr", "encoder", "train", "fusion", "split")  # what run_training and make_split read
CRUDE = {"audio": "spectrogram statistics", "video": "face thumbnail"}  # modality -> its crude baseline
# What the frame-position effect prepares again: the stages that read frame.position and those after it
FRAME_STAGES = ("extract_middle_frame", "face_crop", "embed")


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
        "--no-probe",
        dest="probe",
        action="store_false",
        help="no frozen probe (the models with encoder.trainable none) beside the params' models",
    )
    parser.add_argument(
        "--frame-position",
        type=float,
        default=0.15,
        metavar="P",
        help="frame.position of the frame-position effect (default 0.15; the params' own is the other side)",
    )
    parser.add_argument(
        "--no-frame-effect",
        dest="frame_effect",
        action="store_false",
        help="no frame-position effect (no faces of --frame-position, no video models on them)",
    )
    parser.add_argument(
        "--no-speaker-id", dest="speaker_id", action="store_false", help="skip the speaker-identification training"
    )
    parser.add_argument(
        "--markdown", metavar="FILE", help="also write the report of every seed to FILE (e.g. docs/sample-stats.md)"
    )
    args = parser.parse_args(argv)
    if not 0 <= args.frame_position <= 1:
        parser.error("--frame-position must be in 0..1")
    return args


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


def preparing_sections(names=PREPARING_STAGES) -> list[str]:
    """The params sections the stages `names` read, as dvc.yaml lists them."""
    stages = dvc_stages()
    return sorted({section for name in names for section in stages[name].get("params", [])})


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


def moved_path(word: str, out: Path, moved: dict[str, Path]) -> Path:
    """A dvc.yaml path data/<name>[/...] in `out`, or in moved[name] where `moved` names another folder."""
    name, _, below = word.removeprefix("data/").partition("/")
    folder = moved.get(name, out / name)
    return folder / below if below else folder


def prepare(out: Path, params_file: Path, jobs: int, names=PREPARING_STAGES, moved: dict | None = None) -> dict:
    """Run the stages `names` (by default generate, preprocess and embed) with dvc.yaml's commands, their data/
    paths moved into `out` (those `moved` names into its folders, see moved_path); returns the stage times."""
    stages = dvc_stages()
    # the machine's load when the timed stage starts: other work on the same cores slows it down
    times = {"load_before_sample": os.getloadavg()[0]} if "sample" in names else {}
    for name in names:
        _python, *words = shlex.split(stages[name]["cmd"])  # python stages/<name>.py --out data/... ...: this Python
        words = [str(moved_path(word, out, moved or {})) if word.startswith("data/") else word for word in words]
        times[name] = run_stage(name, [sys.executable, *words, "--params", str(params_file)], jobs)
    return times


def prepared(
    out: Path,
    params: dict,
    params_file: Path,
    times_file: Path,
    jobs: int,
    fresh: bool,
    names=PREPARING_STAGES,
    moved: dict | None = None,
    made_from: dict | None = None,
) -> tuple[dict, bool]:
    """The stage times of `names` run with `params` (written to `params_file`) as prepare runs them, and whether
    they are an earlier run's: the outputs are reused, unless `fresh`, where `times_file` (written last: a run
    that stops half-way leaves nothing to reuse) is there, the params of those stages are the same and so is
    `made_from` (the times of the run that made their inputs: another corpus means other outputs)."""
    sections = preparing_sections(names)
    earlier = yaml.safe_load(params_file.read_text()) if params_file.is_file() else None
    same = earlier is not None and all(earlier.get(s) == params.get(s) for s in sections)
    params_file.parent.mkdir(parents=True, exist_ok=True)
    params_file.write_text(yaml.safe_dump(params, sort_keys=False))
    if same and times_file.is_file() and not fresh:
        times = json.loads(times_file.read_text())
        if times.get("made_from") == made_from:
            return times, True
    times_file.unlink(missing_ok=True)
    times = {**prepare(out, params_file, jobs, names, moved), "jobs": jobs}
    if made_from is not None:
        times["made_from"] = made_from
    times_file.write_text(json.dumps(times))
    return times, False


# ---------------------------------------------------------------------------
# 3. the pipeline's split, training and test predictions
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Inputs:
    """What the models read: the melspec and face_crop stages' outputs, the embed stage's, list_clips' corpus
    description and extract_middle_frame's folder (its settings: which frames the faces are of)."""

    melspec: Path
    faces: Path
    embeddings: Path
    corpus: Path
    frames: Path

    @classmethod
    def of(cls, folder: Path) -> Inputs:
        """Those that prepare writes into `folder`."""
        return cls(*(folder / name for name in ("melspec", "faces", "embeddings", "corpus.json", "frames")))

    def folders(self) -> dict[str, str]:
        """Each modality's input folder, as cross_predictions takes them."""
        return {"audio": str(self.melspec), "video": str(self.faces)}


def train_and_test(split: pd.DataFrame, folder: Path, inputs: Inputs, params: dict, kinds=MODELS) -> pd.DataFrame:
    """The training stages' models of `kinds` on `split` (written to folder/split.csv; models and metrics in
    `folder`, their per-epoch log in folder/training.log), trained and tested on `inputs` with `params`, and
    eval_cross's predictions of each on its folds' test parts, for the comparisons of COMPARISON_OF
    (crosstest.PREDICTION_COLUMNS, the probabilities and `model`)."""
    from avemo.evaluation.crosstest import cross_predictions
    from avemo.files import write_csv
    from avemo.machine import inference_batch_size
    from avemo.modeling.kinds import MODALITIES_OF
    from avemo.modeling.training_command import run_training, training_parser
    from avemo.preprocess.clipindex import read_index

    write_csv(folder / "split.csv", split)
    folders = inputs.folders()
    models = {kind: folder / "models" / kind for kind in kinds}
    indexes = {m: read_index(f) for m, f in folders.items()}
    with open(folder / "training.log", "w") as log, contextlib.redirect_stderr(log):  # every epoch of every model
        for kind in kinds:
            # the stage's own command line (its parser, so that a new option gets its default here too), less
            # its dvclive folder
            paths = {
                "split": folder / "split.csv",
                "corpus": inputs.corpus,
                "embeddings": inputs.embeddings,
                "models": models[kind],
                "metrics": folder / "metrics" / f"train_{kind}.json",
            }
            if "audio" in MODALITIES_OF[kind]:
                paths["melspec"] = inputs.melspec
            if "video" in MODALITIES_OF[kind]:
                paths.update(faces=inputs.faces, frames=inputs.frames)
            stage_args = training_parser(kind, "").parse_args([f"--{k}={v}" for k, v in paths.items()])
            stage_args.live = None
            run_training(kind, stage_args, params)
        predictions = cross_predictions(
            models, split, indexes, folders, inputs.embeddings, batch_size=inference_batch_size()
        )
    model_of = {comparison: model for model, comparison in COMPARISON_OF.items()}
    return predictions[predictions["comparison"].isin(model_of)].assign(model=predictions["comparison"].map(model_of))


def crude_features(out: Path) -> dict[str, pd.DataFrame]:
    """Each modality's crude baseline features (bench/crude_baselines.py) of every usable clip of `out`."""
    features = {}
    for modality, name in CRUDE.items():
        _, folder, suffix, of_file = BASELINES[name]
        features[modality] = usable_features(out / folder, suffix, of_file)
    return features


def crude_predictions(split: pd.DataFrame, features: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """The crude baselines' test predictions on `split` (fold, seed 0, clip, actor, true, predicted, model: the
    modality), a logistic regression per fold."""
    with one_thread():
        return pd.concat(
            [baseline_predictions(features[m], split)[0].assign(model=m) for m in CRUDE], ignore_index=True
        )


def split_of(clips: pd.DataFrame, out: Path, split_params: dict, scheme: str, seed: int) -> pd.DataFrame:
    """The split stage's table for `scheme` and `seed`, of the clips that preprocessing kept in a modality."""
    from avemo.corpus.splits import make_split
    from avemo.preprocess.clipindex import usable_in_any

    survived = usable_in_any(out / folder for folder in ("melspec", "faces"))
    table, _, _ = make_split(clips, {**split_params, "scheme": scheme, "seed": seed}, survived)
    return table


@dataclass
class Results:
    """Test predictions (kind, repeat, model, fold, seed, clip, actor, true, predicted, correct) of each run."""

    models: pd.DataFrame  # the params' models, every split kind and repeat
    crude: pd.DataFrame  # the crude baselines (model: the modality; seed 0), every split kind and repeat
    speakers: pd.DataFrame | None  # the params' models naming the actor (clip-level, split.seed); None: skipped
    probe: pd.DataFrame | None  # the frozen probe, actor-independent; None: --no-probe
    frame: pd.DataFrame | None  # the video model at --frame-position, actor-independent; None: --no-frame-effect


def evaluate(
    out: Path,
    params: dict,
    repeats: int,
    speaker_id: bool = True,
    probe: tuple[dict, Inputs] | None = None,
    frame: tuple[Path, Inputs] | None = None,
) -> Results:
    """Test predictions of every split kind and repeat: the params' models and the crude baselines; the same
    models trained to name the actor (clip-level split of split.seed) where `speaker_id`; on the actor-independent
    split, the frozen probe where `probe` (its params and inputs) and the video model on the faces of another
    frame where `frame` (its folder, for the models, and its inputs)."""
    from avemo.corpus.clips import read_clip_list

    def scored(predictions: pd.DataFrame, **columns) -> pd.DataFrame:
        return predictions.assign(**columns, correct=predictions["true"] == predictions["predicted"])

    def timed(label: str, split: pd.DataFrame, folder: Path, inputs: Inputs, params: dict, kinds=MODELS):
        started = time.perf_counter()
        predictions = train_and_test(split, folder, inputs, params, kinds=kinds)
        print(f"  {label}: {time.perf_counter() - started:.1f} s", flush=True)
        return predictions

    clips = read_clip_list(out / "clips.csv")
    inputs, features = Inputs.of(out), crude_features(out)
    results, crude, probes, frames, speakers = [], [], [], [], None
    for kind, scheme in SPLIT_KINDS.items():
        for repeat in range(repeats):
            split = split_of(clips, out, params["split"], scheme, int(params["split"]["seed"]) + repeat)
            started = time.perf_counter()
            crude.append(scored(crude_predictions(split, features), kind=kind, repeat=repeat))
            predictions = train_and_test(split, out / "runs" / f"{scheme}-{repeat}", inputs, params)
            print(f"  {kind} split {repeat}: {time.perf_counter() - started:.1f} s", flush=True)
            results.append(scored(predictions, kind=kind, repeat=repeat))
            if scheme == "actors" and probe is not None:
                probe_params, probe_inputs = probe
                folder = out / "runs" / f"probe-{repeat}"
                run = timed(f"frozen probe, split {repeat}", split, folder, probe_inputs, probe_params)
                probes.append(scored(run, kind=kind, repeat=repeat))
            if scheme == "actors" and frame is not None:
                folder, frame_inputs = frame
                label = f"{folder.name}, split {repeat}"
                run = timed(label, split, folder / "runs" / f"{scheme}-{repeat}", frame_inputs, params, ("video",))
                frames.append(scored(run, kind=kind, repeat=repeat))
            if scheme == "clips" and repeat == 0 and speaker_id:  # the same folds, the actor as the label
                named = split.assign(emotion=split["actor"].astype(str))
                run = timed("speaker identification", named, out / "runs" / "speakers", inputs, params)
                speakers = scored(run, kind=kind, repeat=repeat)
    return Results(
        models=pd.concat(results, ignore_index=True),
        crude=pd.concat(crude, ignore_index=True),
        speakers=speakers,
        probe=pd.concat(probes, ignore_index=True) if probes else None,
        frame=pd.concat(frames, ignore_index=True) if frames else None,
    )


# ---------------------------------------------------------------------------
# 4. report
# ---------------------------------------------------------------------------


def model_accuracies(predictions: pd.DataFrame) -> pd.DataFrame:
    """Test accuracy of every model trained: one row per split kind, model, repeat, fold and training seed."""
    keys = ["kind", "model", "repeat", "fold", "seed"]
    return predictions.groupby(keys)["correct"].mean().rename("accuracy").reset_index()


def spread(row) -> str:
    """mean +- sd (min..max) of a row of figures (mean, std, min, max)."""
    return f"{row['mean']:.3f} +- {row['std']:.3f} ({row['min']:.2f}..{row['max']:.2f})"


def frame_effect(per_model: pd.DataFrame, frame: pd.DataFrame, facts: dict) -> dict:
    """The video model at the params' frame.position (per_model: model_accuracies of the main models) against at
    --frame-position (`frame`: its predictions), paired by model (repeat, fold, seed) on the actor-independent
    split, after `facts` (the positions, the ok share of face_crop at P): the difference is params' minus P's."""
    keys = ["repeat", "fold", "seed"]
    at_params = per_model[(per_model["kind"] == "actor-independent") & (per_model["model"] == "video")]
    at_position = model_accuracies(frame)
    paired = pd.concat(
        {
            "params": at_params.set_index(keys)["accuracy"],
            "position": at_position[at_position["model"] == "video"].set_index(keys)["accuracy"],
        },
        axis=1,
    ).dropna()
    difference = paired["params"] - paired["position"]
    return {
        **facts,
        "video_at_position": float(paired["position"].mean()),
        "video_at_params_position": float(paired["params"].mean()),
        "difference": float(difference.mean()),
        "difference_sd": float(difference.std()) if len(difference) > 1 else 0.0,
        "wins": int((difference > 0).sum()),
        "models": len(difference),
    }


def report(
    results: Results,
    clips: pd.DataFrame,
    classes: list[str],
    sample: dict,
    facts: dict,
    probe_separate: bool,
    frame: dict | None,
) -> tuple[dict, list[str]]:
    """The tables as lines of text, and the summary (also written to OUT/summary.json). `probe_separate`: the probe
    was trained apart from the params' models (their encoder.trainable is not none); `frame`: the positions of the
    frame-position effect (position, params_position) and face_crop's ok share at the first."""
    from avemo.evaluation.statistics import chance_p_value, chance_verdict
    from avemo.synth import ClipId, SampleSpec, plan_clip

    chance = 1 / len(classes)
    per_model = model_accuracies(results.models)
    figures = ["mean", "std", "min", "max", "count"]
    summary = per_model.groupby(["kind", "model"])["accuracy"].agg(figures)
    n_models = int(summary["count"].iloc[0])
    n_splits = len(per_model[per_model["kind"] == "actor-independent"][["repeat", "fold"]].drop_duplicates())
    # the crude baselines: one fit per fold, so their figures are over the split folds
    crude_folds = results.crude.groupby(["kind", "model", "repeat", "fold"])["correct"].mean().rename("accuracy")
    crude_summary = crude_folds.reset_index().groupby(["kind", "model"])["accuracy"].agg(figures)
    probe_summary = None
    if results.probe is not None:
        probe_summary = model_accuracies(results.probe).groupby("model")["accuracy"].agg(figures)
    width = 38
    lines = [
        f"clips: {facts['clips']} ({facts['actors']} actors); face_crop ok {facts['face_ok_share']:.3f} "
        f"({facts['face_statuses']})",
        f"sample stage {facts['sample_seconds']:.1f} s with --jobs {facts['jobs']} (load average "
        f"{facts['load_before_sample']:.1f} at its start)",
        "",
        f"Test accuracy, mean +- sd (min..max) over {n_models} models ({n_splits} split folds x {n_models // n_splits} "
        "training seeds); the crude",
        f"baselines over the {n_splits} split folds (one fit each); {len(classes)} classes ({' '.join(classes)}), "
        f"chance {chance:.3f}",
        f"  {'model':{width}} {'actor-independent':>28} {'clip-level':>28} {'clip - actor':>13}",
    ]
    for model in MODELS:
        a, c = summary.loc[("actor-independent", model)], summary.loc[("clip-level", model)]
        lines.append(f"  {model:{width}} {spread(a)}   {spread(c)}   {c['mean'] - a['mean']:+.3f}")
    for modality, name in CRUDE.items():
        a, c = crude_summary.loc[("actor-independent", modality)], crude_summary.loc[("clip-level", modality)]
        label = f"crude {modality} ({name})"
        lines.append(f"  {label:{width}} {spread(a)}   {spread(c)}   {c['mean'] - a['mean']:+.3f}")
    if probe_summary is not None and probe_separate:  # else the probe is the models above
        for model in MODELS:
            label = f"probe {model} (encoder.trainable none)"
            lines.append(f"  {label:{width}} {spread(probe_summary.loc[model])}   {'-':>27}")
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
    crude, crude_sd = (
        {key: {m: float(crude_summary.loc[(kind, m), figure]) for m in CRUDE} for kind, key in SUMMARY_KEYS.items()}
        for figure in ("mean", "std")
    )
    lines += [
        "",
        f"  AV - better single modality ({better}), actor-independent: {fusion_gain:+.3f}; AV beats audio in "
        f"{av_beats['audio']}/{len(wide)} models, video in {av_beats['video']}/{len(wide)}",
        f"  clip-level - actor-independent, better single modality ({better}): {sharing_gain:+.3f}",
        "  the models - their crude baseline, actor-independent: "
        + ", ".join(f"{m} {independent_mean[m] - crude['actor_independent'][m]:+.3f}" for m in CRUDE),
    ]
    if probe_summary is not None:
        lines.append(
            "  the models - the frozen probe, actor-independent: "
            + ", ".join(f"{m} {independent_mean[m] - probe_summary.loc[m, 'mean']:+.3f}" for m in MODELS)
            if probe_separate
            else "  the frozen probe: encoder.trainable is none already, so the probe is the models above"
        )
    effect = None
    if frame is not None:
        effect = e = frame_effect(per_model, results.frame, frame)
        lines += [
            "",
            f"  frame position, the video model on the actor-independent split: {e['video_at_params_position']:.3f} "
            f"at the params' frame.position {e['params_position']:g},",
            f"  {e['video_at_position']:.3f} at {e['position']:g} (face_crop ok {e['face_ok_share']:.3f} there); the "
            f"difference {e['difference']:+.3f} +- {e['difference_sd']:.3f} over {e['models']} models paired by",
            f"  (repeat, fold, seed); {e['params_position']:g} wins in {e['wins']}/{e['models']}",
        ]

    independent = results.models[results.models["kind"] == "actor-independent"]
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

    speaker_id = None
    lines += [
        "",
        f"  speaker identification by the same models ({facts['actors']} actors, chance {1 / facts['actors']:.3f}), "
        "clip-level split:",
    ]
    if results.speakers is not None:
        speaker_means = model_accuracies(results.speakers).groupby("model")["accuracy"].mean()
        speaker_id = {m: float(speaker_means[m]) for m in MODELS}
        lines.append(f"    audio {speaker_id['audio']:.3f}, video {speaker_id['video']:.3f}, AV {speaker_id['av']:.3f}")
    else:
        lines.append("    n/a (--no-speaker-id)")

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
        "crude": crude,
        "crude_sd": crude_sd,
        "probe": None if probe_summary is None else {m: float(probe_summary.loc[m, "mean"]) for m in MODELS},
        "probe_sd": None if probe_summary is None else {m: float(probe_summary.loc[m, "std"]) for m in MODELS},
        "probe_separate": probe_summary is not None and probe_separate,
        "frame_effect": effect,
        "better_single": better,
        "av_minus_better_single": fusion_gain,
        "clip_minus_actor_independent": sharing_gain,
        "av_beats_splits": av_beats,
        "binomial_p": binomial,
    }
    result["targets"] = [{"target": text, "met": met} for text, met in targets(result)]
    lines += ["", "  issue 17 targets:"] + [
        f"    [{'met' if t['met'] else 'NOT MET'}] {t['target']}" for t in result["targets"]
    ]
    return result, lines


def targets(s: dict) -> list[tuple[str, bool]]:
    """Issue 17's targets, met or not (the 3-class ones on 3 classes, the 6-class ones on 6; see the docstring)."""
    a, checks = s["actor_independent"], []
    if len(s["classes"]) == 3:
        crude = s["crude"]["actor_independent"]
        margins = {m: a[m] - crude[m] for m in CRUDE}
        better = max(a["audio"], a["video"])
        checks.append(
            (
                "crude baselines >= .08 below the models: "
                + ", ".join(f"{m} {a[m]:.3f} - {crude[m]:.3f} = {margins[m]:+.3f}" for m in CRUDE),
                all(margin >= 0.08 for margin in margins.values()),
            )
        )
        if s["probe_separate"]:  # where encoder.trainable is none the probe is the video model itself
            checks.append(
                (
                    f"frozen probe below the trained model on faces: probe {s['probe']['video']:.3f} < video "
                    f"{a['video']:.3f}",
                    s["probe"]["video"] < a["video"],
                )
            )
        checks += [
            (
                f"AV above the better single ({s['better_single']}): {a['av']:.3f} vs {better:.3f} "
                f"({s['av_minus_better_single']:+.3f})",
                a["av"] > better,
            ),
            (
                f"clip-level - actor-independent, better single >= .08: {s['clip_minus_actor_independent']:+.3f}",
                s["clip_minus_actor_independent"] >= 0.08,
            ),
        ]
        effect = s["frame_effect"]
        if effect is not None:
            checks.append(
                (
                    f"frame position: video at {effect['params_position']:g} - at {effect['position']:g} >= .04: "
                    f"{effect['video_at_params_position']:.3f} - {effect['video_at_position']:.3f} = "
                    f"{effect['difference']:+.3f}",
                    effect["difference"] >= 0.04,
                )
            )
        checks.append(
            (
                f"audio and video each in [.55, .85]: {a['audio']:.3f}, {a['video']:.3f}; AV <= .95: {a['av']:.3f}",
                all(0.55 <= a[m] <= 0.85 for m in ("audio", "video")) and a["av"] <= 0.95,
            )
        )
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
                f"sample stage < 40 s: {s['sample_seconds']:.1f} s (--jobs {s['jobs']}, load average "
                f"{s['load_before_sample']:.1f} when it started)",
                s["sample_seconds"] < 40,
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


def face_shares(faces: Path) -> tuple[float, str]:
    """The share of face_crop's clips marked ok in `faces`, and the count of each status."""
    index = pd.read_csv(faces / "index.csv")
    return float((index["status"] == "ok").mean()), ", ".join(
        f"{k} {v}" for k, v in index["status"].value_counts().items()
    )


def run_seed(args, seed: int | None, several: bool) -> tuple[dict, list[str]]:
    """Everything above for one sample seed (None: the params'); returns the summary and the report's lines."""
    from avemo.corpus.clips import read_clip_list
    from avemo.params import read_params

    params = effective_params(args, seed)
    out = out_folder(args, params, several).resolve()
    params = work_params(params, out)
    print(f"sample params: {json.dumps(params['sample'])}\nwork folder: {out}", flush=True)
    params_file = out / "params.yaml"
    times, reused = prepared(out, params, params_file, out / "times.json", args.jobs, args.fresh)
    if reused:
        print("  reusing the corpus and features of an earlier run (--fresh regenerates)")
    checked = read_params(params_file, *TRAINING_SECTIONS)  # checked by the schema, as the stages read them
    classes = sorted(params["data"]["classes"])

    probe, probe_seconds = None, None
    probe_separate = args.probe and checked["encoder"]["trainable"] != "none"
    if probe_separate:  # the params but encoder.trainable none, embedded into OUT/embeddings-probe
        probe_params = copy.deepcopy(params)
        probe_params["encoder"]["trainable"] = "none"
        probe_file = out / "params-probe.yaml"
        probe_inputs = replace(Inputs.of(out), embeddings=out / "embeddings-probe")
        probe_times, reused = prepared(
            out,
            probe_params,
            probe_file,
            out / "times-probe.json",
            args.jobs,
            args.fresh,
            ("embed",),
            {"embeddings": probe_inputs.embeddings},
            made_from=times,
        )
        if reused:
            print("  reusing the frozen probe's features of an earlier run")
        probe = (read_params(probe_file, *TRAINING_SECTIONS), probe_inputs)
        probe_seconds = probe_times["embed"]

    frame, frame_facts, frame_seconds = None, None, None
    params_position = float(params["frame"]["position"])
    if args.frame_effect:
        frame_facts = {"position": args.frame_position, "params_position": params_position}
        if args.frame_position == params_position:  # the same faces: the main video models are the other side
            frame_facts["face_ok_share"] = face_shares(out / "faces")[0]
        else:  # the params but frame.position P: frames, faces and embeddings in OUT/frame-P
            folder = out / f"frame-{args.frame_position:g}"
            frame_params = copy.deepcopy(params)
            frame_params["frame"]["position"] = args.frame_position
            frame_inputs = replace(
                Inputs.of(out), faces=folder / "faces", embeddings=folder / "embeddings", frames=folder / "frames"
            )
            moved = {"frames": frame_inputs.frames, "faces": frame_inputs.faces, "embeddings": frame_inputs.embeddings}
            frame_times, reused = prepared(
                out,
                frame_params,
                folder / "params.yaml",
                folder / "times.json",
                args.jobs,
                args.fresh,
                FRAME_STAGES,
                moved,
                made_from=times,
            )
            if reused:
                print(f"  reusing the faces of frame.position {args.frame_position:g} of an earlier run")
            frame = (folder, frame_inputs)
            frame_facts["face_ok_share"] = face_shares(frame_inputs.faces)[0]
            frame_seconds = sum(frame_times[name] for name in FRAME_STAGES)

    started = time.perf_counter()
    results = evaluate(out, checked, args.repeats, args.speaker_id, probe, frame)
    training_seconds = time.perf_counter() - started
    independent = results.models[results.models["kind"] == "actor-independent"]
    if args.probe and not probe_separate:  # encoder.trainable none: the probe is the params' models
        results.probe = independent
    if args.frame_effect and frame is None:  # --frame-position is the params': the same video models
        results.frame = independent[independent["model"] == "video"]
    results.models.to_csv(out / "predictions.csv", index=False)
    for name in ("crude", "probe", "frame"):
        predictions = getattr(results, name)
        if predictions is not None:
            predictions.to_csv(out / f"predictions-{name}.csv", index=False)
    clips = read_clip_list(out / "clips.csv")
    clips = clips[clips["status"] == "ok"]
    face_ok_share, face_statuses = face_shares(out / "faces")
    preparing_seconds = sum(times[name] for name in PREPARING_STAGES)
    facts = {
        "sample": params["sample"],
        "clips": int(len(clips)),
        "actors": int(clips["actor"].nunique()),
        "sample_seconds": times["sample"],
        "jobs": times["jobs"],
        "load_before_sample": times["load_before_sample"],
        "face_ok_share": face_ok_share,
        "face_statuses": face_statuses,
        "default_corpus": not (args.emotions or args.set),
        "preparing_seconds": preparing_seconds,
        "probe_preparing_seconds": probe_seconds,
        "frame_preparing_seconds": frame_seconds,
        "training_seconds": training_seconds,
    }
    summary, lines = report(results, clips, classes, params["sample"], facts, probe_separate, frame_facts)
    preparing = [
        f"{seconds:.0f} s {what}"
        for seconds, what in (
            (preparing_seconds, "to make the corpus and its features"),
            (probe_seconds, "to embed for the probe"),
            (frame_seconds, f"to make the faces at frame.position {args.frame_position:g}"),
        )
        if seconds is not None
    ]
    lines += [
        "",
        f"  time: {', '.join(preparing)};",
        f"  {training_seconds:.0f} s to train and test the models (the crude baselines included)",
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

    def probe(s: dict) -> str:
        return (
            "n/a"
            if s["probe"] is None
            else f"{s['probe']['video']:.3f}" + ("" if s["probe_separate"] else " (= video)")
        )

    def frame(s: dict) -> str:
        e = s["frame_effect"]
        return "n/a" if e is None else f"{e['difference']:+.3f} ({e['position']:g}; {e['wins']}/{e['models']})"

    def speakers(s: dict) -> str:
        return "n/a" if s["speaker_id"] is None else f"{s['speaker_id']['audio']:.3f} / {s['speaker_id']['video']:.3f}"

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
            f"folds x {first['models'] // first['splits']} training seeds), ± their sd. Beside them, on the same "
            "splits: the crude baselines of bench/crude_baselines.py (a logistic regression per fold on spectrogram "
            "statistics and on face thumbnails), the frozen probe (the models with `encoder.trainable: none`) and "
            "the video model on the faces of another frame (`frame.position`). "
            f"{len(first['classes'])} classes ({' '.join(first['classes'])}), chance "
            f"{1 / len(first['classes']):.3f}. The bench's docstring says what each figure is."
        ),
        "",
        "| sample seed | audio | video | AV | AV - better single | video, clip-level | audio, clip-level | crude "
        "audio / video | probe video | frame effect | speaker id audio / video | face_crop ok | sample stage "
        "| issue 17 targets met |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for s, _ in runs:
        a, c = s["actor_independent"], s["clip_level"]
        crude = s["crude"]["actor_independent"]
        met = sum(t["met"] for t in s["targets"])
        lines.append(
            f"| {s['sample']['seed']} | {sd(s, 'actor_independent', 'audio')} | {sd(s, 'actor_independent', 'video')} "
            f"| {sd(s, 'actor_independent', 'av')} | {s['av_minus_better_single']:+.3f} ({s['better_single']}) | "
            f"{c['video']:.3f} ({c['video'] - a['video']:+.3f}) | {c['audio']:.3f} ({c['audio'] - a['audio']:+.3f}) | "
            f"{crude['audio']:.3f} / {crude['video']:.3f} | {probe(s)} | {frame(s)} | {speakers(s)} | "
            f"{s['face_ok_share']:.1%} | {s['sample_seconds']:.1f} s (load {s['load_before_sample']:.1f}) | "
            f"{met}/{len(s['targets'])} |"
        )
    lines += [
        "",
        wrapped(
            "The accuracies are actor-independent unless named clip-level (in brackets: clip-level minus "
            "actor-independent). Crude: the crude baselines' accuracy, mean over the split folds. Probe video: the "
            "video model with the frozen encoder ((= video): `encoder.trainable` is none already, so it is the video "
            "model). "
            "Frame effect: the video model at the params' `frame.position` minus at the position in brackets, "
            "paired by model, and in how many of the models the params' position wins. Speaker id: the share of "
            "test clips whose actor the same models name, trained with the actor as the label on the clip-level "
            "split. n/a: not run."
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

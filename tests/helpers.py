"""Helpers the tests share: shrunk params, running stages and DVC in a copy of the repository, damaged
inputs, and the import graph that says which code each stage runs."""

from __future__ import annotations

import copy
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

REPO_ROOT = Path(__file__).resolve().parents[1]
SRC = REPO_ROOT / "src"
PACKAGE = "avemo"

# What the tests shrink so that each runs in seconds on a 2-core CPU; every other value is params.yaml's.
SHRUNK = {
    "sample": {"actors": 2, "sentences": 1, "levels": [], "duration": 1.0, "fps": 15},
    "melspec": {"duration": 1.0, "n_fft": 256, "n_mels": 16},
    "face": {"image_size": 32},
    "split": {"folds": 3, "candidates": 20},
    "encoder": {"image_size": 32},
    "train": {"epochs": 3, "batch_size": 8, "patience": 2},
    "eval": {"bootstrap": 100},
}


def merged_params(params: dict) -> dict:
    """params.yaml with `params` merged over it section by section."""
    merged = yaml.safe_load((REPO_ROOT / "params.yaml").read_text())
    for key, value in params.items():
        merged[key] = (
            {**merged[key], **value} if isinstance(value, dict) and isinstance(merged.get(key), dict) else value
        )
    return merged


TINY_PARAMS = merged_params(SHRUNK)
DEFAULT_PARAMS = merged_params({})
# The models' tests: a random (not pretrained) encoder, wholly fine-tuned, so nothing loads ImageNet weights.
RANDOM_ENCODER = {**TINY_PARAMS["encoder"], "pretrained": False, "trainable": "all"}
TINY_TRAIN = TINY_PARAMS["train"]


# What the libraries would pick on another machine: numpy and oneDNN at SSE4, ATen without vectors, MKL's own
# choice, one thread. avemo.kernels must override all of it;
# glibc's own choice (its libm and string functions) is held to AVX2 through its tunables.
OTHER_CPU = {
    "NPY_DISABLE_CPU_FEATURES": "X86_V3 X86_V4 AVX512_ICL AVX512_SPR",
    "OPENBLAS_CORETYPE": "Nehalem",
    "ATEN_CPU_CAPABILITY": "default",
    "ONEDNN_MAX_CPU_ISA": "SSE41",
    "MKL_CBWR": "AUTO",
    "OMP_NUM_THREADS": "1",
    "GLIBC_TUNABLES": "glibc.cpu.hwcaps=-AVX512F,-AVX512CD,-AVX512BW,-AVX512DQ,-AVX512VL",
}


def sample_spec(**overrides):
    """The synthetic sample's spec: params.yaml's `sample` section with `overrides`."""
    from avemo.synth import SampleSpec

    return SampleSpec(**{**DEFAULT_PARAMS["sample"], **overrides})


def tiny(section: str) -> dict:
    return copy.deepcopy(TINY_PARAMS[section])


def run_ffmpeg(*args: str) -> bytes:
    from avemo.preprocess.media import ffmpeg_binary

    return subprocess.run([ffmpeg_binary(), "-loglevel", "error", *args], check=True, capture_output=True).stdout


# Damaged inputs, each with the start of the reason it must get in index.csv (per stage kind).
BAD_INPUTS = {
    "1002_DFA_ANG_XX.flv": ("empty file", "empty file"),
    "1003_DFA_HAP_XX.flv": ("truncated", "truncated"),
    "1005_DFA_ANG_XX.flv": ("not a readable media file", "not a readable media file"),
    "1006_DFA_SAD_XX.flv": ("not a readable media file", "not a readable media file"),
    "1007_DFA_HAP_XX.flv": ("no audio track", None),
    "1008_DFA_HAP_XX.flv": (None, "no video track"),
    "1009_DFA_ANG_XX.flv": ("corrupt audio stream", "corrupt video stream"),
    "angry_clip.flv": ("clip list: name", "clip list: name"),
    "notes.txt": ("clip list: name", "clip list: name"),
}


def folder_state(folder: Path) -> dict[str, tuple[int, float]]:
    """Size and modification time of every file: proof that a folder was not written to."""
    return {p.name: (p.stat().st_size, p.stat().st_mtime) for p in sorted(folder.iterdir())}


def write_params(path: Path, params: dict) -> Path:
    path.write_text(yaml.safe_dump(params, sort_keys=False))
    return path


def run_stage(script: str, *args: str, cwd: Path = REPO_ROOT, env: dict | None = None) -> subprocess.CompletedProcess:
    """Run stages/<script>.py with this interpreter, as dvc.yaml does."""
    return subprocess.run(
        [sys.executable, str(REPO_ROOT / "stages" / f"{script}.py"), *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        env={**os.environ, **(env or {})},
    )


def git(repo: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        ["git", "-c", "user.name=t", "-c", "user.email=t@t", *args],
        cwd=repo,
        check=True,
        capture_output=True,
        text=True,
    )


def make_repo_copy(target: Path, params: dict) -> Path:
    """A fresh git repository at `target` holding this checkout's files (not data/, models/ or caches),
    with `params` merged over params.yaml section by section."""
    listed = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard"],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split("\n")
    for name in filter(None, listed):
        source = REPO_ROOT / name
        if source.is_file():
            (target / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target / name)
    write_params(target / "params.yaml", merged_params(params))
    git(target, "init", "-q")
    git(target, "add", "-A")
    git(target, "commit", "-qm", "copy")
    return target


def dvc(repo: Path, *args: str, check: bool = True, env: dict | None = None) -> subprocess.CompletedProcess:
    """Run DVC in `repo` with this interpreter's environment first on PATH (as `python` in dvc.yaml)."""
    env = {
        **os.environ,
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
        "DVC_NO_ANALYTICS": "1",
        **(env or {}),
    }
    done = subprocess.run(
        [str(Path(sys.executable).parent / "dvc"), *args], cwd=repo, capture_output=True, text=True, env=env
    )
    if check and done.returncode != 0:
        raise AssertionError(f"dvc {' '.join(args)} failed ({done.returncode}):\n{done.stdout}\n{done.stderr}")
    return done


def run_preprocessing(raw_dir: Path, out: Path, jobs: int):
    """The four per-clip stages' library functions on a folder of clips, tiny params; returns the clip list."""
    from avemo.corpus import clips as dataset
    from avemo.preprocess.clipindex import read_index
    from avemo.preprocess.extract_audio import run_extract_audio
    from avemo.preprocess.extract_middle_frame import run_extract_middle_frame
    from avemo.preprocess.face_crop import run_face_crop
    from avemo.preprocess.melspec import run_melspec

    clips, _ = dataset.list_clips(raw_dir)
    run_extract_audio(clips, out / "audio", sample_rate=16000, jobs=jobs)
    run_melspec(
        read_index(out / "audio"),
        out / "audio",
        out / "melspec",
        out / "melspec_previews",
        params=tiny("melspec"),
        jobs=jobs,
    )
    run_extract_middle_frame(clips, out / "frames", position=0.5, jobs=jobs)
    run_face_crop(read_index(out / "frames"), out / "frames", out / "faces", params=tiny("face"), jobs=jobs)
    return clips


def reason_of(out: Path, stage: str, clip: str) -> str:
    from avemo.preprocess.clipindex import read_index

    return read_index(out / stage).set_index("clip").at[clip, "reason"]


# A tiny fake corpus for the model tests (the model_corpus fixture): 6 actors x 2 sentences x 3 emotions.
CLASSES = ["ANG", "HAP", "SAD"]
COLOURS = {"ANG": (200, 40, 40), "HAP": (40, 200, 40), "SAD": (40, 40, 200)}
ENCODER = {"arch": "efficientnet_lite0", "pretrained": True, "image_size": 32, "trainable": 1}
DEPTHS = ("none", 1, "all")  # encoder.trainable values model_corpus has embeddings of
FUSION = {"method": "concat", "modality_dropout": 0.3, "sharing": "shared"}
SPECTROGRAM_SETTINGS = {"sample_rate": 16000, "top_db": 80, "n_mels": 16}
FACE_SETTINGS = {"image_size": 48, "margin": 0.2}
FAILED_FACE, FALLBACK_FACE = "1001_IEO_ANG_XX", "1002_IEO_HAP_XX"
# Two folds of six actors: fold 0 trains on 1001-1004, validates on 1005, tests 1006; fold 1 trains on
# 1002-1005, validates on 1006, tests 1001.
FOLDS = {0: {"validation": 1005, "test": 1006}, 1: {"validation": 1006, "test": 1001}}


def part_of(actor: int, fold: int) -> str:
    return next((part for part, who in FOLDS[fold].items() if who == actor), "train")


TRAIN = {**TINY_PARAMS["train"], "epochs": 6, "weight_decay": 0.0, "patience": 3, "dropout": 0.0}


def train_models(
    model_corpus,
    out,
    kind,
    split=None,
    loader_workers=0,
    amp="cuda",
    encoder=None,
    fusion=None,
    synthetic_sample=False,
    **overrides,
):
    """train_repeats on the model_corpus fixture, `overrides` over TRAIN, `encoder` over ENCODER, `fusion`
    over FUSION: (returned metrics, metrics file, repeats.csv). `loader_workers` and `amp` are the machine
    settings; `synthetic_sample` what the checkpoints record of the clips."""
    encoder = {**ENCODER, **(encoder or {})}
    from avemo.modeling.training import train_repeats

    folders = {
        m: model_corpus["folders"][m]
        for m in (("audio", "video") if kind == "av" else ("audio",) if kind == "audio" else ("video",))
    }
    metrics = train_repeats(
        kind,
        split_path=split or model_corpus["split"],
        synthetic_sample=synthetic_sample,
        folders=folders,
        embeddings_dir=model_corpus["embeddings"][encoder["trainable"]],
        frames_dir=model_corpus["frames"],
        encoder=encoder,
        train={**TRAIN, **overrides},
        lr=0.01,
        fusion={**FUSION, **(fusion or {})},
        models_dir=out / kind,
        metrics_path=out / f"train_{kind}.json",
        live_dir=out / "live",
        loader_workers=loader_workers,
        amp=amp,
    )
    return metrics, json.loads((out / f"train_{kind}.json").read_text()), pd.read_csv(out / "live" / "repeats.csv")


def assert_damaged_inputs_reported(index, kind: int) -> None:
    """Every damaged input of BAD_INPUTS has its row in a stage's index (`kind`: 0 audio, 1 video): failed
    with the expected reason, or ok where only the other track is damaged; the good clip is ok."""
    index = index.set_index("clip")
    assert index.at["1001_DFA_ANG_XX", "status"] == "ok" and len(index) == len(BAD_INPUTS) + 1
    for name, reasons in BAD_INPUTS.items():
        row, expected = index.loc[name.removesuffix(".flv")], reasons[kind]
        if expected is None:
            assert row.status == "ok", name
        else:
            assert row.status == "failed" and row.reason.startswith(expected), (name, row.reason)


def report_rows(text: str) -> dict[str, list[str]]:
    """The cells of the report's test-accuracy table, by the row's label."""
    rows = {}
    for line in text.split("## Test accuracy")[1].split("\n\n")[1].splitlines()[2:]:
        cells = [c.strip() for c in line.strip("|").split("|")]
        rows[cells[0]] = cells[1:]
    return rows


def assert_report_equals_metrics(report: str, cross: dict) -> None:
    """Every number of the report's test-accuracy table is the metrics file's own."""
    from avemo.evaluation.report import COMPARISONS

    rows = report_rows(report)
    assert set(rows) == set(COMPARISONS.values())
    for key, label in COMPARISONS.items():
        accuracy, sd, interval, f1, uar, repeats, n, chance = rows[label]
        r = cross[key]
        assert (float(accuracy), float(sd), float(f1), float(uar), int(repeats), float(n)) == (
            r["accuracy"],
            r["accuracy_std"],
            r["macro_f1"],
            r["uar"],
            r["repeats"],
            r["n"],
        ), key
        assert [float(v) for v in re.findall(r"[\d.]+", interval)] == r["accuracy_ci95"], key


# `avemo fetch` / `avemo verify` tests: six real clips of actor 1001, sentence DFA, one per emotion.
SIX_CLIPS = [f"1001_DFA_{emotion}_XX.flv" for emotion in ("ANG", "DIS", "FEA", "HAP", "NEU", "SAD")]
SELECT_SIX = ["--actors", "1001", "--sentences", "DFA"]  # the selection options that make up SIX_CLIPS


def run_avemo(capsys, *args: str) -> tuple[int, str, str]:
    """`avemo ARGS` in this process: (exit status, stdout, stderr)."""
    from avemo.__main__ import main

    status = main(list(args))
    out, err = capsys.readouterr()
    return status, out, err


def python_m_avemo(*args: str, **popen) -> subprocess.Popen:
    """`python -m avemo ARGS` in a process of its own, its stdout and stderr piped as text."""
    env = {**os.environ, "PYTHONPATH": f"{SRC}{os.pathsep}{os.environ.get('PYTHONPATH', '')}"}
    return subprocess.Popen(
        [sys.executable, "-m", "avemo", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        **popen,
    )


def median_f0(audio: np.ndarray, rate: int) -> float:
    """Autocorrelation pitch of the loud (voiced) 2048-sample frames."""
    frames = np.stack([audio[i : i + 2048] for i in range(0, len(audio) - 2048, 512)])
    energy = np.sqrt((frames**2).mean(axis=1))
    loud = frames[energy > 0.3 * energy.max()] * np.hanning(2048)
    autocorr = np.fft.irfft(np.abs(np.fft.rfft(loud, 4096)) ** 2)[:, :2048]
    low, high = rate // 500, rate // 60
    return float(np.median(rate / (low + np.argmax(autocorr[:, low:high], axis=1))))


OWN_COMPARISON = {"audio": "audio_on_audio", "video": "video_on_faces", "av": "av_on_both"}


def assert_predict_gives_eval_cross_probabilities(repo: Path, clips: int = 2) -> None:
    """`avemo predict` with each kind's fold-0 seed-0 checkpoint gives, on test clips of fold 0, the class
    probabilities eval_cross saved for them (data/predictions.csv, p_<CLASS>)."""
    predictions = pd.read_csv(repo / "data" / "predictions.csv", dtype={"clip": str})
    for kind, comparison in OWN_COMPARISON.items():
        own = (predictions["comparison"] == comparison) & (predictions["fold"] == 0) & (predictions["seed"] == 0)
        rows = predictions[own].head(clips)
        paths = [str(repo / "data" / "sample" / "VideoFlash" / f"{clip}.flv") for clip in rows["clip"]]
        done = subprocess.run(
            [sys.executable, "-m", "avemo", "predict", "--json", "--model", f"models/{kind}/fold0_seed0.pt", *paths],
            capture_output=True,
            text=True,
            cwd=repo,
            env={**os.environ, "PYTHONPATH": os.pathsep.join([str(SRC), os.environ.get("PYTHONPATH", "")])},
        )
        assert done.returncode == 0, done.stderr
        for entry, (_, row) in zip(json.loads(done.stdout), rows.iterrows()):
            saved = {c.removeprefix("p_"): row[c] for c in rows.columns if c.startswith("p_")}
            assert saved.keys() == entry["probabilities"].keys(), (kind, entry)
            assert all(abs(saved[c] - p) < 1e-4 for c, p in entry["probabilities"].items()), (kind, saved, entry)
            assert entry["emotion"] == row["predicted"], (kind, entry, row)


# A file of the wrong format for every table: /etc/passwd's lines, one with commas (a GECOS field) past the second.
PASSWD = (
    "root:x:0:0:root:/root:/bin/bash\ndaemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin\n"
    "ann:x:1000:1000:Ann, Room 1:/home/ann:/bin/sh\n"
)

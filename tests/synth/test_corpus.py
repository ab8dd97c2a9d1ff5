"""avemo.synth.corpus and the sample stage: grid and names (levels), layout, media format, determinism,
plans (ambiguity in the raters' pattern), parameter errors, atomic writes, MTCNN-detectable faces."""

from __future__ import annotations

import hashlib
import math
import re
import subprocess
import sys
from pathlib import Path

import av
import numpy as np
import pytest

from avemo import synth
from avemo.corpus.provenance import SAMPLE_MARK, is_sample
from avemo.params import SCHEMA
from avemo.synth import corpus
from avemo.synth.difficulty import RATER_JOINT
from helpers import DEFAULT_PARAMS, sample_spec, tiny, write_params

REPO = Path(__file__).resolve().parents[2]
# Two actors, IEO (at LO and HI) and TIE (XX), and NEU, which CREMA-D records at XX only.
TINY = {
    **DEFAULT_PARAMS["sample"],
    "actors": 2,
    "sentences": 2,
    "emotions": ["ANG", "HAP", "NEU", "SAD"],
    "levels": ["LO", "HI"],
    "duration": 1.0,
    "fps": 30,
    "seed": 0,
}
EXPECTED_NAMES = {
    *(f"{a}_IEO_{e}_{lv}.flv" for a in (1001, 1002) for e in ("ANG", "HAP", "SAD") for lv in ("LO", "HI")),
    *(f"{a}_IEO_NEU_XX.flv" for a in (1001, 1002)),
    *(f"{a}_TIE_{e}_XX.flv" for a in (1001, 1002) for e in ("ANG", "HAP", "NEU", "SAD")),
}


def tiny_corpus(out: Path, jobs: int, **overrides) -> list[Path]:
    return synth.generate_corpus(out, **{**TINY, **overrides}, jobs=jobs, progress=False)


@pytest.fixture(scope="module")
def sample(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("sample")
    tiny_corpus(out, jobs=2)
    return out


def digests(root: Path) -> dict[str, str]:
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


# --- grid, names, layout -------------------------------------------------------------------------


def test_grid_follows_crema_d_levels_and_order():
    grid = synth.clip_grid(sample_spec(actors=1, sentences=2, emotions=("NEU", "HAP")))
    assert [c.name for c in grid] == [
        "1001_IEO_NEU_XX",
        "1001_IEO_HAP_LO",
        "1001_IEO_HAP_MD",
        "1001_IEO_HAP_HI",  # as SentenceFilenames.csv
        "1001_TIE_NEU_XX",
        "1001_TIE_HAP_XX",
    ]
    no_levels = synth.clip_grid(sample_spec(actors=1, sentences=1, emotions=("ANG",), levels=()))
    assert [c.name for c in no_levels] == ["1001_IEO_ANG_XX"]


def test_default_corpus_size():
    # 30 actors x (IEO: 3 emotions x 3 levels + TIE, IOM: 3 emotions at XX)
    assert len(synth.clip_grid(sample_spec())) == 30 * (3 * 3 + 2 * 3) == 450


def test_corpus_has_every_clip_with_crema_d_names_and_no_temp_files(sample):
    names = {p.name for p in (sample / "VideoFlash").iterdir()}
    assert names == EXPECTED_NAMES  # a leftover temp file would show here
    assert all(re.fullmatch(r"\d{4}_[A-Z]{3}_[A-Z]{3}_(LO|MD|HI|XX)\.flv", n) for n in names)
    assert {p.name for p in sample.iterdir()} == {"VideoFlash", "VideoDemographics.csv"}


def test_clips_are_flv_with_crema_d_streams(sample):
    for path in sorted((sample / "VideoFlash").iterdir())[:4]:
        with av.open(str(path)) as container:
            assert "flv" in container.format.name
            video, audio = container.streams.video[0], container.streams.audio[0]
            assert (video.codec_context.width, video.codec_context.height) == (480, 360)
            assert video.codec_context.name == "flv" and audio.codec_context.name.startswith("mp3")
            assert audio.codec_context.sample_rate == 44100 and audio.codec_context.channels == 1
            assert abs(container.duration / 1e6 - TINY["duration"]) <= 0.1, path.name
            assert sum(1 for _ in container.decode(video=0)) == round(TINY["duration"] * TINY["fps"])


def test_demographics_csv_matches_crema_d_format(sample):
    lines = (sample / "VideoDemographics.csv").read_text().splitlines()
    assert lines[0] == '"ActorID","Age","Sex","Race","Ethnicity"'
    row = re.compile(
        r'(\d{4}),\d{2},"(Male|Female)","(Caucasian|African American|Asian|Unknown)","(Hispanic|Not Hispanic)"'
    )
    matches = [row.fullmatch(line) for line in lines[1:]]
    assert all(matches), lines
    assert [(int(m.group(1)), m.group(2)) for m in matches] == [(1001, "Male"), (1002, "Female")]


# --- determinism ---------------------------------------------------------------------------------


def test_identical_bytes_whatever_the_job_count(sample, tmp_path):
    tiny_corpus(tmp_path, jobs=1)
    assert digests(tmp_path) == digests(sample)


def test_seed_changes_the_clips(sample):
    spec = sample_spec(**{**TINY, "seed": 1})
    clip = synth.ClipId(1001, "IEO", "HAP", "HI")
    audio, _ = corpus.render_voice(spec, synth.plan_clip(spec, clip))
    original, _ = corpus.render_voice(sample_spec(**TINY), synth.plan_clip(sample_spec(**TINY), clip))
    assert not np.array_equal(audio, original)


def test_a_clip_does_not_depend_on_the_rest_of_the_grid(sample, tmp_path):
    # fewer actors, sentences and emotions: the clips that remain are the same bytes
    tiny_corpus(tmp_path, jobs=1, actors=1, sentences=1, emotions=("SAD",))
    name = "1001_IEO_SAD_LO.flv"
    assert {p.name for p in (tmp_path / "VideoFlash").iterdir()} == {name, "1001_IEO_SAD_HI.flv"}
    assert (tmp_path / "VideoFlash" / name).read_bytes() == (sample / "VideoFlash" / name).read_bytes()


# --- plans: intensity and ambiguity -------------------------------------------------------------


def big_grid(**params) -> tuple[synth.SampleSpec, list[synth.ClipPlan]]:
    spec = sample_spec(actors=40, sentences=12, emotions=tuple(synth.ALL_EMOTIONS), **params)
    return spec, [synth.plan_clip(spec, clip) for clip in synth.clip_grid(spec)]


@pytest.mark.parametrize("ambiguity", [0.5, 1.0])
def test_ambiguity_follows_the_raters_pattern_per_emotion(ambiguity):
    _, plans = big_grid(ambiguity=ambiguity)
    for emotion in synth.ALL_EMOTIONS:
        mine = [p for p in plans if p.clip.emotion == emotion]
        for modality, share in RATER_JOINT[emotion].items():
            if modality == "clear":
                continue
            expected = ambiguity * share
            count = sum(p.ambiguous == modality for p in mine)
            tolerance = 4 * math.sqrt(len(mine) * expected * (1 - expected)) + 1  # 4 sd of a binomial count
            assert abs(count - len(mine) * expected) <= tolerance, (emotion, modality, count, len(mine) * expected)


def test_an_ambiguous_modality_is_faint_and_a_clear_one_is_not():
    _, plans = big_grid(ambiguity=1.0)
    assert {p.ambiguous for p in plans} == {None, "face", "voice", "both"}
    for plan in plans:
        if plan.ambiguous is None:
            assert plan.face == plan.voice == ((plan.clip.emotion, plan.strength, plan.face[0][2]),)
            continue
        assert plan.distractor not in (plan.clip.emotion, "NEU")
        for modality, mix in (("face", plan.face), ("voice", plan.voice)):
            (emotion, strength, _), *hint = mix
            assert emotion == plan.clip.emotion
            if plan.ambiguous in (modality, "both"):
                assert strength == pytest.approx(corpus.AMBIGUOUS_STRENGTH * plan.strength)
                assert [e for e, _, _ in hint] == [plan.distractor]
            else:
                assert strength == plan.strength and not hint


def test_raising_ambiguity_only_adds_ambiguous_clips():
    _, low = big_grid(ambiguity=0.3)
    _, high = big_grid(ambiguity=0.6)
    assert all(hi.ambiguous == lo.ambiguous for lo, hi in zip(low, high) if lo.ambiguous)
    assert sum(p.ambiguous is not None for p in high) > sum(p.ambiguous is not None for p in low)


def test_levels_set_the_strength():
    spec, plans = big_grid(noise=0.0, speaker_style=0.0)  # no jitter, no expressiveness spread
    by_level = {plan.clip.level: plan.strength for plan in plans}
    assert by_level == pytest.approx(DEFAULT_PARAMS["sample"]["intensity"])
    assert by_level["LO"] < by_level["MD"] < by_level["HI"]


# --- parameters ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "key, value",
    [
        ("actors", 0),
        ("sentences", 13),
        ("emotions", ["JOY"]),
        ("emotions", []),
        ("levels", ["XX"]),
        ("intensity", {"VH": 1.0}),
        ("intensity", {"LO": -1}),
        ("speaker_style", "strong"),
        ("ambiguity", 1.5),
        ("noise", -1),
        ("duration", 0),
        ("fps", 0),
        ("seed", -1),
    ],
)
def test_a_bad_param_is_one_line_naming_its_key(tmp_path, key, value):
    with pytest.raises(ValueError) as error:
        synth.generate_corpus(tmp_path, **{**DEFAULT_PARAMS["sample"], "actors": 1, key: value}, progress=False)
    message = str(error.value)
    assert f"sample.{key}" in message and "\n" not in message, message
    assert not (tmp_path / "VideoFlash").exists()  # checked before anything is written


def test_an_unknown_key_is_rejected_by_name(tmp_path):
    with pytest.raises(ValueError, match="unknown key.*ambiguous\\b"):
        synth.generate_corpus(tmp_path, ambiguous=0.3, progress=False)


# --- writing -------------------------------------------------------------------------------------


def test_killed_write_leaves_no_partial_clip(tmp_path, monkeypatch):
    def crash(path, *args):
        Path(path).write_bytes(b"half a clip")
        raise KeyboardInterrupt

    monkeypatch.setattr(corpus, "encode_flv", crash)
    with pytest.raises(KeyboardInterrupt):
        synth.write_clip(tmp_path / "c.flv", synth.ClipId(1001, "IEO", "ANG", "HI"), sample_spec(duration=1.0))
    assert list(tmp_path.iterdir()) == []


def test_stale_temp_files_are_removed(tmp_path):
    (tmp_path / "VideoFlash").mkdir()
    stale = [tmp_path / "VideoFlash" / ".1001_IEO_SAD_HI.flv.tmp123", tmp_path / ".VideoDemographics.csv.tmp9"]
    for path in stale:
        path.write_bytes(b"x")
    tiny_corpus(tmp_path, jobs=1, actors=1, sentences=1, emotions=("SAD",), levels=("HI",))
    assert not any(path.exists() for path in stale)


def test_stage_cli_writes_the_corpus(tmp_path):
    params = write_params(
        tmp_path / "params.yaml", {"sample": {**tiny("sample"), "actors": 1, "emotions": ["SAD"], "levels": ["HI"]}}
    )
    out = tmp_path / "out"
    result = subprocess.run(
        [sys.executable, str(REPO / "stages" / "sample.py"), "--params", str(params), "--out", str(out), "--jobs", "1"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert "wrote 1 clips" in result.stdout
    # the clip, and the mark that tells list_clips (and every model, the report) that it is synthetic
    assert sorted(p.name for p in (out / "VideoFlash").iterdir()) == [SAMPLE_MARK, "1001_IEO_SAD_HI.flv"]
    assert is_sample(out / "VideoFlash")
    assert (out / "VideoDemographics.csv").is_file()


def test_stage_cli_names_a_bad_key_in_one_line(tmp_path):
    params = write_params(tmp_path / "params.yaml", {"sample": {**tiny("sample"), "ambiguity": 2}})
    result = subprocess.run(
        [sys.executable, str(REPO / "stages" / "sample.py"), "--params", str(params), "--out", str(tmp_path / "out")],
        capture_output=True,
        text=True,
    )
    assert result.returncode != 0
    assert result.stderr.strip().splitlines() == [
        f"sample: {params}: sample.ambiguity is 2; expected a number >= 0 and <= 1"
    ]


def test_stage_help_documents_every_param():
    result = subprocess.run(
        [sys.executable, str(REPO / "stages" / "sample.py"), "--help"], capture_output=True, text=True, check=True
    )
    params = result.stdout.split("sample params")[1]
    for key, rule in SCHEMA["sample"].items():  # what it controls, and what the schema allows
        assert re.search(rf"^  {key}: ", params, re.MULTILINE), key
        assert f"({rule.allowed})" in " ".join(params.split()), key
    assert set(SCHEMA["sample"]) == set(synth.SampleSpec.__dataclass_fields__)
    assert "SYNTHETIC" in result.stdout


# --- faces are found -----------------------------------------------------------------------------


def middle_frame(path: Path):
    with av.open(str(path)) as container:
        frames = list(container.decode(video=0))
    return frames[len(frames) // 2].to_image()


def test_mtcnn_finds_the_face_in_every_middle_frame(sample):
    from avemo.preprocess.facedetect import FaceDetector

    detector = FaceDetector(min_face_size=60, detect_scale=0.5)  # params.yaml's face section
    missed = [
        p.name for p in sorted((sample / "VideoFlash").iterdir()) if detector.best_face(middle_frame(p), 0.9) is None
    ]
    assert missed == []

"""The synthetic sample corpus: layout, media format, determinism, emotion cues, MTCNN-detectable faces."""

from __future__ import annotations

import hashlib
import re
import subprocess
import sys
from pathlib import Path

import av
import numpy as np
import pytest

from avemo import synth

ACTORS, SENTENCES, EMOTIONS = 2, 1, ("ANG", "HAP", "SAD")
DURATION, FPS = 1.0, 30
REPO = Path(__file__).resolve().parents[1]


def tiny_corpus(out: Path, jobs: int) -> list[Path]:
    return synth.generate_corpus(out, actors=ACTORS, sentences=SENTENCES, emotions=EMOTIONS,
                                 duration=DURATION, fps=FPS, seed=0, jobs=jobs, progress=False)


@pytest.fixture(scope="module")
def corpus(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("sample")
    tiny_corpus(out, jobs=2)
    return out


def clips(corpus: Path) -> list[Path]:
    return sorted((corpus / "VideoFlash").iterdir())


def decode_audio(path: Path) -> np.ndarray:
    with av.open(str(path)) as container:
        return np.concatenate([f.to_ndarray().reshape(-1) for f in container.decode(audio=0)])


def middle_frame(path: Path):
    with av.open(str(path)) as container:
        frames = list(container.decode(video=0))
    return frames[len(frames) // 2].to_image()


def median_f0(audio: np.ndarray, rate: int = synth.SAMPLE_RATE) -> float:
    """Autocorrelation pitch of the loud (voiced) 2048-sample frames."""
    frames = np.stack([audio[i:i + 2048] for i in range(0, len(audio) - 2048, 512)])
    energy = np.sqrt((frames ** 2).mean(axis=1))
    loud = frames[energy > 0.3 * energy.max()] * np.hanning(2048)
    autocorr = np.fft.irfft(np.abs(np.fft.rfft(loud, 4096)) ** 2)[:, :2048]
    low, high = rate // 500, rate // 60
    return float(np.median(rate / (low + np.argmax(autocorr[:, low:high], axis=1))))


def by_emotion(corpus: Path, actor: int, sentence: str = "IEO") -> dict[str, Path]:
    return {e: corpus / "VideoFlash" / f"{actor}_{sentence}_{e}_XX.flv" for e in EMOTIONS}


def test_full_grid_with_crema_d_names(corpus):
    names = [p.name for p in clips(corpus)]
    assert all(re.fullmatch(r"\d{4}_[A-Z]{3}_[A-Z]{3}_XX\.flv", n) for n in names), names
    expected = {f"{a}_{s}_{e}_XX.flv" for a in (1001, 1002) for s in ("IEO",) for e in EMOTIONS}
    assert set(names) == expected  # and no temp files left behind


def test_first_sentences_follow_crema_d_order():
    grid = synth.clip_grid(1, 3, ("NEU",))
    assert [c.sentence for c in grid] == ["IEO", "TIE", "IOM"]


def test_clips_are_flv_with_crema_d_streams(corpus):
    for path in clips(corpus):
        with av.open(str(path)) as container:
            assert "flv" in container.format.name
            assert len(container.streams.video) == 1 and len(container.streams.audio) == 1
            video, audio = container.streams.video[0], container.streams.audio[0]
            assert (video.codec_context.width, video.codec_context.height) == (480, 360)
            assert video.codec_context.name == "flv"
            assert audio.codec_context.name.startswith("mp3")
            assert audio.codec_context.sample_rate == 44100 and audio.codec_context.channels == 1
            assert abs(container.duration / 1e6 - DURATION) <= 0.1, path.name
            assert sum(1 for _ in container.decode(video=0)) == round(DURATION * FPS)


def test_demographics_csv_matches_crema_d_format(corpus):
    lines = (corpus / "VideoDemographics.csv").read_text().splitlines()
    assert lines[0] == '"ActorID","Age","Sex","Race","Ethnicity"'
    assert len(lines) == 1 + ACTORS
    row = re.compile(r'(\d{4}),\d{2},"(Male|Female)","(Caucasian|African American|Asian|Unknown)",'
                     r'"(Hispanic|Not Hispanic)"')
    matches = [row.fullmatch(line) for line in lines[1:]]
    assert all(matches), lines
    assert [int(m.group(1)) for m in matches] == [1001, 1002]
    assert sorted(m.group(2) for m in matches) == ["Female", "Male"]


def test_regenerating_gives_identical_bytes_whatever_the_job_count(corpus, tmp_path):
    tiny_corpus(tmp_path, jobs=1)

    def digests(root: Path) -> dict[str, str]:
        return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
                for p in sorted(root.rglob("*")) if p.is_file()}

    assert digests(tmp_path) == digests(corpus)


def test_seed_changes_the_clips(corpus, tmp_path):
    clip = synth.ClipId(1001, "IEO", "HAP")
    other = synth.write_clip(tmp_path / "x.flv", clip, duration=DURATION, fps=FPS, seed=1)
    assert other.read_bytes() != (corpus / "VideoFlash" / f"{clip.name}.flv").read_bytes()


def test_voice_orders_emotions_as_designed(corpus):
    for actor in (1001, 1002):
        audio = {e: decode_audio(p) for e, p in by_emotion(corpus, actor).items()}
        rms = {e: float(np.sqrt(np.mean(a ** 2))) for e, a in audio.items()}
        f0 = {e: median_f0(a) for e, a in audio.items()}
        assert rms["SAD"] < rms["HAP"] and rms["SAD"] < rms["ANG"], rms
        assert f0["SAD"] < f0["ANG"] and f0["SAD"] < f0["HAP"], f0


def test_female_voices_are_higher():
    male, female = synth.make_actor(0, 1001), synth.make_actor(0, 1002)
    assert not male.female and female.female
    assert female.f0_hz > male.f0_hz


def test_expressions_carry_the_emotion_at_zero_noise():
    rng = np.random.default_rng(0)
    ang, hap, sad = (synth.clip_expression(e, rng, noise=0.0) for e in EMOTIONS)
    assert hap.mouth_corner < 0 < sad.mouth_corner  # smile up, sad corners down
    assert ang.brow_inner > 0 > sad.brow_inner  # angry inner brows down, sad up
    assert ang.lid_upper < 1 and sad.lid_upper < 1 and hap.cheek > 0


def test_killed_write_leaves_no_partial_clip(tmp_path, monkeypatch):
    def crash(path, *args):
        Path(path).write_bytes(b"half a clip")
        raise KeyboardInterrupt

    monkeypatch.setattr(synth, "encode_flv", crash)
    with pytest.raises(KeyboardInterrupt):
        synth.write_clip(tmp_path / "c.flv", synth.ClipId(1001, "IEO", "ANG"), duration=DURATION)
    assert list(tmp_path.iterdir()) == []


def test_bad_params_are_rejected(tmp_path):
    with pytest.raises(ValueError):
        synth.generate_corpus(tmp_path, actors=1, sentences=13, progress=False)
    with pytest.raises(ValueError):
        synth.generate_corpus(tmp_path, actors=1, emotions=("XXX",), progress=False)


@pytest.mark.slow  # importing torch + facenet-pytorch alone takes several seconds
def test_mtcnn_finds_the_face_in_every_middle_frame(corpus):
    from facenet_pytorch import MTCNN

    mtcnn = MTCNN(keep_all=True, device="cpu")
    for path in clips(corpus):
        boxes, probs = mtcnn.detect(middle_frame(path))
        assert boxes is not None and max(probs) >= 0.9, (path.name, probs)


def test_stage_cli_writes_the_corpus(tmp_path):
    params = tmp_path / "params.yaml"
    params.write_text("sample:\n  actors: 3\n  sentences: 1\n  emotions: [SAD, ANG]\n  duration: 1.0\n"
                      "  fps: 30\n  noise: 1.0\n  seed: 0\n")
    out = tmp_path / "out"
    result = subprocess.run([sys.executable, str(REPO / "stages" / "sample.py"), "--params", str(params),
                             "--out", str(out), "--jobs", "1"], capture_output=True, text=True, check=True)
    assert "6 clips" in result.stdout
    assert (out / "VideoFlash" / "1001_IEO_SAD_XX.flv").is_file()
    assert (out / "VideoDemographics.csv").is_file()

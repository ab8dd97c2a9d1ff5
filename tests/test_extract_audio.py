"""extract_audio on the six real CREMA-D clips and on damaged inputs."""

import json
import wave

import pytest
from helpers import BAD_INPUTS

from avemo.clipindex import read_index


def test_every_real_clip_gives_a_16k_mono_wav_as_long_as_decoded(real_run):
    out, clips = real_run
    index = read_index(out / "audio").set_index("clip")
    assert index.index.tolist() == clips["clip"].tolist() and (index.status == "ok").all()
    for clip in clips["clip"]:
        with wave.open(str(out / "audio" / f"{clip}.wav")) as wav:
            assert (wav.getframerate(), wav.getnchannels(), wav.getsampwidth()) == (16000, 1, 2)
            assert abs(wav.getnframes() / 16000 - float(index.at[clip, "duration_s"])) < 0.001
            assert 1.8 < wav.getnframes() / 16000 < 2.5  # the real clips last 1.9-2.3 s
    assert json.loads((out / "audio" / "settings.json").read_text()) == {"sample_rate": 16000}


@pytest.mark.parametrize("name", BAD_INPUTS)
def test_each_damaged_input_gets_one_clear_line(bad_run, name):
    out, _ = bad_run
    index = read_index(out / "audio").set_index("clip")
    assert index.at["1001_DFA_ANG_XX", "status"] == "ok" and len(index) == len(BAD_INPUTS) + 1
    row, expected = index.loc[name.removesuffix(".flv")], BAD_INPUTS[name][0]
    if expected is None:
        assert row.status == "ok"
    else:
        assert row.status == "failed" and row.reason.startswith(expected), row.reason

"""extract_audio on the six real CREMA-D clips and on damaged inputs."""

import json
import wave

from avemo.preprocess.clipindex import read_index
from helpers import assert_damaged_inputs_reported


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


def test_each_damaged_input_gets_one_clear_line(bad_run):
    out, _ = bad_run
    assert_damaged_inputs_reported(read_index(out / "audio"), kind=0)

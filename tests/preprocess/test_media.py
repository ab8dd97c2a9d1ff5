import numpy as np
import pytest

from avemo.preprocess import media
from helpers import run_ffmpeg


def _native_audio_seconds(path) -> float:
    pcm = run_ffmpeg("-i", str(path), "-vn", "-ac", "1", "-f", "s16le", "-")
    sample_rate = 44100  # CREMA-D's MP3 track
    return len(pcm) / 2 / sample_rate


def test_ffmpeg_binary_runs():
    assert b"ffmpeg version" in run_ffmpeg("-version")


@pytest.mark.parametrize("emotion", ["ANG", "HAP", "SAD"])
def test_decode_audio_is_16k_mono_and_as_long_as_the_clip(real_clips_dir, emotion):
    path = real_clips_dir / f"1001_DFA_{emotion}_XX.flv"
    segment = media.decode_audio(path, 16000)
    assert (segment.frame_rate, segment.channels, segment.sample_width) == (16000, 1, 2)
    assert abs(segment.duration_seconds - _native_audio_seconds(path)) < 0.05
    samples = np.array(segment.get_array_of_samples())
    assert samples.std() > 100  # speech, not silence


def _all_frames(path) -> np.ndarray:
    raw = run_ffmpeg("-i", str(path), "-fps_mode", "passthrough", "-f", "rawvideo", "-pix_fmt", "rgb24", "-")
    return np.frombuffer(raw, np.uint8).reshape(-1, 360, 480, 3)


def test_middle_frame_is_the_middle_one(real_clip):
    frames = _all_frames(real_clip)  # decoded independently, by the ffmpeg program
    frame = media.middle_frame(real_clip, 0.5)
    assert frame.frame_count == len(frames) == 67
    assert frame.index == 33  # frames 0..66: 33 on each side
    ours = np.asarray(frame.image, dtype=np.float32)
    distance = np.abs(frames.astype(np.float32) - ours).mean(axis=(1, 2, 3))
    assert int(distance.argmin()) == 33
    assert distance[33] < 2.0
    assert frame.image.mode == "RGB" and frame.image.size == (480, 360)


def test_frame_positions_are_evenly_spread_around_the_position_and_kept_inside_the_clip():
    assert media.frame_positions(1, 0.37, 0.4) == [0.37]  # one frame: the position itself, untouched
    assert media.frame_positions(2, 0.5, 0.4) == [0.3, 0.7]
    assert media.frame_positions(3, 0.5, 0.4) == [0.3, 0.5, 0.7]
    assert media.frame_positions(5, 0.5, 1.0) == [0.0, 0.25, 0.5, 0.75, 1.0]
    assert media.frame_positions(3, 0.1, 0.4) == [0.0, 0.2, 0.4]  # the span moved inside the clip
    assert media.frame_positions(3, 1.0, 0.4) == [0.6, 0.8, 1.0]


def test_frames_at_decodes_every_frame_asked_for_in_one_pass(real_clip, monkeypatch):
    frames = _all_frames(real_clip)
    opened = []
    open_file = media._open
    monkeypatch.setattr(media, "_open", lambda path: opened.append(path) or open_file(path))
    found = media.frames_at(real_clip, [0.3, 0.5, 0.7])
    assert len(opened) == 1  # opened once: its packets demuxed once, counted, then decoded up to the last frame asked
    assert [f.index for f in found] == [20, 33, 46] and {f.frame_count for f in found} == {67}
    assert found[0].time_s < found[1].time_s < found[2].time_s
    for frame in found:
        distance = np.abs(frames.astype(np.float32) - np.asarray(frame.image, dtype=np.float32)).mean(axis=(1, 2, 3))
        assert int(distance.argmin()) == frame.index and distance[frame.index] < 2.0
    assert found[1].image.tobytes() == media.middle_frame(real_clip).image.tobytes()
    # two positions on one frame give it twice, in the order asked
    again = media.frames_at(real_clip, [0.7, 0.3, 0.7])
    assert [f.index for f in again] == [46, 20, 46] and again[0].image.tobytes() == found[2].image.tobytes()


def test_frame_position_picks_by_frame_count(real_clip):
    assert media.middle_frame(real_clip, 0.0).index == 0
    assert media.middle_frame(real_clip, 1.0).index == 66
    with pytest.raises(ValueError, match="within"):
        media.middle_frame(real_clip, 1.5)
    with pytest.raises(ValueError, match="within"):
        media.frames_at(real_clip, [0.5, -0.1])


@pytest.mark.parametrize(
    "name",
    ["1002_DFA_ANG_XX.flv", "1003_DFA_HAP_XX.flv", "1005_DFA_ANG_XX.flv", "1007_DFA_HAP_XX.flv", "1009_DFA_ANG_XX.flv"],
)
def test_damaged_audio_raises_media_error_with_reason(bad_clips_dir, name):
    from helpers import BAD_INPUTS

    with pytest.raises(media.MediaError, match=BAD_INPUTS[name][0]):
        media.decode_audio(bad_clips_dir / name, 16000)


@pytest.mark.parametrize(
    "name",
    ["1002_DFA_ANG_XX.flv", "1003_DFA_HAP_XX.flv", "1006_DFA_SAD_XX.flv", "1008_DFA_HAP_XX.flv", "1009_DFA_ANG_XX.flv"],
)
def test_damaged_video_raises_media_error_with_reason(bad_clips_dir, name):
    from helpers import BAD_INPUTS

    with pytest.raises(media.MediaError, match=BAD_INPUTS[name][1]):
        media.middle_frame(bad_clips_dir / name)

"""Media decoding: a clip's audio track as a pydub AudioSegment, and its video frames at given positions.

Decoding runs in-process through PyAV (FFmpeg's libraries, shipped in its wheel), because pydub's own
`from_file` starts ffprobe and then ffmpeg for every clip (about 210 ms a clip here, and ffprobe is not in
imageio-ffmpeg). pydub still holds the audio and writes the WAV. Every failure is a MediaError whose text is
the one-line reason that goes into a stage's index.csv.
"""

from __future__ import annotations

import shutil
import warnings
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import av
import numpy as np
from PIL import Image

from avemo.preprocess.clipindex import ClipFailure

with warnings.catch_warnings():
    # pydub warns at import when ffmpeg is not on PATH; we point it at ours just below.
    warnings.filterwarnings("ignore", message="Couldn't find ffmpeg", category=RuntimeWarning)
    from pydub import AudioSegment

# A container that declares a duration but yields much less media was cut short (a partial download).
TRUNCATION_TOLERANCE_S = 0.25
TRUNCATION_FRACTION = 0.9


class MediaError(ClipFailure):
    """A clip that cannot be decoded; str(error) is a one-line reason."""


@contextmanager
def _decoding(what: str):
    """Turn whatever the demuxer or decoder raises on damaged data into a MediaError.

    PyAV reports corruption in several ways (FFmpeg errors, and an IndexError when damaged bytes
    announce streams that were not in the header), so all of them mean the same thing here.
    """
    try:
        yield
    except MediaError:
        raise
    except (av.error.FFmpegError, IndexError, ValueError, EOFError) as err:
        raise MediaError(f"corrupt {what} ({_ffmpeg_message(err)})") from None


def ffmpeg_binary() -> str:
    """The ffmpeg program: the system's when on PATH, else the one the imageio-ffmpeg wheel ships."""
    system = shutil.which("ffmpeg")
    if system:
        return system
    import imageio_ffmpeg

    return imageio_ffmpeg.get_ffmpeg_exe()


AudioSegment.converter = ffmpeg_binary()


def _open(path: Path) -> av.container.InputContainer:
    path = Path(path)
    if not path.is_file():
        raise MediaError("file not found")
    if path.stat().st_size == 0:
        raise MediaError("empty file (0 bytes)")
    try:
        return av.open(str(path), metadata_errors="ignore")
    except av.error.FFmpegError as err:
        raise MediaError(f"not a readable media file ({_ffmpeg_message(err)})") from None


def _ffmpeg_message(err: Exception) -> str:
    return getattr(err, "strerror", None) or f"{type(err).__name__}: {err}".splitlines()[0]


def _declared_duration(container) -> float | None:
    return container.duration / av.time_base if container.duration else None


def _check_not_truncated(decoded_s: float, declared_s: float | None, what: str) -> None:
    if declared_s and decoded_s < min(declared_s - TRUNCATION_TOLERANCE_S, declared_s * TRUNCATION_FRACTION):
        raise MediaError(
            f"truncated: decoded {decoded_s:.2f} s of {what} but the container declares {declared_s:.2f} s"
        )


def too_long(seconds: float, max_duration: float | None, key: str) -> str | None:
    """Why a clip of `seconds` is refused under the param `key` (None: it is not)."""
    if max_duration is None or seconds <= max_duration:
        return None
    return (
        f"{seconds:.1f} s long, above {key} {max_duration:g} s (CREMA-D's clips last a few seconds; a longer one "
        f"may hold several takes, as the release's 1064_IEO_DIS_MD does): check the clip, or raise {key}"
    )


def decode_audio(path: str | Path, sample_rate: int) -> AudioSegment:
    """The clip's first audio track, resampled (libswresample) to mono 16-bit PCM at `sample_rate`."""
    with _open(path) as container:
        if not container.streams.audio:
            raise MediaError("no audio track")
        stream = container.streams.audio[0]
        resampler = av.AudioResampler(format="s16", layout="mono", rate=sample_rate)
        chunks = []
        with _decoding("audio stream"):
            for frame in container.decode(stream):
                chunks.extend(f.to_ndarray() for f in resampler.resample(frame))
            chunks.extend(f.to_ndarray() for f in resampler.resample(None))
        declared = _declared_duration(container)
    samples = np.concatenate(chunks, axis=1).reshape(-1) if chunks else np.zeros(0, np.int16)
    if samples.size == 0:
        raise MediaError("audio track holds no samples")
    _check_not_truncated(samples.size / sample_rate, declared, "audio")
    return AudioSegment(samples.astype("<i2").tobytes(), frame_rate=sample_rate, sample_width=2, channels=1)


@dataclass(frozen=True)
class Frame:
    image: Image.Image  # RGB
    index: int  # 0-based, in decoding order
    frame_count: int
    time_s: float
    clip_s: float | None  # the video track's length: frames / average frame rate (None: no rate declared)


def _video_packets(container) -> list:
    """Every packet of the first video track (demuxing only, no decoding), the final flush packet included:
    the frames are those of the packets with data."""
    if not container.streams.video:
        raise MediaError("no video track")
    with _decoding("video stream"):
        return list(container.demux(container.streams.video[0]))


def frame_positions(count: int, position: float, spread: float) -> list[float]:
    """Where (0..1 of the clip) a clip's `count` frames are read (frame.count, frame.position, frame.spread):
    `position` itself for one frame; for more, evenly spaced from the first to the last over `spread` of the
    clip, centred on `position`, the whole span moved inside the clip where it would cross an end (so the
    frames stay evenly spaced). Rounded to 12 decimals, so that 0.5 - 0.2 is 0.3 as written."""
    if count == 1:
        return [position]
    centre = min(max(position, spread / 2), 1 - spread / 2)
    return [round(centre - spread / 2 + spread * i / (count - 1), 12) for i in range(count)]


def frame_index(position: float, frame_count: int) -> int:
    """The frame at `position` (0..1) of a clip of `frame_count` frames: floor(position * count), the last at 1."""
    return min(frame_count - 1, int(position * frame_count))


def frames_at(path: str | Path, positions: list[float]) -> list[Frame]:
    """The frames at `positions` (each 0..1; frame_index), in their order, decoded in ONE pass from the first
    frame up to the last one asked for, so no keyframe seek can land on a neighbour and no frame is decoded
    twice. Two positions that fall on one frame (a clip of a few frames) give that frame twice."""
    for position in positions:
        if not 0.0 <= position <= 1.0:
            raise ValueError(f"frame.position must be within [0, 1], got {position}")
    with _open(path) as container:
        packets = _video_packets(container)  # demuxed once: counted, then decoded up to the last frame asked for
        frame_count = sum(1 for packet in packets if packet.size)
        if frame_count == 0:
            raise MediaError("video track holds no frames")
        targets = [frame_index(p, frame_count) for p in positions]
        wanted, found = set(targets), {}
        stream = container.streams.video[0]
        declared = _declared_duration(container)
        rate = float(stream.average_rate) if stream.average_rate else None
        clip_s = frame_count / rate if rate else None
        with _decoding("video stream"):
            for index, frame in enumerate(frame for packet in packets for frame in packet.decode()):
                if index in wanted:
                    found[index] = Frame(frame.to_image(), index, frame_count, float(frame.time or 0.0), clip_s)
                    if len(found) == len(wanted):
                        if clip_s:
                            _check_not_truncated(clip_s, declared, "video")
                        return [found[t] for t in targets]
    raise MediaError(f"video decoder gave fewer frames than the {frame_count} packets (corrupt stream)")


def middle_frame(path: str | Path, position: float = 0.5) -> Frame:
    """The frame at `position` (0..1) of the clip by frame count: index floor(position * count).

    For position 0.5 and an odd count this is the exact middle frame. Decoding starts at the first frame,
    so no keyframe seek can land on a neighbour.
    """
    return frames_at(path, [position])[0]

"""The clip container: FLV with Sorenson H.263 video and mono MP3 audio, as CREMA-D's VideoFlash clips.

Encoding is single-threaded with a fixed quantiser, so the same frames and samples give the same bytes.
"""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import av
import numpy as np

VIDEO_QSCALE = 3  # Sorenson H.263 quantiser: low keeps the face sharp
AUDIO_BIT_RATE = 128_000
MP3_FRAME = 1152


def yuv420(rgb: np.ndarray) -> np.ndarray:
    """An RGB frame as the encoder's YUV 4:2:0 planes (FFmpeg's own conversion), one (h * 3/2, w) array."""
    return av.VideoFrame.from_ndarray(rgb, format="rgb24").reformat(format="yuv420p").to_ndarray()


def blend(a: np.ndarray, b: np.ndarray, weight: float) -> np.ndarray:
    """(1 - weight) a + weight b of two frames' YUV planes, rounded: where they agree it is exactly a.
    Blending the planes costs a fraction of converting each blend from RGB."""
    a32 = a.astype(np.float32)
    return (a32 + np.float32(weight) * (b.astype(np.float32) - a32) + np.float32(0.5)).astype(np.uint8)


def encode_flv(
    path: Path, planes: list[np.ndarray], sequence: np.ndarray, audio: np.ndarray, fps: float, sample_rate: int
) -> None:
    """FLV with Sorenson H.263 video and mono MP3 audio, single-threaded for byte-stable output.

    The video shows planes[sequence[0]], planes[sequence[1]], ... (YUV 4:2:0 frames, see yuv420); each
    distinct frame is wrapped once and reused (the encoder takes its own reference to the pixels on every
    call, so only the timestamp changes).
    """
    frames = [av.VideoFrame.from_ndarray(frame, format="yuv420p") for frame in planes]
    height, width = planes[0].shape[0] * 2 // 3, planes[0].shape[1]
    with av.open(str(path), "w", format="flv") as container:
        # fixed quantiser (qscale pinned by qmin = qmax); the head does not move, so skip motion search
        quantiser = str(VIDEO_QSCALE)
        video = container.add_stream(
            "flv",
            rate=Fraction(fps).limit_denominator(1001),
            options={"qmin": quantiser, "qmax": quantiser, "motion_est": "zero"},
        )
        video.height, video.width = height, width
        video.pix_fmt = "yuv420p"
        video.codec_context.qscale = True
        video.codec_context.thread_count = 1
        video.codec_context.gop_size = int(round(fps))
        # LAME -q 7: fast, and plenty for this signal
        sound = container.add_stream("libmp3lame", rate=sample_rate, options={"compression_level": "7"})
        sound.layout = "mono"
        sound.bit_rate = AUDIO_BIT_RATE
        for i, image_index in enumerate(sequence):
            frame = frames[image_index]
            frame.pts = i
            container.mux(video.encode(frame))
        container.mux(video.encode(None))
        for start in range(0, len(audio), MP3_FRAME):
            chunk = av.AudioFrame.from_ndarray(audio[None, start : start + MP3_FRAME], format="fltp", layout="mono")
            chunk.sample_rate = sample_rate
            chunk.pts = start
            container.mux(sound.encode(chunk))
        container.mux(sound.encode(None))

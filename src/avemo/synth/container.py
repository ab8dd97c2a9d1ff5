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


def encode_flv(
    path: Path, images: list[np.ndarray], sequence: np.ndarray, audio: np.ndarray, fps: float, sample_rate: int
) -> None:
    """FLV with Sorenson H.263 video and mono MP3 audio, single-threaded for byte-stable output.

    The video shows images[sequence[0]], images[sequence[1]], ...; each distinct
    image is converted to YUV once and its frame reused (the encoder takes its own
    reference to the pixels on every call, so only the timestamp changes).
    """
    frames = [av.VideoFrame.from_ndarray(rgb, format="rgb24").reformat(format="yuv420p") for rgb in images]
    with av.open(str(path), "w", format="flv") as container:
        # fixed quantiser (qscale pinned by qmin = qmax); only the mouth moves, so skip motion search
        quantiser = str(VIDEO_QSCALE)
        video = container.add_stream(
            "flv",
            rate=Fraction(fps).limit_denominator(1001),
            options={"qmin": quantiser, "qmax": quantiser, "motion_est": "zero"},
        )
        video.height, video.width = images[0].shape[:2]
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

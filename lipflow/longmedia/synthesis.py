"""Media made to measure, for tests, benchmarks, the example recipe and the mock's lip-sync outputs.

``speech_like`` is audio whose pauses are known: bursts of tone shaped like syllables, with gaps
between syllables far shorter than a pause, and silent pauses where asked. ``talking_video`` is a
small H.264 video with a keyframe every ``keyframe_seconds``. ``lipsync_output`` is what a
lip-sync provider returns: a video of the asked length and frame size carrying the driving audio,
so the mock's outputs can be assembled and their A/V alignment measured offline.
"""

from __future__ import annotations

import io
import math
import os
from collections.abc import Sequence
from fractions import Fraction

import numpy as np
import numpy.typing as npt

from lipflow.longmedia.loudness import decode_mono

__all__ = [
    "INTERVIEW_SECONDS",
    "audio_samples",
    "encode_audio",
    "example_interview",
    "lipsync_output",
    "speech_like",
    "talking_video",
]

_SYLLABLE_S = (0.12, 0.26)
_SYLLABLE_GAP_S = 0.06  # well under any pause a cut looks for
_AAC_RATE = 16000


def speech_samples(
    seconds: float, pauses: Sequence[tuple[float, float]], *, rate: int = 16000, seed: int = 7
) -> npt.NDArray[np.int16]:
    """Mono 16-bit samples: syllable-like tone bursts everywhere but in ``pauses`` (start, end)."""
    rng = np.random.default_rng(seed)
    total = round(seconds * rate)
    out = np.zeros(total, dtype=np.float64)
    t = 0.0
    while t < seconds:
        length = float(rng.uniform(*_SYLLABLE_S))
        lo, hi = t, min(seconds, t + length)
        quiet = next((p for p in pauses if p[0] < hi and p[1] > lo), None)
        if quiet is not None:
            t = max(t, quiet[1]) + 0.001
            continue
        a, b = round(lo * rate), round(hi * rate)
        n = np.arange(b - a)
        pitch = float(rng.uniform(140, 320))
        envelope = np.sin(np.pi * n / max(1, b - a))
        out[a:b] = 0.4 * envelope * np.sin(2 * np.pi * pitch * n / rate)
        t = hi + _SYLLABLE_GAP_S
    return np.round(out * 32767).astype(np.int16)


def speech_like(
    path: str | os.PathLike[str],
    seconds: float,
    pauses: Sequence[tuple[float, float]],
    *,
    rate: int = 16000,
) -> None:
    """Write speech-like audio with silent ``pauses`` to ``path`` as a mono PCM WAV file."""
    from lipflow.longmedia.keyframes import write_wav

    write_wav(path, speech_samples(seconds, pauses, rate=rate).reshape(-1, 1), rate)


def talking_video(
    path: str | os.PathLike[str],
    seconds: float,
    *,
    width: int = 160,
    height: int = 90,
    fps: int = 10,
    keyframe_seconds: float = 2.0,
    audio: str | os.PathLike[str] | None = None,
    crf: int = 23,
) -> None:
    """Write a small H.264 MP4 of ``seconds`` with a keyframe every ``keyframe_seconds`` (and
    ``audio``'s track as AAC when given): a stand-in for a filmed interview."""
    import av

    with av.open(os.fspath(path), "w", format="mp4") as out:
        stream = out.add_stream("libx264", rate=fps)
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        stream.gop_size = max(1, round(keyframe_seconds * fps))
        stream.options = {
            "preset": "ultrafast",
            "tune": "zerolatency",
            "x264-params": f"keyint={stream.gop_size}:min-keyint={stream.gop_size}:scenecut=0",
            "crf": str(crf),
        }
        sound = None if audio is None else out.add_stream("aac", rate=_AAC_RATE, layout="mono")
        _frames(out, stream, math.ceil(seconds * fps - 1e-9), width, height)
        if sound is not None and audio is not None:
            samples = audio_samples(os.fspath(audio), seconds, _AAC_RATE)
            encode_audio(out, sound, samples.reshape(1, -1), _AAC_RATE, "mono")


def _frames(out, stream, frames: int, width: int, height: int) -> None:  # type: ignore[no-untyped-def]
    import av

    for i in range(frames):
        luma = np.full((height, width), 16 + (i * 7) % 200, dtype=np.uint8)
        luma[:, : 1 + i % width] = 235  # a moving bar: a picture that changes every frame
        frame = av.VideoFrame.from_ndarray(luma, format="gray").reformat(format="yuv420p")
        frame.pts = i
        out.mux(stream.encode(frame))
    out.mux(stream.encode(None))


def audio_samples(source: str | bytes, seconds: float, rate: int) -> npt.NDArray[np.float32]:
    """The first audio stream of ``source`` (a path or file bytes) as mono float samples at
    ``rate``, cut or padded with silence to ``seconds``; silence if it has no audio."""
    samples = decode_mono(source, rate=rate)
    want = round(seconds * rate)
    return np.pad(samples[:want], (0, max(0, want - len(samples)))).astype(np.float32)


def encode_audio(  # type: ignore[no-untyped-def]
    out,
    stream,
    samples: npt.NDArray[np.float32],
    rate: int,
    layout: str,
    *,
    start: int = 0,
    flush: bool = True,
) -> int:
    """Encode planar float ``samples`` (channels x n) in encoder-sized frames from sample
    ``start``; returns where the next samples go. Stamping every frame lets the encoder mark its
    priming samples, so the muxer's edit list hides them and the audio starts at time zero."""
    import av

    size = stream.codec_context.frame_size or 1024
    pts = start
    for at in range(0, samples.shape[1], size):
        block = np.ascontiguousarray(samples[:, at : at + size])
        frame = av.AudioFrame.from_ndarray(block, format="fltp", layout=layout)
        frame.sample_rate = rate
        frame.pts = pts
        frame.time_base = Fraction(1, rate)
        pts += block.shape[1]
        out.mux(stream.encode(frame))
    if flush:
        out.mux(stream.encode(None))
    return pts


def lipsync_output(
    seconds: float, *, width: int, height: int, audio: bytes | None, fps: int = 25
) -> bytes:
    """A lip-sync result as a provider returns it: H.264 video of ``seconds`` at ``width`` x
    ``height`` with the driving ``audio`` (any container PyAV reads) as its AAC track."""
    import av

    buf = io.BytesIO()
    with av.open(buf, "w", format="mp4") as out:
        stream = out.add_stream("libx264", rate=fps)
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        stream.options = {"preset": "ultrafast", "tune": "zerolatency"}
        sound = None if audio is None else out.add_stream("aac", rate=_AAC_RATE, layout="mono")
        _frames(out, stream, max(1, math.ceil(seconds * fps - 1e-9)), width, height)
        if sound is not None and audio is not None:
            samples = audio_samples(audio, seconds, _AAC_RATE)
            encode_audio(out, sound, samples.reshape(1, -1), _AAC_RATE, "mono")
    return buf.getvalue()


# The example recipe's interview (recipes/long_interview.yaml): 2 min 10 s with pauses between
# answers, small enough to ship (a few hundred KB).
INTERVIEW_SECONDS = 130.0
INTERVIEW_PAUSES = (
    (11.9, 12.8),
    (27.0, 27.5),
    (39.8, 41.0),
    (55.2, 55.8),
    (79.9, 80.6),
    (100.9, 101.4),
    (117.8, 119.0),
)


def example_interview(video: str | os.PathLike[str], voice: str | os.PathLike[str]) -> None:
    """Write the example recipe's media: a 160x90 10 fps video and a low-rate MP3 voice track of
    the same length, whose pauses fall between the answers."""
    import av

    samples = speech_samples(INTERVIEW_SECONDS, INTERVIEW_PAUSES, rate=16000)
    with av.open(os.fspath(voice), "w", format="mp3") as out:
        stream = out.add_stream("libmp3lame", rate=16000, layout="mono")
        stream.bit_rate = 16000
        stream.format = "s16p"
        for at in range(0, len(samples), 1152):
            block = np.ascontiguousarray(samples[at : at + 1152].reshape(1, -1))
            frame = av.AudioFrame.from_ndarray(block, format="s16p", layout="mono")
            frame.sample_rate = 16000
            frame.pts = at
            out.mux(stream.encode(frame))
        out.mux(stream.encode(None))
    talking_video(video, INTERVIEW_SECONDS, width=160, height=90, fps=10, crf=38)

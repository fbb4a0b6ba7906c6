"""A long lip sync as pieces: which of the model's limits the input breaks, how long a piece may
be, where the cuts go, and what each piece will be (time range, bytes, how it is cut).

The limits are the catalog's (``limits.video`` / ``limits.audio``: ``max_seconds``, ``max_bytes``,
``max_pixels``), never repeated here. A video piece's bytes are estimated from the source's
bitrate; an audio piece is PCM WAV, whose size is exact.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any

from lipflow.errors import InputError, UnreadableFile
from lipflow.longmedia.cuts import Cut, CutError, CutPolicy, plan_cuts
from lipflow.longmedia.keyframes import cut_method, start_of
from lipflow.longmedia.loudness import Loudness, loudness_of
from lipflow.orientation import frame_turn

__all__ = [
    "AudioFacts",
    "PiecePlan",
    "SplitPlan",
    "SplitProblem",
    "VideoFacts",
    "audio_facts",
    "over_limits",
    "plan_split",
    "scaled_size",
    "video_facts",
]

# Estimated piece sizes keep this much headroom under a byte limit: a piece's bitrate can be
# above the source's average (a busy scene), and a refused upload costs a retry.
_BYTES_HEADROOM = 0.9
_WAV_HEADER = 44


@dataclass(frozen=True, slots=True, kw_only=True)
class VideoFacts:
    """What splitting needs to know of the source video."""

    path: str
    duration_s: float
    size_bytes: int
    width: int  # as shown: a phone's portrait video stored landscape is tall here
    height: int
    fps: Fraction
    keyframes: tuple[float, ...]  # from the first frame
    turn: int = 0  # degrees a player turns the stored picture clockwise (0, 90, 180, 270)
    origin: float = 0.0  # the first frame's raw timestamp (s), which times count from

    @property
    def bytes_per_second(self) -> float:
        return self.size_bytes / self.duration_s if self.duration_s > 0 else 0.0


@dataclass(frozen=True, slots=True, kw_only=True)
class AudioFacts:
    """What splitting needs to know of the driving audio: pieces are PCM WAV at its rate."""

    path: str
    duration_s: float
    size_bytes: int
    rate: int
    channels: int

    @property
    def wav_bytes_per_second(self) -> int:
        return self.rate * self.channels * 2


@contextmanager
def _opened(path: str, kind: str) -> Iterator[tuple[Any, Any, int]]:
    """The file's container, its first ``kind`` stream and its size; InputError if unreadable."""
    import av

    try:
        size = os.stat(path).st_size
        with av.open(path) as container:
            streams = container.streams.video if kind == "video" else container.streams.audio
            if not streams:
                raise InputError(f"the file holds no {kind} stream", path=path)
            yield container, streams[0], size
    except av.FFmpegError as exc:
        raise InputError(f"not a readable {kind} file ({exc.strerror or exc})", path=path) from exc
    except OSError as exc:
        raise UnreadableFile.of_media(exc, path=path) from exc


def video_facts(path: str | os.PathLike[str]) -> VideoFacts:
    """Duration, displayed frame size, frame rate, rotation and keyframe times of a local video,
    times counted from its first frame."""
    import av

    name = os.fspath(path)
    with _opened(name, "video") as (container, stream, size):
        fps = Fraction(stream.average_rate or stream.guessed_rate or 25)
        base = stream.time_base or Fraction(1, 90000)
        origin = start_of(stream)
        turn = frame_turn(container, stream, path=name)
        container.seek(0)
        keys: list[float] = []
        last = 0.0
        for packet in container.demux(stream):
            if packet.pts is None:
                continue
            t = float(packet.pts * base) - origin
            last = max(last, t + float((packet.duration or 0) * base))
            if packet.is_keyframe:
                keys.append(t)
        width, height = stream.codec_context.width, stream.codec_context.height
        if turn in (90, 270):
            width, height = height, width
        duration = (container.duration / av.time_base if container.duration else last) or last
    return VideoFacts(
        path=name,
        duration_s=round(float(duration), 3),
        size_bytes=size,
        width=width,
        height=height,
        fps=fps,
        keyframes=tuple(sorted(keys)),
        turn=turn,
        origin=origin,
    )


def audio_facts(path: str | os.PathLike[str]) -> AudioFacts:
    """Duration, size, sample rate and channel count of a local audio file."""
    import av

    name = os.fspath(path)
    with _opened(name, "audio") as (container, stream, size):
        rate = stream.codec_context.sample_rate or stream.rate or 16000
        channels = stream.codec_context.channels or 1
        if container.duration:
            duration = container.duration / av.time_base
        else:
            duration = float((stream.duration or 0) * (stream.time_base or 0))
    return AudioFacts(
        path=name, duration_s=round(duration, 3), size_bytes=size, rate=rate, channels=channels
    )


def scaled_size(width: int, height: int, max_pixels: int) -> tuple[int, int]:
    """The frame size that fits ``max_pixels`` on its longest side, aspect kept, both even."""
    scale = min(1.0, max_pixels / max(width, height))
    return max(2, int(width * scale) // 2 * 2), max(2, int(height * scale) // 2 * 2)


def over_limits(
    limits: Mapping[str, Mapping[str, Any]], video: VideoFacts, audio: AudioFacts
) -> list[str]:
    """Which documented limits the whole input breaks, as phrases ("the video is 125 s; max 30 s")."""
    out = []
    checks = (
        ("video", video.duration_s, "max_seconds", "s"),
        ("audio", audio.duration_s, "max_seconds", "s"),
        ("video", video.size_bytes, "max_bytes", "bytes"),
        ("audio", audio.size_bytes, "max_bytes", "bytes"),
        ("video", max(video.width, video.height), "max_pixels", "px"),
    )
    for role, value, key, unit in checks:
        limit = (limits.get(role) or {}).get(key)
        if limit is not None and value > limit:
            out.append(f"the {role} is {value:g} {unit}, over the limit of {limit:g} {unit}")
    return out


@dataclass(frozen=True, slots=True, kw_only=True)
class PiecePlan:
    """One piece: its time range, why it starts where it does, how it is cut and its size."""

    index: int  # from 1
    count: int
    start: float
    end: float
    why: str  # why the cut at ``start`` is there ("start of the input" for the first piece)
    video_method: str  # "stream copy" or "re-encode: <reason>"
    video_bytes: int  # estimated from the source's bitrate
    audio_bytes: int  # exact: PCM WAV
    size: tuple[int, int]  # the piece's frame size (scaled when fit: scale)

    @property
    def seconds(self) -> float:
        return self.end - self.start

    @property
    def copy(self) -> bool:
        return self.video_method == "stream copy"


@dataclass(frozen=True, slots=True, kw_only=True)
class SplitPlan:
    """The pieces of one long lip sync, and the limit that set their length."""

    pieces: tuple[PiecePlan, ...]
    max_seconds: float
    bound_by: str  # which limit set ``max_seconds``
    fps: Fraction  # the source video's frame rate: the joined output's
    cuts: tuple[Cut, ...] = field(default_factory=tuple)
    # The pieces as a lipflow that counted a video's own sound from its first sample planned
    # them, when they differ (lipflow.longmedia.loudness_before_sound_counted_from_first_frame).
    earlier: tuple[PiecePlan, ...] = field(default_factory=tuple)
    # The pieces as a lipflow that read the keyframe times of a video whose first frame is not
    # at 0 from its raw timestamps planned them (it counted the sound from its first sample too),
    # when they differ: which keyframes a cut was on, or followed, was otherwise.
    on_raw_timestamps: tuple[PiecePlan, ...] = field(default_factory=tuple)
    # The pieces of a turned phone video as a lipflow that read it as stored (its stored size,
    # no turn, keyframe times from raw timestamps) planned them, when they differ.
    sideways: tuple[PiecePlan, ...] = field(default_factory=tuple)


class SplitProblem(ValueError):
    """The input cannot be split within the limits: the message says which and how to fix it;
    ``setting`` names the recipe setting at fault (``video``, ``audio`` or ``cut``)."""

    def __init__(self, message: str, *, setting: str = "video") -> None:
        super().__init__(message)
        self.setting = setting


def _max_piece_seconds(
    limits: Mapping[str, Mapping[str, Any]],
    video: VideoFacts,
    audio: AudioFacts,
    policy: CutPolicy,
    pixel_ratio: float,
) -> tuple[float, str]:
    """The longest piece every limit allows, and which limit that is."""
    bounds: list[tuple[float, str]] = []
    for role in ("video", "audio"):
        most = (limits.get(role) or {}).get("max_seconds")
        if most is not None:
            bounds.append((float(most), f"the model's {role} limit of {most:g} s"))
    video_bytes = (limits.get("video") or {}).get("max_bytes")
    if video_bytes is not None and video.bytes_per_second > 0:
        per_s = video.bytes_per_second * pixel_ratio
        bounds.append(
            (
                math.floor(video_bytes * _BYTES_HEADROOM / per_s * 100) / 100,
                f"the model's video size limit of {video_bytes / 1e6:g} MB at the source's bitrate",
            )
        )
    audio_bytes = (limits.get("audio") or {}).get("max_bytes")
    if audio_bytes is not None:
        bounds.append(
            (
                math.floor((audio_bytes - _WAV_HEADER) / audio.wav_bytes_per_second * 100) / 100,
                f"the model's audio size limit of {audio_bytes / 1e6:g} MB as PCM WAV",
            )
        )
    if policy.max_seconds is not None:
        bounds.append((float(policy.max_seconds), f"cut.max_seconds of {policy.max_seconds:g} s"))
    if not bounds:
        return math.inf, "no documented limit"
    return min(bounds, key=lambda b: b[0])


def plan_split(
    limits: Mapping[str, Mapping[str, Any]],
    video: VideoFacts,
    audio: AudioFacts,
    policy: CutPolicy,
    *,
    fit: str | None = None,
    loudness: Callable[[str], Loudness] = loudness_of,
) -> SplitPlan:
    """The pieces that put a long lip sync within every limit of the model; SplitProblem if none.

    The pieces cover the driving audio (the lip sync's output follows it); the video must cover
    the audio. ``fit="scale"`` allows scaling a video over the model's pixel limit.
    """
    most_px = (limits.get("video") or {}).get("max_pixels")
    size = (video.width, video.height)
    scale_reason = None
    if most_px is not None and max(size) > most_px:
        if fit != "scale":
            raise SplitProblem(
                f"the video is {video.width}x{video.height}; the model accepts at most "
                f"{most_px} px on its longest side: set fit: scale to scale it down"
            )
        size = scaled_size(video.width, video.height, int(most_px))
        scale_reason = (
            f"scaled from {video.width}x{video.height} to {size[0]}x{size[1]} (fit: scale)"
        )
    if video.duration_s + float(1 / video.fps) < audio.duration_s:
        raise SplitProblem(
            setting="audio",
            message=f"the video ({video.duration_s:g} s) is shorter than the audio "
            f"({audio.duration_s:g} s): every piece needs video under its audio",
        )
    if video.turn and not scale_reason:
        scale_reason = f"the video is shown turned {video.turn} degrees; pieces are cut upright"
    pixel_ratio = (size[0] * size[1]) / (video.width * video.height)
    max_s, bound_by = _max_piece_seconds(limits, video, audio, policy, pixel_ratio)
    if max_s < 1.0:
        raise SplitProblem(f"pieces would have to be under 1 s to meet {bound_by}")
    try:
        cuts = plan_cuts(
            loudness(audio.path),
            audio.duration_s,
            policy,
            max_s,
            keyframes=() if scale_reason else video.keyframes,
        )
    except CutError as exc:
        raise SplitProblem(str(exc), setting="cut") from None
    bounds = [0.0, *(c.time for c in cuts), audio.duration_s]
    whys = ["start of the input", *(c.reason for c in cuts)]
    pieces = []
    count = len(bounds) - 1
    for i in range(count):
        start, end = bounds[i], bounds[i + 1]
        last = i == count - 1
        method = (
            f"re-encode: {scale_reason}"
            if scale_reason
            else cut_method(start, end, video.keyframes, fps=video.fps, to_end=last)
        )
        seconds = end - start
        pieces.append(
            PiecePlan(
                index=i + 1,
                count=count,
                start=round(start, 3),
                end=round(end, 3),
                why=whys[i],
                video_method=method,
                video_bytes=round(video.bytes_per_second * pixel_ratio * seconds),
                audio_bytes=_WAV_HEADER + round(seconds * audio.rate) * audio.channels * 2,
                size=size,
            )
        )
    return SplitPlan(
        pieces=tuple(pieces), max_seconds=max_s, bound_by=bound_by, fps=video.fps, cuts=tuple(cuts)
    )

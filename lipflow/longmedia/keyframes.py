"""Cutting a piece out of the source without quality loss where the codec allows it.

A compressed video can only be cut without decoding at a keyframe: a piece that starts anywhere
else would begin with frames that refer to pictures it does not hold. So a video piece is a
stream copy (its packets as they are, timestamps moved to start at zero) when its start and end
are on keyframes, and is re-encoded otherwise, with the reason said in the plan. Audio pieces are
decoded and written as PCM WAV, which is lossless and sample-exact at any cut.
"""

from __future__ import annotations

import os
import struct
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from fractions import Fraction
from pathlib import Path
from typing import TYPE_CHECKING

from lipflow.errors import InputError
from lipflow.orientation import frame_turn

if TYPE_CHECKING:  # numpy is imported where it is used: planning a short job never needs it
    import numpy as np
    import numpy.typing as npt

__all__ = [
    "COPY",
    "cut_audio",
    "cut_method",
    "cut_video",
    "first_times",
    "picture_origin",
    "start_of",
    "upright",
    "upright_copy",
    "write_wav",
    "written",
]

COPY = "stream copy"
# Re-encoded pieces go to the provider, which decodes them again: near-transparent quality.
_CRF = "18"


@contextmanager
def written(dest: str | os.PathLike[str]) -> Iterator[Path]:
    """A temporary path beside ``dest``, renamed onto it when the block succeeds (removed if not):
    a run killed mid-write never leaves a half file under the final name."""
    tmp = Path(f"{os.fspath(dest)}.tmp")
    try:
        yield tmp
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    os.replace(tmp, dest)


def write_wav(path: str | os.PathLike[str], pcm: npt.NDArray[np.int16], rate: int) -> None:
    """16-bit PCM samples (frames x channels) as a WAV file: a 44-byte header and the samples."""
    import numpy as np

    channels = pcm.shape[1]
    data = np.ascontiguousarray(pcm, dtype="<i2").tobytes()
    header = struct.pack(
        "<4sI4s4sIHHIIHH4sI",
        b"RIFF",
        36 + len(data),
        b"WAVE",
        b"fmt ",
        16,
        1,
        channels,
        rate,
        rate * channels * 2,
        channels * 2,
        16,
        b"data",
        len(data),
    )
    with open(path, "wb") as fh:
        fh.write(header)
        fh.write(data)


def _on_key(t: float, keyframes: Sequence[float], tolerance: float) -> bool:
    return any(abs(k - t) <= tolerance for k in keyframes)


def cut_method(
    start: float, end: float, keyframes: Sequence[float], *, fps: Fraction, to_end: bool
) -> str:
    """How the video piece ``[start, end)`` is cut: ``"stream copy"`` or ``"re-encode: why"``."""
    tolerance = float(1 / fps) / 2
    if not _on_key(start, keyframes, tolerance):
        before = max((k for k in keyframes if k <= start), default=None)
        near = f" (the keyframe before it is at {before:.2f} s)" if before is not None else ""
        return f"re-encode: the cut at {start:.2f} s is not on a keyframe{near}"
    if not to_end and not _on_key(end, keyframes, tolerance):
        return f"re-encode: the cut at {end:.2f} s is not on a keyframe"
    return COPY


def start_of(stream) -> float:  # type: ignore[no-untyped-def]
    """The time of the stream's first frame: cut times count from it, not from timestamp zero
    (a video cut by stream copy often starts at 10 s; 0-12 s of it is its first 12 s)."""
    if stream.start_time is None or stream.time_base is None:
        return 0.0
    return float(stream.start_time * stream.time_base)


def picture_origin(container) -> float | None:  # type: ignore[no-untyped-def]
    """The time of the first frame of the file's video, which its sound's cut times count from
    too; None for a file without video (cover art is no video: its sound counts from its first
    sample)."""
    import av

    still = av.stream.Disposition.attached_pic
    for stream in container.streams.video:
        if not stream.disposition & still:
            return start_of(stream)
    return None


def first_times(path: str | os.PathLike[str]) -> tuple[float | None, float | None]:
    """The times of a file's first video frame and of its first sound sample (None for a
    stream it lacks, or a file that cannot be read): how far an older lipflow's cuts were off,
    which counted from timestamp zero, and a video's own sound from its first sample."""
    import av

    try:
        with av.open(os.fspath(path)) as container:
            origin = picture_origin(container)
            sound = None
            if container.streams.audio:
                for frame in container.decode(container.streams.audio[0]):
                    if frame.time is not None:
                        sound = float(frame.time)
                        break
    except (av.FFmpegError, OSError):
        return None, None
    return origin, sound


def upright(frame, turn: int):  # type: ignore[no-untyped-def]
    """``frame`` turned clockwise by ``turn`` degrees, as a player shows it: providers see the
    stored pixels and ignore the display matrix, so a phone video would be lip-synced sideways."""
    if not turn:
        return frame
    import av
    import numpy as np

    pixels = np.rot90(frame.to_ndarray(format="rgb24"), k=-(turn // 90))
    return av.VideoFrame.from_ndarray(np.ascontiguousarray(pixels), format="rgb24")


def cut_video(
    source: str | os.PathLike[str],
    dest: str | os.PathLike[str],
    start: float,
    end: float,
    *,
    copy: bool,
    size: tuple[int, int] | None = None,
) -> None:
    """Write the video ``[start, end)`` of ``source`` (video only) to ``dest`` (MP4).

    ``copy`` moves the packets as they are (the cut must be on keyframes); otherwise the frames
    are decoded and encoded again with H.264, scaled to ``size`` when given. Times count from
    the video's first frame. A rotated video is always re-encoded, its frames turned upright
    (``size`` is then the displayed size).
    """
    import av

    try:
        with (
            written(dest) as tmp,
            av.open(os.fspath(source)) as src,
            av.open(str(tmp), "w", format="mp4") as out,
        ):
            stream = src.streams.video[0]
            turn = frame_turn(src, stream, path=os.fspath(source))
            if copy and not turn:
                _copy_packets(src, stream, out, start, end)
            else:
                _reencode(src, stream, out, start, end, size, turn)
    except av.FFmpegError as exc:
        raise InputError(
            f"cannot cut {start:g}-{end:g} s from the video ({exc.strerror or exc})",
            path=os.fspath(source),
        ) from exc


def _copy_packets(src, stream, out, start: float, end: float) -> None:  # type: ignore[no-untyped-def]
    base = stream.time_base
    target = out.add_stream_from_template(stream)
    first_pts = first_dts = None
    origin = start_of(stream)
    src.seek(
        max(0, int((origin + start - 1) / base)), stream=stream, backward=True, any_frame=False
    )
    tolerance = float(1 / (stream.average_rate or 25)) / 2
    for packet in src.demux(stream):
        if packet.pts is None or packet.dts is None:
            continue
        t = float(packet.pts * base) - origin
        if t < start - tolerance:
            continue
        if t >= end - tolerance:
            break
        if first_pts is None:
            first_pts, first_dts = packet.pts, packet.dts
        assert first_dts is not None
        packet.pts -= first_pts
        packet.dts -= first_pts if first_dts >= first_pts else first_dts
        packet.stream = target
        out.mux(packet)


def even_size(width: int, height: int) -> tuple[int, int]:
    """The frame size H.264 in 4:2:0 can encode: each side even (a 161x91 phone export loses
    its last column and row to scaling), at least 2."""
    return max(2, width - width % 2), max(2, height - height % 2)


def _reencode(  # type: ignore[no-untyped-def]
    src,
    stream,
    out,
    start: float,
    end: float,
    size: tuple[int, int] | None,
    turn: int = 0,
) -> None:
    fps = Fraction(stream.average_rate or 25)
    shown = (stream.codec_context.width, stream.codec_context.height)
    if turn in (90, 270):
        shown = shown[::-1]
    width, height = even_size(*(size or shown))
    target = out.add_stream("libx264", rate=fps)
    target.width, target.height, target.pix_fmt = width, height, "yuv420p"
    target.options = {"crf": _CRF, "preset": "veryfast"}
    origin = start_of(stream)
    src.seek(max(0, int((origin + start - 1) / stream.time_base)), stream=stream, backward=True)
    half = float(1 / fps) / 2
    index = 0
    for frame in src.decode(stream):
        if frame.time is None or frame.time - origin < start - half:
            continue
        if frame.time - origin >= end - half:
            break
        picture = upright(frame, turn).reformat(width=width, height=height, format="yuv420p")
        picture.pts = index
        picture.time_base = Fraction(1) / fps
        index += 1
        out.mux(target.encode(picture))
    out.mux(target.encode(None))
    if index == 0:
        raise InputError(f"the video has no frames between {start:g} and {end:g} s")


def upright_copy(source: str | os.PathLike[str], dest: str | os.PathLike[str], turn: int) -> None:
    """All of ``source`` with its picture turned upright, as a player shows it (re-encoded: H.264,
    VP8 in WebM), its sound and timestamps as they are: what a provider is sent for a phone
    video that needs no cut (a split one's pieces are cut upright)."""
    import av

    name = os.fspath(dest)
    container = {".mov": "mov", ".webm": "webm"}.get(os.path.splitext(name)[1].lower(), "mp4")
    try:
        with (
            written(dest) as tmp,
            av.open(os.fspath(source)) as src,
            av.open(str(tmp), "w", format=container) as out,
        ):
            video = src.streams.video[0]
            sound = src.streams.audio[0] if src.streams.audio else None
            shown = (video.codec_context.height, video.codec_context.width)
            if turn == 180:
                shown = shown[::-1]
            width, height = even_size(*shown)
            target = out.add_stream(
                "libvpx" if container == "webm" else "libx264",
                rate=Fraction(video.average_rate or 25),
            )
            target.width, target.height, target.pix_fmt = width, height, "yuv420p"
            target.codec_context.time_base = video.time_base
            target.options = {"crf": _CRF, "preset": "veryfast"} if container != "webm" else {}
            copied = out.add_stream_from_template(sound) if sound is not None else None
            for packet in src.demux(*[s for s in (video, sound) if s is not None]):
                if packet.stream is video:
                    for frame in packet.decode():
                        picture = upright(frame, turn).reformat(
                            width=width, height=height, format="yuv420p"
                        )
                        picture.pts, picture.time_base = frame.pts, video.time_base
                        out.mux(target.encode(picture))
                elif packet.dts is not None:
                    packet.stream = copied
                    out.mux(packet)
            out.mux(target.encode(None))
    except av.FFmpegError as exc:
        raise InputError(
            f"cannot turn the video upright for the provider ({exc.strerror or exc})",
            path=os.fspath(source),
        ) from exc


def cut_audio(
    source: str | os.PathLike[str], dest: str | os.PathLike[str], start: float, end: float
) -> None:
    """Write the audio ``[start, end)`` of ``source`` to ``dest`` as PCM WAV, sample-exact
    (silence fills any part before or past the source's sound). In a file with video, times
    count from the first video frame, as the video's cuts do: sound that starts before it (a
    stream-copy cut, an encoder's priming samples) is not counted into the range."""
    import av
    import numpy as np

    try:
        with written(dest) as tmp, av.open(os.fspath(source)) as src:
            stream = src.streams.audio[0]
            rate = stream.codec_context.sample_rate
            layout = stream.codec_context.layout.name
            channels = stream.codec_context.channels
            origin = picture_origin(src)
            first, last = round(start * rate), round(end * rate)
            resampler = av.AudioResampler(format="s16", layout=layout, rate=rate)
            # Samples are counted from the first one, not found by seeking: compressed audio
            # (MP3, AAC) seeks to frame boundaries with timestamps off by tens of milliseconds.
            parts = []
            position = 0
            for frame in src.decode(stream):
                if position == 0 and origin is not None and frame.time is not None:
                    # The first sample's time: how far the sound leads (or trails) the picture.
                    lead = round((origin - float(frame.time)) * rate)
                    first, last = first + lead, last + lead
                    origin = None
                for chunk in resampler.resample(frame):
                    data = chunk.to_ndarray().reshape(-1, channels)
                    lo, hi = max(first, position), min(last, position + len(data))
                    if hi > lo:
                        parts.append(data[lo - position : hi - position])
                    position += len(data)
                if position >= last:
                    break
            before = max(0, min(0, last) - first)  # the range starts before the first sample
            if before:
                parts.insert(0, np.zeros((before, channels), dtype=np.int16))
            pcm = np.concatenate(parts) if parts else np.zeros((0, channels), dtype=np.int16)
            missing = (last - first) - len(pcm)
            if missing > 0:
                pcm = np.concatenate([pcm, np.zeros((missing, channels), dtype=np.int16)])
            write_wav(tmp, pcm.astype(np.int16), rate)
    except av.FFmpegError as exc:
        raise InputError(
            f"cannot cut {start:g}-{end:g} s from the audio ({exc.strerror or exc})",
            path=os.fspath(source),
        ) from exc

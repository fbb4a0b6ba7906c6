"""Joining lip-synced pieces into one output, and proving the joins are right.

Concatenating pieces as they are drifts: a provider's output is often a few frames longer or
shorter than its audio, and those frames pile up at every join (frozen frames, speech running
ahead of lips). So every piece is decoded and fitted to its *planned* length on one frame and
sample grid anchored at the source's time zero: video frames are taken at the grid's instants
(the last one repeated if the piece is short, the extra dropped if long), audio is cut or padded
with silence to the planned sample count. The result is encoded once, with timestamps that run
on without a gap, so the audio and the video of every piece start at its planned time.

:func:`verify` then reads the output back: its duration equals the source's within one frame,
it has audio, and every join is where the plan put it.
"""

from __future__ import annotations

import itertools
import os
from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np

from lipflow.errors import AssemblyFailed
from lipflow.longmedia.keyframes import even_size, start_of, written
from lipflow.longmedia.loudness import decode_mono
from lipflow.longmedia.synthesis import encode_audio

__all__ = ["Assembled", "AssemblyPiece", "assemble", "verify"]

_AUDIO_LAYOUT = "mono"


@dataclass(frozen=True, slots=True)
class AssemblyPiece:
    """A finished piece: its file and the source time range it stands for; ``audio``, when
    given, is the file its sound is taken from instead (a clip cut video-only from the source
    plays the source's own audio, cut apart)."""

    path: str
    start: float
    end: float
    audio: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class Assembled:
    """The joined output and what verifying it measured."""

    path: str
    duration_s: float  # the video stream's length
    audio_s: float  # the audio stream's length
    frames: int
    fps: Fraction
    joins: tuple[float, ...]  # where each piece after the first starts, in the output
    size_bytes: int

    def to_json(self) -> dict[str, Any]:
        return {
            "path": self.path,
            "duration_s": round(self.duration_s, 4),
            "audio_s": round(self.audio_s, 4),
            "frames": self.frames,
            "fps": str(self.fps),
            "joins": [round(j, 4) for j in self.joins],
            "size_bytes": self.size_bytes,
        }


def _grid(t: float, rate: Fraction | int) -> int:
    return round(t * rate)


def assemble(
    pieces: Sequence[AssemblyPiece],
    dest: str | os.PathLike[str],
    *,
    fps: Fraction,
    size: tuple[int, int],
    audio_rate: int = 16000,
) -> Assembled:
    """Join ``pieces`` (in order, covering the source without gaps) into ``dest`` (MP4: H.264 +
    AAC at ``fps`` and ``size``), each fitted to its planned length; then :func:`verify` it."""
    import av

    if not pieces:
        raise AssemblyFailed("no pieces to assemble", path=os.fspath(dest))
    for a, b in itertools.pairwise(pieces):
        if abs(a.end - b.start) > 1e-6:
            raise AssemblyFailed(
                f"pieces do not meet: one ends at {a.end:g} s, the next starts at {b.start:g} s",
                path=os.fspath(dest),
            )
    width, height = even_size(*size)
    try:
        with written(dest) as tmp, av.open(str(tmp), "w", format="mp4") as out:
            video = out.add_stream("libx264", rate=fps)
            video.width, video.height, video.pix_fmt = width, height, "yuv420p"
            video.options = {"preset": "veryfast", "crf": "20"}
            audio = out.add_stream("aac", rate=audio_rate, layout=_AUDIO_LAYOUT)
            # FFmpeg's default AAC coder searches for the best quantisation at about 20x the
            # cost; the fast coder is transparent for speech at this bitrate.
            audio.options = {"aac_coder": "fast"}
            frame_no = _grid(pieces[0].start, fps)
            sample_no = 0
            block = audio.codec_context.frame_size or 1024
            pending = np.zeros(0, dtype=np.float32)  # audio not yet a whole encoder frame
            for piece in pieces:
                frames = _grid(piece.end, fps) - _grid(piece.start, fps)
                samples = _grid(piece.end, audio_rate) - _grid(piece.start, audio_rate)
                frame_no = _join_video(out, video, piece, frames, frame_no, fps, size)
                sound = decode_mono(piece.audio or piece.path, rate=audio_rate)
                fitted = np.zeros(samples, dtype=np.float32)
                fitted[: min(samples, len(sound))] = sound[:samples]
                pending = np.concatenate([pending, fitted])
                whole = len(pending) // block * block
                sample_no = encode_audio(
                    out,
                    audio,
                    pending[:whole].reshape(1, -1),
                    audio_rate,
                    _AUDIO_LAYOUT,
                    start=sample_no,
                    flush=False,
                )
                pending = pending[whole:]
            out.mux(video.encode(None))
            encode_audio(
                out, audio, pending.reshape(1, -1), audio_rate, _AUDIO_LAYOUT, start=sample_no
            )
    except av.FFmpegError as exc:
        raise AssemblyFailed(
            f"cannot join the pieces ({exc.strerror or exc})", path=os.fspath(dest)
        ) from exc
    return verify(dest, pieces, fps=fps)


def _join_video(  # type: ignore[no-untyped-def]
    out,
    stream,
    piece: AssemblyPiece,
    frames: int,
    frame_no: int,
    fps: Fraction,
    size: tuple[int, int],
) -> int:
    """The piece's video on the output's frame grid: ``frames`` frames from ``frame_no``."""
    import av

    width, height = even_size(*size)
    step = float(1 / fps)
    count = 0
    last = shown = None
    try:
        with av.open(piece.path) as src:
            if not src.streams.video:
                raise AssemblyFailed("the piece holds no video", path=piece.path)
            src_stream = src.streams.video[0]
            src_stream.thread_type = "AUTO"
            origin = start_of(src_stream)  # a piece whose first frame is not at 0 starts there
            for frame in src.decode(src_stream):
                t = (frame.time or origin) - origin
                # Grid instants before this frame's time show the frame before it.
                while last is not None and count < frames and count * step + step / 2 <= t:
                    shown = shown or last.reformat(width=width, height=height, format="yuv420p")
                    count, frame_no = _emit(out, stream, shown, frame_no, count)
                if count >= frames:
                    break
                last, shown = frame, None  # scaled only if shown: pieces often have more frames
    except av.FFmpegError as exc:
        raise AssemblyFailed(
            f"cannot read the piece ({exc.strerror or exc})", path=piece.path
        ) from exc
    if last is None:
        raise AssemblyFailed("the piece has no video frames", path=piece.path)
    while count < frames:  # the rest of the piece (held last picture if the piece is short)
        shown = shown or last.reformat(width=width, height=height, format="yuv420p")
        count, frame_no = _emit(out, stream, shown, frame_no, count)
    return frame_no


def _emit(out, stream, picture, frame_no: int, count: int) -> tuple[int, int]:  # type: ignore[no-untyped-def]
    picture.pts = frame_no
    picture.time_base = Fraction(1) / stream.average_rate
    out.mux(stream.encode(picture))
    return count + 1, frame_no + 1


def verify(
    path: str | os.PathLike[str], pieces: Sequence[AssemblyPiece], *, fps: Fraction
) -> Assembled:
    """Read the joined output back; AssemblyFailed unless its video lasts as long as the source
    within one frame, it has audio of that length, and each join is at its planned time."""
    import av

    name = os.fspath(path)
    frame_s = float(1 / fps)
    expected = pieces[-1].end - pieces[0].start
    try:
        with av.open(name) as container:
            if not container.streams.video:
                raise AssemblyFailed("the output holds no video", path=name)
            if not container.streams.audio:
                raise AssemblyFailed("the output holds no audio", path=name)
            vstream, astream = container.streams.video[0], container.streams.audio[0]
            frames = 0
            first_pts: int | None = None
            for packet in container.demux(vstream):
                if packet.pts is None:
                    continue
                frames += 1
                first_pts = packet.pts if first_pts is None else min(first_pts, packet.pts)
            audio_s = float((astream.duration or 0) * (astream.time_base or 0))
    except av.FFmpegError as exc:
        raise AssemblyFailed(
            f"the output cannot be read ({exc.strerror or exc})", path=name
        ) from exc
    duration = frames * frame_s
    if abs(duration - expected) > frame_s:
        raise AssemblyFailed(
            f"the output's video lasts {duration:.3f} s; the source lasts {expected:.3f} s "
            f"(more than one frame, {frame_s:.3f} s, apart)",
            path=name,
        )
    if abs(audio_s - expected) > frame_s:
        raise AssemblyFailed(
            f"the output's audio lasts {audio_s:.3f} s; the source lasts {expected:.3f} s",
            path=name,
        )
    origin = _grid(pieces[0].start, fps)
    joins = []
    for piece in pieces[1:]:
        at = (_grid(piece.start, fps) - origin) * frame_s
        if abs(at - (piece.start - pieces[0].start)) > frame_s / 2 + 1e-9:
            raise AssemblyFailed(
                f"the join planned at {piece.start:g} s falls at {at:.3f} s", path=name
            )
        joins.append(at)
    return Assembled(
        path=name,
        duration_s=duration,
        audio_s=audio_s,
        frames=frames,
        fps=fps,
        joins=tuple(joins),
        size_bytes=Path(name).stat().st_size,
    )

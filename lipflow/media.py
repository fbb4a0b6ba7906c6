"""Media files: probe what a file is and how long it lasts, and make small real ones.

The planner needs the duration of local inputs (prices are per second of audio or video) and the
mock server needs real outputs of a job's duration, so downloads, size checks and probes behave as
they do against a provider. Both go through PyAV (FFmpeg's own demuxers and encoders) rather than a
hand-written container parser. ``av`` is imported inside each function: loading FFmpeg costs about
a tenth of a second, which commands that never touch media should not pay.
"""

from __future__ import annotations

import io
import math
import mimetypes
import os
import stat
import struct
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING, Literal

from lipflow.errors import InputError, UnreadableFile
from lipflow.probe import read_header, read_image_size

if TYPE_CHECKING:
    from av.container import InputContainer

__all__ = [
    "ASSUMED_SECONDS",
    "AUDIO_CONTAINERS",
    "MEDIA_TYPES",
    "VIDEO_CONTAINERS",
    "VIDEO_EXTENSIONS",
    "ImageInfo",
    "MediaInfo",
    "content_type",
    "content_type_of_extension",
    "extension_of_type",
    "piece_of",
    "piece_range",
    "probe",
    "probe_bytes",
    "probe_input",
    "probe_with_pyav",
    "read_media",
    "synthesize_audio",
    "synthesize_video",
    "turn_to_send",
]

MediaKind = Literal["video", "audio"]
VideoContainer = Literal["mp4", "mov", "webm"]
AudioContainer = Literal["wav", "mp3"]

VIDEO_CONTAINERS: tuple[str, ...] = ("mp4", "mov", "webm")
AUDIO_CONTAINERS: tuple[str, ...] = ("wav", "mp3")

# The one table of media types: (extension, kind, MIME type). The first row of an extension gives
# its type; later rows are aliases clients send for it. Uploads, downloads, the mock's store and
# the runner's output names all read this table.
MEDIA_TYPES: tuple[tuple[str, str, str], ...] = (
    ("mp4", "video", "video/mp4"),
    ("mov", "video", "video/quicktime"),
    ("mov", "video", "video/mov"),
    ("webm", "video", "video/webm"),
    ("wav", "audio", "audio/wav"),
    ("wav", "audio", "audio/x-wav"),
    ("wav", "audio", "audio/wave"),
    ("wav", "audio", "audio/vnd.wave"),
    ("mp3", "audio", "audio/mpeg"),
    ("mp3", "audio", "audio/mp3"),
    ("m4a", "audio", "audio/x-m4a"),
    ("m4a", "audio", "audio/mp4"),
    ("aac", "audio", "audio/aac"),
    ("aac", "audio", "audio/x-aac"),
    ("png", "image", "image/png"),
    ("jpg", "image", "image/jpeg"),
    ("jpeg", "image", "image/jpeg"),
    ("webp", "image", "image/webp"),
)
_TYPE_OF_EXT = {ext: ctype for ext, _, ctype in reversed(MEDIA_TYPES)}
_EXT_OF_TYPE = {ctype: ext for ext, _, ctype in reversed(MEDIA_TYPES)}
VIDEO_EXTENSIONS: tuple[str, ...] = tuple(
    dict.fromkeys(f".{ext}" for ext, kind, _ in MEDIA_TYPES if kind == "video")
)
# How long media of unknown length is taken to be: a generated video with no duration asked for,
# or an input the offline mock cannot measure. Every provider's default video length.
ASSUMED_SECONDS = 5.0


def content_type(path: str) -> str:
    """The MIME type of a file by its extension, from the table (else a guess, else binary)."""
    ext = os.path.splitext(piece_range(path)[0])[1].lower().lstrip(".")
    return _TYPE_OF_EXT.get(ext) or mimetypes.guess_type(path)[0] or "application/octet-stream"


def content_type_of_extension(ext: str) -> str:
    return _TYPE_OF_EXT.get(ext, "application/octet-stream")


def extension_of_type(ctype: str | None) -> str | None:
    """The extension for a MIME type (parameters ignored), or None if the table has none."""
    return _EXT_OF_TYPE.get((ctype or "").split(";")[0].strip().lower())


# Synthesized media is as small as a valid file can reasonably be: outputs only need the right
# container, codec and duration. 25 fps keeps the duration within 0.04 s of the one asked for.
_VIDEO_FPS = 25
_AUDIO_RATE = 16000
_TONE_HZ = 440
# An upper bound on what a caller may ask to synthesize: every provider caps inputs at 30 s and
# outputs at a few minutes; more is a bug in the caller, not a file worth encoding.
_MAX_SYNTH_SECONDS = 600.0


@dataclass(frozen=True, slots=True, kw_only=True)
class MediaInfo:
    """What a media file is: its kind, duration in seconds, frame size (video), container, and
    whether it holds an audio track."""

    kind: MediaKind
    duration_s: float
    width: int | None
    height: int | None
    size_bytes: int
    format: str
    has_audio: bool = True


@dataclass(frozen=True, slots=True, kw_only=True)
class ImageInfo:
    """A still image (a first or last frame): its frame size, bytes and format (png, jpeg, webp)."""

    width: int
    height: int
    size_bytes: int
    format: str
    kind: Literal["image"] = "image"
    duration_s: None = None


def probe(path: str | os.PathLike[str], *, held: bytes | None = None) -> MediaInfo:
    """Read a local audio or video file's kind, duration and size; InputError if it is neither.

    ``held``: the file's bytes, when the caller holds them already (a small download it has
    just written): its header is read from them instead of the disk, with the same answers;
    a file the header reader leaves to PyAV is still read from ``path``."""
    if held is None:
        info = _probe_file(os.fspath(path))
    else:
        name = os.fspath(path)
        info = _probe(name, len(held), label=name, head=held)
    if isinstance(info, ImageInfo):
        raise InputError(f"is a {info.format.upper()} image, not audio or video", path=str(path))
    return info


def not_regular(mode: int) -> str | None:
    """What a path is when it is not a regular file (reading one could block or never end)."""
    for test, kind in (
        (stat.S_ISDIR, "a directory"),
        (stat.S_ISFIFO, "a named pipe"),
        (stat.S_ISCHR, "a character device"),
        (stat.S_ISBLK, "a block device"),
        (stat.S_ISSOCK, "a socket"),
    ):
        if test(mode):
            return kind
    return None if stat.S_ISREG(mode) else "not a regular file"


def probe_input(path: str | os.PathLike[str]) -> MediaInfo | ImageInfo:
    """Read a local audio, video or image file (what a recipe input may be); InputError if it
    is none of them, or a video whose display matrix lipflow cannot honour (a mirror)."""
    name = os.fspath(path)
    info = _probe_file(name)
    if info.kind == "video":
        turn_to_send(name)
    return info


def _probe_file(name: str) -> MediaInfo | ImageInfo:
    try:
        status = os.stat(name)
    except OSError as exc:
        raise UnreadableFile.of_media(exc, path=name) from exc
    kind = not_regular(status.st_mode)
    if kind:  # a pipe or a device could block or never end, and says nothing of its size
        raise UnreadableFile(f"is {kind}, not a media file", path=name)
    try:  # a file this user may not read is unreadable, not a file that is no media
        open(name, "rb").close()
    except OSError as exc:
        raise UnreadableFile.of_media(exc, path=name) from exc
    return _probe(name, status.st_size, label=name)


def probe_bytes(data: bytes, *, name: str = "<bytes>") -> MediaInfo:
    """Like :func:`probe` for media held in memory (an upload, a download not yet on disk)."""
    info = _probe(io.BytesIO(data), len(data), label=name)
    if isinstance(info, ImageInfo):
        raise InputError(f"is a {info.format.upper()} image, not audio or video", path=name)
    return info


def _probe(
    source: str | io.BytesIO, size: int, *, label: str, head: bytes | None = None
) -> MediaInfo | ImageInfo:
    if size == 0:
        raise InputError("the file is empty, not audio or video", path=label)
    # Plain MP4/MOV and PCM WAV are read from their headers, with PyAV's answers: checking a
    # recipe then need not load FFmpeg. Anything the reader is unsure of is PyAV's.
    # A still image's frame size is read from its header too: FFmpeg says 0x0 for one bigger
    # than it will decode, which no pixel limit would catch.
    header = read_header(source if head is None else head, size)
    if header is not None:  # built field by field: **header._asdict() cost a third of a probe
        kind, duration_s, width, height, format, has_audio = header
        return MediaInfo(
            kind=kind,
            duration_s=duration_s,
            width=width,
            height=height,
            size_bytes=size,
            format=format,
            has_audio=has_audio,
        )
    image = read_image_size(source if head is None else io.BytesIO(head))
    if image is not None:
        return ImageInfo(**image._asdict(), size_bytes=size)
    return _probe_with_pyav(source, size, label=label)


def probe_with_pyav(path: str | os.PathLike[str]) -> MediaInfo | ImageInfo:
    """:func:`probe_input` through FFmpeg alone: the reference the header reader must agree with."""
    name = os.fspath(path)
    size = os.stat(name).st_size
    if size == 0:
        raise InputError("the file is empty, not audio or video", path=name)
    return _probe_with_pyav(name, size, label=name)


def _probe_with_pyav(source: str | io.BytesIO, size: int, *, label: str) -> MediaInfo | ImageInfo:
    import av

    try:
        with av.open(source, "r") as container:
            return _describe(container, size, label)
    except av.FFmpegError as exc:
        raise InputError(
            f"not a readable audio or video file ({exc.strerror or type(exc).__name__})",
            path=label,
        ) from exc
    except (OSError, ValueError, UnicodeDecodeError) as exc:
        raise InputError(f"not a readable audio or video file ({exc})", path=label) from exc


def _describe(container: InputContainer, size: int, label: str) -> MediaInfo | ImageInfo:
    import av

    video = container.streams.video[0] if container.streams.video else None
    audio = container.streams.audio[0] if container.streams.audio else None
    stream = video or audio
    if stream is None:
        raise InputError("the file holds neither audio nor video", path=label)
    if stream.codec_context is None or (video is not None and video.codec_context is None):
        # FFmpeg found a stream but no codec for it (a file cut short inside its header).
        raise InputError("not a readable audio or video file (unknown codec)", path=label)
    image_format = _IMAGE_CODECS.get(stream.codec_context.name)
    if (
        video is not None
        and audio is None
        and image_format
        and container.format.name in _IMAGE_DEMUXERS
    ):
        # A still image (a first or last frame): its size matters, it has no duration. A size
        # FFmpeg could not read (0x0) must not pass as no size at all.
        if not video.codec_context.width or not video.codec_context.height:
            raise InputError(
                f"the {image_format.upper()} image's width and height cannot be read",
                path=label,
            )
        return ImageInfo(
            width=video.codec_context.width,
            height=video.codec_context.height,
            size_bytes=size,
            format=image_format,
        )
    duration: float | None = None
    if container.duration is not None and container.duration > 0:
        duration = container.duration / av.time_base
    elif stream.duration is not None and stream.time_base is not None:
        duration = float(stream.duration * stream.time_base)
    if duration is None or not math.isfinite(duration) or duration <= 0:
        raise InputError("the file's duration cannot be read", path=label)
    width = height = None
    if video is not None:
        width = video.codec_context.width or None
        height = video.codec_context.height or None
    return MediaInfo(
        kind="video" if video is not None else "audio",
        duration_s=round(duration, 3),
        width=width,
        height=height,
        size_bytes=size,
        format=_format_name(container),
        has_audio=audio is not None,
    )


_WEBM_CODECS = frozenset({"vp8", "vp9", "av1", "opus", "vorbis"})
# Still images PyAV reads: FFmpeg codec -> the format as a user names it, and the demuxers that
# hold one picture (a JPEG in an AVI is a Motion-JPEG video, not an image).
_IMAGE_CODECS = {
    "png": "png",
    "mjpeg": "jpeg",
    "webp": "webp",
    "gif": "gif",
    "bmp": "bmp",
    "tiff": "tiff",
}
_IMAGE_DEMUXERS = frozenset(
    {"png_pipe", "jpeg_pipe", "webp_pipe", "gif", "gif_pipe", "bmp_pipe", "tiff_pipe", "image2"}
)


def _format_name(container: InputContainer) -> str:
    """The container as a user names it: FFmpeg's demuxers are shared by MP4/MOV and MKV/WebM."""
    names = container.format.name.split(",")
    if "mp4" in names:
        brand = str(container.metadata.get("major_brand", "")).strip()
        return "mov" if brand == "qt" else "mp4"
    if "matroska" in names:
        codecs = {s.codec_context.name for s in container.streams if s.type in ("video", "audio")}
        return "webm" if codecs and codecs <= _WEBM_CODECS else "matroska"
    return names[0]


def _check_seconds(seconds: float) -> float:
    if not (isinstance(seconds, int | float) and 0 < seconds <= _MAX_SYNTH_SECONDS):
        raise ValueError(f"seconds must be in (0, {_MAX_SYNTH_SECONDS:g}], got {seconds!r}")
    # Round so that callers asking for 4.999999 and 5.0 share one cached file.
    return round(float(seconds), 2)


def synthesize_video(
    seconds: float,
    *,
    width: int = 64,
    height: int = 64,
    container: VideoContainer = "mp4",
    cached: bool = True,
) -> bytes:
    """A valid silent video of ``seconds``: H.264 in MP4 or MOV, VP8 in WebM.

    WebM cannot carry H.264 (its muxer accepts only VP8/VP9/AV1), so WebM gets VP8. Results are
    cached by arguments (the last 64); ``cached=False`` encodes anew and keeps nothing, for a
    caller with a cache of its own (the mock server's, bounded in bytes).
    """
    if container not in VIDEO_CONTAINERS:
        raise ValueError(
            f"container must be one of {', '.join(VIDEO_CONTAINERS)}, got {container!r}"
        )
    if width < 16 or height < 16 or width % 2 or height % 2:
        raise ValueError(f"width and height must be even and >= 16, got {width}x{height}")
    encode = _video if cached else _video.__wrapped__
    return encode(_check_seconds(seconds), width, height, container)


@lru_cache(maxsize=64)
def _video(seconds: float, width: int, height: int, container: str) -> bytes:
    import av

    codec = "libvpx" if container == "webm" else "libx264"
    frames = max(1, math.ceil(seconds * _VIDEO_FPS - 1e-9))
    buf = io.BytesIO()
    with av.open(buf, "w", format=container) as out:
        stream = out.add_stream(codec, rate=_VIDEO_FPS)
        stream.width = width
        stream.height = height
        stream.pix_fmt = "yuv420p"
        if codec == "libx264":
            stream.options = {"preset": "ultrafast", "tune": "zerolatency"}
        for i in range(frames):
            frame = av.VideoFrame(width, height, "yuv420p")
            luma, *chroma = frame.planes
            # Planes are padded to an aligned line size (a 36-pixel-wide portrait frame has
            # 48-byte lines): fill whole lines. A slow brightness ramp: a picture that changes,
            # so the encoder makes real P-frames.
            luma.update(bytes([16 + (i * 7) % 200]) * (luma.line_size * luma.height))
            for plane in chroma:
                plane.update(bytes([128]) * (plane.line_size * plane.height))
            frame.pts = i
            out.mux(stream.encode(frame))
        out.mux(stream.encode(None))
    return buf.getvalue()


def synthesize_audio(
    seconds: float, *, container: AudioContainer = "wav", cached: bool = True
) -> bytes:
    """A valid mono 16 kHz tone of ``seconds``: PCM in WAV, or MP3. Cached by arguments (the
    last 64) unless ``cached=False``, as :func:`synthesize_video`."""
    if container not in AUDIO_CONTAINERS:
        raise ValueError(
            f"container must be one of {', '.join(AUDIO_CONTAINERS)}, got {container!r}"
        )
    encode = _audio if cached else _audio.__wrapped__
    return encode(_check_seconds(seconds), container)


@lru_cache(maxsize=64)
def _audio(seconds: float, container: str) -> bytes:
    samples = round(seconds * _AUDIO_RATE)
    period = [
        round(3000 * math.sin(2 * math.pi * _TONE_HZ * n / _AUDIO_RATE))
        for n in range(_AUDIO_RATE // _TONE_HZ * 10)
    ]
    reps = samples // len(period) + 1
    pcm = struct.pack(f"<{len(period)}h", *period) * reps
    pcm = pcm[: samples * 2]
    if container == "wav":
        return _wav(pcm)
    return _mp3(pcm, samples)


def _wav(pcm: bytes) -> bytes:
    """RIFF/WAVE needs no encoder: a 44-byte header in front of the samples."""
    header = struct.pack(
        "<4sI4s4sIHHIIHH4sI",
        b"RIFF",
        36 + len(pcm),
        b"WAVE",
        b"fmt ",
        16,
        1,  # PCM
        1,  # mono
        _AUDIO_RATE,
        _AUDIO_RATE * 2,
        2,
        16,
        b"data",
        len(pcm),
    )
    return header + pcm


def _mp3(pcm: bytes, samples: int) -> bytes:
    import av

    buf = io.BytesIO()
    with av.open(buf, "w", format="mp3") as out:
        stream = out.add_stream("libmp3lame", rate=_AUDIO_RATE, layout="mono")
        stream.format = "s16p"
        chunk = 1152
        for start in range(0, samples, chunk):
            n = min(chunk, samples - start)
            frame = av.AudioFrame(format="s16p", layout="mono", samples=n)
            frame.planes[0].update(pcm[start * 2 : (start + n) * 2])
            frame.sample_rate = _AUDIO_RATE
            frame.pts = start
            out.mux(stream.encode(frame))
        out.mux(stream.encode(None))
    return buf.getvalue()


# ---------------------------------------------------------------------------------- pieces

_PIECE = "#t="  # a W3C media fragment (https://www.w3.org/TR/media-frags/#naming-time)


def piece_of(path: str, start: float, end: float) -> str:
    """The name of a time range of a local file: ``/a/interview.mp4#t=1.5,4.2``."""
    return f"{path}{_PIECE}{start:.3f},{end:.3f}"


def piece_range(value: str) -> tuple[str, tuple[float, float] | None]:
    """The file and time range a :func:`piece_of` name holds (no range: the whole file)."""
    path, sep, fragment = value.partition(_PIECE)
    if not sep:
        return value, None
    start, _, end = fragment.partition(",")
    return path, (float(start), float(end))


def turn_to_send(value: str) -> int:
    """How far lipflow turns a local file clockwise before sending it (0, 90, 180 or 270): a
    whole video whose display matrix turns it (a phone's portrait video, stored landscape) is
    sent upright, as a player shows it, since providers lip-sync the stored pixels. A time
    range of a file is cut upright anyway; anything else is sent as it is. InputError for a
    display matrix lipflow cannot honour (a mirror)."""
    path, span = piece_range(value)
    if span is not None or os.path.splitext(path)[1].lower() not in VIDEO_EXTENSIONS:
        return 0
    from lipflow.orientation import video_turn

    return video_turn(path)


def read_media(value: str) -> bytes:
    """The bytes to upload for a local file, or for a piece of one, cut now: video re-encoded
    from its first frame in range, audio as sample-exact WAV (:mod:`lipflow.longmedia`); a
    turned phone video turned upright (:func:`turn_to_send`). OSError when the file cannot be
    read, InputError when it cannot be cut or turned."""
    path, span = piece_range(value)
    turn = turn_to_send(value)
    if span is None and not turn:
        with open(path, "rb") as fh:
            return fh.read()
    import tempfile

    from lipflow.longmedia.keyframes import cut_audio, cut_video, upright_copy

    with tempfile.TemporaryDirectory(prefix="lipflow-piece-") as tmp:
        if span is None:
            dest = os.path.join(tmp, "upright" + os.path.splitext(path)[1].lower())
            upright_copy(path, dest, turn)
        elif probe(path).kind == "video":
            dest = os.path.join(tmp, "piece.mp4")
            cut_video(path, dest, *span, copy=False)
        else:
            dest = os.path.join(tmp, "piece.wav")
            cut_audio(path, dest, *span)
        with open(dest, "rb") as fh:
            return fh.read()

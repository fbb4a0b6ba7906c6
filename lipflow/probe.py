"""A header reader for the common local inputs, so that checking a recipe need not load FFmpeg.

:func:`lipflow.media.probe_input` asks :func:`read_header` first. It understands the plain cases
of two containers and answers exactly what PyAV would:

- ISO BMFF (MP4, MOV): the first box is ``ftyp``; one ``moov`` (at the start or the end) whose
  ``mvhd`` gives the duration FFmpeg reports (mvhd duration over timescale, in whole microseconds,
  rounded to the nearest); each track's handler and single sample entry name the stream, and a
  video sample entry gives the frame size.
- RIFF/WAVE: integer or float PCM (also in WAVE_FORMAT_EXTENSIBLE), whose ``data`` chunk lies
  wholly in the file; the duration is its sample frames over the sample rate.

It also reads a still image's frame size from its first bytes (:func:`read_image_size`): PNG's
IHDR, JPEG's start-of-frame, WebP's VP8/VP8L/VP8X header, GIF's screen descriptor. FFmpeg reports
0x0 for an image bigger than it will decode (a 30000x30000 PNG), which would slip past every
pixel limit; the header says the true size without decoding a pixel.

Anything else, and anything it is unsure of (fragmented MP4, cover art, several sample entries,
an unknown codec, sizes that do not add up, a box bigger than the file), gives ``None`` and the
caller asks PyAV, which words today's errors. Nothing is read beyond the file's own bytes, and no
size field is trusted for an allocation: a box is read only once it is known to fit in the file,
and ``moov`` at most :data:`_MAX_MOOV` bytes.
"""

from __future__ import annotations

import struct
from collections.abc import Callable
from typing import BinaryIO, Literal, NamedTuple

__all__ = ["Header", "ImageSize", "read_display_matrix", "read_header", "read_image_size"]


class Header(NamedTuple):
    """What a header says: kind, duration (s, to the millisecond), frame size, container, and
    whether it holds an audio track (a video-only file is no voice)."""

    kind: Literal["video", "audio"]
    duration_s: float
    width: int | None
    height: int | None
    format: str
    has_audio: bool = True


class ImageSize(NamedTuple):
    """A still image's format (as a user names it) and frame size, from its header."""

    format: str
    width: int
    height: int


# A moov larger than this (an hour of tiny samples) is left to PyAV rather than read whole.
_MAX_MOOV = 16 * 1024 * 1024
_MAX_TOP_BOXES = 64

# Sample entries (codec four-character codes) whose stream kind FFmpeg never doubts, and the
# handler each must sit under. A track with any other entry sends the file to PyAV.
_VIDEO_ENTRIES = frozenset({b"avc1", b"avc3", b"hvc1", b"hev1", b"mp4v", b"av01", b"vp09"})
_AUDIO_ENTRIES = frozenset({b"mp4a", b"Opus", b"fLaC", b"ac-3", b"ec-3", b"alac"})
# Tracks that are neither audio nor video and never become one (timecode, timed text).
_OTHER_ENTRIES = frozenset({b"tmcd", b"tx3g", b"text"})

_PCM = 1
_FLOAT = 3
_EXTENSIBLE = 0xFFFE
# The KSDATAFORMAT_SUBTYPE GUIDs' tail, shared by the PCM and IEEE-float subformats.
_GUID_TAIL = b"\x00\x00\x00\x00\x10\x00\x80\x00\x00\xaa\x00\x38\x9b\x71"


_BOX_HEAD = struct.Struct(">I4s")
_LARGE_SIZE = struct.Struct(">Q")
_U32 = struct.Struct(">I")
_U32_PAIR = struct.Struct(">II")
_U32_U64 = struct.Struct(">IQ")
_FRAME_SIZE = struct.Struct(">HH")
# An edit list entry by the elst box's version: duration, media time, rate.
_EDIT = {0: struct.Struct(">Iii"), 1: struct.Struct(">Qqi")}

# ``read(offset, n)``: the file's ``n`` bytes at ``offset`` (fewer at its end).
Read = Callable[[int, int], bytes]


class _Unsure(Exception):
    """The reader cannot vouch for its answer: PyAV decides."""


def read_header(source: str | BinaryIO | bytes, size: int) -> Header | None:
    """The file's header facts if it is a plain MP4/MOV or PCM WAV, else None (ask PyAV).

    ``source``: a path, an open file (its position is kept), or the file's bytes, read in
    place (a download held in memory: no file object between the reader and the bytes)."""
    try:
        if isinstance(source, bytes):
            data = source
            return _read(lambda at, n: data[at : at + n], size)
        if isinstance(source, str):
            with open(source, "rb") as fh:
                return _read(_reader(fh), size)
        position = source.tell()
        try:
            return _read(_reader(source), size)
        finally:
            source.seek(position)
    except (_Unsure, OSError, struct.error, ValueError):
        return None


def _reader(fh: BinaryIO) -> Read:
    def read(at: int, n: int) -> bytes:
        fh.seek(at)
        return fh.read(n)

    return read


def _read(read: Read, size: int) -> Header | None:
    head = read(0, 12)
    if len(head) == 12 and head[4:8] == b"ftyp":
        return _mp4(read, size)
    if head[:4] == b"RIFF" and head[8:12] == b"WAVE":
        return _wav(read, size)
    return None


# ------------------------------------------------------------------------------ ISO BMFF


def _boxes(data: bytes, start: int, end: int) -> list[tuple[bytes, int, int]]:
    """The boxes in ``data[start:end]`` as (type, body start, body end); _Unsure if they do not
    tile the range exactly (a size of 0, "to the end", is left to FFmpeg too)."""
    found = []
    at = start
    while at < end:
        if end - at < 8:
            raise _Unsure
        length, kind = _BOX_HEAD.unpack_from(data, at)
        header = 8
        if length == 1:
            if end - at < 16:
                raise _Unsure
            (length,) = _LARGE_SIZE.unpack_from(data, at + 8)
            header = 16
        if length < header or at + length > end:
            raise _Unsure
        found.append((kind, at + header, at + length))
        at += length
    return found


def _only(boxes: list[tuple[bytes, int, int]], kind: bytes) -> tuple[int, int]:
    """The body of the one box of ``kind`` among ``boxes``; _Unsure if there is none or more."""
    found: tuple[int, int] | None = None
    for k, start, end in boxes:
        if k == kind:
            if found is not None:
                raise _Unsure
            found = (start, end)
    if found is None:
        raise _Unsure
    return found


def _moov(read: Read, size: int) -> tuple[str, bytes, list[tuple[bytes, int, int]]]:
    """The file's brand, its one ``moov`` box's body and that body's boxes; _Unsure unless the
    top-level boxes tile the file with one ``ftyp`` and one ``moov`` and no fragments."""
    top: list[tuple[bytes, int, int]] = []  # (type, offset, length) of each top-level box
    at = 0
    while at < size:
        if len(top) >= _MAX_TOP_BOXES:
            raise _Unsure
        head = read(at, 16)
        if len(head) < 8:
            raise _Unsure
        length, kind = _BOX_HEAD.unpack_from(head)
        header = 8
        if length == 1:
            if len(head) < 16:
                raise _Unsure
            (length,) = _LARGE_SIZE.unpack_from(head, 8)
            header = 16
        if length < header or at + length > size:
            raise _Unsure
        top.append((kind, at + header, length - header))
        at += length
    kinds = [kind for kind, _, _ in top]
    if kinds.count(b"ftyp") != 1 or kinds.count(b"moov") != 1 or b"moof" in kinds:
        raise _Unsure
    ftyp = next(box for box in top if box[0] == b"ftyp")
    moov = next(box for box in top if box[0] == b"moov")
    if ftyp[2] < 4 or moov[2] > _MAX_MOOV:
        raise _Unsure
    brand = read(ftyp[1], 4).decode("latin-1").strip()
    data = read(moov[1], moov[2])
    if len(data) != moov[2] or b"covr" in data:
        raise _Unsure  # cover art becomes a picture stream in FFmpeg: let it say so
    children = _boxes(data, 0, len(data))
    if any(kind == b"mvex" for kind, _, _ in children):
        raise _Unsure  # fragmented: the duration is in the fragments
    return brand, data, children


def _mp4(read: Read, size: int) -> Header:
    brand, data, children = _moov(read, size)
    movie_timescale, movie_us = _movie_duration(data, *_only(children, b"mvhd"))
    tracks = [
        _track(data, start, end, movie_timescale)
        for kind, start, end in children
        if kind == b"trak"
    ]
    # FFmpeg reports the longest stream: each the shortest of its media header's duration, the
    # sum of its sample durations and its one edit (an encoder's priming samples cut off); the
    # movie header says the same for a plain file. When the two disagree, PyAV decides.
    duration_us = max(track_us for _, _, track_us in tracks)
    if round(duration_us / 1_000_000, 3) != round(movie_us / 1_000_000, 3):
        raise _Unsure
    video = [frame for kind, frame, _ in tracks if kind == "video"]
    audio = [frame for kind, frame, _ in tracks if kind == "audio"]
    if not video and not audio:
        raise _Unsure
    width, height = video[0] if video else (None, None)
    return Header(
        kind="video" if video else "audio",
        duration_s=round(duration_us / 1_000_000, 3),
        width=width,
        height=height,
        format="mov" if brand == "qt" else "mp4",
        has_audio=bool(audio),
    )


_IDENTITY = (0x10000, 0, 0, 0, 0x10000, 0, 0, 0, 0x40000000)


def read_display_matrix(path: str, size: int) -> tuple[int, int, int, int] | None:
    """How a player turns the first video track of a plain MP4/MOV: its track header's display
    matrix as (a, b, c, d) in 16.16 fixed point, a point (x, y) of the stored picture shown at
    (a*x + c*y, b*x + d*y) -- what FFmpeg reports as the stream's display matrix. None when the
    file is not such a file or the reader is unsure (a movie-wide matrix): ask PyAV."""
    try:
        with open(path, "rb") as fh:
            head = fh.read(12)
            if len(head) < 12 or head[4:8] != b"ftyp":
                return None
            _, data, children = _moov(_reader(fh), size)
        start, end = _only(children, b"mvhd")
        at = start + (48 if data[start] == 1 else 36)
        if end - at < 36 or struct.unpack_from(">9i", data, at) != _IDENTITY:
            raise _Unsure
        for kind, trak_start, trak_end in children:
            if kind != b"trak":
                continue
            trak = _boxes(data, trak_start, trak_end)
            mdia = _boxes(data, *_only(trak, b"mdia"))
            hdlr_start, hdlr_end = _only(mdia, b"hdlr")
            if hdlr_end - hdlr_start < 12 or data[hdlr_start + 8 : hdlr_start + 12] != b"vide":
                continue
            start, end = _only(trak, b"tkhd")
            at = start + (4 + 32 + 16 if data[start] == 1 else 4 + 20 + 16)
            if end - at < 36:
                raise _Unsure
            a, b, _, c, d, _, _, _, _ = struct.unpack_from(">9i", data, at)
            return a, b, c, d
    except (_Unsure, OSError, struct.error, ValueError, IndexError):
        return None
    return None


def _movie_duration(data: bytes, start: int, end: int) -> tuple[int, int]:
    """mvhd's timescale, and its duration in microseconds."""
    version = data[start] if start < end else None
    timescale: int
    duration: int
    if version == 0 and end - start >= 20:
        timescale, duration = _U32_PAIR.unpack_from(data, start + 12)
    elif version == 1 and end - start >= 32:
        timescale, duration = _U32_U64.unpack_from(data, start + 20)
    else:
        raise _Unsure
    return timescale, _microseconds(timescale, duration)


def _microseconds(timescale: int, duration: int) -> int:
    """A duration in whole microseconds as FFmpeg's av_rescale rounds it (nearest, half up)."""
    if timescale <= 0 or duration <= 0 or duration >= 1 << 62:
        raise _Unsure
    return (duration * 1_000_000 + timescale // 2) // timescale


def _track(
    data: bytes, start: int, end: int, movie_timescale: int
) -> tuple[str, tuple[int | None, int | None], int]:
    """A track's kind ("video", "audio" or "other"), for video its frame size, and its duration
    in microseconds as FFmpeg gives the stream's."""
    trak_boxes = _boxes(data, start, end)
    _only(trak_boxes, b"tkhd")
    mdia = _only(trak_boxes, b"mdia")
    edits = [(s, e) for kind, s, e in trak_boxes if kind == b"edts"]
    if len(edits) > 1:
        raise _Unsure
    edit = _one_edit(data, *edits[0], movie_timescale) if edits else None
    mdia_boxes = _boxes(data, *mdia)
    hdlr_start, hdlr_end = _only(mdia_boxes, b"hdlr")
    if hdlr_end - hdlr_start < 12:
        raise _Unsure
    handler = data[hdlr_start + 8 : hdlr_start + 12]
    minf = _only(mdia_boxes, b"minf")
    stbl_boxes = _boxes(data, *_only(_boxes(data, *minf), b"stbl"))
    # The tables FFmpeg needs to index the samples: without one it drops or cuts the stream.
    _only(stbl_boxes, b"stsc")
    _only(stbl_boxes, b"stsz")
    _only(stbl_boxes, b"stco")
    if any(kind == b"co64" for kind, _, _ in stbl_boxes):
        raise _Unsure
    duration_us = _track_duration(
        data, _only(mdia_boxes, b"mdhd"), _only(stbl_boxes, b"stts"), edit
    )
    stsd_start, stsd_end = _only(stbl_boxes, b"stsd")
    if stsd_end - stsd_start < 8:
        raise _Unsure
    (count,) = _U32.unpack_from(data, stsd_start + 4)
    entries = _boxes(data, stsd_start + 8, stsd_end)
    if count != 1 or len(entries) != 1:
        raise _Unsure
    entry, entry_start, entry_end = entries[0]
    if entry in _VIDEO_ENTRIES and handler == b"vide":
        if entry_end - entry_start < 28:
            raise _Unsure
        width, height = _FRAME_SIZE.unpack_from(data, entry_start + 24)
        return "video", (width or None, height or None), duration_us
    if entry in _AUDIO_ENTRIES and handler == b"soun":
        return "audio", (None, None), duration_us
    if entry in _OTHER_ENTRIES and handler not in (b"vide", b"soun"):
        return "other", (None, None), duration_us
    raise _Unsure


def _one_edit(data: bytes, start: int, end: int, movie_timescale: int) -> tuple[int, int]:
    """A track's edit list when it is one plain edit (from a media time on, at normal rate): the
    edit's duration and the movie timescale it is counted in. _Unsure otherwise."""
    start, end = _only(_boxes(data, start, end), b"elst")
    if end - start < 8:
        raise _Unsure
    version, count = data[start], _U32.unpack_from(data, start + 4)[0]
    layout = _EDIT.get(version)
    if layout is None or count != 1 or end - start - 8 < layout.size:
        raise _Unsure
    duration, media_time, rate = layout.unpack_from(data, start + 8)
    if media_time < 0 or rate != 0x10000 or duration <= 0:
        raise _Unsure
    return duration, movie_timescale


def _track_duration(
    data: bytes, mdhd: tuple[int, int], stts: tuple[int, int], edit: tuple[int, int] | None
) -> int:
    """The shortest of mdhd's duration, the sum of stts's sample durations and the edit, in
    microseconds; _Unsure for a duration left unknown (0 or all ones) or a table that does not
    fit its box."""
    start, end = mdhd
    version = data[start] if start < end else None
    timescale: int
    duration: int
    if version == 0 and end - start >= 20:
        timescale, duration = _U32_PAIR.unpack_from(data, start + 12)
        unknown = 0xFFFFFFFF
    elif version == 1 and end - start >= 32:
        timescale, duration = _U32_U64.unpack_from(data, start + 20)
        unknown = 0xFFFFFFFFFFFFFFFF
    else:
        raise _Unsure
    if duration == unknown:
        raise _Unsure
    start, end = stts
    if end - start < 8:
        raise _Unsure
    (count,) = _U32.unpack_from(data, start + 4)
    if count * 8 > end - start - 8:
        raise _Unsure
    table = struct.unpack_from(f">{2 * count}I", data, start + 8)
    samples = sum(n * delta for n, delta in zip(table[::2], table[1::2], strict=True))
    if samples:
        duration = min(duration, samples)
    track_us = _microseconds(timescale, duration)
    if edit is None:
        return track_us
    return min(track_us, _microseconds(edit[1], edit[0]))


# ------------------------------------------------------------------------------ RIFF/WAVE


def _wav(read: Read, size: int) -> Header:
    at = 12
    fmt: tuple[int, int, int, int] | None = None  # (format tag, channels, rate, bits)
    while at + 8 <= size:
        kind, length = struct.unpack("<4sI", read(at, 8))
        body = at + 8
        if kind == b"fmt ":
            if fmt is not None or length < 16 or body + length > size:
                raise _Unsure
            fmt = _wav_format(read(body, min(length, 40)))
        elif kind == b"data":
            if fmt is None or length == 0 or body + length > size:
                raise _Unsure
            _, channels, rate, bits = fmt
            frames = (length * 8) // (channels * bits)
            duration_us = (frames * 1_000_000 + rate // 2) // rate
            if duration_us <= 0:
                raise _Unsure
            return Header("audio", round(duration_us / 1_000_000, 3), None, None, "wav")
        elif kind in (b"RF64", b"ds64", b"fact"):
            raise _Unsure
        at = body + length + (length & 1)
    raise _Unsure


def _wav_format(body: bytes) -> tuple[int, int, int, int]:
    if len(body) < 16:
        raise _Unsure
    tag, channels, rate, _, block_align, bits = struct.unpack_from("<HHIIHH", body)
    if tag == _EXTENSIBLE:
        if len(body) < 40 or body[26:40] != _GUID_TAIL:
            raise _Unsure
        (tag,) = struct.unpack_from("<H", body, 24)
        if struct.unpack_from("<H", body, 18)[0] != bits:
            raise _Unsure  # fewer valid bits than the container: leave it to FFmpeg
    allowed = {_PCM: (8, 16, 24, 32), _FLOAT: (32, 64)}.get(tag, ())
    if (
        bits not in allowed
        or not 0 < channels <= 8
        or rate <= 0
        or block_align != channels * bits // 8
    ):
        raise _Unsure
    return tag, channels, rate, bits


# ------------------------------------------------------------------------------ still images

_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
# JPEG's start-of-frame markers (baseline, progressive, lossless, arithmetic...): every SOFn but
# DHT (C4), JPG (C8) and DAC (CC), which share the range.
_JPEG_SOF = frozenset(range(0xC0, 0xD0)) - {0xC4, 0xC8, 0xCC}
# Markers that stand alone, with no length after them.
_JPEG_STANDALONE = frozenset({0x01, *range(0xD0, 0xD8)})
# How far into a JPEG its frame header is looked for: metadata (EXIF thumbnails, ICC profiles)
# comes first and may be large, but not larger than this in any real photograph.
_MAX_JPEG_SCAN = 4 * 1024 * 1024


def read_image_size(source: str | BinaryIO) -> ImageSize | None:
    """A PNG, JPEG, WebP or GIF image's format and frame size from its header, or None when it
    is none of these or its header does not say (then PyAV decides)."""
    try:
        if isinstance(source, str):
            with open(source, "rb") as fh:
                return _image_size(fh)
        position = source.tell()
        try:
            return _image_size(source)
        finally:
            source.seek(position)
    except (_Unsure, OSError, struct.error, ValueError):
        return None


def _image_size(fh: BinaryIO) -> ImageSize | None:
    fh.seek(0)
    head = fh.read(32)
    if head.startswith(_PNG_SIGNATURE) and head[12:16] == b"IHDR":
        width, height = struct.unpack_from(">II", head, 16)
        return _sized("png", width, height)
    if head.startswith(b"\xff\xd8\xff"):
        return _jpeg(fh)
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return _webp(head)
    if head[:6] in (b"GIF87a", b"GIF89a"):
        width, height = struct.unpack_from("<HH", head, 6)
        return _sized("gif", width, height)
    return None


def _sized(fmt: str, width: int, height: int) -> ImageSize:
    if width <= 0 or height <= 0:
        raise _Unsure
    return ImageSize(fmt, width, height)


def _jpeg(fh: BinaryIO) -> ImageSize:
    """The frame size in a JPEG's start-of-frame segment, walking the segments before it."""
    at = 2
    while at < _MAX_JPEG_SCAN:
        fh.seek(at)
        marker = fh.read(2)
        if len(marker) < 2 or marker[0] != 0xFF:
            raise _Unsure
        if marker[1] == 0xFF:  # fill bytes before a marker
            at += 1
            continue
        if marker[1] in _JPEG_STANDALONE:
            at += 2
            continue
        if marker[1] in (0xD9, 0xDA):  # end of image, or scan data with no frame header before
            raise _Unsure
        segment = fh.read(7)
        if len(segment) < 2:
            raise _Unsure
        (length,) = struct.unpack_from(">H", segment)
        if marker[1] in _JPEG_SOF:
            if len(segment) < 7:
                raise _Unsure
            height, width = struct.unpack_from(">HH", segment, 3)
            return _sized("jpeg", width, height)
        if length < 2:
            raise _Unsure
        at += 2 + length
    raise _Unsure


def _webp(head: bytes) -> ImageSize:
    """The canvas size in a WebP's first chunk: lossy (VP8), lossless (VP8L) or extended (VP8X)."""
    chunk = head[12:16]
    if chunk == b"VP8 " and head[23:26] == b"\x9d\x01\x2a":
        width, height = struct.unpack_from("<HH", head, 26)
        return _sized("webp", width & 0x3FFF, height & 0x3FFF)
    if chunk == b"VP8L" and head[20] == 0x2F:
        (bits,) = struct.unpack_from("<I", head, 21)
        return _sized("webp", (bits & 0x3FFF) + 1, ((bits >> 14) & 0x3FFF) + 1)
    if chunk == b"VP8X":
        width = int.from_bytes(head[24:27], "little") + 1
        height = int.from_bytes(head[27:30], "little") + 1
        return _sized("webp", width, height)
    raise _Unsure

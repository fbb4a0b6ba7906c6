"""The mock's media: what clients uploaded, and the outputs of finished jobs.

Uploads are kept as sent and served back at the URL the mock returned. Outputs are real files
made by :mod:`lipflow.media` at the job's duration and frame size, encoded on first download, so
jobs that nobody downloads cost nothing. An output's bytes depend only on what the job asked for
(kind, duration, frame size, container, and a lip sync's driving audio), so they are kept in
:data:`OUTPUTS`, one process-wide cache by those parameters: jobs of the same shape share one
encode (a 100,000-job run of one recipe encodes a handful of files, not 100,000). The cache
drops the least recently served file once it holds more than :data:`OUTPUT_CACHE_BYTES`.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import io
import mimetypes
import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from typing import Literal

import pybase64

from lipflow import media
from lipflow._memo import BoundedMemo
from lipflow.errors import InputError
from lipflow.probe import read_header

__all__ = [
    "OUTPUTS",
    "OUTPUT_CACHE_BYTES",
    "MediaItem",
    "MediaStore",
    "OutputCache",
    "decode_base64_media",
    "preview_size",
]

_PREVIEW_SIDE = 64  # the long side of every output frame the mock renders: small and fast


@dataclass(slots=True, kw_only=True)
class MediaItem:
    """One stored file: uploaded bytes, or the recipe of an output made on demand."""

    id: str
    ext: str
    kind: Literal["video", "audio", "other"]
    duration_s: float | None = None
    width: int | None = None
    height: int | None = None
    data: bytes | None = None
    filename: str | None = None
    external_url: str | None = None  # an upload by URL that the offline mock cannot fetch
    audio: MediaItem | None = None  # a lip sync's driving audio: the output's soundtrack
    token: str | None = None  # a key_in_url job's output: served only with ``?token=<token>``

    @property
    def content_type(self) -> str:
        return media.content_type_of_extension(self.ext)

    @property
    def path(self) -> str:
        return f"/media/{self.id}.{self.ext}"


def decode_base64_media(text: str) -> bytes | None:
    """The bytes of a data URI or bare base64 string, or None if it is neither.

    The verdict and the bytes are ``base64.b64decode(payload, validate=True)``'s. pybase64
    (SIMD) decodes first: it accepts no string the standard library refuses and gives the same
    bytes, but refuses a few the standard library takes (padding after a whole quantum,
    ``"Jt2n="``), so a refusal is asked again of the standard library.

    A text decoded lately (a batch uploads one voice or presenter file thousands of times) is
    compared with the one it was, not decoded again, and its uploads share one bytes object:
    the store holds the file once, however often it came.
    """
    key = (len(text), text[:_MEMO_EDGE], text[-_MEMO_EDGE:])
    found = _DECODED.get(key)
    if found is not None and found[0] == text:  # the very text: a comparison, not a hash
        return found[1]
    raw = _decode(text)
    if raw is not None and len(text) <= _MEMO_CHARS:
        _DECODED.put(key, (text, raw))
    return raw


# Texts decoded lately, by their length and ends (a hash of the whole text would cost what the
# decoding does): the text, to compare, and its bytes. At most 32 texts of up to 1 MiB each.
_DECODED: BoundedMemo[tuple[int, str, str], tuple[str, bytes]] = BoundedMemo(32)
_MEMO_CHARS = 1 << 20
_MEMO_EDGE = 64


def _decode(text: str) -> bytes | None:
    payload = text.split(",", 1)[1] if text.startswith("data:") and "," in text else text
    try:
        return pybase64.b64decode(payload, validate=True)
    except (binascii.Error, ValueError):
        pass
    try:
        return base64.b64decode(payload, validate=True)
    except (binascii.Error, ValueError):
        return None


def preview_size(width: object, height: object) -> tuple[int, int]:
    """An output frame of the asked aspect ratio (portrait or landscape), 64 pixels on its long
    side; even sides of at least 16 pixels, as the encoder needs. Square when the size is unknown."""
    if not (
        isinstance(width, int)
        and isinstance(height, int)
        and not isinstance(width, bool)
        and not isinstance(height, bool)
        and width > 0
        and height > 0
    ):
        return _PREVIEW_SIDE, _PREVIEW_SIDE
    scale = _PREVIEW_SIDE / max(width, height)
    return max(16, round(width * scale / 2) * 2), max(16, round(height * scale / 2) * 2)


def ext_for(filename: str | None, content_type: str | None, info: media.MediaInfo | None) -> str:
    if info is not None:
        return {"matroska": "webm"}.get(info.format, info.format)
    return (
        media.extension_of_type(content_type)
        or media.extension_of_type(mimetypes.guess_type(filename or "")[0])
        or "bin"
    )


# A 64-pixel video is 6 KB at 2.4 s, 120 KB at 60 s (60 s with its lip-sync audio: 540 KB), and
# takes 15 to 90 ms to encode (2 s with audio): thousands of shapes fit.
OUTPUT_CACHE_BYTES = 64 * 1024 * 1024


class OutputCache:
    """Rendered outputs by the parameters that determine their bytes; thread-safe.

    Least recently served first out once the total passes ``max_bytes`` (a file larger than
    that is served, not kept). Two requests for the same missing file wait for one encode.
    """

    def __init__(self, max_bytes: int = OUTPUT_CACHE_BYTES) -> None:
        self.max_bytes = max_bytes
        self._files: OrderedDict[Hashable, bytes] = OrderedDict()
        self._size = 0
        self._lock = threading.Lock()
        self._making: dict[Hashable, threading.Lock] = {}

    def get(self, key: Hashable, make: Callable[[], bytes]) -> bytes:
        """The file cached under ``key``, or ``make()``'s, cached."""
        with self._lock:
            found = self._take(key)
            if found is not None:
                return found
            making = self._making.setdefault(key, threading.Lock())
        with making:
            with self._lock:
                found = self._take(key)
                if found is not None:
                    return found
            data = make()
            with self._lock:
                self._making.pop(key, None)
                if len(data) <= self.max_bytes:
                    self._files[key] = data
                    self._size += len(data)
                    while self._size > self.max_bytes:
                        _, dropped = self._files.popitem(last=False)
                        self._size -= len(dropped)
        return data

    def _take(self, key: Hashable) -> bytes | None:
        found = self._files.get(key)
        if found is not None:
            self._files.move_to_end(key)
        return found

    @property
    def size(self) -> int:
        """Bytes held now."""
        with self._lock:
            return self._size

    def __len__(self) -> int:
        with self._lock:
            return len(self._files)


OUTPUTS = OutputCache()


def _lipsync(seconds: float, width: int, height: int, audio: bytes) -> bytes:
    """A lip sync's output as a provider returns it: video of its length with the audio it was
    driven by, so the pieces of a long lip sync can be joined and checked offline."""
    from lipflow.longmedia.synthesis import lipsync_output

    return lipsync_output(seconds, width=width, height=height, audio=audio)


class _Reads(io.BytesIO):
    """``data`` as a file that notes each read: where it began and what it gave."""

    def __init__(self, data: bytes) -> None:
        super().__init__(data)
        self.reads: list[tuple[int, bytes]] = []

    def read(self, size: int | None = -1, /) -> bytes:
        at = self.tell()
        got = super().read(size)
        self.reads.append((at, got))
        return got


# What the header reader found in uploads, by the file's size and first bytes: the reads it made
# and the file's description. The reader answers from the bytes it reads alone, so a file of the
# same size with the same bytes at those places is described alike without reading it again (a
# batch uploads one voice or presenter file thousands of times). Bounded: it forgets when full.
_HEADERS: BoundedMemo[tuple[int, bytes], tuple[tuple[tuple[int, bytes], ...], media.MediaInfo]] = (
    BoundedMemo(256)
)
_HEADER_BYTES_KEPT = 4096  # a WAV's header is 44 bytes; an MP4's moov can be megabytes: not kept


def _probe(data: bytes, name: str) -> media.MediaInfo | None:
    """``media.probe_bytes(data)``, or None where it finds no audio or video."""
    global _LAST_PROBED
    last = _LAST_PROBED
    if last[0] is data:  # the bytes of an upload that came again (decode_base64_media)
        return last[1]
    info = _probe_header(data, name)
    _LAST_PROBED = (data, info)
    return info


# The bytes probed last and what they are: one object, the very one, not a copy alike.
_LAST_PROBED: tuple[bytes | None, media.MediaInfo | None] = (None, None)


def _probe_header(data: bytes, name: str) -> media.MediaInfo | None:
    key = (len(data), data[:16])
    found = _HEADERS.get(key)
    if found is not None and all(data[at : at + len(got)] == got for at, got in found[0]):
        return found[1]
    file = _Reads(data)
    header = read_header(file, len(data)) if data else None
    if header is not None:  # as media.probe_bytes describes a file its header reader can read
        info = media.MediaInfo(**header._asdict(), size_bytes=len(data))
        if sum(len(got) for _, got in file.reads) <= _HEADER_BYTES_KEPT:
            _HEADERS.put(key, (tuple(file.reads), info))
        return info
    try:
        return media.probe_bytes(data, name=name)
    except InputError:
        return None


class MediaStore:
    """Media by id and by URL path; thread-safe."""

    def __init__(self) -> None:
        self._items: dict[str, MediaItem] = {}
        self._lock = threading.Lock()

    def put_bytes(
        self,
        media_id: str,
        data: bytes,
        *,
        filename: str | None = None,
        content_type: str | None = None,
        ext: str | None = None,
    ) -> MediaItem:
        """Store an upload; its kind and duration come from probing it (``other`` if unreadable).

        ``ext`` fixes the extension of its URL when that URL was handed out before the bytes came.
        """
        info = _probe(data, filename or media_id)
        item = MediaItem(
            id=media_id,
            ext=ext or ext_for(filename, content_type, info),
            kind=info.kind if info else "other",
            duration_s=info.duration_s if info else None,
            width=info.width if info else None,
            height=info.height if info else None,
            data=data,
            filename=filename,
        )
        return self._add(item)

    def pending(self, item: MediaItem) -> MediaItem:
        """Reserve an id and URL for bytes that will come later (a WaveSpeed upload ticket)."""
        return self._add(item)

    def servable(self, item: MediaItem) -> bool:
        """Whether the mock holds (or can make) this item's bytes."""
        return item.external_url is None and (item.data is not None or item.kind != "other")

    def put_external(
        self, media_id: str, url: str, kind: Literal["video", "audio", "other"]
    ) -> MediaItem:
        return self._add(MediaItem(id=media_id, ext="bin", kind=kind, external_url=url))

    def put_output(
        self,
        media_id: str,
        *,
        kind: Literal["video", "audio"],
        seconds: float,
        ext: str,
        width: int | None = None,
        height: int | None = None,
        audio: MediaItem | None = None,
    ) -> MediaItem:
        """An output made on first download; a lip sync's carries its driving ``audio``."""
        return self._add(
            MediaItem(
                id=media_id,
                ext=ext,
                kind=kind,
                duration_s=seconds,
                width=width,
                height=height,
                audio=audio,
            )
        )

    def _add(self, item: MediaItem) -> MediaItem:
        with self._lock:
            self._items[item.id] = item
        return item

    def get(self, media_id: str) -> MediaItem | None:
        with self._lock:
            return self._items.get(media_id)

    def by_path(self, path: str) -> MediaItem | None:
        """The item served at ``/media/<id>.<ext>``."""
        name = path.rsplit("/", 1)[-1]
        media_id = name.rsplit(".", 1)[0]
        item = self.get(media_id)
        return item if item is not None and item.path == path else None

    def content(self, item: MediaItem) -> bytes:
        """The file's bytes: as uploaded, or synthesized at the output's duration (cached)."""
        if item.data is not None:
            return item.data
        seconds = item.duration_s or media.ASSUMED_SECONDS
        width, height = item.width or 64, item.height or 64
        if item.kind == "audio":
            sound: media.AudioContainer = "mp3" if item.ext == "mp3" else "wav"
            return OUTPUTS.get(
                ("audio", round(seconds, 2), sound),  # lipflow.media renders to 1/100 s
                lambda: media.synthesize_audio(seconds, container=sound, cached=False),
            )
        audio = item.audio.data if item.audio is not None else None
        if audio is not None and item.ext == "mp4":
            digest = hashlib.blake2b(audio, digest_size=16).digest()
            return OUTPUTS.get(
                ("lipsync", seconds, width, height, digest),
                lambda: _lipsync(seconds, width, height, audio),
            )
        video: media.VideoContainer = (
            item.ext if item.ext in media.VIDEO_CONTAINERS else "mp4"  # type: ignore[assignment]
        )
        return OUTPUTS.get(
            ("video", round(seconds, 2), width, height, video),
            lambda: media.synthesize_video(
                seconds, width=width, height=height, container=video, cached=False
            ),
        )

    def clear(self) -> None:
        with self._lock:
            self._items.clear()

    def __len__(self) -> int:
        with self._lock:
            return len(self._items)

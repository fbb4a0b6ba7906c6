"""The mock's media: what clients uploaded, and the outputs of finished jobs.

Uploads are kept as sent and served back at the URL the mock returned. Outputs are real files
made by :mod:`lipflow.media` at the job's duration, encoded on first download (and cached there
by duration), so jobs that nobody downloads cost nothing.
"""

from __future__ import annotations

import base64
import binascii
import mimetypes
import threading
from dataclasses import dataclass
from typing import Literal

from lipflow import media
from lipflow.errors import InputError

__all__ = ["MediaItem", "MediaStore", "decode_base64_media", "preview_size"]

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

    @property
    def content_type(self) -> str:
        return media.content_type_of_extension(self.ext)

    @property
    def path(self) -> str:
        return f"/media/{self.id}.{self.ext}"


def decode_base64_media(text: str) -> bytes | None:
    """The bytes of a data URI or bare base64 string, or None if it is neither."""
    payload = text.split(",", 1)[1] if text.startswith("data:") and "," in text else text
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
        try:
            info: media.MediaInfo | None = media.probe_bytes(data, name=filename or media_id)
        except InputError:
            info = None
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
    ) -> MediaItem:
        return self._add(
            MediaItem(
                id=media_id, ext=ext, kind=kind, duration_s=seconds, width=width, height=height
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
        if item.kind == "audio":
            return media.synthesize_audio(seconds, container="mp3" if item.ext == "mp3" else "wav")
        return media.synthesize_video(
            seconds,
            width=item.width or 64,
            height=item.height or 64,
            container=item.ext if item.ext in media.VIDEO_CONTAINERS else "mp4",  # type: ignore[arg-type]
        )

    def clear(self) -> None:
        with self._lock:
            self._items.clear()

    def __len__(self) -> int:
        with self._lock:
            return len(self._items)

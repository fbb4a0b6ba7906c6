"""Helpers every provider client shares: stable UUIDs, option merging, file names, step outputs."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Mapping
from typing import Any

from lipflow.jobs import Deferred, MediaRef
from lipflow.media import piece_range

__all__ = ["deep_merge", "file_name", "stable_uuid4", "step_output_url"]


def stable_uuid4(*parts: str) -> str:
    """A UUID v4-shaped id derived from ``parts``: the same job gets the same key on resume."""
    # The digest's first 16 bytes with the version nibble set to 4 and the variant bits to 10,
    # written on its hex digits (twice as fast as editing the bytes, the same id).
    h = hashlib.sha256("\x00".join(parts).encode("utf-8")).hexdigest()
    return f"{h[:8]}-{h[8:12]}-4{h[13:16]}-{_VARIANT[int(h[16], 16)]}{h[17:20]}-{h[20:32]}"


_VARIANT = "89ab" * 4  # hex digit -> the same digit with its top bits 10 (RFC 4122 variant)


def deep_merge(base: dict[str, Any], extra: Mapping[str, Any]) -> dict[str, Any]:
    """``base`` with ``extra`` laid over it, nested mappings merged key by key."""
    out = dict(base)
    for key, value in extra.items():
        if isinstance(value, Mapping) and isinstance(out.get(key), dict):
            out[key] = deep_merge(out[key], value)
        else:
            out[key] = value
    return out


def file_name(ref: MediaRef) -> str:
    """The name an upload carries; a piece of a file is named by its range (``a_1.5-4.2.mp4``)."""
    path, span = piece_range(str(ref.value))
    name = os.path.basename(path)
    if span is None:
        return name
    stem, ext = os.path.splitext(name)
    return f"{stem}_{span[0]:g}-{span[1]:g}{ext}"


def step_output_url(ref: MediaRef) -> Deferred:
    """The URL of an upstream job's output video, known once that job is done."""
    return Deferred(f"jobs.{ref.value}.output_url", "https://example.com/output.mp4")

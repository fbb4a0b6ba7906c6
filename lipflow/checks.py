"""Named checks for documented media limits a JSON Schema cannot express.

Media held against a model's documented limits from the catalog (duration, file size, pixels,
text length). Each check returns :class:`~lipflow.problems.Problem` objects. Checks that belong
to one provider's requests live in its package (``lipflow/providers/<name>/checks.py``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from lipflow.catalog import load_catalog
from lipflow.errors import UsageError
from lipflow.problems import Problem

__all__ = ["check_media", "check_tts_text"]


def _seconds(value: float) -> str:
    return f"{value:g} s"


# ---------------------------------------------------------------------------- media limits


def _limits(model_id: str, role: str) -> Mapping[str, Any] | None:
    """The catalog's limits for one input role; an unknown model id is a usage error."""
    return load_catalog().model(model_id).limits.get(role)


def _megabytes(size: float) -> str:
    return f"{size / 1_000_000:g} MB"


def check_media(
    model_id: str,
    role: str,
    *,
    seconds: float | None,
    size_bytes: int | None,
    max_side_px: int | None = None,
) -> list[Problem]:
    """A video or audio input held against the model's documented limits (catalog ``limits``).

    ``model_id`` is a catalog id (``runware/pixverse-lipsync``); unknown values are not checked.
    """
    if role not in ("video", "audio"):
        raise UsageError(f"unknown media role {role!r}; known: video, audio (text: check_tts_text)")
    limits = _limits(model_id, role)
    if not limits:
        return []
    source = limits.get("source")
    measured: Sequence[tuple[float | None, str, str, Callable[[float], str]]] = (
        (seconds, "max_seconds", "media-too-long", _seconds),
        (size_bytes, "max_bytes", "media-too-large", _megabytes),
        (max_side_px, "max_pixels", "media-too-wide", lambda px: f"{px:g} px on its longest side"),
    )
    problems = []
    for value, key, code, show in measured:
        limit = limits.get(key)
        if value is not None and limit is not None and value > limit:
            problems.append(
                Problem(
                    message=(
                        f"the {role} is {show(value)}; {model_id} accepts at most {show(limit)}"
                    ),
                    code=code,
                    source=source,
                )
            )
    return problems


def check_tts_text(model_id: str, text: str) -> list[Problem]:
    """Text-to-speech text held against the model's documented length (seed 000 §speech.text: Max
    200; seed 002 §Step 3: "~200 characters", enforced as 200 as Runware does)."""
    limits = _limits(model_id, "tts_text")
    if not limits or limits.get("max_chars") is None or len(text) <= limits["max_chars"]:
        return []
    return [
        Problem(
            message=(
                f"the text-to-speech text is {len(text)} characters; {model_id} takes at most "
                f"{limits['max_chars']}: split it across segments or shorten it"
            ),
            code="tts-too-long",
            source=limits.get("source"),
        )
    ]

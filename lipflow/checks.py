"""Named checks for documented limits a JSON Schema cannot express.

Schemas say what each field may hold; these checks compare fields with each other (a segment's end
after its start, segments not overlapping), warn where a provider silently changes what was asked
(fast motion at 8 s or 1080p), and hold media against a model's documented limits from
``data/catalog.yaml`` (duration, file size, pixels, text length). Each check is a small function
whose docstring cites its source; each returns :class:`~lipflow.problems.Problem` objects.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from lipflow.catalog import load_catalog
from lipflow.errors import UsageError
from lipflow.problems import PathPart, Problem, Severity

__all__ = [
    "TASK_CHECKS",
    "audio_range",
    "check_media",
    "check_tts_text",
    "fast_motion_reverts",
    "pixverse_speaker_name",
    "run_task_checks",
    "segment_order",
    "segment_overlap",
]

Task = Mapping[str, Any]
Check = Callable[[Task], list[Problem]]

_SYNC = "seed 004_c503034a412f58df.txt"
_PIXVERSE = "seed 001_a63feb3787df9e2a.txt"
_SEGMENTS: tuple[PathPart, ...] = ("providerSettings", "sync", "segments")


def pixverse_speaker_name(speaker_id: str) -> str | None:
    """The voice name behind a PixVerse native ``speaker_id`` ("2" -> "James"), or None."""
    for name, sid in load_catalog().pixverse_speakers.items():
        if sid == speaker_id and sid != name:
            return str(name)
    return None


def _number(value: object) -> float | None:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def _dig(task: Task, *keys: str) -> Any:
    node: Any = task
    for key in keys:
        if not isinstance(node, Mapping):
            return None
        node = node.get(key)
    return node


def _segments(task: Task) -> list[tuple[int, Mapping[str, Any]]]:
    segments = _dig(task, "providerSettings", "sync", "segments")
    if not isinstance(segments, list):
        return []
    return [(i, s) for i, s in enumerate(segments) if isinstance(s, Mapping)]


def _seconds(value: float) -> str:
    return f"{value:g} s"


# ---------------------------------------------------------------------------- task checks


def segment_order(task: Task) -> list[Problem]:
    """A segment ends after it starts (seed 004 §segments.endTime: "Must be greater than
    startTime")."""
    problems = []
    for i, seg in _segments(task):
        start, end = _number(seg.get("startTime")), _number(seg.get("endTime"))
        if start is not None and end is not None and end <= start:
            problems.append(
                Problem(
                    message=(
                        f"endTime {_seconds(end)} must be greater than startTime {_seconds(start)}"
                    ),
                    path=(*_SEGMENTS, i, "endTime"),
                    code="segment-order",
                    source=f"{_SYNC} §segments.endTime (Must be greater than startTime)",
                )
            )
    return problems


def segment_overlap(task: Task) -> list[Problem]:
    """Segments cover separate time ranges of the one video (seed 004 §segments: "Time segments
    with audio sources"): two segments driving the same moment cannot both win."""
    timed = []
    for i, seg in _segments(task):
        start, end = _number(seg.get("startTime")), _number(seg.get("endTime"))
        if start is not None and end is not None and end > start:
            timed.append((start, end, i))
    problems = []
    reach: tuple[float, float, int] | None = None  # the segment reaching furthest so far
    for start, end, i in sorted(timed):
        if reach is not None and start < reach[1]:
            problems.append(
                Problem(
                    message=(
                        f"segment {i} ({_seconds(start)} to {_seconds(end)}) overlaps segment "
                        f"{reach[2]} ({_seconds(reach[0])} to {_seconds(reach[1])}); "
                        f"start it at {_seconds(reach[1])} or later"
                    ),
                    path=(*_SEGMENTS, i, "startTime"),
                    code="segment-overlap",
                    source=f"{_SYNC} §providerSettings.sync.segments (time segments of one video)",
                )
            )
        if reach is None or end > reach[1]:
            reach = (start, end, i)
    return problems


def audio_range(task: Task) -> list[Problem]:
    """A segment's audio range ends after it starts (seed 004 §Compatibility & Validation:
    audioStartTime and audioEndTime are used together, as a range within the source audio)."""
    problems = []
    for i, seg in _segments(task):
        start, end = _number(seg.get("audioStartTime")), _number(seg.get("audioEndTime"))
        if start is not None and end is not None and end <= start:
            problems.append(
                Problem(
                    message=(
                        f"audioEndTime {_seconds(end)} must be greater than audioStartTime "
                        f"{_seconds(start)}"
                    ),
                    path=(*_SEGMENTS, i, "audioEndTime"),
                    code="audio-range",
                    source=f"{_SYNC} §Compatibility & Validation (audioStartTime, audioEndTime)",
                )
            )
    return problems


def fast_motion_reverts(task: Task) -> list[Problem]:
    """Warn that fast motion silently becomes normal at 8 s or 1080p (seed 001 §motionmode: "The
    fast motion mode automatically reverts to normal when duration is set to 8 seconds or when
    resolution is set to 1080p"). Every 1080p size in the tables has a side of 1080, and no other
    size does."""
    if _dig(task, "providerSettings", "pixverse", "motionMode") != "fast":
        return []
    reasons = []
    if task.get("duration") == 8:
        reasons.append("duration is 8 s")
    if 1080 in (task.get("width"), task.get("height")):
        reasons.append(f"{task.get('width')}x{task.get('height')} is 1080p")
    if not reasons:
        return []
    return [
        Problem(
            message=(
                f"motionMode 'fast' silently reverts to 'normal' because {' and '.join(reasons)}; "
                "use duration 5 below 1080p for fast motion, or ask for 'normal'"
            ),
            path=("providerSettings", "pixverse", "motionMode"),
            severity=Severity.WARNING,
            code="fast-motion-reverts",
            suggestion="normal",
            source=f"{_PIXVERSE} §providerSettings.pixverse.motionmode",
        )
    ]


_PIXVERSE_VIDEO: tuple[Check, ...] = (fast_motion_reverts,)
TASK_CHECKS: Mapping[str, tuple[Check, ...]] = {
    "sync:lipsync-2@1": (segment_order, segment_overlap, audio_range),
    "pixverse:1@1": _PIXVERSE_VIDEO,
    "pixverse:1@2": _PIXVERSE_VIDEO,
    "pixverse:1@3": _PIXVERSE_VIDEO,
    "pixverse:1@5": _PIXVERSE_VIDEO,
}


def run_task_checks(task: Task) -> list[Problem]:
    """Every named check that applies to a Runware ``videoInference`` task's model."""
    model = task.get("model")
    chosen = TASK_CHECKS.get(model, ()) if isinstance(model, str) else ()
    return [p for check in chosen for p in check(task)]


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

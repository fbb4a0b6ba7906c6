"""Runware's checks: how a task finds its schema, and the rules no schema can express.

Runware takes every task at one URL, so a body picks its own schema: its ``taskType`` names the
endpoint in the wire description, and a ``videoInference`` task's ``model`` names the model's
schema. After the schema, named checks compare fields with each other (a segment ends after it
starts, segments do not overlap), warn where the provider silently changes what was asked (fast
motion at 8 s or 1080p), and explain a PixVerse speaker id sent as a Runware voice.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import replace
from typing import Any

from lipflow.catalog import load_catalog
from lipflow.problems import PathPart, Problem, Severity, did_you_mean, unknown_name
from lipflow.providers.runware.wire import (
    LIPSYNC_DOC,
    PIXVERSE_API_DOC,
    PIXVERSE_DOC,
    SYNC_DOC,
    WIRE,
)
from lipflow.schemas.leaves import LeafChecks
from lipflow.schemas.loading import compiled
from lipflow.schemas.messages import json_type, prefixed, validate

__all__ = [
    "CHECKS",
    "TASK_CHECKS",
    "RunwareChecks",
    "audio_range",
    "fast_motion_reverts",
    "frame_images_distinct",
    "pixverse_speaker_name",
    "run_task_checks",
    "segment_order",
    "segment_overlap",
    "sound_effect_needs_switch",
    "task_uuids_unique",
]

Task = Mapping[str, Any]
Check = Callable[[Task], list[Problem]]

_SEGMENTS_DOC = f"{SYNC_DOC}#request-providersettings-sync-segments"
_SEGMENTS: tuple[PathPart, ...] = ("providerSettings", "sync", "segments")
_SPEAKERS_MODEL = "pixverse/lipsync"  # the catalog model whose speakers PixVerse numbers
_TASKS = {e.task: e for e in WIRE.endpoints if e.task}
_SUBMIT = WIRE.endpoint("submit")


def pixverse_speaker_name(speaker_id: str) -> str | None:
    """The voice name behind a PixVerse native ``speaker_id`` ("2" -> "James"), or None."""
    for name, sid in load_catalog().model(_SPEAKERS_MODEL).speakers.items():
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
    """A segment ends after it starts (lipsync-2's segments.endTime: "Must be greater than
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
                    source=f"{_SEGMENTS_DOC}-endtime (Must be greater than startTime)",
                )
            )
    return problems


def segment_overlap(task: Task) -> list[Problem]:
    """Segments cover separate time ranges of the one video (lipsync-2's segments: "Time
    segments with audio sources"): two segments driving the same moment cannot both win."""
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
                    source=f"{_SEGMENTS_DOC} (time segments of one video)",
                )
            )
        if reach is None or end > reach[1]:
            reach = (start, end, i)
    return problems


def audio_range(task: Task) -> list[Problem]:
    """A segment's audio range ends after it starts (lipsync-2's Compatibility & Validation:
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
                    source=f"{SYNC_DOC} (Compatibility & Validation: audioStartTime and audioEndTime)",
                )
            )
    return problems


def fast_motion_reverts(task: Task) -> list[Problem]:
    """Warn that fast motion silently becomes normal at 8 s or 1080p (motionMode's doc: "The
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
            source=f"{PIXVERSE_API_DOC}-motionmode",
        )
    ]


def frame_images_distinct(task: Task) -> list[Problem]:
    """At most one first and one last frame: the PixVerse models take "first and last frame"
    (the provider page's Technical specifications), so two images for one end cannot both be it."""
    frames = _dig(task, "frameImages")
    if not isinstance(frames, list):
        return []
    return [
        Problem(
            message=(
                f"frameImages {earlier} and {i} are both the {frame!r} frame; "
                "give one image per end: one 'first' and, optionally, one 'last'"
            ),
            path=("frameImages", i, "frame"),
            code="frame-repeated",
            suggestion="last" if frame == "first" else None,
            source=f"{PIXVERSE_DOC}#video-models (Frame images: first and last frame)",
        )
        for i, earlier, frame in _repeats(
            item.get("frame") if isinstance(item, Mapping) else None for item in frames
        )
    ]


def _repeats(values: Iterable[object]) -> Iterator[tuple[int, int, str]]:
    """(index, index of its first occurrence, value) for each string seen before."""
    first: dict[str, int] = {}
    for i, value in enumerate(values):
        if isinstance(value, str):
            if value in first:
                yield i, first[value], value
            else:
                first[value] = i


def sound_effect_needs_switch(task: Task) -> list[Problem]:
    """Warn that soundEffectContent does nothing unless soundEffectSwitch is true: the content
    "works in conjunction with soundEffectSwitch", which "controls whether to generate background
    sound" (the API reference's providerSettings.pixverse)."""
    settings = _dig(task, "providerSettings", "pixverse")
    if not isinstance(settings, Mapping) or "soundEffectContent" not in settings:
        return []
    if settings.get("soundEffectSwitch") is True:
        return []
    return [
        Problem(
            message=(
                "soundEffectContent is ignored unless soundEffectSwitch is true; "
                "set soundEffectSwitch: true to generate the sound, or drop soundEffectContent"
            ),
            path=("providerSettings", "pixverse", "soundEffectContent"),
            severity=Severity.WARNING,
            code="sound-effect-off",
            source=f"{PIXVERSE_API_DOC}-soundeffectcontent",
        )
    ]


_PIXVERSE_VIDEO: tuple[Check, ...] = (
    fast_motion_reverts,
    frame_images_distinct,
    sound_effect_needs_switch,
)
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
    return [p for check in chosen for p in check(task)] if chosen else []


# ---------------------------------------------------------------------------- routing


def _schema(file: str) -> str:
    found = _SCHEMAS.get(file)
    if found is None:
        found = _SCHEMAS[file] = f"{WIRE.name}/{file}"
    return found  # one string per file: its hash is kept, not computed per checked task


_SCHEMAS: dict[str, str] = {}


def _unknown_choice(name: str, value: object, choices: list[str], noun: str) -> Problem:
    return Problem(
        message=f"{value!r} is not one of the {noun} lipflow knows ({', '.join(choices)})",
        path=(name,),
        code="enum",
        suggestion=did_you_mean(value, choices),
        source=WIRE.doc,
    )


def _voice_hint(problem: Problem, task: Task) -> Problem:
    """A voice that is PixVerse's numeric speaker id: say whose it is, and suggest the name."""
    if problem.code != "enum" or problem.path[-2:] != ("speech", "voice"):
        return problem
    value = task.get("speech", {}).get("voice") if isinstance(task.get("speech"), Mapping) else None
    name = pixverse_speaker_name(value) if isinstance(value, str) else None
    if name is None:
        return problem
    return replace(
        problem,
        message=problem.message
        + f"; {value!r} is PixVerse's native speaker_id for {name}: Runware takes the name",
        suggestion=name,
    )


def _task_problems(task: object) -> list[Problem]:
    if not isinstance(task, dict):
        return [
            Problem(message=f"a Runware task is a JSON object, not {json_type(task)}", code="type")
        ]
    task_type = task.get("taskType")
    if task_type is None:
        return [
            Problem(
                message="'taskType' is required",
                path=("taskType",),
                code="required",
                source=LIPSYNC_DOC,
            )
        ]
    if task_type not in _TASKS:
        return [_unknown_choice("taskType", task_type, sorted(_TASKS), "task types")]
    entry = _TASKS[task_type]
    if not entry.models:
        return validate(_schema(entry.request or ""), task)
    model = task.get("model")
    if model is None:
        return [
            Problem(
                message="'model' is required",
                path=("model",),
                code="required",
                source=f"{LIPSYNC_DOC}#request-model (Required)",
            )
        ]
    if model not in entry.models:
        return [_unknown_choice("model", model, list(entry.models), "videoInference models")]
    found = validate(_schema(entry.models[model]), task, model=model)
    checked = run_task_checks(task)
    if not found:
        return checked
    return [_voice_hint(p, task) for p in found] + checked


def task_uuids_unique(tasks: list[Any]) -> list[Problem]:
    """Every task of one request has its own taskUUID ("Must be unique per task"): Runware
    matches replies to tasks by it. A ``getResponse`` names the task it polls by that task's
    UUID, so it is not a task of its own here."""
    if len(tasks) < 2:
        return []  # one task repeats no other (every planned submit is one task)
    uuids = (
        task.get("taskUUID")
        if isinstance(task, Mapping) and task.get("taskType") != "getResponse"
        else None
        for task in tasks
    )
    return [
        Problem(
            message=f"taskUUID {uuid!r} is already task {earlier}'s; give each task its own UUID v4",
            path=(i, "taskUUID"),
            code="duplicate-task-uuid",
            source=f"{LIPSYNC_DOC}#request-taskuuid (Must be unique per task)",
        )
        for i, earlier, uuid in _repeats(uuids)
    ]


def _task_entry(task_type: str) -> Any:
    if task_type in _TASKS:
        return _TASKS[task_type]
    raise unknown_name("Runware task type", task_type, sorted(_TASKS))


class RunwareChecks:
    """Runware's :class:`~lipflow.providers.base.ProviderChecks`: a body's task picks its schema."""

    def endpoint_names(self) -> list[str]:
        return sorted(_TASKS)

    def models(self) -> list[str]:
        """The ``videoInference`` models lipflow has schemas for."""
        return list(_SUBMIT.models)

    def check_request(self, body: object, *, endpoint: str | None, method: str) -> list[Problem]:
        """``body`` is one task or an array of tasks; ``endpoint``, if given, is a task type."""
        if endpoint is not None:
            _task_entry(endpoint)
        if isinstance(body, list):
            if not body:
                return [
                    Problem(
                        message="the request array is empty; send at least one task",
                        code="empty",
                    )
                ]
            if len(body) == 1:  # one task (every planned submit): no other for it to repeat
                found = _task_problems(body[0])
                return prefixed(found, (0,)) if found else found
            found = [p for i, task in enumerate(body) for p in prefixed(_task_problems(task), (i,))]
            return found + task_uuids_unique(body)
        return _task_problems(body)

    def surely_valid(self, task: object) -> bool:
        """True when ``task``, one task as a JSON parser made it (the mock's requests), is one
        :meth:`check_request` finds nothing wrong with: a known task type (and model) whose
        schema jsonschema-rs accepts it against, with no named check for its model. False
        means "ask check_request", which decides and words the problems.

        The verdict is check_request's: a schema that jsonschema-rs accepts the task against
        gives no problem (:meth:`~lipflow.schemas.loading.Compiled.surely_valid`), and a model
        with named checks is left to them."""
        if type(task) is not dict:
            return False
        task_type = task.get("taskType")
        entry = _TASKS.get(task_type) if type(task_type) is str else None
        if entry is None:
            return False
        if entry.models:
            model = task.get("model")
            if type(model) is not str or model not in entry.models or model in TASK_CHECKS:
                return False
            schema = entry.models[model]
        elif entry.request:
            schema = entry.request
        else:
            return False
        return compiled(_schema(schema)).surely_valid(task, parsed=True)

    def leaf_checks(
        self,
        body: object,
        paths: tuple[tuple[PathPart, ...], ...],
        *,
        endpoint: str | None,
        method: str,
    ) -> LeafChecks | None:
        """A request of one ``videoInference`` task (every planned submit) whose model has no
        named checks: its leaves are its model schema's to decide."""
        if type(body) is not list or len(body) != 1 or type(body[0]) is not dict:
            return None
        task_type, model = body[0].get("taskType"), body[0].get("model")
        entry = _TASKS.get(task_type) if isinstance(task_type, str) else None
        if entry is None or not isinstance(model, str) or model not in entry.models:
            return None
        if TASK_CHECKS.get(model) or any(not path or path[0] != 0 for path in paths):
            return None
        leaves = tuple(path[1:] for path in paths)
        return compiled(_schema(entry.models[model])).leaf_checks(leaves)

    def check_response(
        self,
        body: object,
        *,
        endpoint: str | None,
        method: str,
        task_type: str | None = None,
        model: str | None = None,
    ) -> list[Problem]:
        """The ``{"data": [...], "errors": [...]}`` envelope, each data item by its own taskType
        (a ``getResponse`` reply carries ``videoInference`` items). ``endpoint`` may be the one
        URL path or a task type; ``task_type`` and ``model``, when given, must be known."""
        if endpoint is not None and endpoint != _SUBMIT.path:
            _task_entry(endpoint)
        if task_type is not None:
            _task_entry(task_type)
        if model is not None and model not in _SUBMIT.models:
            raise unknown_name("Runware model", model, list(_SUBMIT.models))
        problems = validate(_schema(_SUBMIT.response or ""), body)
        if not isinstance(body, dict) or not isinstance(body.get("data"), list):
            return problems
        items = {
            name: entry.response_item
            for name, entry in _TASKS.items()
            if entry.op != "poll" and entry.response_item
        }
        for i, item in enumerate(body["data"]):
            kind = item.get("taskType") if isinstance(item, dict) else None
            if not isinstance(kind, str):
                continue  # the envelope schema already says taskType is required
            if kind in items:
                problems += prefixed(validate(_schema(items[kind]), item), ("data", i))
            else:
                problems.append(
                    _unknown_choice("taskType", kind, sorted(items), "reply task types").at(
                        None, prefix=("data", i)
                    )
                )
        return problems


CHECKS = RunwareChecks()

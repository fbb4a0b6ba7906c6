"""Runware's simulated twin, as the official SDK and the REST docs expect it.

One task engine serves both transports: REST ``POST /v1`` (a JSON array of tasks, auth by
``Authorization: Bearer`` or an ``authentication`` task first) and the WebSocket protocol of SDK
0.5.24 (auth reply with ``connectionSessionUUID``, ping/pong, replies matched by taskUUID).
Every reply item echoes ``taskType`` and ``taskUUID``. Failures, including failed jobs, go in
``errors[]``, never as a ``data`` item: the SDK ignores a data item without ``code`` and polls on.

Error codes, statuses, task types and the URL come from :mod:`.wire`, as the client reads them;
an invalid parameter is answered ``invalid<Field>``, the mock's own naming.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeGuard

from lipflow.catalog import load_catalog
from lipflow.media import ASSUMED_SECONDS
from lipflow.pricing import charge, segments_audio_seconds, spoken_charge
from lipflow.providers.runware.checks import CHECKS
from lipflow.providers.runware.wire import (
    CONFLICT,
    INVALID_API_KEY,
    MISSING_API_KEY,
    TASK_NOT_FOUND,
    WIRE,
)
from mock_server.core import Call, InvalidBody, MockRequest, Reply, Route, SimulatedApi, json_body
from mock_server.store import MediaItem, decode_base64_media, preview_size
from mock_server.validation import describe, parameter, request_problems

if TYPE_CHECKING:
    from mock_server.core import Job

__all__ = ["SIMULATED"]

_SIGNUP = "Invalid API key. Get one at https://my.runware.ai/signup"
_OPS: dict[object, str] = {e.task: e.op for e in WIRE.endpoints if e.task}  # task type -> op
_TASK = {op: str(task) for task, op in reversed(_OPS.items())}  # operation -> task type
_SUPPORTED = tuple(_TASK.values())
_RUNNING, _DONE = WIRE.status_for("running"), WIRE.status_for("done")
_JOB_OPS = frozenset({"submit", "poll", "find"})  # the operations whose taskUUID names a job
_FORMATS = {"MP4": "mp4", "WEBM": "webm", "MOV": "mov"}
# HTTP-level failures in Runware's codes; 400/404/405 (an unreadable body, an unknown path or
# method) are the mock's own naming, as for invalid parameters.
_FAULT_CODES = {
    400: "invalidRequest",
    404: "invalidRoute",
    405: "invalidMethod",
    413: str(WIRE.code_for("rejected")),
    429: str(WIRE.code_for("capacity")),
}


def _tasks(body: Any) -> list[Any]:
    if isinstance(body, list):
        return body
    return [body] if isinstance(body, Mapping) else []


def _is_object(value: Any) -> TypeGuard[Mapping[str, Any]]:
    """Whether a JSON value is an object: a parsed one is a dict, told by its type (asking the
    Mapping ABC is a call into Python, 1,900 instructions; a task is asked this four times)."""
    return type(value) is dict or (value is not None and isinstance(value, Mapping))


def _task_type(task: Mapping[str, Any]) -> str | None:
    """A task's type if it names one (any JSON value can stand where a name should)."""
    kind = task.get("taskType")
    return kind if isinstance(kind, str) else None


def _classify(request: MockRequest, params: dict[str, str]) -> tuple[str | None, tuple[str, ...]]:
    body = json_body(request)
    task = body[0] if type(body) is list and len(body) == 1 else body
    if type(task) is dict:  # one task (every request lipflow sends): its own op and job
        kind = task.get("taskType")
        op = _OPS.get(kind) if type(kind) is str else None
        job = task.get("taskUUID") if op in _JOB_OPS else None
        return op, (str(job),) if job else ()
    tasks = [t for t in _tasks(body) if isinstance(t, Mapping)]
    kinds = {_task_type(t) for t in tasks}
    jobs = tuple(
        str(t["taskUUID"])
        for t in tasks
        if _OPS.get(_task_type(t)) in _JOB_OPS and t.get("taskUUID")
    )
    for task_type, op in _OPS.items():
        if task_type in kinds:
            return op, jobs
    return None, jobs


def _error(
    code: str, message: str, task: Any = None, *, parameter: str | None = None
) -> dict[str, Any]:
    item: dict[str, Any] = {"code": code, "message": message}
    if parameter:
        item["parameter"] = parameter
    if type(task) is dict or isinstance(task, Mapping):
        if isinstance(task.get("taskType"), str):
            item["taskType"] = task["taskType"]
        if isinstance(task.get("taskUUID"), str):
            item["taskUUID"] = task["taskUUID"]
    return item


def _auth_error(task: Any, *, missing: bool) -> dict[str, Any]:
    if missing:
        item = _error(
            MISSING_API_KEY,
            "An API key is required: send an authentication task first "
            "or an Authorization: Bearer header.",
            task,
            parameter="apiKey",
        )
    else:
        item = _error(INVALID_API_KEY, _SIGNUP, task, parameter="apiKey")
    item.setdefault("taskType", _TASK["auth"])
    return item


def _envelope(data: list[Any], errors: list[Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if data:
        out["data"] = data
    if errors:
        out["errors"] = errors
    return out


def fault_reply(call: Call, status: int, message: str) -> Reply:
    """An injected HTTP-level failure in Runware's shape: one error per task of the request."""
    code = _FAULT_CODES.get(status, str(WIRE.code_for("server")))
    tasks = _tasks(json_body(call.request))
    errors = [_error(code, message, t) for t in tasks] or [_error(code, message)]
    return Reply(status=status, document={"errors": errors})


# ---------------------------------------------------------------------- transports


def _rest(call: Call) -> Reply:
    body = json_body(call.request)
    if isinstance(body, InvalidBody):
        return Reply(
            status=400,
            document={
                "errors": [_error("invalidJSON", f"The body is not valid JSON: {body.reason}")]
            },
        )
    if not isinstance(body, list) or not body:
        return Reply(
            status=400,
            document={
                "errors": [
                    _error(
                        "invalidRequest",
                        "The body must be a JSON array of at least one task object.",
                        body,
                    )
                ]
            },
        )
    bearer = WIRE.auth.key_of(call.request.headers)
    authed: bool | None = call.sim.key_ok(bearer) if bearer else None
    data: list[Any] = []
    errors: list[Any] = []
    for task in body:
        if _is_object(task) and task.get("taskType") == _TASK["auth"]:
            authed = call.sim.key_ok(task.get("apiKey"))
            if authed:
                data.append(
                    {"taskType": _TASK["auth"], "connectionSessionUUID": call.sim.new_uuid()}
                )
            else:
                errors.append(_auth_error(task, missing=False))
        elif not authed:
            errors.append(_auth_error(task, missing=authed is None))
        else:
            _task(call, task, data, errors)
    if data:
        status = 200
    elif errors and all(e["code"] in WIRE.codes("auth") for e in errors):
        status = 401
    else:
        status = 400
    return Reply(status=status, document=_envelope(data, errors))


def _ws(call: Call) -> Reply:
    session = call.request.session
    assert session is not None, "the WebSocket adapter always sends a session"
    body = json_body(call.request)
    if isinstance(body, InvalidBody):
        return Reply(
            document={
                "errors": [_error("invalidJSON", f"The frame is not valid JSON: {body.reason}")]
            }
        )
    data: list[Any] = []
    errors: list[Any] = []
    for task in _tasks(body) or [body]:
        if isinstance(task, Mapping) and task.get("taskType") == _TASK["auth"]:
            session.api_key_ok = call.sim.key_ok(task.get("apiKey"))
            if session.api_key_ok:
                wanted = task.get("connectionSessionUUID")
                session.session_uuid = (
                    wanted if isinstance(wanted, str) and wanted else session.session_uuid
                ) or call.sim.new_uuid()
                data.append(
                    {"taskType": _TASK["auth"], "connectionSessionUUID": session.session_uuid}
                )
            else:
                errors.append(_auth_error(task, missing=not task.get("apiKey")))
        elif isinstance(task, Mapping) and task.get("taskType") == _TASK["ping"]:
            data.append({"taskType": _TASK["ping"], "pong": True})
        elif not session.api_key_ok:
            errors.append(_auth_error(task, missing=True))
        else:
            _task(call, task, data, errors)
    # Nothing to say (an empty frame) is said by not answering, as the live API does.
    return Reply(document=_envelope(data, errors) or None, body=b"")


ROUTES = (Route("POST", WIRE.endpoint("submit").path, WIRE.name, None, _rest, classify=_classify),)
WS_ROUTE = Route("WS", "/{path}", WIRE.name, None, _ws, classify=_classify)


# ---------------------------------------------------------------------- tasks


def _task(call: Call, task: Any, data: list[Any], errors: list[Any]) -> None:
    if not _is_object(task):
        errors.append(_error("invalidTask", "Each task must be a JSON object."))
        return
    handler = _HANDLERS.get(_OPS.get(_task_type(task), ""))
    if handler is not None:
        handler(call, task, data, errors)
    else:
        errors.append(
            _error(
                "invalidTaskType",
                f"taskType {task.get('taskType')!r} is not one lipflow's mock serves; "
                f"it serves {', '.join(_SUPPORTED)}.",
                task,
                parameter="taskType",
            )
        )


def _ping(call: Call, task: Mapping[str, Any], data: list[Any], errors: list[Any]) -> None:
    data.append({"taskType": _TASK["ping"], "pong": True})


def _problems(task: Mapping[str, Any]) -> list[dict[str, Any]]:
    if CHECKS.surely_valid(task):  # a task as parsed from the body: nothing to say
        return []
    out = []
    for problem in request_problems(WIRE.name, task if type(task) is dict else dict(task)):
        field = problem.field_name or "task"
        out.append(
            _error(
                f"invalid{field[:1].upper()}{field[1:]}",
                describe(problem),
                task,
                parameter=parameter(problem) or None,
            )
        )
    return out


def _object(value: Any) -> Mapping[str, Any]:
    """``value`` if it is a JSON object, else an empty one (the schemas already said why)."""
    return value if _is_object(value) else {}


def _first(value: Any) -> Any:
    return value[0] if isinstance(value, list) and value else value


def _video_inference(
    call: Call, task: Mapping[str, Any], data: list[Any], errors: list[Any]
) -> None:
    problems = _problems(task)
    if problems:
        errors.extend(problems)
        return
    task_uuid = str(task["taskUUID"])
    sim = call.sim
    if sim.job(WIRE.name, task_uuid) is not None:
        errors.append(
            _error(
                CONFLICT,
                f"A task with taskUUID {task_uuid} already exists; poll it with getResponse.",
                task,
                parameter="taskUUID",
            )
        )
        return
    model = str(task.get("model"))
    entry = load_catalog().find(WIRE.name, model)
    if entry is None:
        errors.append(
            _error("invalidModel", f"Model {model!r} is not served here.", task, parameter="model")
        )
        return
    inputs = _object(task.get("inputs"))
    video_refs = {
        "inputs.video": inputs.get("video"),
        "inputs.referenceVideos[0]": _first(inputs.get("referenceVideos")),
        "referenceVideos[0]": _first(task.get("referenceVideos")),
    }
    audio_refs = {
        "inputs.audio": inputs.get("audio"),
        "inputAudios[0]": _first(task.get("inputAudios")),
    }
    try:
        video = _resolve_first(call, video_refs)
        audio = _resolve_first(call, audio_refs)
    except _BadReference as bad:
        errors.append(_error(bad.code, bad.message, task, parameter=bad.parameter))
        return
    if sim.at_capacity(call):
        errors.append(
            _error(str(WIRE.code_for("capacity")), "Too many tasks in progress; retry later.", task)
        )
        return

    speech = _object(task.get("speech"))
    text = speech.get("text") if isinstance(speech.get("text"), str) else None
    width, height = 64, 64
    count = int(task.get("numberResults") or 1)  # each result is billed, as the plan prices it
    if "video.text" in entry.capabilities:  # a PixVerse video model: the asked length and shape
        seconds = float(task.get("duration") or ASSUMED_SECONDS)
        basis = f"duration {seconds:g} s as asked"
        width, height = preview_size(task.get("width"), task.get("height"))
        cost = charge(entry.id, video_seconds=seconds, results=count)
    elif text is not None and audio is None:
        speech_estimate, cost = spoken_charge(entry.id, text, results=count)
        seconds = speech_estimate.middle or 1.0
        basis = f"speech of {len(text)} characters at the catalog's speech rate"
    else:
        seconds, basis = _lipsync_seconds(task, audio, video)
        billed = _segments_audio(task)
        cost = charge(entry.id, audio_seconds=seconds if billed is None else billed, results=count)
    if "video.text" not in entry.capabilities and video is not None:
        width, height = preview_size(video.width, video.height)  # a lip sync keeps its shape
    ext = _FORMATS.get(str(task.get("outputFormat", "MP4")).upper(), "mp4")
    outputs = [
        sim.store.put_output(
            sim.new_uuid(),
            kind="video",
            seconds=seconds,
            ext=ext,
            width=width,
            height=height,
            audio=audio if "video.text" not in entry.capabilities else None,
        )
        for _ in range(count)
    ]
    job = sim.create_job(
        call,
        job_id=task_uuid,
        model=model,
        duration_s=seconds,
        duration_basis=basis,
        outputs=outputs,
        cost=cost,
        request=task,
    )
    job.extra["include_cost"] = bool(task.get("includeCost"))
    job.extra["seeds"] = [sim.new_int_id() % 2**31 for _ in outputs]
    data.append({"taskType": _TASK["submit"], "taskUUID": task_uuid})


class _BadReference(Exception):
    def __init__(self, parameter: str, reason: str) -> None:
        field = re.sub(r"\[\d+\]$", "", parameter.rsplit(".", 1)[-1])
        self.parameter = parameter
        self.code = f"invalid{field[:1].upper()}{field[1:]}"
        self.message = f"{parameter} {reason}."


def _resolve_first(call: Call, refs: Mapping[str, Any]) -> MediaItem | None:
    """The first media reference given among ``refs``, resolved; _BadReference if unusable."""
    for name, ref in refs.items():
        if ref is None:
            continue
        item = call.sim.resolve_media(str(ref) if isinstance(ref, int) else ref)
        if isinstance(item, str):
            raise _BadReference(name, item)
        return item
    return None


def _lipsync_seconds(
    task: Mapping[str, Any], audio: MediaItem | None, video: MediaItem | None
) -> tuple[float, str]:
    if audio is not None and audio.duration_s:
        return audio.duration_s, "the audio's duration"
    segments = _object(_object(task.get("providerSettings")).get("sync")).get("segments")
    if isinstance(segments, list) and segments and video is not None and video.duration_s:
        return video.duration_s, "the video's duration (segments keep the rest of the video)"
    if isinstance(segments, list) and segments:
        ends = [
            float(s["endTime"])
            for s in segments
            if isinstance(s, Mapping) and isinstance(s.get("endTime"), int | float)
        ]
        if ends:
            return max(ends), "the last segment's end"
    if video is not None and video.duration_s:
        return video.duration_s, "the video's duration (the audio's is unknown)"
    return ASSUMED_SECONDS, f"unknown media length: assumed {ASSUMED_SECONDS:g} s"


def _segments_audio(task: Mapping[str, Any]) -> float | None:
    """The audio seconds sync segments bill for, by the same rule the planner estimates with."""
    segments = _object(_object(task.get("providerSettings")).get("sync")).get("segments")
    if not isinstance(segments, list) or not segments:
        return None
    return segments_audio_seconds(
        (s["startTime"], s["endTime"], s.get("audioStartTime"), s.get("audioEndTime"))
        for s in segments
        if isinstance(s, Mapping)
    )


def _get_response(call: Call, task: Mapping[str, Any], data: list[Any], errors: list[Any]) -> None:
    task_uuid = task.get("taskUUID")
    job = call.sim.job(WIRE.name, task_uuid) if isinstance(task_uuid, str) else None
    if job is None:
        errors.append(
            _error(
                TASK_NOT_FOUND,
                f"No task with taskUUID {task_uuid!r} exists.",
                task,
                parameter="taskUUID",
            )
        )
        return
    state = job.state(call.sim.clock.now())
    base = {"taskType": _TASK["submit"], "taskUUID": job.id}
    if state == "processing":
        data.append({**base, "status": _RUNNING})
    elif state == "succeeded":
        data.extend(_results(call, job))
    elif state == "moderated":
        errors.append(
            _error(
                str(WIRE.code_for("moderation")),
                "The output was flagged by content moderation.",
                base,
            )
        )
    else:
        errors.append(
            _error(
                str(WIRE.code_for("generation")), "The provider failed to generate the video.", base
            )
        )


def _results(call: Call, job: Job) -> list[dict[str, Any]]:
    """A finished job's result items, one per output: the same on every poll, so made on the
    first (and again only if the mock's URL has changed since) and sent as they are."""
    made = job.extra.get("results")
    if made is not None and made[0] == call.sim.base_url:
        return made[1]  # type: ignore[no-any-return]
    cost = job.cost_usd if job.extra["include_cost"] else None
    per_result = None if cost is None else round(cost / len(job.outputs), 6)
    results = []
    for item, seed in zip(job.outputs, job.extra["seeds"], strict=True):
        result = {
            "taskType": _TASK["submit"],
            "taskUUID": job.id,
            "status": _DONE,
            "videoUUID": item.id,
            "videoURL": call.sim.url(item),
            "seed": seed,
            "NSFWContent": False,
        }
        if per_result is not None:
            result["cost"] = per_result
        results.append(result)
    job.extra["results"] = (call.sim.base_url, results)
    return results


def _media_storage(call: Call, task: Mapping[str, Any], data: list[Any], errors: list[Any]) -> None:
    problems = _problems(task)
    if problems:
        errors.extend(problems)
        return
    sim = call.sim
    media = task.get("media")
    if isinstance(media, str) and media.startswith(("http://", "https://")):
        item = call.sim.resolve_media(media)
        if isinstance(item, str):
            errors.append(_error("invalidMedia", f"media {item}.", task, parameter="media"))
            return
        item = item or sim.store.put_external(sim.new_uuid(), media, "other")
        url = item.external_url or sim.url(item)
    else:
        raw = decode_base64_media(media) if isinstance(media, str) else None
        if not raw:
            errors.append(
                _error(
                    "invalidMedia",
                    "media must be a URL, a data URI or base64.",
                    task,
                    parameter="media",
                )
            )
            return
        mime = (
            media[5:].split(";", 1)[0]
            if isinstance(media, str) and media.startswith("data:")
            else None
        )
        item = sim.store.put_bytes(sim.new_uuid(), raw, content_type=mime)
        url = sim.url(item)
    data.append(
        {
            "taskType": _TASK["upload"],
            "taskUUID": task.get("taskUUID"),
            "mediaUUID": item.id,
            "mediaURL": url,
        }
    )


def _get_task_details(
    call: Call, task: Mapping[str, Any], data: list[Any], errors: list[Any]
) -> None:
    """The task a taskUUID names, with its request and what it answers now; unknown: not found."""
    task_uuid = task.get("taskUUID")
    job = call.sim.job(WIRE.name, str(task_uuid)) if isinstance(task_uuid, str) else None
    if job is None:
        errors.append(_error(TASK_NOT_FOUND, f"No task with taskUUID {task_uuid!r} exists.", task))
        return
    state = job.state(call.sim.clock.now())
    status = {"processing": "running", "succeeded": "done"}.get(state, "failed")
    original = {"taskType": _TASK["submit"], "taskUUID": job.id}
    data.append(
        {
            "taskType": _TASK["find"],
            "taskUUID": job.id,
            "request": original,
            "response": {**original, "status": WIRE.status_for(status)},  # type: ignore[arg-type]
        }
    )


_HANDLERS = {
    "ping": _ping,
    "submit": _video_inference,
    "poll": _get_response,
    "find": _get_task_details,
    "upload": _media_storage,
}

SIMULATED = SimulatedApi(routes=ROUTES, ws_route=WS_ROUTE, fault_reply=fault_reply)

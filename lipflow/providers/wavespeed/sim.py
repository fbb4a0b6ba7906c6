"""WaveSpeed's simulated twin: API v3 for ``pixverse/lipsync``, as its docs and SDK 2.0.5 use it.

Replies use the ``code``/``message``/``data`` envelope; a task goes created -> processing ->
completed (or failed, still HTTP 200 with ``data.status`` "failed" and ``data.error``). Errors
before a task exists are HTTP 4xx with ``{"code": status, "message": ..., "data": null}``: 400 for
an invalid body (naming the field), 401 for a bad key, 404 for an unknown model or prediction.
Uploads: the SDK's ticket (``POST /media/uploads``) then ``PUT`` of the bytes, and the documented
multipart ``POST /media/upload/binary``. ``enable_sync_mode`` answers once the task has finished.
"""

from __future__ import annotations

import time
from typing import Any

from lipflow.media import ASSUMED_SECONDS
from lipflow.pricing import charge
from lipflow.providers.wavespeed.checks import CHECKS
from lipflow.providers.wavespeed.wire import WIRE
from mock_server.core import (
    MEANINGS,
    Call,
    InvalidBody,
    Job,
    Reply,
    Route,
    SimulatedApi,
    json_body,
)
from mock_server.store import MediaItem, ext_for, preview_size
from mock_server.validation import describe, request_problems

__all__ = ["SIMULATED"]

PREFIX = WIRE.api_prefix
_SUBMIT = WIRE.endpoint("submit")
_POLL = WIRE.endpoint("poll")
_UPLOAD = WIRE.endpoint("upload")
MODEL = _SUBMIT.path.removeprefix(PREFIX + "/")
MODEL_ID = "wavespeed/pixverse-lipsync"
_CREATED = "created"  # the status a submit answers with, before the job is picked up
_ERRORS = {
    "moderated": "The output was flagged as NSFW by content moderation.",
    "failed": "The provider failed to generate the video.",
}


def _err(status: int, message: str) -> Reply:
    return Reply(status=status, document={"code": status, "message": message, "data": None})


def fault_reply(call: Call, status: int, message: str) -> Reply:
    return _err(status, message)


def _gate(call: Call) -> Reply | None:
    key = WIRE.auth.key_of(call.request.headers)
    if not call.sim.key_ok(key):
        what = "missing" if not key else "invalid"
        return _err(401, f"Unauthorized: API key {what}; send Authorization: Bearer <key>")
    return None


def _json_object(call: Call) -> dict[str, Any] | Reply:
    """The authorized request's JSON object body, or the error reply to send instead."""
    gate = _gate(call)
    if gate:
        return gate
    body = json_body(call.request)
    if isinstance(body, InvalidBody):
        return _err(400, f"Invalid JSON body: {body.reason}")
    if not isinstance(body, dict):
        return _err(400, "The body must be a JSON object")
    return body


def _ticket(call: Call) -> Reply:
    body = _json_object(call)
    if isinstance(body, Reply):
        return body
    filename = body.get("filename")
    if not isinstance(filename, str) or not filename:
        return _err(400, "filename: required, a non-empty string")
    size = body.get("size")
    if not isinstance(size, int) or size < 0:
        return _err(400, "size: required, a whole number of bytes")
    sim = call.sim
    content_type = body.get("content_type") if isinstance(body.get("content_type"), str) else None
    item = MediaItem(
        id=sim.new_uuid(),
        ext=ext_for(filename, content_type, None),
        kind="other",
        filename=filename,
    )
    sim.store.pending(item)
    headers = {"Content-Type": content_type or "application/octet-stream"}
    return Reply(
        document={
            "code": 200,
            "message": "success",
            "data": {
                "upload": {
                    "method": "PUT",
                    "url": f"{sim.base_url}/storage/{item.id}",
                    "headers": headers,
                },
                "download_url": sim.url(item),
            },
        }
    )


def _put(call: Call) -> Reply:
    sim = call.sim
    token = call.params["token"]
    pending = sim.store.get(token)
    if pending is None or pending.data is not None:
        return _err(403, "no open upload ticket for this URL: ask POST /media/uploads for one")
    stored = sim.store.put_bytes(
        token,
        call.request.body,
        filename=pending.filename,
        content_type=call.request.header("content-type"),
        ext=pending.ext,
    )
    stored.token = pending.token  # served at the link the ticket gave, signed or not
    return Reply(body=b"", content_type="text/plain")


def _binary(call: Call) -> Reply:
    gate = _gate(call)
    if gate:
        return gate
    upload = (call.request.files or {}).get("file")
    if upload is None:
        reason = call.request.form_error or "no 'file' part in the multipart form"
        return _err(400, f"file: required ({reason})")
    sim = call.sim
    item = sim.store.put_bytes(
        sim.new_uuid(), upload.data, filename=upload.filename, content_type=upload.content_type
    )
    kind = item.kind if item.kind != "other" else "file"
    return Reply(
        document={
            "code": 200,
            "message": "success",
            "data": {
                "type": kind,
                "download_url": sim.url(item),
                "filename": upload.filename or item.id,
                "size": len(upload.data),
            },
        }
    )


def _submit(call: Call) -> Reply:
    body = _json_object(call)
    if isinstance(body, Reply):
        return body
    sync = body.get("enable_sync_mode", False) is True
    if "enable_sync_mode" in body:  # checked without it, on a copy: the body as sent stays whole
        body = {name: value for name, value in body.items() if name != "enable_sync_mode"}
    problems = (
        []
        if CHECKS.surely_valid(body, endpoint=_SUBMIT.path)
        else request_problems(WIRE.name, body, endpoint=_SUBMIT.path)
    )
    if problems:
        return _err(400, "; ".join(describe(p) for p in problems))
    sim = call.sim
    found: dict[str, MediaItem | None] = {}
    for name in ("video", "audio"):
        item = sim.resolve_media(body[name])
        if isinstance(item, str):
            return _err(400, f"{name}: {item}")
        found[name] = item
    if sim.at_capacity(call):
        return _err(429, "Too many tasks in progress; retry later")
    audio, video = found["audio"], found["video"]
    if audio is not None and audio.duration_s:
        seconds, basis = audio.duration_s, "the audio's duration"
    elif video is not None and video.duration_s:
        seconds, basis = video.duration_s, "the video's duration (the audio's is unknown)"
    else:
        seconds = ASSUMED_SECONDS
        basis = f"unknown media length: assumed {seconds:g} s"
    task_id = sim.new_uuid().replace("-", "")
    width, height = preview_size(video.width, video.height) if video else preview_size(0, 0)
    output = sim.store.put_output(
        task_id, kind="video", seconds=seconds, ext="mp4", width=width, height=height, audio=audio
    )
    job = sim.create_job(
        call,
        job_id=task_id,
        model=MODEL,
        duration_s=seconds,
        duration_basis=basis,
        outputs=[output],
        cost=charge(MODEL_ID, video_seconds=seconds),
        request=body,
    )
    if not sync:
        return _envelope(_data(call, job, status=_CREATED))
    wait = max(0.0, job.ready_at - sim.clock.now())
    reply = _envelope(_data(call, job, at=job.ready_at))
    reply.delay = wait
    return reply


def _envelope(data: dict[str, Any]) -> Reply:
    return Reply(document={"code": 200, "message": "success", "data": data})


def _data(
    call: Call, job: Job, *, status: str | None = None, at: float | None = None
) -> dict[str, Any]:
    sim = call.sim
    state = job.state(sim.clock.now() if at is None else at)
    done = state == "succeeded" and status is None
    return {
        "id": job.id,
        "model": job.model,
        "outputs": [sim.url(o) for o in job.outputs] if done else [],
        "urls": {"get": sim.base_url + _POLL.path.format(id=job.id)},
        "has_nsfw_contents": [False for _ in job.outputs] if done else [],
        "status": status or WIRE.status_for(MEANINGS[state]),
        "created_at": _iso(job.created_wall),
        "error": _ERRORS.get(state, ""),
        "timings": {"inference": round((job.ready_at - job.created_at) * 1000) if done else 0},
    }


def _iso(wall: float) -> str:
    millis = round(wall * 1000) % 1000
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(int(wall))) + f".{millis:03d}Z"


def _result(call: Call) -> Reply:
    gate = _gate(call)
    if gate:
        return gate
    job = call.sim.job(WIRE.name, call.params["id"])
    if job is None:
        return _err(404, f"Prediction {call.params['id']} not found")
    return _envelope(_data(call, job))


def _unknown_model(call: Call) -> Reply:
    gate = _gate(call)
    if gate:
        return gate
    model = f"{call.params['owner']}/{call.params['name']}"
    return _err(404, f"Model {model} not found; lipflow's mock serves {MODEL}")


ROUTES = (
    *(
        Route(e.method, e.path, WIRE.name, e.op, handler, job_param=next(iter(e.params), None))
        for e, handler in (
            (_UPLOAD, _ticket),
            (_SUBMIT, _submit),
            *((e, _result) for e in WIRE.endpoints if e.op == "poll"),
        )
    ),
    # Beyond the client's calls: the documented one-step upload, the ticket's PUT target, and
    # any other model (a 404 naming the one served).
    Route("POST", f"{PREFIX}/media/upload/binary", WIRE.name, "upload", _binary),
    Route("PUT", "/storage/{token}", WIRE.name, "upload", _put),
    Route("POST", f"{PREFIX}/{{owner}}/{{name}}", WIRE.name, "submit", _unknown_model),
)

SIMULATED = SimulatedApi(routes=ROUTES, fault_reply=fault_reply)

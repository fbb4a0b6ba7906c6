"""PixVerse Platform's simulated twin under ``/openapi/v2``, as its lip-sync guide describes it.

Every reply is the ``ErrCode``/``ErrMsg``/``Resp`` envelope. Platform errors come with HTTP 200
and a non-zero ``ErrCode`` (the docs leave the HTTP status open; a client must read ``ErrCode``
either way): 400013 for a parameter of the wrong type or value, 400017 for an invalid or missing
parameter (the either/or rules included), 500044 when the concurrent-generation limit is reached.
A wrong or missing ``API-KEY`` gets ErrCode 10005, the mock's own choice (the retrieved docs name
no auth code). Faults injected at the HTTP level (429, 5xx, 413) keep their HTTP status and put
it in ``ErrCode`` too.

As the docs warn, reusing an ``Ai-Trace-Id`` leaves a generation stuck at status 5 for ever.
"""

from __future__ import annotations

import math
import time
from typing import TYPE_CHECKING, Any

from lipflow.catalog import load_catalog
from lipflow.media import ASSUMED_SECONDS, MEDIA_TYPES
from lipflow.pricing import charge, estimate_tts_seconds
from lipflow.providers.pixverse.checks import CHECKS
from lipflow.providers.pixverse.client import MODEL_ID, speakers
from lipflow.providers.pixverse.wire import (
    AUTH_FAILED,
    CONCURRENCY_LIMIT,
    INVALID_PARAMETER,
    INVALID_VALUE,
    TRACE_HEADER,
    WIRE,
)
from mock_server.core import Call, InvalidBody, Job, Reply, Route, SimulatedApi, json_body
from mock_server.store import MediaItem, preview_size
from mock_server.validation import describe, request_problems

if TYPE_CHECKING:
    from mock_server.simulator import Simulator

__all__ = ["SIMULATED"]

_UPLOAD = WIRE.endpoint("upload")
_SUBMIT = WIRE.endpoint("submit")
_POLL = WIRE.endpoint("poll")
_LIST = WIRE.endpoint("list")
_EXTERNAL_KINDS = {
    ext: kind for ext, kind, _ in MEDIA_TYPES if ext in ("mp4", "mov", "webm", "mp3", "wav")
}
# Problems a schema reports about a value's type or allowed values map to 400013; the rest
# (missing, unknown or conflicting parameters) to 400017.
_VALUE_CODES = frozenset(
    {
        "type",
        "enum",
        "const",
        "format",
        "pattern",
        "minimum",
        "maximum",
        "exclusiveMinimum",
        "exclusiveMaximum",
        "minLength",
        "maxLength",
        "multipleOf",
        "minItems",
        "maxItems",
    }
)


def _ok(resp: Any) -> Reply:
    return Reply(document={"ErrCode": 0, "ErrMsg": "success", "Resp": resp})


def _err(code: int, message: str, *, status: int = 200) -> Reply:
    return Reply(status=status, document={"ErrCode": code, "ErrMsg": message, "Resp": {}})


def fault_reply(call: Call, status: int, message: str) -> Reply:
    return _err(status, message, status=status)


def _gate(call: Call) -> Reply | None:
    """The headers every PixVerse call needs: a valid API-KEY and an Ai-Trace-Id."""
    request = call.request
    key = WIRE.auth.key_of(request.headers)
    if not call.sim.key_ok(key):
        what = "is missing" if not key else "is not valid"
        return _err(
            AUTH_FAILED, f"API-KEY {what}: send your PixVerse API key in the API-KEY header"
        )
    if not request.header(TRACE_HEADER):
        return _err(
            INVALID_PARAMETER,
            "Ai-Trace-Id header is required: a new UUID for every request",
        )
    return None


def _problems_reply(problems: list[Any]) -> Reply | None:
    if not problems:
        return None
    code = INVALID_VALUE if all(p.code in _VALUE_CODES for p in problems) else INVALID_PARAMETER
    return _err(code, "; ".join(describe(p) for p in problems))


def _upload(call: Call) -> Reply:
    gate = _gate(call)
    if gate:
        return gate
    request = call.request
    if request.form_error is not None or (request.form is None and request.files is None):
        reason = request.form_error or "the body is not a multipart/form-data form"
        return _err(
            INVALID_VALUE, f"{reason}: send the media as a 'file' part or a 'file_url' field"
        )
    files = dict(request.files or {})
    form: dict[str, Any] = dict(request.form or {})
    described = {
        **form,
        **{
            name: {
                "filename": f.filename or "",
                "content_type": f.content_type or "",
                "size": len(f.data),
            }
            for name, f in files.items()
        },
    }
    problem = _problems_reply(request_problems(WIRE.name, described, endpoint=_UPLOAD.path))
    if problem:
        return problem
    sim = call.sim
    media_id = sim.new_int_id()
    if "file" in files:
        upload = files["file"]
        item = sim.store.put_bytes(
            str(media_id), upload.data, filename=upload.filename, content_type=upload.content_type
        )
        refused = _refusal(item, len(upload.data))
        if refused:
            return _err(INVALID_PARAMETER, f"file {upload.filename or ''!s}: {refused}")
    else:
        url = str(form.get("file_url", ""))
        known = (
            sim.store.by_path(url[len(sim.base_url) :]) if url.startswith(sim.base_url) else None
        )
        ext = url.rsplit("?", 1)[0].rsplit(".", 1)[-1].lower()
        if known is not None and known.kind != "other":
            item = known
        elif ext in _EXTERNAL_KINDS:
            item = sim.store.put_external(str(media_id), url, _EXTERNAL_KINDS[ext])  # type: ignore[arg-type]
        else:
            return _err(
                INVALID_PARAMETER,
                f"file_url {url!r}: not a supported media file (mp4, mov for video; mp3, wav for audio)",
            )
    sim.scratch(WIRE.name).setdefault("media", {})[media_id] = item
    return _ok(
        {
            "media_id": media_id,
            "media_type": item.kind,
            "url": item.external_url or sim.url(item),
        }
    )


def _refusal(item: MediaItem, size: int) -> str | None:
    """Why PixVerse would refuse this upload (the catalog's documented limits), or None."""
    if item.kind == "other":
        return "not a readable video (mp4, mov) or audio (mp3, wav) file"
    limits = load_catalog().model(MODEL_ID).limits.get(item.kind) or {}
    most_bytes, most_seconds = limits.get("max_bytes"), limits.get("max_seconds")
    most_pixels = limits.get("max_pixels")
    if most_bytes is not None and size > most_bytes:
        return f"{size} bytes is over the {most_bytes / 1_000_000:g} MB limit"
    if most_seconds is not None and item.duration_s is not None and item.duration_s > most_seconds:
        return f"{item.duration_s:g} s is over the {most_seconds:g} s limit"
    if most_pixels is not None and max(item.width or 0, item.height or 0) > most_pixels:
        return f"{item.width}x{item.height} is over the {most_pixels} pixel limit"
    return None


def _generate(call: Call) -> Reply:
    gate = _gate(call)
    if gate:
        return gate
    body = json_body(call.request)
    if isinstance(body, InvalidBody):
        return _err(INVALID_VALUE, f"the body is not valid JSON: {body.reason}")
    if not isinstance(body, dict):
        return _err(INVALID_VALUE, "the body must be a JSON object")
    if not CHECKS.surely_valid(body, endpoint=_SUBMIT.path):  # as parsed: surely valid or asked
        problem = _problems_reply(request_problems(WIRE.name, body, endpoint=_SUBMIT.path))
        if problem:
            return problem
    sim = call.sim
    video: MediaItem | None = None
    if body.get("video_media_id") is not None:
        found = _uploaded(sim, body, "video_media_id", "video")
        if isinstance(found, Reply):
            return found
        video = found
    elif body.get("source_video_id") is not None:
        source = sim.job(WIRE.name, str(body["source_video_id"]))
        if source is None or source.state(sim.clock.now()) != "succeeded":
            return _err(
                INVALID_PARAMETER,
                f"source_video_id {body['source_video_id']} is not a finished PixVerse video",
            )
        video = source.outputs[0]
    audio: MediaItem | None = None
    text: str | None = None
    if body.get("audio_media_id") is not None:
        found = _uploaded(sim, body, "audio_media_id", "audio")
        if isinstance(found, Reply):
            return found
        audio = found
    else:
        text = str(body.get("lip_sync_tts_content", ""))
        ids = speakers().values()
        if str(body.get("lip_sync_tts_speaker_id")) not in ids:
            return _err(
                INVALID_VALUE,
                f"lip_sync_tts_speaker_id {body.get('lip_sync_tts_speaker_id')!r}"
                f" is not a speaker_id from tts_list ({', '.join(ids)})",
            )
    if sim.at_capacity(call):
        return _err(CONCURRENCY_LIMIT, "Reached the limit for concurrent generations.")

    if text is not None:
        seconds, basis = (
            estimate_tts_seconds(text) or 1.0,
            "speech length estimated from the script",
        )
        cost = charge(MODEL_ID, tts_text=text)
    elif audio is not None and audio.duration_s:
        seconds, basis = audio.duration_s, "the audio's duration"
        cost = charge(MODEL_ID, audio_seconds=seconds)
    else:
        seconds = ASSUMED_SECONDS
        basis = f"the audio's length is unknown (an external URL): assumed {seconds:g} s"
        cost = charge(MODEL_ID, audio_seconds=seconds)
    width, height = preview_size(video.width, video.height) if video else preview_size(0, 0)
    video_id = sim.new_int_id()
    output = sim.store.put_output(
        str(video_id),
        kind="video",
        seconds=seconds,
        ext="mp4",
        width=width,
        height=height,
        audio=audio,
    )
    stuck = sim.seen_before(WIRE.name, "trace_ids", call.request.header(TRACE_HEADER) or "")
    job = sim.create_job(
        call,
        job_id=str(video_id),
        model="lip_sync",
        duration_s=seconds,
        duration_basis=basis,
        outputs=[output],
        cost=cost,
        request=body,
        stuck=stuck,
    )
    job.extra["seed"] = video_id % 2**31
    resp: dict[str, Any] = {"video_id": video_id}
    if cost.credits is not None:
        resp["credits"] = cost.credits
    return _ok(resp)


def _uploaded(sim: Simulator, body: dict[str, Any], field: str, kind: str) -> MediaItem | Reply:
    """The uploaded media a ``*_media_id`` names, if it is of the right kind."""
    item: MediaItem | None = sim.scratch(WIRE.name).get("media", {}).get(body[field])
    if item is None or item.kind != kind:
        return _err(
            INVALID_PARAMETER,
            f"{field} {body[field]} is not an uploaded {kind}: upload it with /media/upload first",
        )
    return item


def _tts_list(call: Call) -> Reply:
    gate = _gate(call)
    if gate:
        return gate
    listed = list(speakers().items())
    query = call.request.query
    try:
        page_num = int(query.get("page_num") or 1)
        page_size = int(query.get("page_size") or len(listed))
    except ValueError:
        return _err(INVALID_VALUE, "page_num and page_size must be whole numbers")
    if page_num < 1 or page_size < 1:
        return _err(INVALID_VALUE, "page_num and page_size must be 1 or more")
    start = (page_num - 1) * page_size
    page = listed[start : start + page_size]
    return _ok(
        {"total": len(listed), "data": [{"speaker_id": sid, "name": name} for name, sid in page]}
    )


def _result(call: Call) -> Reply:
    gate = _gate(call)
    if gate:
        return gate
    raw = call.params["video_id"]
    if not raw.isdigit():
        return _err(INVALID_VALUE, f"video_id {raw!r} must be a whole number")
    sim = call.sim
    job = sim.job(WIRE.name, str(int(raw)))
    if job is None:
        return _err(INVALID_PARAMETER, f"video_id {raw} does not exist")
    return _ok(_video_resp(call, job))


def _video_resp(call: Call, job: Job) -> dict[str, Any]:
    sim = call.sim
    state = job.state(sim.clock.now())
    output = job.outputs[0]
    done = state == "succeeded"
    created = _stamp(job.created_wall)
    return {
        "create_time": created,
        "id": int(job.id),
        "modify_time": _stamp(max(job.created_wall, sim.clock.wall())) if done else created,
        "negative_prompt": "",
        "outputHeight": output.height or 0,
        "outputWidth": output.width or 0,
        "prompt": "",
        "resolution_ratio": min(output.width or 0, output.height or 0),
        "seed": job.extra["seed"],
        "size": len(sim.store.content(output)) if done else 0,
        "status": WIRE.status_for(job.meaning(sim.clock.now())),
        "style": "",
        "url": sim.url(output) if done else "",
    }


def _stamp(wall: float) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(math.floor(wall)))


ROUTES = tuple(
    Route(e.method, e.path, WIRE.name, e.op, handler, job_param=next(iter(e.params), None))
    for e, handler in (
        (_UPLOAD, _upload),
        (_SUBMIT, _generate),
        (_LIST, _tts_list),
        (_POLL, _result),
    )
)

SIMULATED = SimulatedApi(routes=ROUTES, fault_reply=fault_reply)

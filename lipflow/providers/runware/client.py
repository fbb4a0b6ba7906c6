"""Runware's client side: every request is a JSON array of tasks POSTed to one URL.

Request building is pure: ``plan_requests`` lists what a job will send (uploads, the async
``videoInference`` submit, the ``getResponse`` poll), ``submit_task`` builds the submit with the
run-time values filled in. Every wire fact (auth, codes, statuses) comes from :mod:`.wire`.
"""

from __future__ import annotations

import base64
import functools
import json
from collections.abc import Mapping
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from lipflow._lazy import lazy_module
from lipflow.errors import (
    JobFailed,
    ProviderAmbiguous,
    ProviderCapacity,
    ProviderError,
    ProviderRejected,
)
from lipflow.jobs import Deferred, GenerateParams, Job, LipsyncParams, MediaRef, PlannedRequest
from lipflow.problems import PathPart
from lipflow.providers._common import deep_merge, file_name, stable_uuid4, step_output_url
from lipflow.providers.base import Finished, Flow, Submitted
from lipflow.providers.runware.wire import WIRE
from lipflow.secrets import REDACTED

if TYPE_CHECKING:
    import httpx

    from lipflow.providers import _http
else:  # loaded when a request is built or sent: planning never does
    httpx = lazy_module("httpx")
    _http = lazy_module("lipflow.providers._http")

__all__ = ["CLIENT", "RunwareClient", "media_task", "poll_task", "submit_task", "voice"]

NAME = WIRE.name
EXAMPLE_UUID = "00000000-0000-4000-8000-000000000000"
_SUBMIT = WIRE.endpoint("submit")
_POLL = WIRE.endpoint("poll")
_UPLOAD = WIRE.endpoint("upload")


def headers(key: str | None = None) -> dict[str, str]:
    return {**WIRE.auth.headers(key or REDACTED), "Content-Type": "application/json"}


# What a plan shows (the key redacted), one dict shared by every planned request and never
# changed: 100,000 planned jobs would otherwise hold 300,000 equal copies.
_SHOWN_HEADERS = headers()


def voice(name: str | None) -> str:
    """Runware takes voice names as PixVerse's list spells them, and ``auto`` in lower case."""
    if name is None or name.lower() == "auto":
        return "auto"
    return name


def _upload_uuid(job: Job, role: str) -> str:
    return stable_uuid4(job.task_uuid, "upload", role)


def media_task(job: Job, role: str, media: str) -> dict[str, Any]:
    """The ``mediaStorage`` upload task for one local file (``media`` is its base64)."""
    return {
        "taskType": _UPLOAD.task,
        "taskUUID": _upload_uuid(job, role),
        "operation": "upload",
        "media": media,
    }


def _placed(job: Job, role: str, ref: MediaRef, *, want_url: bool) -> Any:
    """The value a request carries for ``ref``: a URL, a media UUID, or a Deferred upload result."""
    if ref.origin == "url":
        return ref.value
    if ref.origin == "media_id":
        return ref.value
    if ref.origin == "step":
        return step_output_url(ref)
    field = "mediaURL" if want_url else "mediaUUID"
    example = "https://example.com/media.bin" if want_url else EXAMPLE_UUID
    return Deferred(f"uploads.{role}.{field}", example)


def _values(job: Job) -> dict[str, Any]:
    # Segment audio must be a URL (lipsync-2's segments.audio: "Audio source URL").
    return {
        role: _placed(job, role, ref, want_url=role.startswith("segments"))
        for role, ref in job.media.items()
    }


def submit_task(job: Job, values: Mapping[str, Any]) -> dict[str, Any]:
    """The ``videoInference`` task of ``job``; ``values`` maps media roles to what to send."""
    task: dict[str, Any] = {
        "taskType": _SUBMIT.task,
        "taskUUID": job.task_uuid,
        "model": job.model,
        "deliveryMethod": "async",
        "includeCost": True,
    }
    p = job.params
    if isinstance(p, LipsyncParams):
        if job.model == "sync:lipsync-2@1":
            inputs: dict[str, Any] = {"video": values["video"]}
            if "audio" in values:
                inputs["audio"] = values["audio"]
            task["inputs"] = inputs
            if p.segments:
                segments = []
                for i, seg in enumerate(p.segments):
                    item: dict[str, Any] = {
                        "startTime": seg.start,
                        "endTime": seg.end,
                        "audio": values[f"segments.{i}.audio"],
                    }
                    if seg.audio_start is not None:
                        item["audioStartTime"] = seg.audio_start
                    if seg.audio_end is not None:
                        item["audioEndTime"] = seg.audio_end
                    segments.append(item)
                task["providerSettings"] = {"sync": {"segments": segments}}
        else:
            if p.tts:
                task["speech"] = {"text": p.tts.text, "voice": voice(p.tts.voice)}
            inputs = {"referenceVideos": [values["video"]]}
            if "audio" in values:
                inputs["audio"] = values["audio"]
            task["inputs"] = inputs
    else:
        task.update(_generate_fields(p, values))
    return deep_merge(task, job.options) if job.options else task  # the task is new: no copy


def _generate_fields(p: GenerateParams, values: Mapping[str, Any]) -> dict[str, Any]:
    fields: dict[str, Any] = {"positivePrompt": p.prompt}
    if p.negative_prompt:
        fields["negativePrompt"] = p.negative_prompt
    for key in ("duration", "width", "height", "fps"):
        if getattr(p, key) is not None:
            fields[key] = getattr(p, key)
    frames = [
        {"inputImage": values[role], "frame": frame}
        for role, frame in (("image", "first"), ("last_image", "last"))
        if role in values
    ]
    if frames:
        fields["frameImages"] = frames
    pixverse: dict[str, Any] = {}
    for ours, theirs in (
        ("style", "style"),
        ("effect", "effect"),
        ("camera", "cameraMovement"),
        ("motion", "motionMode"),
    ):
        if getattr(p, ours) is not None:
            pixverse[theirs] = getattr(p, ours)
    sound = p.sound
    if sound is not None and sound is not False:
        pixverse["soundEffectSwitch"] = True
        if isinstance(sound, str):
            pixverse["soundEffectContent"] = sound
    if pixverse:
        fields["providerSettings"] = {"pixverse": pixverse}
    return fields


def poll_task(task_uuid: str) -> dict[str, Any]:
    """``getResponse`` for a submitted task: the same taskUUID, not a new one."""
    return {"taskType": _POLL.task, "taskUUID": task_uuid}


def plan_requests(job: Job, base_url: str) -> list[PlannedRequest]:
    """Uploads of local files, then the submit, then the poll, as the runner will send them."""
    out: list[PlannedRequest] = []
    for role, ref in job.media.items():
        if ref.origin == "file":
            size = f", {ref.size_bytes:,} bytes" if ref.size_bytes is not None else ""
            task = media_task(job, role, f"<base64 of {file_name(ref)}{size}>")
            out.append(
                PlannedRequest(
                    purpose=f"upload {ref.kind} {ref.name!r}",
                    upload_of=(ref.origin, str(ref.value)),
                    method="POST",
                    url=base_url,
                    endpoint=None,
                    headers=_SHOWN_HEADERS,
                    json=[task],
                )
            )
    out.append(
        PlannedRequest(
            purpose="submit",
            method="POST",
            url=base_url,
            endpoint=None,
            headers=_SHOWN_HEADERS,
            json=[submit_task(job, _values(job))],
        )
    )
    out.append(
        PlannedRequest(
            purpose="poll until done",
            method="POST",
            url=base_url,
            endpoint=None,
            headers=_SHOWN_HEADERS,
            json=[poll_task(job.task_uuid)],
            repeat=True,
            validate=False,  # built from our own taskUUID; its schema is checked by the mock and tests
        )
    )
    return out


def submit_leaves(job: Job) -> dict[str, tuple[PathPart, ...]] | None:
    """Where a TTS lip sync's taskUUID and text sit in its submit (see
    :meth:`~lipflow.providers.base.ProviderClient.submit_leaves`): :func:`submit_task` places
    both as they are, unless the step's options write over them."""
    p = job.params
    if (
        type(p) is not LipsyncParams
        or p.tts is None
        or p.segments is not None
        or job.model == "sync:lipsync-2@1"
        or "taskUUID" in job.options
        or "speech" in job.options
    ):
        return None
    return {"task_uuid": (0, "taskUUID"), "tts.text": (0, "speech", "text")}


# Where each request field came from in the recipe, for placing problems on recipe lines.
ORIGINS: dict[tuple[str, ...], tuple[str, ...]] = {
    ("speech", "voice"): ("lipsync", "tts", "voice"),
    ("speech", "text"): ("lipsync", "tts", "text"),
    ("speech",): ("lipsync", "tts"),
    ("inputs", "referenceVideos"): ("lipsync", "video"),
    ("inputs", "video"): ("lipsync", "video"),
    ("inputs", "audio"): ("lipsync", "audio"),
    ("providerSettings", "sync", "segments"): ("lipsync", "segments"),
    # A segment's fields: placed on the range of the recipe's segment list it was made from.
    ("providerSettings", "sync", "segments", "startTime"): ("lipsync", "segments", "start"),
    ("providerSettings", "sync", "segments", "endTime"): ("lipsync", "segments", "end"),
    ("providerSettings", "sync", "segments", "audio"): ("lipsync", "segments", "audio"),
    ("providerSettings", "sync", "segments", "audioStartTime"): (
        "lipsync",
        "segments",
        "audio_start",
    ),
    ("providerSettings", "sync", "segments", "audioEndTime"): ("lipsync", "segments", "audio_end"),
    ("positivePrompt",): ("generate", "prompt"),
    ("negativePrompt",): ("generate", "negative_prompt"),
    ("duration",): ("generate", "duration"),
    ("width",): ("generate", "size"),
    ("height",): ("generate", "size"),
    ("fps",): ("generate", "fps"),
    ("frameImages",): ("generate", "image"),
    ("providerSettings", "pixverse", "style"): ("generate", "style"),
    ("providerSettings", "pixverse", "effect"): ("generate", "effect"),
    ("providerSettings", "pixverse", "cameraMovement"): ("generate", "camera"),
    ("providerSettings", "pixverse", "motionMode"): ("generate", "motion"),
    ("providerSettings", "pixverse"): ("generate",),
}


# ---------------------------------------------------------------------------------- run time
# Flows the runner drives (see lipflow.providers.base): each yields the request built above
# with real values and turns the reply into a result or a classified error.

_CAPACITY_CODES = WIRE.codes("capacity")
_MODERATION_CODES = WIRE.codes("moderation")
_GENERATION_CODES = WIRE.codes("generation")
_CONFLICT_CODES = WIRE.codes("conflict")
_OUTPUT_FIELDS = ("videoURL", "mediaURL", "imageURL", "audioURL")


def attempt_uuid(job: Job, attempt: int) -> str:
    """The taskUUID of submit ``attempt`` (1-based): the planned one first, then derived ones.

    A re-sent ambiguous submit keeps its attempt's UUID (Runware answers ``conflictTaskUUID`` if
    it already has the task); only a new attempt after a failed job gets a new one.
    """
    return job.task_uuid if attempt <= 1 else stable_uuid4(job.task_uuid, "attempt", str(attempt))


# What ``httpx.Request(json=...)`` encodes a body with, made once instead of per request.
_BODY = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), allow_nan=False)
_C_ENCODER = getattr(json.encoder, "c_make_encoder", None)


def _json_body(value: Any) -> bytes:
    """``value`` as :data:`_BODY` encodes it, through json's C encoder directly: the Python
    layers of ``JSONEncoder.encode`` (a closure and an encoder made anew per call) cost as much
    as building the rest of a poll request. A fresh dict of markers per call, as ``encode``
    gives it, still refuses a circular value."""
    if _C_ENCODER is None:  # pragma: no cover - an interpreter without json's C accelerator
        return _BODY.encode(value).encode()
    encode = _C_ENCODER(
        {}, _BODY.default, json.encoder.encode_basestring, None, ":", ",", False, False, False
    )
    return "".join(encode(value, 0)).encode()


def _request(base_url: str, key: str, task: dict[str, Any]) -> httpx.Request:
    """The POST of ``[task]``, byte for byte as ``httpx.Request(json=[task])`` sends it (the same
    headers in the same order: Host, the API's, then Content-Length), a tenth of the cost to
    build (every submit and poll): its headers are copied whole from ones made once, so httpx
    adds and checks none."""
    body = _json_body([task])
    url = _api_url(base_url)
    request = httpx.Request(
        "POST",
        url,
        headers=_api_headers(url.netloc, key, len(body)),  # copied, not checked again
        stream=httpx.ByteStream(body),
    )
    request._content = body  # what Request.read() keeps, as httpx's content= leaves it
    return request


@functools.lru_cache(maxsize=256)
def _api_headers(host: bytes, key: str, length: int) -> httpx.Headers:
    """The Host header, :func:`headers` as httpx encodes them (ASCII; a key that is not fails
    as it would) and the Content-Length, made once per API, key and body length (every poll's
    body has the same length); never changed: each request copies it."""
    encoded = [
        (name.encode("ascii"), value.encode("ascii")) for name, value in headers(key).items()
    ]
    return httpx.Headers([(b"Host", host), *encoded, (b"Content-Length", b"%d" % length)])


@functools.lru_cache(maxsize=16)
def _api_url(base_url: str) -> httpx.URL:
    """The API's URL, parsed once: every submit and poll goes there, and parsing it took a
    third of building each request (``benchmarks/http_client.py``)."""
    return httpx.URL(base_url)


def _reply(response: httpx.Response) -> tuple[list[Any], list[Any]]:
    doc = _http.reply_json(response, NAME)
    if not isinstance(doc, dict):
        raise ProviderAmbiguous(
            "the reply is not a JSON object with data or errors",
            provider=NAME,
            status=response.status_code,
        )
    data: list[Any] = doc["data"] if isinstance(doc.get("data"), list) else []
    errors: list[Any] = doc["errors"] if isinstance(doc.get("errors"), list) else []
    return [d for d in data if isinstance(d, dict)], [e for e in errors if isinstance(e, dict)]


def _error(response: httpx.Response, item: Mapping[str, Any]) -> ProviderError:
    """One ``errors[]`` item as a classified error."""
    code = str(item.get("code") or "") or None
    message = str(item.get("message") or code or "error")
    if code in _CAPACITY_CODES:
        return ProviderCapacity(
            message,
            provider=NAME,
            status=response.status_code,
            code=code,
            retry_after=_http.retry_after(response),
        )
    by_status = _http.classify_status(response, NAME, message, code=code)
    if by_status is not None:
        return by_status
    return ProviderRejected(message, provider=NAME, status=response.status_code, code=code)


def _mine(items: list[Any], task_uuid: str) -> list[Any]:
    """Items about ``task_uuid``, or items naming no task (request-level errors)."""
    return [i for i in items if i.get("taskUUID") in (task_uuid, None)]


def _upload_flow(
    job: Job, role: str, data: bytes | None, base_url: str, key: str
) -> Flow[dict[str, Any]]:
    """Upload one local file with ``mediaStorage``; returns ``{"mediaUUID", "mediaURL"}``."""
    task = media_task(job, role, base64.b64encode(data or b"").decode("ascii"))
    response = yield _request(base_url, key, task)
    data_items, errors = _reply(response)
    for item in _mine(data_items, task["taskUUID"]):
        if item.get("mediaUUID"):
            return {"mediaUUID": item["mediaUUID"], "mediaURL": item.get("mediaURL")}
    for item in _mine(errors, task["taskUUID"]):
        raise _error(response, item)
    raise _http.classify_status(response, NAME, "upload answered without a mediaUUID") or (
        ProviderAmbiguous("upload answered without a mediaUUID", provider=NAME)
    )


def _submit_flow(job: Job, values: Mapping[str, Any], base_url: str, key: str) -> Flow[Submitted]:
    """Send the ``videoInference`` task; a ``conflictTaskUUID`` answer means it already exists."""
    task = submit_task(job, values)
    response = yield _request(base_url, key, task)
    data_items, errors = _reply(response)
    for item in _mine(errors, job.task_uuid):
        if item.get("code") in _CONFLICT_CODES:
            return Submitted(provider_job_id=job.task_uuid, existed=True)
        raise _error(response, item)
    for item in _mine(data_items, job.task_uuid):
        if item.get("taskUUID") == job.task_uuid:
            return Submitted(provider_job_id=job.task_uuid)
    raise _http.classify_status(response, NAME, "submit answered without the task") or (
        ProviderAmbiguous("submit answered without the task", provider=NAME)
    )


def _poll_flow(job: Job, provider_job_id: str, base_url: str, key: str) -> Flow[Finished]:
    """One ``getResponse`` for the task; done once every asked-for result's status means done."""
    response = yield _request(base_url, key, poll_task(provider_job_id))
    data_items, errors = _reply(response)
    for item in _mine(errors, provider_job_id):
        code = str(item.get("code") or "")
        message = str(item.get("message") or code)
        if code in _MODERATION_CODES:
            raise JobFailed(message, provider=NAME, reason="moderation", code=code)
        if code in _GENERATION_CODES:
            raise JobFailed(message, provider=NAME, reason="generation", code=code)
        # Any other error item is no documented word that the task failed: the runner polls
        # again (a refused poll is retried, never a failed job).
        raise _error(response, item)
    if not data_items:
        bad = _http.classify_status(response, NAME, "poll answered with nothing")
        if bad is not None:
            raise bad
    # One pass over the task's items, each status's meaning looked up once.
    results: list[dict[str, Any]] = []
    failed: dict[str, Any] | None = None
    unknown: str | None = None  # the first status lipflow does not know
    for item in data_items:
        if item.get("taskUUID") != provider_job_id:
            continue
        status = item.get("status")
        meaning = WIRE.meaning(status)
        if meaning == "done":
            results.append(item)
        elif meaning == "failed" and failed is None:
            failed = item
        elif meaning is None and status is not None and unknown is None:
            unknown = str(status)
    if failed is not None:
        raise JobFailed(
            str(failed.get("message") or "the task ended with status error"),
            provider=NAME,
            reason="generation",
        )
    wanted = int(job.options.get("numberResults") or 1) if job.options else 1
    if len(results) < wanted:
        return Finished(done=False, unknown_status=unknown)
    costs = [float(i["cost"]) for i in results if isinstance(i.get("cost"), int | float)]
    outputs = tuple(
        next(str(i[f]) for f in _OUTPUT_FIELDS if i.get(f))
        for i in results
        if any(i.get(f) for f in _OUTPUT_FIELDS)
    )
    if len(outputs) < len(results):
        raise ProviderAmbiguous("a successful result names no output URL", provider=NAME)
    return Finished(done=True, outputs=outputs, reported_usd=sum(costs) if costs else None)


_NOT_FOUND_CODES = WIRE.codes("not_found")


def _find_flow(task_uuid: str, base_url: str, key: str) -> Flow[Submitted | None]:
    """``getTaskDetails`` for the taskUUID an ambiguous submit carried: the task, or None when
    Runware has no such task (the submit never landed, so sending it is safe)."""
    response = yield _request(
        base_url, key, {"taskType": WIRE.endpoint("find").task, "taskUUID": task_uuid}
    )
    data_items, errors = _reply(response)
    for item in _mine(data_items, task_uuid):
        if item.get("taskUUID") == task_uuid:
            return Submitted(provider_job_id=task_uuid, existed=True)
    for item in _mine(errors, task_uuid):
        if item.get("code") in _NOT_FOUND_CODES:
            return None
        raise _error(response, item)
    raise _http.classify_status(response, NAME, "getTaskDetails answered without the task") or (
        ProviderAmbiguous("getTaskDetails answered without the task", provider=NAME)
    )


class RunwareClient:
    """Runware's :class:`~lipflow.providers.base.ProviderClient`."""

    origins = ORIGINS

    def plan_requests(self, job: Job, base_url: str) -> list[PlannedRequest]:
        return plan_requests(job, base_url)

    def submit_leaves(self, job: Job) -> dict[str, tuple[PathPart, ...]] | None:
        return submit_leaves(job)

    def request_headers(self, key: str) -> dict[str, str]:
        return headers(key)

    def needs_upload(self, ref: MediaRef) -> bool:
        """Local files go up through ``mediaStorage``; URLs, media UUIDs and step outputs do not."""
        return ref.origin == "file"

    def deferred_values(self, job: Job) -> dict[str, Any]:
        return _values(job)

    def submit_key(self, job: Job, attempt: int) -> str | None:
        return attempt_uuid(job, attempt)

    def upload_flow(
        self,
        job: Job,
        role: str,
        ref: MediaRef,
        *,
        data: bytes | None,
        url: str | None,
        base_url: str,
        key: str,
    ) -> Flow[dict[str, Any]]:
        return _upload_flow(job, role, data, base_url, key)

    def submit_flow(
        self, job: Job, values: Mapping[str, Any], *, attempt: int, base_url: str, key: str
    ) -> Flow[Submitted]:
        sent = replace(job, task_uuid=attempt_uuid(job, attempt))
        return _submit_flow(sent, values, base_url, key)

    def poll_flow(
        self, job: Job, provider_job_id: str, *, base_url: str, key: str
    ) -> Flow[Finished]:
        return _poll_flow(job, provider_job_id, base_url, key)

    def find_flow(
        self, job: Job, attempt: int, *, base_url: str, key: str
    ) -> Flow[Submitted | None] | None:
        return _find_flow(attempt_uuid(job, attempt), base_url, key)


CLIENT = RunwareClient()

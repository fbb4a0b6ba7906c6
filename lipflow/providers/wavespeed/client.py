"""WaveSpeed's client side: submit the model's body with media URLs, poll the prediction.

Local files go up in the SDK's two steps (a ticket, then a PUT of the bytes to the URL it names)
and are referenced by their ``download_url``. Every wire fact comes from :mod:`.wire`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from lipflow._lazy import lazy_module
from lipflow.errors import JobFailed, ProviderAmbiguous, ProviderRejected
from lipflow.jobs import Deferred, Job, MediaRef, PlannedRequest
from lipflow.media import content_type
from lipflow.providers._common import deep_merge, file_name, step_output_url
from lipflow.providers.base import Finished, Flow, Submitted
from lipflow.providers.wavespeed.wire import MODERATION_WORDS, WIRE
from lipflow.secrets import REDACTED

if TYPE_CHECKING:
    import httpx

    from lipflow.providers import _http
else:  # loaded when a request is built or sent: planning never does
    httpx = lazy_module("httpx")
    _http = lazy_module("lipflow.providers._http")

__all__ = ["CLIENT", "WavespeedClient", "submit_body", "upload_ticket"]

NAME = WIRE.name
_UPLOAD = WIRE.endpoint("upload")
_POLL = WIRE.endpoint("poll")


def headers(key: str | None = None) -> dict[str, str]:
    return {**WIRE.auth.headers(key or REDACTED), "Content-Type": "application/json"}


# What a plan shows (the key redacted), one dict shared by every planned request and never
# changed: 100,000 planned jobs would otherwise hold 300,000 equal copies.
_SHOWN_HEADERS = headers()


def submit_path(job: Job) -> str:
    """The model id is the path: ``pixverse/lipsync`` -> ``/api/v3/pixverse/lipsync``."""
    return f"{WIRE.api_prefix}/{job.model}"


def upload_ticket(ref: MediaRef) -> dict[str, Any]:
    path = str(ref.value)
    return {
        "filename": file_name(ref),
        "size": ref.size_bytes if ref.size_bytes is not None else 0,
        "content_type": content_type(path),
    }


def _placed(role: str, ref: MediaRef) -> Any:
    if ref.origin == "file":
        return Deferred(f"uploads.{role}.download_url", "https://example.com/upload.bin")
    if ref.origin == "step":
        return step_output_url(ref)
    return ref.value


def submit_body(job: Job, values: Mapping[str, Any]) -> dict[str, Any]:
    return deep_merge({"video": values["video"], "audio": values["audio"]}, job.options)


def plan_requests(job: Job, base_url: str) -> list[PlannedRequest]:
    out: list[PlannedRequest] = []
    for role, ref in job.media.items():
        if ref.origin != "file":
            continue
        out.append(
            PlannedRequest(
                purpose=f"upload {ref.kind} {ref.name!r} (ticket)",
                upload_of=(ref.origin, str(ref.value)),
                method="POST",
                url=WIRE.url(base_url, _UPLOAD),
                endpoint=_UPLOAD.path,
                headers=_SHOWN_HEADERS,
                json=upload_ticket(ref),
            )
        )
        out.append(
            PlannedRequest(
                purpose=f"upload {ref.kind} {ref.name!r} (bytes)",
                upload_of=(ref.origin, str(ref.value)),
                method="PUT",
                url=str(Deferred(f"uploads.{role}.put_url", "")),
                endpoint=None,
                headers={"Content-Type": content_type(str(ref.value))},
                content=f"<{ref.size_bytes or 0:,} bytes of {file_name(ref)}>",
                validate=False,
            )
        )
    values = {role: _placed(role, ref) for role, ref in job.media.items()}
    out.append(
        PlannedRequest(
            purpose="submit",
            method="POST",
            url=base_url + submit_path(job).removeprefix(WIRE.api_prefix),
            endpoint=submit_path(job),
            headers=_SHOWN_HEADERS,
            json=submit_body(job, values),
        )
    )
    out.append(
        PlannedRequest(
            purpose="poll until done",
            method="GET",
            url=WIRE.url(base_url, _POLL, id="${id}"),
            endpoint=_POLL.path,
            headers=WIRE.auth.headers(REDACTED),
            repeat=True,
            validate=False,
        )
    )
    return out


ORIGINS: dict[tuple[str, ...], tuple[str, ...]] = {
    ("video",): ("lipsync", "video"),
    ("audio",): ("lipsync", "audio"),
}


# ---------------------------------------------------------------------------------- run time
# Flows the runner drives (see lipflow.providers.base). Replies are ``{code, message, data}``;
# a failed prediction is still HTTP 200 with ``data.status: "failed"``.


def _data(response: httpx.Response) -> dict[str, Any]:
    doc = _http.reply_json(response, NAME)
    message = str(doc.get("message") or "") if isinstance(doc, dict) else ""
    bad = _http.classify_status(response, NAME, message)
    if bad is not None:
        raise bad
    if not isinstance(doc, dict) or not isinstance(doc.get("data"), dict):
        raise ProviderAmbiguous(
            "the reply has no data object", provider=NAME, status=response.status_code
        )
    code = doc.get("code")
    if isinstance(code, int) and code != 200:
        bad = _http.classify_status(httpx.Response(code), NAME, message, code=str(code))
        raise bad or ProviderRejected(message or "request refused", provider=NAME, code=str(code))
    return dict(doc["data"])


def _upload_flow(
    ref: MediaRef, data: bytes | None, base_url: str, key: str
) -> Flow[dict[str, Any]]:
    """The SDK's upload: a ticket from /media/uploads, then a PUT of the bytes to the URL it names."""
    data = data or b""
    ticket = upload_ticket(replace(ref, size_bytes=len(data)))
    answer = _data(
        (
            yield httpx.Request(
                "POST", WIRE.url(base_url, _UPLOAD), headers=headers(key), json=ticket
            )
        )
    )
    upload: dict[str, Any] = answer["upload"] if isinstance(answer.get("upload"), dict) else {}
    put_url, download_url = upload.get("url"), answer.get("download_url")
    if not isinstance(put_url, str) or not isinstance(download_url, str):
        raise ProviderAmbiguous("upload ticket names no upload URL or download_url", provider=NAME)
    put_headers: dict[str, Any] = (
        upload["headers"] if isinstance(upload.get("headers"), dict) else {}
    )
    put = yield httpx.Request(
        str(upload.get("method") or "PUT"),
        put_url,
        headers={str(k): str(v) for k, v in put_headers.items()},
        content=data,
    )
    bad = _http.classify_status(put, NAME, f"upload PUT answered HTTP {put.status_code}")
    if bad is not None:
        raise bad
    return {"download_url": download_url}


def _submit_flow(job: Job, values: Mapping[str, Any], base_url: str, key: str) -> Flow[Submitted]:
    """POST the model's body; returns the prediction id."""
    request = httpx.Request(
        "POST",
        base_url + submit_path(job).removeprefix(WIRE.api_prefix),
        headers=headers(key),
        json=submit_body(job, values),
    )
    data = _data((yield request))
    if not isinstance(data.get("id"), str) or not data["id"]:
        raise ProviderAmbiguous("submit answered without a prediction id", provider=NAME)
    return Submitted(provider_job_id=data["id"])


def _poll_flow(provider_job_id: str, base_url: str, key: str) -> Flow[Finished]:
    """GET the prediction's result: completed with outputs, failed with its error, or running."""
    request = httpx.Request(
        "GET", WIRE.url(base_url, _POLL, id=provider_job_id), headers=WIRE.auth.headers(key)
    )
    data = _data((yield request))
    status = str(data.get("status") or "")
    meaning = WIRE.meaning(status)
    if meaning == "done":
        outputs = tuple(str(o) for o in data.get("outputs") or () if isinstance(o, str) and o)
        if not outputs:
            raise ProviderAmbiguous("completed without outputs", provider=NAME)
        return Finished(done=True, outputs=outputs)
    if meaning == "running":
        return Finished(done=False)
    if meaning is None and not data.get("error"):  # a status the docs do not list: not a failure
        return Finished(done=False, unknown_status=status)
    error = str(data.get("error") or f"prediction ended with status {status!r}")
    reason = "moderation" if any(w in error.lower() for w in MODERATION_WORDS) else "generation"
    raise JobFailed(error, provider=NAME, reason=reason, code=status or None)


class WavespeedClient:
    """WaveSpeed's :class:`~lipflow.providers.base.ProviderClient`."""

    origins = ORIGINS

    def plan_requests(self, job: Job, base_url: str) -> list[PlannedRequest]:
        return plan_requests(job, base_url)

    def submit_leaves(self, job: Job) -> None:
        """Not declared: every body of a plan is built and checked whole."""
        return None

    def request_headers(self, key: str) -> dict[str, str]:
        return headers(key)

    def needs_upload(self, ref: MediaRef) -> bool:
        """Local files go up through the ticket + PUT; URLs and step outputs are sent as they are."""
        return ref.origin == "file"

    def deferred_values(self, job: Job) -> dict[str, Any]:
        return {role: _placed(role, ref) for role, ref in job.media.items()}

    def submit_key(self, job: Job, attempt: int) -> str | None:
        return None  # a submit carries no idempotency key (see wire.idempotency)

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
        return _upload_flow(ref, data, base_url, key)

    def submit_flow(
        self, job: Job, values: Mapping[str, Any], *, attempt: int, base_url: str, key: str
    ) -> Flow[Submitted]:
        return _submit_flow(job, values, base_url, key)

    def poll_flow(
        self, job: Job, provider_job_id: str, *, base_url: str, key: str
    ) -> Flow[Finished]:
        return _poll_flow(provider_job_id, base_url, key)

    def find_flow(
        self, job: Job, attempt: int, *, base_url: str, key: str
    ) -> Flow[Submitted | None] | None:
        """None: WaveSpeed's prediction history (GET /api/v3/predictions) carries no client reference, so it can only guess: an ambiguous submit stays ambiguous."""
        return None


CLIENT = WavespeedClient()

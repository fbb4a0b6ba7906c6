"""PixVerse Platform's client side: upload media, generate lip sync, poll the result.

Every request carries the API key and a fresh trace id (reusing one leaves a job stuck). Videos
and audio are uploaded first, as a file or by URL, and referenced by ``media_id``. Every wire
fact (paths, codes, statuses) comes from :mod:`.wire`.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from lipflow._lazy import lazy_module
from lipflow.catalog import load_catalog
from lipflow.errors import (
    JobFailed,
    JobUnknown,
    ProviderAmbiguous,
    ProviderCapacity,
    ProviderRejected,
)
from lipflow.jobs import Deferred, Job, LipsyncParams, MediaRef, PlannedRequest
from lipflow.media import content_type
from lipflow.providers._common import deep_merge, file_name, step_output_url
from lipflow.providers.base import Finished, Flow, Submitted
from lipflow.providers.pixverse.wire import INVALID_PARAMETER, TRACE_HEADER, WIRE
from lipflow.secrets import REDACTED

if TYPE_CHECKING:
    import httpx

    from lipflow.providers import _http
else:  # loaded when a request is built or sent: planning never does
    httpx = lazy_module("httpx")
    _http = lazy_module("lipflow.providers._http")

__all__ = ["CLIENT", "MODEL_ID", "PixverseClient", "speaker_id", "submit_body", "upload_form"]

NAME = WIRE.name
MODEL_ID = "pixverse/lipsync"  # the catalog model this API serves
_UPLOAD = WIRE.endpoint("upload")
_SUBMIT = WIRE.endpoint("submit")
_POLL = WIRE.endpoint("poll")


def headers(key: str | None = None, trace_id: str = "<new UUID per request>") -> dict[str, str]:
    return {**WIRE.auth.headers(key or REDACTED), TRACE_HEADER: trace_id}


# What a plan shows (the key redacted), one dict shared by every planned request and never
# changed: 100,000 planned jobs would otherwise hold 300,000 equal copies.
_SHOWN_HEADERS = headers()
_SHOWN_JSON_HEADERS = {**_SHOWN_HEADERS, "Content-Type": "application/json"}


def speakers() -> dict[str, str]:
    """PixVerse's TTS speakers, name -> speaker_id, from the catalog."""
    return dict(load_catalog().model(MODEL_ID).speakers)


def speaker_id(voice: str | None) -> str:
    """A voice name (or ``auto``) as PixVerse's speaker_id; an unknown name is sent as written."""
    speakers = load_catalog().model(MODEL_ID).speakers
    if voice is None or voice.lower() == "auto":
        return speakers["Auto"]
    for name, sid in speakers.items():
        if name.lower() == voice.lower():
            return sid
    return voice


def upload_form(ref: MediaRef, url: Any = None) -> dict[str, Any]:
    """The multipart form of a media upload: the file itself, or a URL PixVerse fetches."""
    if ref.origin == "file":
        return {
            "file": {
                "filename": file_name(ref),
                "content_type": content_type(str(ref.value)),
                "size": ref.size_bytes if ref.size_bytes is not None else 0,
            }
        }
    return {"file_url": url if url is not None else ref.value}


def _needs_upload(ref: MediaRef) -> bool:
    return ref.origin != "media_id"


def _values(job: Job) -> dict[str, Any]:
    return {
        role: ref.value if not _needs_upload(ref) else Deferred(f"uploads.{role}.media_id", 1)
        for role, ref in job.media.items()
    }


def submit_body(job: Job, values: Mapping[str, Any]) -> dict[str, Any]:
    """The lip-sync generate body: one video source and one audio source."""
    body: dict[str, Any] = {"video_media_id": values["video"]}
    tts = job.params.tts if isinstance(job.params, LipsyncParams) else None
    if tts:
        body["lip_sync_tts_speaker_id"] = speaker_id(tts.voice)
        body["lip_sync_tts_content"] = tts.text
    else:
        body["audio_media_id"] = values["audio"]
    return deep_merge(body, job.options)


def plan_requests(job: Job, base_url: str) -> list[PlannedRequest]:
    out: list[PlannedRequest] = []
    for ref in job.media.values():
        if not _needs_upload(ref):
            continue
        url = step_output_url(ref) if ref.origin == "step" else None
        out.append(
            PlannedRequest(
                purpose=f"upload {ref.kind} {ref.name!r}",
                upload_of=(ref.origin, str(ref.value)),
                method="POST",
                url=WIRE.url(base_url, _UPLOAD),
                endpoint=_UPLOAD.path,
                headers=_SHOWN_HEADERS,
                form=upload_form(ref, url),
            )
        )
    out.append(
        PlannedRequest(
            purpose="submit",
            method="POST",
            url=WIRE.url(base_url, _SUBMIT),
            endpoint=_SUBMIT.path,
            headers=_SHOWN_JSON_HEADERS,
            json=submit_body(job, _values(job)),
        )
    )
    out.append(
        PlannedRequest(
            purpose="poll until done",
            method="GET",
            url=WIRE.url(base_url, _POLL, video_id="${video_id}"),
            endpoint=_POLL.path,
            headers=_SHOWN_HEADERS,
            repeat=True,
            validate=False,
        )
    )
    return out


ORIGINS: dict[tuple[str, ...], tuple[str, ...]] = {
    ("lip_sync_tts_speaker_id",): ("lipsync", "tts", "voice"),
    ("lip_sync_tts_content",): ("lipsync", "tts", "text"),
    ("video_media_id",): ("lipsync", "video"),
    ("audio_media_id",): ("lipsync", "audio"),
}


# ---------------------------------------------------------------------------------- run time
# Flows the runner drives (see lipflow.providers.base). PixVerse answers with the
# ErrCode/ErrMsg/Resp envelope; an error may come with HTTP 200, so ErrCode is always read.

_CAPACITY_CODES = WIRE.codes("capacity")


def _headers(key: str) -> dict[str, str]:
    return headers(key, str(uuid.uuid4()))  # a new trace id for every request, as the docs ask


def _resp(response: httpx.Response) -> dict[str, Any]:
    """``Resp`` of a reply whose ErrCode is 0; otherwise the classified error."""
    doc = _http.reply_json(response, NAME)
    if not isinstance(doc, dict) or "ErrCode" not in doc:
        bad = _http.classify_status(response, NAME, "the reply has no ErrCode envelope")
        raise bad or ProviderAmbiguous("the reply has no ErrCode envelope", provider=NAME)
    code, message = doc.get("ErrCode"), str(doc.get("ErrMsg") or "")
    if not isinstance(code, int | str) or isinstance(code, bool):
        raise ProviderAmbiguous(
            f"the reply's ErrCode is {type(code).__name__}, not a code",
            provider=NAME,
            status=response.status_code,
        )
    if code == 0:
        resp = doc.get("Resp")
        return resp if isinstance(resp, dict) else {}
    if code in _CAPACITY_CODES:
        raise ProviderCapacity(
            message or "concurrent-generation limit reached",
            provider=NAME,
            status=response.status_code,
            code=str(code),
            retry_after=_http.retry_after(response),
        )
    bad = _http.classify_status(response, NAME, message, code=str(code))
    raise bad or ProviderRejected(
        message or "request refused", provider=NAME, status=response.status_code, code=str(code)
    )


def _upload_flow(
    ref: MediaRef, data: bytes | None, url: str | None, base_url: str, key: str
) -> Flow[dict[str, Any]]:
    """Upload one input as a file or by ``file_url``; returns ``{"media_id": int}``."""
    form = upload_form(ref, url)
    if "file" in form:
        described = form["file"]
        request = httpx.Request(
            "POST",
            WIRE.url(base_url, _UPLOAD),
            headers=_headers(key),
            files={"file": (described["filename"], data or b"", described["content_type"])},
        )
    else:
        request = httpx.Request(
            "POST", WIRE.url(base_url, _UPLOAD), headers=_headers(key), data=form
        )
    resp = _resp((yield request))
    if not isinstance(resp.get("media_id"), int):
        raise ProviderAmbiguous("upload answered without a media_id", provider=NAME)
    return {"media_id": resp["media_id"]}


def _submit_flow(job: Job, values: Mapping[str, Any], base_url: str, key: str) -> Flow[Submitted]:
    """POST the lip-sync generate body; returns the ``video_id`` and the credits if reported."""
    request = httpx.Request(
        "POST",
        WIRE.url(base_url, _SUBMIT),
        headers={**_headers(key), "Content-Type": "application/json"},
        json=submit_body(job, values),
    )
    resp = _resp((yield request))
    video_id = resp.get("video_id")
    if not isinstance(video_id, int | str) or isinstance(video_id, bool):
        raise ProviderAmbiguous("generate answered without a video_id", provider=NAME)
    credits = resp.get("credits") if isinstance(resp.get("credits"), int) else None
    usd_per_credit = load_catalog().model(MODEL_ID).price
    rate = usd_per_credit.usd_per_credit if usd_per_credit is not None else None
    return Submitted(
        provider_job_id=str(video_id),
        reported_credits=credits,
        reported_usd=round(credits * rate, 6) if credits is not None and rate else None,
    )


def _poll_flow(provider_job_id: str, base_url: str, key: str) -> Flow[Finished]:
    """GET the video's result: done, moderated or failed by the wire's status table, else running."""
    request = httpx.Request(
        "GET", WIRE.url(base_url, _POLL, video_id=provider_job_id), headers=_headers(key)
    )
    try:
        resp = _resp((yield request))
    except ProviderRejected as exc:
        # The poll's one parameter is the video_id PixVerse gave: "Invalid parameter" is its
        # answer for a video it does not know (see INVALID_PARAMETER).
        if exc.code != str(INVALID_PARAMETER):
            raise
        raise JobUnknown(
            f"{exc.message} (PixVerse does not know video {provider_job_id})",
            provider=NAME,
            status=exc.status,
            code=exc.code,
        ) from None
    status = resp.get("status")
    meaning = WIRE.meaning(status)
    if meaning == "moderated":
        raise JobFailed(
            "the video failed content moderation (credits are refunded)",
            provider=NAME,
            reason="moderation",
            code=f"status {status}",
        )
    if meaning == "failed":
        raise JobFailed(
            "the video failed to generate",
            provider=NAME,
            reason="generation",
            code=f"status {status}",
        )
    if meaning is None:
        return Finished(done=False, unknown_status=str(status))
    if meaning != "done":
        return Finished(done=False)
    url = resp.get("url")
    if not isinstance(url, str) or not url:
        raise ProviderAmbiguous(f"status {status} (done) but no url", provider=NAME)
    size = resp.get("size") if isinstance(resp.get("size"), int) and resp["size"] > 0 else None
    return Finished(done=True, outputs=(url,), sizes=(size,))


class PixverseClient:
    """PixVerse Platform's :class:`~lipflow.providers.base.ProviderClient`."""

    origins = ORIGINS

    def plan_requests(self, job: Job, base_url: str) -> list[PlannedRequest]:
        return plan_requests(job, base_url)

    def submit_leaves(self, job: Job) -> None:
        """Not declared: every body of a plan is built and checked whole."""
        return None

    def request_headers(self, key: str) -> dict[str, str]:
        return _headers(key)

    def needs_upload(self, ref: MediaRef) -> bool:
        """Every source but an existing media_id goes through the upload (a file or a file_url)."""
        return _needs_upload(ref)

    def deferred_values(self, job: Job) -> dict[str, Any]:
        return _values(job)

    def submit_key(self, job: Job, attempt: int) -> str | None:
        return None  # a generate carries no idempotency key (see wire.idempotency)

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
        return _upload_flow(ref, data, url, base_url, key)

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
        """None: PixVerse documents no way to find a video by anything the submit carried: an ambiguous submit stays ambiguous."""
        return None


CLIENT = PixverseClient()

"""The PixVerse Platform API under ``/openapi/v2``: upload media, generate lip sync, poll the result.

Every request carries ``API-KEY`` and a fresh ``Ai-Trace-Id`` (reusing one is "the most common
cause" of stuck jobs, seed 002 §Troubleshooting). Videos and audio are uploaded first, as a file
or by URL, and referenced by ``media_id``. Wire facts: PROVIDERS.md §2 (S-PVENT, D-PVSPEC).
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Any

import httpx

from lipflow.catalog import load_catalog
from lipflow.errors import JobFailed, ProviderAmbiguous, ProviderCapacity, ProviderRejected
from lipflow.jobs import Deferred, Job, MediaRef, PlannedRequest
from lipflow.providers._common import REDACTED, content_type, deep_merge, file_name, step_output_url
from lipflow.providers._wire import (
    Finished,
    Flow,
    Submitted,
    classify_status,
    reply_json,
    retry_after,
)

__all__ = [
    "API_PREFIX",
    "NAME",
    "deferred_values",
    "needs_upload",
    "plan_requests",
    "poll_flow",
    "speaker_id",
    "submit_body",
    "submit_flow",
    "upload_flow",
    "upload_form",
]

NAME = "pixverse"
API_PREFIX = "/openapi/v2"
UPLOAD_PATH = "/media/upload"
GENERATE_PATH = "/video/lip_sync/generate"
RESULT_PATH = "/video/result/{video_id}"
TTS_LIST_PATH = "/video/lip_sync/tts_list"


def headers(key: str | None = None, trace_id: str = "<new UUID per request>") -> dict[str, str]:
    return {"API-KEY": key or REDACTED, "Ai-Trace-Id": trace_id}


def speaker_id(voice: str | None) -> str:
    """A voice name (or ``auto``) as PixVerse's speaker_id; an unknown name is sent as written."""
    speakers = load_catalog().pixverse_speakers
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
    """The lip-sync generate body: one video source and one audio source (seed 002 §Step 3)."""
    body: dict[str, Any] = {"video_media_id": values["video"]}
    tts = job.params.get("tts")
    if tts:
        body["lip_sync_tts_speaker_id"] = speaker_id(tts.get("voice"))
        body["lip_sync_tts_content"] = tts["text"]
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
                url=base_url + UPLOAD_PATH,
                endpoint=API_PREFIX + UPLOAD_PATH,
                headers=headers(),
                form=upload_form(ref, url),
            )
        )
    out.append(
        PlannedRequest(
            purpose="submit",
            method="POST",
            url=base_url + GENERATE_PATH,
            endpoint=API_PREFIX + GENERATE_PATH,
            headers={**headers(), "Content-Type": "application/json"},
            json=submit_body(job, _values(job)),
        )
    )
    out.append(
        PlannedRequest(
            purpose="poll until done",
            method="GET",
            url=base_url + RESULT_PATH.format(video_id="${video_id}"),
            endpoint=API_PREFIX + RESULT_PATH,
            headers=headers(),
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
# Flows the runner drives (see lipflow.providers._wire). PixVerse answers with the
# ErrCode/ErrMsg/Resp envelope; an error may come with HTTP 200, so ErrCode is always read.

CONCURRENCY_LIMIT = 500044  # "Reached the limit for concurrent generations" (seed 002)
STATUS_DONE, STATUS_MODERATED, STATUS_FAILED = 1, 7, 8  # 5: still generating (seed 002 §Step 4)


def needs_upload(ref: MediaRef) -> bool:
    """Every source but an existing media_id goes through /media/upload (a file or a file_url)."""
    return _needs_upload(ref)


def deferred_values(job: Job) -> dict[str, Any]:
    """What each media role of ``job`` sends, with run-time values as Deferreds to resolve."""
    return _values(job)


def _headers(key: str) -> dict[str, str]:
    return headers(key, str(uuid.uuid4()))  # a new trace id for every request, as the docs ask


def _resp(response: httpx.Response) -> dict[str, Any]:
    """``Resp`` of a reply whose ErrCode is 0; otherwise the classified error."""
    doc = reply_json(response, NAME)
    if not isinstance(doc, dict) or "ErrCode" not in doc:
        bad = classify_status(response, NAME, "the reply has no ErrCode envelope")
        raise bad or ProviderAmbiguous("the reply has no ErrCode envelope", provider=NAME)
    code, message = doc.get("ErrCode"), str(doc.get("ErrMsg") or "")
    if code == 0:
        resp = doc.get("Resp")
        return resp if isinstance(resp, dict) else {}
    if code == CONCURRENCY_LIMIT:
        raise ProviderCapacity(
            message or "concurrent-generation limit reached",
            provider=NAME,
            status=response.status_code,
            code=str(code),
            retry_after=retry_after(response),
        )
    bad = classify_status(response, NAME, message, code=str(code))
    raise bad or ProviderRejected(
        message or "request refused", provider=NAME, status=response.status_code, code=str(code)
    )


def upload_flow(
    job: Job,
    role: str,
    ref: MediaRef,
    *,
    data: bytes | None,
    url: str | None,
    base_url: str,
    key: str,
) -> Flow[dict[str, Any]]:
    """Upload one input as a file or by ``file_url``; returns ``{"media_id": int}``."""
    form = upload_form(ref, url)
    if "file" in form:
        described = form["file"]
        request = httpx.Request(
            "POST",
            base_url + UPLOAD_PATH,
            headers=_headers(key),
            files={"file": (described["filename"], data or b"", described["content_type"])},
        )
    else:
        request = httpx.Request("POST", base_url + UPLOAD_PATH, headers=_headers(key), data=form)
    resp = _resp((yield request))
    if not isinstance(resp.get("media_id"), int):
        raise ProviderAmbiguous("upload answered without a media_id", provider=NAME)
    return {"media_id": resp["media_id"]}


def submit_flow(job: Job, values: Mapping[str, Any], *, base_url: str, key: str) -> Flow[Submitted]:
    """POST the lip-sync generate body; returns the ``video_id`` and the credits if reported."""
    request = httpx.Request(
        "POST",
        base_url + GENERATE_PATH,
        headers={**_headers(key), "Content-Type": "application/json"},
        json=submit_body(job, values),
    )
    resp = _resp((yield request))
    video_id = resp.get("video_id")
    if not isinstance(video_id, int | str) or isinstance(video_id, bool):
        raise ProviderAmbiguous("generate answered without a video_id", provider=NAME)
    credits = resp.get("credits") if isinstance(resp.get("credits"), int) else None
    usd_per_credit = load_catalog().model("pixverse/lipsync").price
    rate = usd_per_credit.usd_per_credit if usd_per_credit is not None else None
    return Submitted(
        provider_job_id=str(video_id),
        reported_credits=credits,
        reported_usd=round(credits * rate, 6) if credits is not None and rate else None,
    )


def poll_flow(job: Job, provider_job_id: str, *, base_url: str, key: str) -> Flow[Finished]:
    """GET the video's result: status 1 done, 7 moderated, 8 failed, anything else still running."""
    request = httpx.Request(
        "GET", base_url + RESULT_PATH.format(video_id=provider_job_id), headers=_headers(key)
    )
    resp = _resp((yield request))
    status = resp.get("status")
    if status == STATUS_MODERATED:
        raise JobFailed(
            "the video failed content moderation (credits are refunded)",
            provider=NAME,
            reason="moderation",
            code="status 7",
        )
    if status == STATUS_FAILED:
        raise JobFailed(
            "the video failed to generate", provider=NAME, reason="generation", code="status 8"
        )
    if status != STATUS_DONE:
        return Finished(done=False)
    url = resp.get("url")
    if not isinstance(url, str) or not url:
        raise ProviderAmbiguous("status 1 (done) but no url", provider=NAME)
    size = resp.get("size") if isinstance(resp.get("size"), int) and resp["size"] > 0 else None
    return Finished(done=True, outputs=(url,), sizes=(size,))

"""The PixVerse Platform API under ``/openapi/v2``: upload media, generate lip sync, poll the result.

Every request carries ``API-KEY`` and a fresh ``Ai-Trace-Id`` (reusing one is "the most common
cause" of stuck jobs, seed 002 §Troubleshooting). Videos and audio are uploaded first, as a file
or by URL, and referenced by ``media_id``. Wire facts: PROVIDERS.md §2 (S-PVENT, D-PVSPEC).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from lipflow.catalog import load_catalog
from lipflow.jobs import Deferred, Job, MediaRef, PlannedRequest
from lipflow.providers._common import REDACTED, content_type, deep_merge, file_name, step_output_url

__all__ = ["API_PREFIX", "NAME", "plan_requests", "speaker_id", "submit_body", "upload_form"]

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

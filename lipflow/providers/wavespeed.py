"""WaveSpeed's API v3: submit ``pixverse/lipsync`` with media URLs, poll the prediction.

Local files go up in the SDK's two steps (a ticket from ``/media/uploads``, then a PUT of the
bytes to the URL it names) and are referenced by their ``download_url``. Wire facts:
PROVIDERS.md §3 (S-WSLIP, D-WSRES, WS:api/client.py).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from lipflow.jobs import Deferred, Job, MediaRef, PlannedRequest
from lipflow.providers._common import REDACTED, content_type, deep_merge, file_name, step_output_url

__all__ = ["API_PREFIX", "NAME", "plan_requests", "submit_body", "upload_ticket"]

NAME = "wavespeed"
API_PREFIX = "/api/v3"
UPLOAD_PATH = "/media/uploads"
RESULT_PATH = "/predictions/{id}/result"


def headers(key: str | None = None) -> dict[str, str]:
    return {"Authorization": f"Bearer {key or REDACTED}", "Content-Type": "application/json"}


def submit_path(job: Job) -> str:
    return "/" + job.model  # the model id is the path: pixverse/lipsync -> /pixverse/lipsync


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
                method="POST",
                url=base_url + UPLOAD_PATH,
                endpoint=API_PREFIX + UPLOAD_PATH,
                headers=headers(),
                json=upload_ticket(ref),
            )
        )
        out.append(
            PlannedRequest(
                purpose=f"upload {ref.kind} {ref.name!r} (bytes)",
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
            url=base_url + submit_path(job),
            endpoint=API_PREFIX + submit_path(job),
            headers=headers(),
            json=submit_body(job, values),
        )
    )
    out.append(
        PlannedRequest(
            purpose="poll until done",
            method="GET",
            url=base_url + RESULT_PATH.format(id="${id}"),
            endpoint=API_PREFIX + RESULT_PATH,
            headers={"Authorization": f"Bearer {REDACTED}"},
            repeat=True,
            validate=False,
        )
    )
    return out


ORIGINS: dict[tuple[str, ...], tuple[str, ...]] = {
    ("video",): ("lipsync", "video"),
    ("audio",): ("lipsync", "audio"),
}

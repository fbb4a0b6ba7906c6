"""LipCraft's client side: pure request building and reply classification."""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Any

import httpx

from lipflow.errors import JobFailed, ProviderAmbiguous, ProviderCapacity, ProviderRejected
from lipflow.jobs import Deferred, Job, MediaRef, PlannedRequest
from lipflow.media import content_type
from lipflow.providers._common import deep_merge, file_name, step_output_url
from lipflow.providers._http import classify_status, reply_json, retry_after
from lipflow.providers.base import Finished, Flow, Submitted
from lipflow.secrets import REDACTED
from tests.fourth_provider.wire import WIRE

__all__ = ["CLIENT"]

NAME = WIRE.name
_UPLOAD, _SUBMIT, _POLL = (WIRE.endpoint(op) for op in ("upload", "submit", "poll"))


def _placed(role: str, ref: MediaRef) -> Any:
    if ref.origin == "file":
        return Deferred(f"uploads.{role}.url", "https://example.com/file.bin")
    if ref.origin == "step":
        return step_output_url(ref)
    return ref.value


def submit_body(job: Job, values: Mapping[str, Any]) -> dict[str, Any]:
    body = {"video": values["video"], "audio": values["audio"], "idempotency_key": job.task_uuid}
    return deep_merge(body, job.options)


def _form(ref: MediaRef) -> dict[str, Any]:
    return {
        "file": {
            "filename": file_name(ref),
            "content_type": content_type(str(ref.value)),
            "size": ref.size_bytes or 0,
        }
    }


def _error(response: httpx.Response, doc: Any) -> Exception:
    error = doc.get("error") if isinstance(doc, dict) else None
    code = str(error.get("code")) if isinstance(error, dict) else None
    message = str(error.get("message") or code) if isinstance(error, dict) else "error"
    if code in WIRE.codes("capacity"):
        return ProviderCapacity(
            message,
            provider=NAME,
            status=response.status_code,
            code=code,
            retry_after=retry_after(response),
        )
    return classify_status(response, NAME, message, code=code) or ProviderRejected(
        message, provider=NAME, status=response.status_code, code=code
    )


def _reply(response: httpx.Response, field: str) -> dict[str, Any]:
    doc = reply_json(response, NAME)
    if response.status_code >= 300 or not isinstance(doc, dict) or "error" in doc:
        raise _error(response, doc)
    found = doc.get(field)
    if not isinstance(found, dict):
        raise ProviderAmbiguous(f"the reply has no {field}", provider=NAME)
    return found


class LipcraftClient:
    """LipCraft's :class:`~lipflow.providers.base.ProviderClient`."""

    origins: Mapping[tuple[str, ...], tuple[str, ...]] = MappingProxyType(
        {("video",): ("lipsync", "video"), ("audio",): ("lipsync", "audio")}
    )

    def request_headers(self, key: str) -> dict[str, str]:
        return WIRE.auth.headers(key)

    def submit_leaves(self, job: Job) -> None:
        """Not declared: the planner builds and checks every body whole."""
        return None

    def plan_requests(self, job: Job, base_url: str) -> list[PlannedRequest]:
        out = [
            PlannedRequest(
                purpose=f"upload {ref.kind} {ref.name!r}",
                upload_of=(ref.origin, str(ref.value)),
                method="POST",
                url=WIRE.url(base_url, _UPLOAD),
                endpoint=_UPLOAD.path,
                headers=WIRE.auth.headers(REDACTED),
                form=_form(ref),
            )
            for ref in job.media.values()
            if self.needs_upload(ref)
        ]
        values = self.deferred_values(job)
        out.append(
            PlannedRequest(
                purpose="submit",
                method="POST",
                url=WIRE.url(base_url, _SUBMIT),
                endpoint=_SUBMIT.path,
                headers=WIRE.auth.headers(REDACTED),
                json=submit_body(job, values),
            )
        )
        out.append(
            PlannedRequest(
                purpose="poll until done",
                method="GET",
                url=WIRE.url(base_url, _POLL, job_id="${job_id}"),
                endpoint=_POLL.path,
                headers=WIRE.auth.headers(REDACTED),
                repeat=True,
                validate=False,
            )
        )
        return out

    def needs_upload(self, ref: MediaRef) -> bool:
        return ref.origin == "file"

    def deferred_values(self, job: Job) -> dict[str, Any]:
        return {role: _placed(role, ref) for role, ref in job.media.items()}

    def submit_key(self, job: Job, attempt: int) -> str | None:
        return job.task_uuid if attempt <= 1 else f"{job.task_uuid}-{attempt}"

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
        described = _form(ref)["file"]
        request = httpx.Request(
            "POST",
            WIRE.url(base_url, _UPLOAD),
            headers=WIRE.auth.headers(key),
            files={"file": (described["filename"], data or b"", described["content_type"])},
        )
        file = _reply((yield request), "file")
        if not isinstance(file.get("url"), str):
            raise ProviderAmbiguous("upload answered without a url", provider=NAME)
        return {"url": file["url"]}

    def submit_flow(
        self, job: Job, values: Mapping[str, Any], *, attempt: int, base_url: str, key: str
    ) -> Flow[Submitted]:
        body = {**submit_body(job, values), "idempotency_key": self.submit_key(job, attempt)}
        request = httpx.Request(
            "POST", WIRE.url(base_url, _SUBMIT), headers=WIRE.auth.headers(key), json=body
        )
        response = yield request
        found = _reply(response, "job")
        if not isinstance(found.get("id"), str):
            raise ProviderAmbiguous("submit answered without a job id", provider=NAME)
        return Submitted(provider_job_id=found["id"], existed=response.status_code == 200)

    def poll_flow(
        self, job: Job, provider_job_id: str, *, base_url: str, key: str
    ) -> Flow[Finished]:
        request = httpx.Request(
            "GET",
            WIRE.url(base_url, _POLL, job_id=provider_job_id),
            headers=WIRE.auth.headers(key),
        )
        found = _reply((yield request), "job")
        meaning = WIRE.meaning(found.get("state"))
        if meaning == "running":
            return Finished(done=False)
        if meaning == "done" and isinstance(found.get("output_url"), str):
            return Finished(done=True, outputs=(found["output_url"],))
        reason = "moderation" if meaning == "moderated" else "generation"
        raise JobFailed(
            str(found.get("error") or f"job ended {found.get('state')}"),
            provider=NAME,
            reason=reason,
            code=str(found.get("state")),
        )

    def find_flow(
        self, job: Job, attempt: int, *, base_url: str, key: str
    ) -> Flow[Submitted | None] | None:
        """None: a resend with the same key answers with the job it already has."""
        return None


CLIENT = LipcraftClient()

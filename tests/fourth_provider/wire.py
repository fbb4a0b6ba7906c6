"""LipCraft, a made-up provider, as data: the fourth provider lipflow's tests add from outside.

It exists to show that a provider is one package: nothing outside ``tests/fourth_provider``
names it. Its API: upload a file, submit a job carrying an idempotency key (a resend with the
same key answers the existing job), poll the job until it is finished, blocked or errored.
"""

from __future__ import annotations

from lipflow.providers.base import Auth, Endpoint, Idempotency, WireSpec

__all__ = ["WIRE"]

DOC = "https://example.com/lipcraft/api"

WIRE = WireSpec(
    name="lipcraft",
    title="LipCraft",
    base_url="https://api.lipcraft.example.com/lipcraft/v1",
    key_env="LIPCRAFT_API_KEY",
    url_env="LIPFLOW_LIPCRAFT_URL",
    api_prefix="/lipcraft/v1",
    doc=DOC,
    auth=Auth(header="X-Api-Key", doc=f"{DOC}#auth"),
    endpoints=(
        Endpoint(
            op="upload",
            method="POST",
            path="/lipcraft/v1/files",
            body="multipart/form-data",
            request="upload.request.json",
            response="upload.response.json",
            doc=f"{DOC}#files",
        ),
        Endpoint(
            op="submit",
            method="POST",
            path="/lipcraft/v1/jobs",
            request="job.request.json",
            response="job.response.json",
            doc=f"{DOC}#jobs",
        ),
        Endpoint(
            op="poll",
            method="GET",
            path="/lipcraft/v1/jobs/{job_id}",
            body="query",
            params={"job_id": "^[a-z0-9]+$"},
            request="job-get.request.json",
            response="job.response.json",
            doc=f"{DOC}#jobs",
        ),
    ),
    statuses={
        "running": "running",
        "queued": "running",
        "finished": "done",
        "blocked": "moderated",
        "errored": "failed",
    },
    errors={
        "busy": "capacity",
        "bad_request": "rejected",
        "unauthorized": "auth",
        "not_found": "not_found",
        "internal": "server",
        "too_large": "rejected",
    },
    idempotency=Idempotency(
        deduplicated=True,
        field="idempotency_key",
        derivation="the job's planned key, the same on every resend",
        doc=f"{DOC}#idempotency",
    ),
)

"""WaveSpeed's API v3 as data: submit a model's body, poll the prediction, upload in two steps.

Replies are ``{"code", "message", "data"}``; errors before a prediction exists are HTTP 4xx with
``data: null``, and a prediction that failed is still HTTP 200 with ``data.status`` "failed" and
``data.error`` saying why. The model id is the submit path (``/api/v3/pixverse/lipsync``). Local
files go up as the SDK sends them: a ticket from ``/media/uploads``, then a PUT of the bytes.
"""

from __future__ import annotations

from lipflow.providers.base import Auth, Endpoint, Idempotency, WireSpec

__all__ = ["MODERATION_WORDS", "WIRE"]

MODEL_DOC = "https://wavespeed.ai/docs/docs-api/pixverse/pixverse-lipsync"
RESULT_DOC = "https://wavespeed.ai/docs/get-result"
SUBMIT_DOC = "https://wavespeed.ai/docs/submit-task"
UPLOAD_DOC = "https://wavespeed.ai/docs/upload-files-api"

# A failed prediction says in ``error`` whether moderation stopped it.
MODERATION_WORDS = ("nsfw", "moderation", "safety")

WIRE = WireSpec(
    name="wavespeed",
    title="WaveSpeed",
    base_url="https://api.wavespeed.ai/api/v3",
    key_env="WAVESPEED_API_KEY",
    url_env="LIPFLOW_WAVESPEED_URL",
    api_prefix="/api/v3",
    doc=SUBMIT_DOC,
    auth=Auth(header="Authorization", scheme="Bearer", doc=SUBMIT_DOC),
    endpoints=(
        Endpoint(
            op="submit",
            method="POST",
            path="/api/v3/pixverse/lipsync",
            request="pixverse-lipsync.request.json",
            response="prediction.response.json",
            doc=MODEL_DOC,
        ),
        Endpoint(
            op="poll",
            method="GET",
            path="/api/v3/predictions/{id}/result",
            body="query",
            params={"id": "^[^/]+$"},
            request="prediction-result.request.json",
            response="prediction.response.json",
            doc=RESULT_DOC,
        ),
        Endpoint(
            op="poll",
            method="GET",
            path="/api/v3/predictions/{id}",
            body="query",
            params={"id": "^[^/]+$"},
            request="prediction-result.request.json",
            response="prediction.response.json",
            doc=RESULT_DOC,
        ),
        Endpoint(
            op="upload",
            method="POST",
            path="/api/v3/media/uploads",
            request="media-uploads.request.json",
            response="media-uploads.response.json",
            doc=UPLOAD_DOC,
        ),
    ),
    # The first value of each meaning is the one the simulated twin answers with.
    statuses={
        "processing": "running",
        "created": "running",
        "queued": "running",
        "pending": "running",
        "completed": "done",
        "failed": "failed",
    },
    errors={429: "capacity", 401: "auth", 404: "not_found", 400: "rejected"},
    idempotency=Idempotency(
        deduplicated=False, doc=SUBMIT_DOC, derivation="none: each submit is a new prediction"
    ),
)

"""Runware's API as data: one URL taking JSON arrays of tasks, each naming its ``taskType``.

Every request is ``POST /v1`` with an array of task objects (a WebSocket at the same path speaks
the same tasks); replies are ``{"data": [...], "errors": [...]}`` with each item echoing its
``taskType`` and ``taskUUID``. A submit is idempotent by its ``taskUUID``: sending a task again
with a UUID Runware already has is answered ``conflictTaskUUID``, not with a second job.
"""

from __future__ import annotations

from lipflow.providers.base import Auth, Endpoint, Idempotency, WireSpec

__all__ = ["CONFLICT", "INVALID_API_KEY", "MISSING_API_KEY", "TASK_NOT_FOUND", "WIRE"]

DOCS = "https://runware.ai/docs/platform"
LIPSYNC_DOC = "https://runware.ai/docs/models/pixverse-lipsync"
SYNC_DOC = "https://runware.ai/docs/models/sync-lipsync-2"
PIXVERSE_DOC = "https://runware.ai/docs/en/providers/pixverse"
# providerSettings.pixverse in the videoInference API reference; each property's anchor adds -<name>.
PIXVERSE_API_DOC = (
    "https://runware.ai/docs/en/video-inference/api-reference#request-providersettings-pixverse"
)

# Error codes the client or the mock names on its own, beside the table below.
INVALID_API_KEY = "invalidApiKey"
MISSING_API_KEY = "missingApiKey"
CONFLICT = "conflictTaskUUID"  # a task with this taskUUID exists: the submit was deduplicated
TASK_NOT_FOUND = "taskNotFound"

WIRE = WireSpec(
    name="runware",
    title="Runware",
    base_url="https://api.runware.ai/v1",
    key_env="RUNWARE_API_KEY",
    url_env="LIPFLOW_RUNWARE_URL",
    api_prefix="/v1",
    websocket_path="/v1",
    doc=f"{DOCS}/authentication",
    auth=Auth(header="Authorization", scheme="Bearer", doc=f"{DOCS}/authentication"),
    endpoints=(
        Endpoint(
            op="submit",
            method="POST",
            path="/v1",
            task="videoInference",
            doc=LIPSYNC_DOC,
            models={
                "pixverse:lipsync@1": "videoInference.pixverse-lipsync-1.json",
                "sync:lipsync-2@1": "videoInference.sync-lipsync-2-1.json",
                "pixverse:1@1": "videoInference.pixverse-1-1.json",
                "pixverse:1@2": "videoInference.pixverse-1-2.json",
                "pixverse:1@3": "videoInference.pixverse-1-3.json",
                "pixverse:1@5": "videoInference.pixverse-1-5.json",
            },
            response="response.json",
            response_item="videoInference.result.json",
        ),
        Endpoint(
            op="poll",
            method="POST",
            path="/v1",
            task="getResponse",
            doc=f"{DOCS}/task-polling",
            request="getResponse.json",
            response="response.json",
            response_item="videoInference.result.json",
        ),
        Endpoint(
            op="find",
            method="POST",
            path="/v1",
            task="getTaskDetails",
            doc=f"{DOCS}/task-details",
            request="getTaskDetails.json",
            response="response.json",
            response_item="getTaskDetails.result.json",
        ),
        Endpoint(
            op="upload",
            method="POST",
            path="/v1",
            task="mediaStorage",
            doc=f"{DOCS}/media-storage",
            request="mediaStorage.json",
            response="response.json",
            response_item="mediaStorage.result.json",
        ),
        Endpoint(
            op="ping",
            method="POST",
            path="/v1",
            task="ping",
            doc=f"{DOCS}/authentication",
            request="ping.json",
            response="response.json",
            response_item="ping.result.json",
        ),
        Endpoint(
            op="auth",
            method="POST",
            path="/v1",
            task="authentication",
            doc=f"{DOCS}/authentication",
            request="authentication.json",
            response="response.json",
            response_item="authentication.result.json",
        ),
    ),
    # getResponse items: "processing" until the task ends, then "success" or "error".
    statuses={"processing": "running", "success": "done", "error": "failed"},
    # Codes the docs name are used as named; the rest are the names Runware's errors page gives
    # by kind, and the mock answers with the first code of each kind.
    errors={
        "rateLimitExceeded": "capacity",
        "tooManyRequests": "capacity",
        "concurrencyLimit": "capacity",
        "contentModerated": "moderation",
        "NSFWContent": "moderation",
        "safetyFilter": "moderation",
        "providerError": "generation",
        CONFLICT: "conflict",
        INVALID_API_KEY: "auth",
        MISSING_API_KEY: "auth",
        TASK_NOT_FOUND: "not_found",
        "requestTooLarge": "rejected",
        "serverError": "server",
    },
    idempotency=Idempotency(
        deduplicated=True,
        field="taskUUID",
        derivation="a UUID v4 from the recipe digest and job id; a new attempt after a failed "
        "job derives a new one from it",
        doc=f"{DOCS}/task-polling",
    ),
    limits={"poll": "getResponse with the submitted taskUUID, not a new one"},
)

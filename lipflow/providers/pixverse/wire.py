"""The PixVerse Platform API as data: ``/openapi/v2``, an ``API-KEY`` header and ``ErrCode``.

Every reply is the ``{"ErrCode", "ErrMsg", "Resp"}`` envelope; an error may come with HTTP 200,
so ``ErrCode`` is always read. Every request carries a fresh ``Ai-Trace-Id``: reusing one leaves
the generation stuck. A lip sync's result is polled by its ``video_id`` until its status means
done, moderated or failed. Nothing makes a resent submit safe: it is a second paid job.
"""

from __future__ import annotations

from lipflow.providers.base import Auth, Endpoint, Idempotency, WireSpec

__all__ = ["CONCURRENCY_LIMIT", "INVALID_PARAMETER", "INVALID_VALUE", "TRACE_HEADER", "WIRE"]

LIPSYNC_DOC = "https://docs.platform.pixverse.ai/speechlipsync-generation-19094278e0"
PRICING_DOC = "https://docs.platform.pixverse.ai/model-pricing-796039m0"

TRACE_HEADER = "Ai-Trace-Id"  # a new UUID per request (the docs' troubleshooting section)
INVALID_VALUE = 400013  # "Invalid binding request: incorrect parameter type or value"
# "Invalid parameter" (https://docs.platform.pixverse.ai/error-codes-796041m0); to a result poll,
# whose one parameter is the video_id, it means PixVerse knows no such video.
INVALID_PARAMETER = 400017
CONCURRENCY_LIMIT = 500044  # "Reached the limit for concurrent generations"
AUTH_FAILED = 10005  # not in the docs: the code lipflow's mock answers a bad API-KEY with

WIRE = WireSpec(
    name="pixverse",
    title="PixVerse Platform",
    base_url="https://app-api.pixverse.ai/openapi/v2",
    key_env="PIXVERSE_API_KEY",
    url_env="LIPFLOW_PIXVERSE_URL",
    api_prefix="/openapi/v2",
    doc=LIPSYNC_DOC,
    auth=Auth(header="API-KEY", doc=LIPSYNC_DOC),
    endpoints=(
        Endpoint(
            op="upload",
            method="POST",
            path="/openapi/v2/media/upload",
            body="multipart/form-data",
            request="media-upload.request.json",
            response="media-upload.response.json",
            doc=LIPSYNC_DOC,
        ),
        Endpoint(
            op="submit",
            method="POST",
            path="/openapi/v2/video/lip_sync/generate",
            request="lip-sync-generate.request.json",
            response="lip-sync-generate.response.json",
            doc=LIPSYNC_DOC,
        ),
        Endpoint(
            op="list",
            method="GET",
            path="/openapi/v2/video/lip_sync/tts_list",
            body="query",
            request="tts-list.request.json",
            response="tts-list.response.json",
            doc=LIPSYNC_DOC,
        ),
        Endpoint(
            op="poll",
            method="GET",
            path="/openapi/v2/video/result/{video_id}",
            body="query",
            params={"video_id": "^[0-9]+$"},
            request="video-result.request.json",
            response="video-result.response.json",
            doc=LIPSYNC_DOC,
        ),
    ),
    # Step 4 of the lip-sync guide: 5 still generating, 1 done, 7 moderated, 8 failed.
    statuses={5: "running", 1: "done", 7: "moderated", 8: "failed"},
    errors={
        CONCURRENCY_LIMIT: "capacity",
        INVALID_VALUE: "rejected",
        INVALID_PARAMETER: "rejected",
        AUTH_FAILED: "auth",
    },
    idempotency=Idempotency(
        deduplicated=False,
        doc=LIPSYNC_DOC,
        derivation="none: each generate is a new video; Ai-Trace-Id must be new per request",
    ),
    limits={"trace_header": TRACE_HEADER},
)

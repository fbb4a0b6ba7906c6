"""Whatever a provider answers, each client's reply parsers end in a result or a ProviderError:
never another exception (which `lipflow run` would report as an internal error, exit 70)."""

from __future__ import annotations

import functools
import json
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lipflow.errors import ProviderError
from lipflow.jobs import Job, resolve
from lipflow.plan import plan_file
from lipflow.providers import registry
from tests.runner.hostile import REPO

RECIPE = {"runware": "quickstart", "pixverse": "pixverse_platform", "wavespeed": "wavespeed"}

scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(10**30), max_value=10**30)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=20)
    | st.sampled_from(["success", "completed", "processing", "error", "failed", 1, 5, 7, 8, 0])
)
documents = st.recursive(
    scalars,
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.dictionaries(
            st.sampled_from(
                [
                    "data",
                    "errors",
                    "code",
                    "message",
                    "ErrCode",
                    "ErrMsg",
                    "Resp",
                    "status",
                    "taskUUID",
                    "videoURL",
                    "url",
                    "outputs",
                    "id",
                    "video_id",
                    "cost",
                    "size",
                    "error",
                ]
            ),
            inner,
            max_size=6,
        )
    ),
    max_leaves=20,
)
bodies = (
    documents.map(lambda d: json.dumps(d).encode())
    | st.binary(max_size=64)
    | st.sampled_from(
        [b"[" * 100_000, b'{"data": ' + b"9" * 5_000 + b"}", b"", b"null", b'{"ErrCode": 0}']
    )
)


@functools.cache
def job_of(provider: str) -> Job:
    plan = plan_file(str(REPO / "recipes" / f"{RECIPE[provider]}.yaml"), env={})
    return plan.jobs[0].job


def answer(flow: Any, status: int, body: bytes) -> object:
    request = next(flow)
    try:
        while True:
            reply = httpx.Response(status, content=body, request=request)
            request = flow.send(reply)
    except StopIteration as stop:
        return stop.value
    except ProviderError as exc:
        return exc


@pytest.mark.parametrize("provider", sorted(RECIPE))
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(status=st.sampled_from([200, 201, 202, 400, 401, 404, 409, 429, 500, 503]), body=bodies)
def test_any_poll_or_submit_reply_is_a_result_or_a_provider_error(
    provider: str, status: int, body: bytes
) -> None:
    client = registry.get(provider).client
    job = job_of(provider)
    base = registry.get(provider).wire.base_url
    polled = answer(client.poll_flow(job, "job-1", base_url=base, key="k"), status, body)
    submitted = answer(
        client.submit_flow(
            job, resolve(client.deferred_values(job)), attempt=1, base_url=base, key="k"
        ),
        status,
        body,
    )
    for outcome in (polled, submitted):
        assert outcome is not None

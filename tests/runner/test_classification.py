"""The pure parts: how every httpx error and provider reply is classified, and how often a job is polled."""

from __future__ import annotations

import itertools
import json

import httpx
import pytest

from lipflow.errors import (
    JobFailed,
    ProviderAmbiguous,
    ProviderCapacity,
    ProviderRejected,
    ProviderUnavailable,
)
from lipflow.jobs import Job
from lipflow.providers import registry
from lipflow.providers._http import classify_transport, retry_after
from lipflow.providers.runware.client import headers as runware_headers
from lipflow.run.retry import RetryPolicy, poll_delays


def _leaves(cls: type[Exception]) -> list[type[Exception]]:
    subs = cls.__subclasses__()
    return [cls] if not subs else [leaf for sub in subs for leaf in _leaves(sub)]


HTTPX_ERRORS = sorted(
    {e for e in _leaves(httpx.HTTPError) if e.__module__.startswith("httpx")},
    key=lambda e: e.__name__,
)
NOT_SENT = {httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout, httpx.ProxyError}
NEVER_SENDABLE = {httpx.UnsupportedProtocol, httpx.LocalProtocolError, httpx.InvalidURL}


@pytest.mark.parametrize("error", HTTPX_ERRORS, ids=lambda e: e.__name__)
def test_every_httpx_error_is_mapped_to_a_class_the_runner_acts_on(error: type[Exception]) -> None:
    exc = (
        error("boom")
        if error is not httpx.HTTPStatusError
        else error("boom", request=httpx.Request("GET", "http://x"), response=httpx.Response(500))
    )
    mapped = classify_transport(exc, "pixverse")
    if error in NOT_SENT:
        assert isinstance(mapped, ProviderUnavailable)
    elif error in NEVER_SENDABLE:
        assert isinstance(mapped, ProviderRejected)
    else:
        assert isinstance(mapped, ProviderAmbiguous), "may have reached the provider"


@pytest.mark.parametrize(("seconds", "most"), [(0, 1), (10, 6), (60, 10), (600, 50)])
def test_few_polls_for_long_jobs(seconds: float, most: int) -> None:
    waited, polls = 0.0, 0
    for delay in poll_delays(RetryPolicy()):
        waited += delay
        polls += 1
        if waited >= seconds:
            break
    assert polls <= most


def test_no_finished_job_waits_longer_than_the_cap() -> None:
    assert max(itertools.islice(poll_delays(RetryPolicy()), 50)) == RetryPolicy().poll_cap


def test_retry_after_takes_seconds_or_an_http_date() -> None:
    assert retry_after(httpx.Response(429, headers={"Retry-After": "3"})) == 3.0
    assert (
        retry_after(httpx.Response(429, headers={"Retry-After": "Wed, 21 Oct 2015 07:28:00 GMT"}))
        == 0.0
    )
    assert retry_after(httpx.Response(429)) is None


@pytest.mark.parametrize("value", ["²", "٣", "1²", "abc", "-5", "Wed, 99 Foo 99999 99:99:99 GMT"])
def test_a_retry_after_no_standard_allows_is_no_advice_not_a_crash(value: str) -> None:
    """A superscript two is a digit to Python's isdigit(), and no number to float()."""
    headers = [(b"Retry-After", value.encode())]
    assert retry_after(httpx.Response(429, headers=headers)) is None


pixverse = registry.get("pixverse").client
runware = registry.get("runware").client
wavespeed = registry.get("wavespeed").client


def drive(flow, response: httpx.Response):  # type: ignore[no-untyped-def]
    next(flow)
    try:
        flow.send(response)
    except StopIteration as stop:
        return stop.value
    raise AssertionError("the flow wanted a second request")


JOB = Job(
    id="j",
    step="j",
    action="lipsync",
    provider="pixverse",
    model="lip_sync",
    model_id="pixverse/lipsync",
    task_uuid="00000000-0000-4000-8000-000000000001",
)


@pytest.mark.parametrize(
    ("document", "status", "error"),
    [
        ({"ErrCode": 500044, "ErrMsg": "limit", "Resp": {}}, 200, ProviderCapacity),
        ({"ErrCode": 400017, "ErrMsg": "bad", "Resp": {}}, 200, ProviderRejected),
        ({"ErrCode": 500, "ErrMsg": "oops", "Resp": {}}, 500, ProviderAmbiguous),
        ({"ErrCode": 429, "ErrMsg": "slow", "Resp": {}}, 429, ProviderCapacity),
    ],
)
def test_pixverse_envelope_errors(
    document: dict[str, object], status: int, error: type[Exception]
) -> None:
    with pytest.raises(error):
        drive(
            pixverse.submit_flow(
                JOB, {"video": 1, "audio": 2}, attempt=1, base_url="http://x", key="k"
            ),
            httpx.Response(status, json=document),
        )


@pytest.mark.parametrize(("status", "reason"), [(7, "moderation"), (8, "generation")])
def test_pixverse_failed_statuses_fail_the_job(status: int, reason: str) -> None:
    reply = httpx.Response(200, json={"ErrCode": 0, "ErrMsg": "ok", "Resp": {"status": status}})
    with pytest.raises(JobFailed) as failed:
        drive(pixverse.poll_flow(JOB, "1", base_url="http://x", key="k"), reply)
    assert failed.value.reason == reason


def test_wavespeed_failed_prediction_names_its_error() -> None:
    reply = httpx.Response(
        200,
        json={
            "code": 200,
            "message": "ok",
            "data": {"id": "p", "status": "failed", "error": "flagged as NSFW"},
        },
    )
    with pytest.raises(JobFailed) as failed:
        drive(wavespeed.poll_flow(JOB, "p", base_url="http://x", key="k"), reply)
    assert failed.value.reason == "moderation"


def test_runware_conflict_means_the_task_exists() -> None:
    job = JOB
    reply = httpx.Response(
        400,
        json={
            "errors": [{"code": "conflictTaskUUID", "message": "exists", "taskUUID": job.task_uuid}]
        },
    )
    submitted = drive(
        runware.submit_flow(job, {"video": "https://v"}, attempt=1, base_url="http://x", key="k"),
        reply,
    )
    assert submitted.existed and submitted.provider_job_id == job.task_uuid


def test_runware_attempts_get_their_own_task_uuid() -> None:
    assert runware.submit_key(JOB, 1) == JOB.task_uuid
    assert runware.submit_key(JOB, 2) != JOB.task_uuid
    assert runware.submit_key(JOB, 2) == runware.submit_key(JOB, 2)


@pytest.mark.parametrize(
    "base",
    ["http://x/v1", "https://api.runware.ai/v1", "http://127.0.0.1:8080/v1", "http://[::1]/v1"],
)
def test_runware_sends_the_request_httpx_builds_from_its_task_as_json(base: str) -> None:
    sent = [
        next(runware.submit_flow(JOB, {"video": "https://v"}, attempt=1, base_url=base, key="k")),
        next(runware.poll_flow(JOB, JOB.task_uuid, base_url=base, key="k")),
    ]
    for request in sent:
        task = json.loads(request.content)
        built = httpx.Request("POST", base, headers=runware_headers("k"), json=task)
        assert (request.method, request.url, request.headers.raw, request.content) == (
            built.method,
            built.url,
            built.headers.raw,
            built.content,
        )
        assert request.read() == built.read()

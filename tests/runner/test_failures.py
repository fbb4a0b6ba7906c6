"""Each failure a paid API can throw, over real sockets: what the runner does, and that it never pays twice.

Recipes: ``quickstart`` (one Runware job), ``pixverse_platform`` (two PixVerse jobs, uploads
first) and ``wavespeed`` (one WaveSpeed job, ticket + PUT uploads).
"""

from __future__ import annotations

import socket
import threading
import time
from pathlib import Path

import pytest

from lipflow.reporting.runs import format_run
from lipflow.run.journal import Journal
from lipflow.run.retry import RetryPolicy
from mock_server import MockServer
from tests.runner.conftest import KEY, RunRecipe, Sleeps, jobs_at, urls_of

ONE_JOB = {"runware": "quickstart", "pixverse": "pixverse_platform", "wavespeed": "wavespeed"}
PROVIDERS = list(ONE_JOB)
CAPACITY = RetryPolicy(capacity_wait=0.05, poll_next=0.05, poll_cap=0.1)


def submits(mock: MockServer, provider: str) -> int:
    return len(mock.simulator.journal.records(provider=provider, op="submit"))


@pytest.mark.parametrize("provider", PROVIDERS)
def test_rate_limit_on_submit_waits_for_retry_after_then_submits_once(
    provider: str, run_recipe: RunRecipe, mock: MockServer, sleeps: Sleeps
) -> None:
    mock.add_fault("rate_limit", provider=provider, op="submit", count=2, seconds=7)

    report = run_recipe(ONE_JOB[provider])

    assert report.ok
    assert sleeps.waits.count(7.0) == 2, "Retry-After: 7 is honoured before each new send"
    assert len(jobs_at(mock, provider)) == len(report.jobs), "429 created nothing"


@pytest.mark.parametrize("provider", PROVIDERS)
@pytest.mark.parametrize("fault", ["server_error", "malformed_json", "drop", "rate_limit"])
def test_a_failing_poll_is_polled_again(
    provider: str, fault: str, run_recipe: RunRecipe, mock: MockServer
) -> None:
    mock.add_fault(fault, provider=provider, op="poll", count=2, seconds=0)

    report = run_recipe(ONE_JOB[provider])

    assert report.ok, format_run(report)
    assert len(jobs_at(mock, provider)) == len(report.jobs)


@pytest.mark.parametrize("provider", PROVIDERS)
@pytest.mark.parametrize("fault", ["server_error", "malformed_json", "drop"])
def test_a_failing_upload_or_download_is_sent_again(
    provider: str, fault: str, run_recipe: RunRecipe, mock: MockServer
) -> None:
    mock.add_fault(fault, provider=provider, op="upload", count=1)
    mock.add_fault(fault, op="download", count=1)

    report = run_recipe(ONE_JOB[provider])

    assert report.ok, format_run(report)
    assert len(jobs_at(mock, provider)) == len(report.jobs)


def _refused_for_concurrency(mock: MockServer) -> list[object]:
    return [
        r
        for r in mock.simulator.journal.records(provider="pixverse", op="submit")
        if r.reply.get("ErrCode") == 500044
    ]


class _StoppedUntilReleased:
    """The mock's time, still until :meth:`release`, then running as the system's does."""

    def __init__(self) -> None:
        self._since: float | None = None

    def release(self) -> None:
        self._since = time.monotonic()

    def now(self) -> float:
        return 0.0 if self._since is None else 1.0 + time.monotonic() - self._since

    def wall(self) -> float:
        return time.time()


def test_pixverse_concurrency_limit_500044_waits_and_creates_each_job_once(
    run_recipe: RunRecipe, mock: MockServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The first job stays in progress until the second has met the cap, however slow the
    # machine: the mock's time moves only then (a 0.3 s job once finished first under load).
    clock = _StoppedUntilReleased()
    monkeypatch.setattr(mock.simulator, "clock", clock)
    mock.simulator.processing_seconds = 0.3
    mock.add_fault("concurrency_limit", provider="pixverse", limit=1)

    def release_once_refused() -> None:
        deadline = time.monotonic() + 60  # then release anyway: the assertion below says why
        while not _refused_for_concurrency(mock) and time.monotonic() < deadline:
            time.sleep(0.01)
        clock.release()

    releaser = threading.Thread(target=release_once_refused, daemon=True)
    releaser.start()
    report = run_recipe("pixverse_platform", concurrency=2, fake_sleep=False, retry=CAPACITY)
    releaser.join()

    assert report.ok, format_run(report)
    assert _refused_for_concurrency(mock), "the second job met the concurrency cap"
    assert len(jobs_at(mock, "pixverse")) == 2


@pytest.mark.parametrize("provider", PROVIDERS)
@pytest.mark.parametrize(
    ("fault", "reason"), [("moderation", "moderation"), ("generation_failure", "generation")]
)
def test_a_failed_job_is_reported_and_resume_retries_only_it(
    provider: str, fault: str, reason: str, run_recipe: RunRecipe, mock: MockServer
) -> None:
    mock.add_fault(fault, provider=provider, op="submit", count=1)

    first = run_recipe(ONE_JOB[provider])

    failed = [j for j in first.jobs if j.state == "failed"]
    assert len(failed) == 1 and failed[0].error_class == reason and failed[0].error
    assert all(j.state == "done" for j in first.jobs if j is not failed[0]), "others go on"
    before = len(jobs_at(mock, provider))

    second = run_recipe(ONE_JOB[provider], resume=True)

    assert second.ok
    assert len(jobs_at(mock, provider)) == before + 1, "only the failed job is submitted again"
    again = next(j for j in second.jobs if j.id == failed[0].id)
    assert again.attempts == 2


def test_runware_recovers_a_lost_submit_reply_with_the_same_task_uuid(
    run_recipe: RunRecipe, mock: MockServer, tmp_path: Path
) -> None:
    mock.add_fault("lose_reply", provider="runware", op="submit", count=1)

    report = run_recipe("quickstart")

    (job,) = report.jobs
    assert report.ok and len(jobs_at(mock, "runware")) == 1
    sent = [
        r.body[0]["taskUUID"]
        for r in mock.simulator.journal.records(provider="runware", op="submit")
    ]
    assert sent == [job.task_uuid, job.task_uuid], "re-sent once, with the same taskUUID"
    conflict = mock.simulator.journal.records(provider="runware", op="submit")[-1].reply
    assert conflict["errors"][0]["code"] == "conflictTaskUUID"


@pytest.mark.parametrize("fault", ["malformed_json", "drop", "server_error"])
def test_runware_resolves_every_ambiguous_submit_without_a_second_job(
    fault: str, run_recipe: RunRecipe, mock: MockServer
) -> None:
    mock.add_fault(fault, provider="runware", op="submit", count=1)

    report = run_recipe("quickstart")

    assert report.ok and len(jobs_at(mock, "runware")) == 1


@pytest.mark.parametrize("provider", ["pixverse", "wavespeed"])
@pytest.mark.parametrize("fault", ["lose_reply", "malformed_json", "drop", "server_error"])
def test_an_ambiguous_submit_without_an_idempotency_key_is_never_resent_blindly(
    provider: str, fault: str, run_recipe: RunRecipe, mock: MockServer
) -> None:
    recipe = ONE_JOB[provider]
    mock.add_fault(fault, provider=provider, op="submit", count=1)

    first = run_recipe(recipe, concurrency=1)
    created = len(jobs_at(mock, provider))
    ambiguous = [j for j in first.jobs if j.state == "ambiguous"]
    assert len(ambiguous) == 1 and ambiguous[0].error_class == "ambiguous"
    assert submits(mock, provider) == len(first.jobs)

    again = run_recipe(recipe)
    assert [j.id for j in again.jobs if j.state == "ambiguous"] == [ambiguous[0].id]
    assert len(jobs_at(mock, provider)) == created and submits(mock, provider) == len(first.jobs)

    forced = run_recipe(recipe, resubmit_ambiguous=True)
    assert forced.ok
    assert submits(mock, provider) == len(first.jobs) + 1, "sent again only when asked"


def test_a_rejected_submit_fails_the_job_at_once(tmp_path: Path, run_recipe: RunRecipe) -> None:
    with MockServer(api_key="the-right-key") as strict:
        report = run_recipe("wavespeed", base_urls=urls_of(strict), keys={"wavespeed": KEY})
        requests = strict.simulator.journal.records()
    (job,) = report.jobs
    assert job.state == "failed" and job.error_class == "rejected"
    assert "HTTP 401" in (job.error or "")
    assert len(requests) == 1, "an auth error is not retried"


def test_connection_refused_is_retried_then_left_for_resume(
    run_recipe: RunRecipe, sleeps: Sleeps
) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    dead = {p: f"http://127.0.0.1:{port}/x" for p in PROVIDERS}

    report = run_recipe("wavespeed", base_urls=dead)

    (job,) = report.jobs
    assert job.state == "failed" and job.error_class == "unavailable"
    assert len(sleeps.waits) == 5, "six sends, five waits between them"


def test_the_journal_records_intent_before_submit_and_every_state(
    run_recipe: RunRecipe, tmp_path: Path
) -> None:
    run_recipe("quickstart")

    with Journal(tmp_path / "out" / "lipflow-journal.sqlite") as journal:
        states = [e[2] for e in journal.events("hello")]
        attempts = journal.attempts("hello")
    assert states == ["submitting", "submitted", "downloading", "done"]
    ((attempt, task_uuid, provider_job_id),) = attempts
    assert attempt == 1 and task_uuid == provider_job_id

"""The run layer's small parts: job states and their table, the retry engine's decisions, and the
plan that ``plan`` writes and ``run`` reads."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import httpx
import pytest

from lipflow.errors import (
    JobFailed,
    OutputInvalid,
    ProviderAmbiguous,
    ProviderCapacity,
    ProviderError,
    ProviderRejected,
    ProviderUnavailable,
    UsageError,
)
from lipflow.jobs import GenerateParams, Job, LipsyncParams, Plan, Segment, Speech
from lipflow.plan import plan_file
from lipflow.run.journal import Journal
from lipflow.run.retry import GaveUp, RetryEngine, RetryPolicy
from lipflow.run.settings import RunSettings
from lipflow.run.state import (
    RUNNING,
    TRANSITIONS,
    InvalidTransition,
    JobState,
    StateTally,
    check_transition,
)
from mock_server import Simulator
from mock_server.adapters.transport import MockTransport, transport_urls

RECIPES = Path(__file__).parents[2] / "recipes"


# ---------------------------------------------------------------------------------- states


def test_every_state_has_its_row_in_the_table() -> None:
    assert set(TRANSITIONS) == set(JobState)
    assert f"{JobState.DONE:<6}|" == "done  |" and str(JobState.AMBIGUOUS) == "ambiguous"


@pytest.mark.parametrize(
    ("old", "new"),
    [("pending", "submitted"), ("failed", "submitted"), ("pending", "done"), ("failed", "done")],
)
def test_no_submit_without_intent_and_no_done_without_outputs(old: str, new: str) -> None:
    with pytest.raises(InvalidTransition):
        check_transition(old, new)


def test_the_journal_refuses_a_transition_the_table_forbids(tmp_path: Path) -> None:
    with Journal(tmp_path / "j.sqlite") as journal:
        journal.add_jobs([("a", "p", "m", None)])
        with pytest.raises(InvalidTransition):
            journal.record_submitted("a", "42")
        assert journal.job("a").state is JobState.PENDING, "the refused change rolled back"
        journal.record_intent("a", 1, None)
        journal.record_submitted("a", "42")
        assert journal.job("a").state is JobState.SUBMITTED


# ---------------------------------------------------------------------------------- retry


def _engine(stopped: bool = False) -> tuple[RetryEngine, list[float]]:
    waits: list[float] = []

    async def sleep(seconds: float) -> None:
        waits.append(seconds)

    return RetryEngine(RetryPolicy(), sleep, lambda: stopped), waits


def _failing(*errors: ProviderError) -> object:
    queue = list(errors)

    async def send() -> str:
        if queue:
            raise queue.pop(0)
        return "ok"

    return send


def run(engine: RetryEngine, op: str, send: object, **kw: object) -> object:
    return asyncio.run(engine.run(op, send, **kw))  # type: ignore[arg-type]


def test_retry_after_is_honoured_and_capped_and_the_cap_is_said() -> None:
    engine, waits = _engine()
    notes: list[str] = []
    capacity = ProviderCapacity("busy", provider="p", retry_after=900)
    assert run(engine, "poll", _failing(capacity), note=notes.append) == "ok"
    assert waits == [300.0]
    assert "Retry-After 900 s capped at 300 s" in notes[0]


@pytest.mark.parametrize(
    "error",
    [ProviderRejected("no", provider="p"), JobFailed("x", provider="p", reason="generation")],
)
def test_rejected_and_failed_jobs_stop_at_once(error: ProviderError) -> None:
    engine, waits = _engine()
    result = run(engine, "upload", _failing(error))
    assert isinstance(result, GaveUp) and result.error is error and waits == []


def test_an_ambiguous_submit_is_resent_only_where_the_provider_deduplicates() -> None:
    engine, _ = _engine()
    ambiguous = ProviderAmbiguous("lost", provider="p")
    assert isinstance(run(engine, "submit", _failing(ambiguous)), GaveUp)
    assert run(engine, "submit", _failing(ambiguous), deduplicated=True) == "ok"
    assert run(engine, "download", _failing(OutputInvalid("short", provider="p"))) == "ok"


def test_transient_failures_stop_after_the_policy_s_tries() -> None:
    engine, waits = _engine()
    errors = [ProviderUnavailable("refused", provider="p") for _ in range(10)]
    result = run(engine, "upload", _failing(*errors))
    assert isinstance(result, GaveUp) and len(waits) == RetryPolicy().transient_tries - 1


def test_an_interrupted_run_sends_nothing_again_not_even_a_deduplicated_submit() -> None:
    engine, waits = _engine(stopped=True)
    unavailable = ProviderUnavailable("refused", provider="p")
    ambiguous = ProviderAmbiguous("lost", provider="p")
    for op, error in (("upload", unavailable), ("submit", ambiguous), ("poll", unavailable)):
        result = run(engine, op, _failing(error), deduplicated=True)
        assert isinstance(result, GaveUp) and result.interrupted, op
    assert waits == [], "no wait was even started"


# ---------------------------------------------------------------------------------- plans


@pytest.mark.parametrize("recipe", ["teaser", "interview_segments", "dub_matrix"])
def test_a_saved_plan_reads_back_to_the_same_plan(recipe: str) -> None:
    plan = plan_file(str(RECIPES / f"{recipe}.yaml"), env={})
    saved = json.loads(json.dumps(plan.to_json()))
    again = Plan.from_json(saved)
    assert again.to_json() == saved
    assert [pj.job for pj in again.jobs] == [pj.job for pj in plan.jobs]


def test_job_parameters_are_typed() -> None:
    plan = plan_file(str(RECIPES / "teaser.yaml"), env={})
    params = {type(pj.job.params) for pj in plan.jobs}
    assert params == {GenerateParams, LipsyncParams}
    job = Job.from_json(
        {
            **plan.jobs[0].job.to_json(),
            "action": "lipsync",
            "params": {"segments": [{"start": 0, "end": 1}], "tts": {"text": "Hi"}},
        }
    )
    assert job.params == LipsyncParams(tts=Speech(text="Hi"), segments=(Segment(start=0, end=1),))


def test_a_plan_file_that_is_not_one_is_refused() -> None:
    from lipflow.errors import UsageError

    with pytest.raises(UsageError, match="not a lipflow plan"):
        Plan.from_json({"jobs": []})


# ---------------------------------------------------------------------------------- transport


def test_the_transport_serves_an_async_client_without_a_socket() -> None:
    sim = Simulator()
    urls = transport_urls(sim)

    async def main() -> int:
        async with httpx.AsyncClient(transport=MockTransport(sim)) as client:
            reply = await client.get(urls["wavespeed"] + "/predictions/nope/result")
            return reply.status_code

    assert asyncio.run(main()) == 401
    assert sim.journal.records()[-1].provider == "wavespeed"


def test_the_tally_counts_each_job_once_in_its_latest_state() -> None:
    tally = StateTally()
    for job_id in ("a", "b", "c"):
        tally.set(job_id, JobState.PENDING)
    tally.set("a", JobState.SUBMITTING)
    tally.set("a", JobState.SUBMITTED)
    tally.set("b", JobState.DONE)
    assert tally.count(JobState.PENDING) == 1
    assert tally.count(*RUNNING) == 1
    assert tally.count(JobState.DONE) == 1
    assert tally.get("a") is JobState.SUBMITTED and tally.get("z") is None


@pytest.mark.parametrize(
    ("options", "says"),
    [
        ({"budget": float("nan")}, "budget must be a finite number >= 0, not nan"),
        ({"budget": float("inf")}, "budget must be a finite number >= 0, not inf"),
        ({"download_deadline": 0.0}, "download_deadline must be a finite number > 0, not 0.0"),
        ({"download_deadline": float("inf")}, "download_deadline must be a finite number > 0"),
        ({"retry": RetryPolicy(retry_after_cap=float("nan"))}, "retry_after_cap must be a finite"),
        ({"concurrency": 0}, "concurrency must be at least 1, not 0"),
        ({"max_output_bytes": 0}, "max_output_bytes must be at least 1"),
        ({"max_outputs": 0}, "max_outputs must be at least 1"),
    ],
    ids=lambda v: str(v)[:40] if isinstance(v, dict) else "",
)
def test_run_settings_built_in_python_hold_the_bounds_the_cli_holds(
    options: dict[str, object], says: str, tmp_path: Path
) -> None:
    with pytest.raises(UsageError, match="run settings: ") as refused:
        RunSettings(out_dir=tmp_path, base_urls={}, keys={}, **options)  # type: ignore[arg-type]
    assert says in str(refused.value)

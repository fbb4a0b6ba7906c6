"""After Ctrl-C, a request already sent has the grace period (``interrupt_grace``) to answer: a
submit answered within it is kept (the provider's job id journaled); one still hanging when it
ends is cut, journaled ambiguous (it was sent, its fate is unknown) and not sent again, and the
run returns without waiting for it. The runner in-process over loopback to the bundled mock,
which holds the submit with a latency fault."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from lipflow.plan import plan_file
from lipflow.run.journal import JOURNAL_NAME, Journal
from lipflow.run.retry import RetryPolicy
from lipflow.run.runner import Runner
from lipflow.run.settings import RunSettings
from lipflow.run.transport import AiohttpSender
from mock_server import MockServer
from tests.runner.conftest import RECIPES, keys_for_all, urls_of


def interrupted_while_the_submit_is_held(
    mock: MockServer, out: Path, *, held_s: float, grace_s: float, twice: bool = False
) -> Runner:
    """Run the quickstart; Ctrl-C (``interrupt``) as soon as the mock has the submit, which it
    answers after ``held_s``; ``twice``: a second Ctrl-C at once (the CLI cancels the run)."""
    mock.add_fault("latency", provider="runware", op="submit", seconds=held_s, count=1)
    plan = plan_file(str(RECIPES / "quickstart.yaml"), env={})
    retry = RetryPolicy(backoff_first=0.0, poll_next=0.01, interrupt_grace=grace_s)
    settings = RunSettings(
        out_dir=out, base_urls=urls_of(mock), keys=keys_for_all(), retry=retry, allow_unpriced=True
    )

    async def main() -> Runner:
        async with AiohttpSender() as client:
            runner = Runner(plan, settings, client)
            run = asyncio.ensure_future(runner.run())
            while not mock.simulator.journal.records(op="submit"):
                assert not run.done(), "the run ended before its submit reached the mock"
                await asyncio.sleep(0.01)
            runner.interrupt()
            if twice:
                await asyncio.sleep(0.05)
                run.cancel()
            await run
            return runner

    return asyncio.run(main())


def test_a_second_ctrl_c_during_the_grace_period_ends_the_run_at_once_the_intent_kept(
    lipflow_mock: MockServer, tmp_path: Path
) -> None:
    out = tmp_path / "out"

    with pytest.raises(asyncio.CancelledError):
        interrupted_while_the_submit_is_held(
            lipflow_mock, out, held_s=30.0, grace_s=30.0, twice=True
        )

    with Journal.open_run(out / JOURNAL_NAME) as journal:
        (job,) = journal.jobs().values()
    assert job.state == "submitting", "a resume asks the provider; it does not send again"
    assert len(lipflow_mock.simulator.journal.records(op="submit")) == 1


@pytest.mark.parametrize(
    ("held_s", "grace_s", "state", "error_class"),
    [(0.2, 30.0, "submitted", None), (30.0, 0.3, "ambiguous", "ambiguous")],
    ids=["answered-within-the-grace-period", "hanging-through-it"],
)
def test_a_submit_in_flight_at_ctrl_c_is_kept_if_answered_within_the_grace_period_else_ambiguous(
    lipflow_mock: MockServer,
    tmp_path: Path,
    held_s: float,
    grace_s: float,
    state: str,
    error_class: str | None,
) -> None:
    out = tmp_path / "out"

    runner = interrupted_while_the_submit_is_held(lipflow_mock, out, held_s=held_s, grace_s=grace_s)

    assert runner.interrupted
    with Journal.open_run(out / JOURNAL_NAME) as journal:
        (job,) = journal.jobs().values()
    assert (job.state, job.error_class) == (state, error_class)
    if state == "ambiguous":
        assert job.error is not None and "no answer within the grace period" in job.error
        assert job.provider_job_id is None
    else:
        assert job.provider_job_id is not None
    assert len(lipflow_mock.simulator.journal.records(op="submit")) == 1, "sent once"

"""The order the runner starts jobs in: a job runs after the jobs it needs, whatever the order of
the plan's list (the runner starts jobs a window at a time, dependencies first)."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from pathlib import Path

import httpx

from lipflow.plan import plan_file
from lipflow.run.runner import Runner
from lipflow.run.settings import RunSettings
from mock_server import MockServer
from tests.runner.conftest import FAST, RECIPES, keys_for_all, urls_of


def test_a_job_listed_before_the_job_it_needs_is_still_submitted_after_it(
    mock: MockServer, tmp_path: Path
) -> None:
    plan = plan_file(str(RECIPES / "teaser.yaml"), env={})
    needing, needed = sorted(plan.jobs, key=lambda pj: len(pj.job.needs), reverse=True)
    assert needing.job.needs == (needed.job.id,)
    backwards = replace(plan, jobs=(needing, needed))
    settings = RunSettings(
        out_dir=tmp_path / "out",
        base_urls=urls_of(mock),
        keys=keys_for_all(),
        retry=FAST,
        allow_unpriced=True,
    )

    async def main() -> list[str]:
        async with httpx.AsyncClient() as client:
            report = await Runner(backwards, settings, client).run()
        return [j.state for j in report.jobs]

    states = asyncio.run(main())

    assert states == ["done", "done"]
    submits = [r.body for r in mock.simulator.journal.records(op="submit")]
    assert len(submits) == 2
    assert needed.job.model in str(submits[0]) and needing.job.model in str(submits[1])

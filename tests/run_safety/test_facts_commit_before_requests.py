"""Every money-protecting fact is committed before the request that depends on it, even though
the journal's commits run on their own thread while the run serves other jobs: a ``kill -9``
just after a submit left still finds its intent on resume (and the provider is asked, not paid
again), and a fact that cannot be committed stops the run (exit 6) before its submit is sent."""

from __future__ import annotations

import asyncio
import signal
import sqlite3
import subprocess
import time
from contextlib import closing
from pathlib import Path

import pytest
from click.testing import CliRunner

from lipflow.cli import cli
from lipflow.errors import DiskError
from lipflow.plan import plan_file
from lipflow.run.journal import JOURNAL_NAME
from lipflow.run.report import Snapshot
from lipflow.run.runner import Runner
from lipflow.run.settings import RunSettings
from lipflow.run.transport import AiohttpSender
from mock_server import MockServer
from tests.cli.test_run_subprocess import PYTHON
from tests.runner.conftest import FAST, RECIPES, keys_for_all, urls_of
from tests.served_mock import env_for

SUBMIT_LATENCY_S = 3.0  # the submit is held at the mock this long: the run is killed meanwhile


def journal_rows(out: Path, sql: str) -> list[tuple[object, ...]]:
    """Rows of the run's journal, read-only (a read-write connect would create one)."""
    uri = f"file:{out / JOURNAL_NAME}?mode=ro"
    with closing(sqlite3.connect(uri, uri=True)) as db:
        return db.execute(sql).fetchall()


def sent(mock: MockServer, op: str) -> int:
    return len(mock.simulator.journal.records(op=op))


def test_a_submit_intent_committed_before_a_kill_9_is_found_on_resume_and_not_paid_again(
    lipflow_mock: MockServer, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    lipflow_mock.add_fault(
        "latency", provider="runware", op="submit", seconds=SUBMIT_LATENCY_S, count=1
    )
    proc = subprocess.Popen(
        [PYTHON, "-m", "lipflow", "run", str(RECIPES / "quickstart.yaml"), "--out", str(out)],
        env=env_for(dict(lipflow_mock.urls)),  # every provider at the mock, as on resume
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 60
        while sent(lipflow_mock, "submit") == 0:  # the submit has left: its intent is journaled
            assert proc.poll() is None and time.monotonic() < deadline, "no submit arrived"
            time.sleep(0.02)
        proc.send_signal(signal.SIGKILL)
    finally:
        proc.wait(timeout=30)
    rows = journal_rows(out, "SELECT state, attempt, task_uuid FROM jobs")
    assert [(state, attempt) for state, attempt, _ in rows] == [("submitting", 1)]
    intents = journal_rows(out, "SELECT attempt, task_uuid FROM attempts")
    assert intents == [(1, rows[0][2])], "the intent carries the taskUUID the submit carried"
    while not lipflow_mock.simulator.jobs("runware"):  # the held submit lands after the kill
        time.sleep(0.05)

    result = CliRunner().invoke(
        cli,
        ["run", str(RECIPES / "quickstart.yaml"), "--out", str(out), "--resume"],
        env=env_for(dict(lipflow_mock.urls)),
    )

    assert result.exit_code == 0, result.output
    assert sent(lipflow_mock, "find") == 1, "the provider is asked first"
    assert sent(lipflow_mock, "submit") == 1, "the submit that landed is not sent again"
    assert len(lipflow_mock.simulator.jobs("runware")) == 1


class LockAfterFirstDone:
    """An observer that, when the first job is done, has another program take the journal's
    write lock (as a sqlite3 shell or a backup tool would), so the next fact cannot commit."""

    def __init__(self, journal: Path) -> None:
        self.journal = journal
        self.other: sqlite3.Connection | None = None

    def update(self, job_id: str, state: str, detail: str | None, snapshot: Snapshot) -> None:
        if state == "done" and self.other is None:
            self.other = sqlite3.connect(self.journal, isolation_level=None)
            self.other.execute("BEGIN IMMEDIATE")

    def release(self) -> None:
        if self.other is not None:
            self.other.execute("ROLLBACK")
            self.other.close()


def run(mock: MockServer, out: Path, observer: LockAfterFirstDone | None = None) -> None:
    plan = plan_file(str(RECIPES / "pixverse_platform.yaml"), env={})
    settings = RunSettings(
        out_dir=out,
        base_urls=urls_of(mock),
        keys=keys_for_all(),
        retry=FAST,
        allow_unpriced=True,
        concurrency=1,
    )

    async def main() -> None:
        async with AiohttpSender() as client:
            await Runner(plan, settings, client, observer=observer).run()

    asyncio.run(main())


def test_a_submit_intent_that_cannot_be_committed_stops_the_run_before_its_submit_is_sent(
    lipflow_mock: MockServer, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    run(lipflow_mock, tmp_path / "first")  # the recipe's jobs, for the counts below
    planned = sent(lipflow_mock, "submit")
    assert planned == 2
    lipflow_mock.reset()

    observer = LockAfterFirstDone(out / JOURNAL_NAME)
    try:
        with pytest.raises(DiskError) as raised:
            run(lipflow_mock, out, observer)
    finally:
        observer.release()

    assert raised.value.exit_code == 6
    assert "cannot write the run journal" in raised.value.format()
    assert sent(lipflow_mock, "submit") == 1, "the second job's submit never left"
    states = {
        row[0]: row[1]
        for row in journal_rows(out, "SELECT state, count(*) FROM jobs GROUP BY state")
    }
    assert states == {"done": 1, "pending": 1}
    run(lipflow_mock, out)  # the lock is gone: the resume submits the second job once
    assert sent(lipflow_mock, "submit") == planned
    assert len(lipflow_mock.simulator.jobs("pixverse")) == planned

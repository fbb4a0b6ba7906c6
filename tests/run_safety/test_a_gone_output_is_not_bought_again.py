"""A finished job whose output file is gone and whose provider no longer knows it (its output URL
and its job record expired: the mock reset) is never bought again and never an internal error:
the run exits 4 saying the job is paid for, stays downloading, and what to do."""

from __future__ import annotations

import sqlite3
from contextlib import closing
from pathlib import Path

from click.testing import CliRunner

from lipflow.cli import cli
from lipflow.run.journal import JOURNAL_NAME
from mock_server import MockServer
from tests.runner.conftest import RECIPES
from tests.served_mock import env_for


def _rows(out: Path, sql: str) -> list[tuple[object, ...]]:
    with closing(sqlite3.connect(out / JOURNAL_NAME)) as db:
        return list(db.execute(sql))


def test_a_done_job_whose_output_and_provider_job_are_gone_exits_4_and_is_not_bought_again(
    lipflow_mock: MockServer, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    args = ["run", str(RECIPES / "quickstart.yaml"), "--out", str(out), "--yes"]
    env = env_for(dict(lipflow_mock.urls))
    first = CliRunner().invoke(cli, args, env=env)
    assert first.exit_code == 0, first.output
    bought = len(lipflow_mock.simulator.journal.records(op="submit"))
    assert bought >= 1
    for (path,) in _rows(out, "SELECT path FROM outputs"):
        (out / str(path)).unlink()  # absolute, or relative to the out directory
    lipflow_mock.simulator.reset()  # the provider forgot the jobs and their output URLs

    for _ in range(2):
        again = CliRunner().invoke(cli, [*args, "--resume"], env=env)
        assert again.exit_code == 4, again.output
        assert "internal error" not in again.output and "Traceback" not in again.output
        assert "--retake-lost" in again.output
        assert "paid for whose output URL is refused: run again to fetch" in again.output
        assert "still at the provider" not in again.output
        states = _rows(out, "SELECT state, error_class FROM jobs")
        assert states and all(s == ("downloading", "output_refused") for s in states), states
        assert lipflow_mock.simulator.journal.records(op="submit") == [], "nothing bought again"

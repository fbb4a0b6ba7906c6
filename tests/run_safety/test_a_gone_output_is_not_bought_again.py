"""A finished job whose output file is gone and whose provider no longer knows it (its output URL
and its job record expired: the mock reset) is never bought again and never an internal error:
the run exits 4 saying the job is paid for, stays downloading, and what to do."""

from __future__ import annotations

import json
import sqlite3
from contextlib import closing
from pathlib import Path

import pytest
from click.testing import CliRunner

from lipflow.cli import cli
from lipflow.run.journal import JOURNAL_NAME
from mock_server import MockServer
from tests.runner.conftest import RECIPES
from tests.served_mock import env_for


def _rows(out: Path, sql: str) -> list[tuple[object, ...]]:
    with closing(sqlite3.connect(out / JOURNAL_NAME)) as db:
        return list(db.execute(sql))


def forgotten(mock: MockServer, out: Path, recipe: str) -> tuple[list[str], dict[str, str]]:
    """``recipe`` run to the end into ``out``, then its output files deleted and the provider's
    memory of its jobs and output URLs gone (the mock reset): the resume's arguments and env."""
    args = ["run", str(RECIPES / recipe), "--out", str(out), "--yes"]
    env = env_for(dict(mock.urls))
    first = CliRunner().invoke(cli, args, env=env)
    assert first.exit_code == 0, first.output
    assert len(mock.simulator.journal.records(op="submit")) >= 1
    for (path,) in _rows(out, "SELECT path FROM outputs"):
        (out / str(path)).unlink()  # absolute, or relative to the out directory
    mock.simulator.reset()
    return [*args, "--resume"], env


def test_a_done_job_whose_output_and_provider_job_are_gone_exits_4_and_is_not_bought_again(
    lipflow_mock: MockServer, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    args, env = forgotten(lipflow_mock, out, "quickstart.yaml")

    for _ in range(2):
        again = CliRunner().invoke(cli, args, env=env)
        assert again.exit_code == 4, again.output
        assert "internal error" not in again.output and "Traceback" not in again.output
        assert "--retake-lost" in again.output
        assert "paid for whose output URL is refused: run again to fetch" in again.output
        assert "still at the provider" not in again.output
        states = _rows(out, "SELECT state, error_class FROM jobs")
        assert states and all(s == ("downloading", "output_refused") for s in states), states
        assert lipflow_mock.simulator.journal.records(op="submit") == [], "nothing bought again"


@pytest.mark.parametrize("recipe", ["quickstart.yaml", "wavespeed.yaml", "pixverse_platform.yaml"])
def test_a_job_its_provider_no_longer_knows_is_said_to_come_back_only_as_a_fresh_take(
    lipflow_mock: MockServer, tmp_path: Path, recipe: str
) -> None:
    args, env = forgotten(lipflow_mock, tmp_path / "out", recipe)

    again = CliRunner().invoke(cli, args, env=env)

    assert again.exit_code == 4, again.output
    assert "and the provider no longer knows the job" in again.output
    assert "run again with --resume --retake-lost to buy a fresh take (about $" in again.output
    assert "a run without --retake-lost only tries this download again" in again.output
    assert "could not be asked for a fresh URL" not in again.output
    assert lipflow_mock.simulator.journal.records(op="submit") == [], "nothing bought again"


def test_the_report_says_an_output_deleted_since_it_was_saved_is_missing(
    lipflow_mock: MockServer, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    args, env = forgotten(lipflow_mock, out, "quickstart.yaml")

    again = CliRunner().invoke(cli, args, env=env)

    assert again.exit_code == 4, again.output
    (line,) = [ln for ln in again.stdout.splitlines() if ln.startswith("downloading ")]
    path = str(out / "hello.mp4")
    assert f"{path} (missing: deleted since it was saved)" in line, line
    assert not (out / "hello.mp4").exists()
    as_json = CliRunner().invoke(cli, [*args, "--format", "json"], env=env)
    (job,) = json.loads(as_json.stdout)["jobs"]
    assert [(o["path"], o["missing"]) for o in job["outputs"]] == [(path, True)]


def test_an_output_saved_into_an_out_directory_given_relative_is_not_said_missing(
    lipflow_mock: MockServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``--out runs/x`` (as the quickstart's default is): the journal gives the output's path
    through the out directory as given, which the report must not join to it again."""
    monkeypatch.chdir(tmp_path)
    args = ["run", str(RECIPES / "quickstart.yaml"), "--out", "runs/x", "--yes"]
    env = env_for(dict(lipflow_mock.urls))

    first = CliRunner().invoke(cli, args, env=env)
    as_json = CliRunner().invoke(cli, [*args, "--format", "json"], env=env)

    assert first.exit_code == 0, first.output
    assert "missing" not in first.output, first.output
    (job,) = json.loads(as_json.stdout)["jobs"]
    assert [(o["path"], o["missing"]) for o in job["outputs"]] == [
        (str(Path("runs/x/hello.mp4")), False)
    ]
    assert (tmp_path / "runs/x/hello.mp4").is_file()

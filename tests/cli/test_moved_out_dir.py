"""An out directory moved, renamed or run from another directory keeps its outputs: the journal
holds their paths relative to the out directory, and reads an older journal's paths (relative
to the directory its run started in, or absolute) by where the files are now."""

from __future__ import annotations

import hashlib
import json
import shutil
import sqlite3
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from lipflow.cli import cli
from lipflow.run.journal import JOURNAL_NAME
from mock_server import MockServer

RECIPE = Path(__file__).parents[2] / "recipes" / "quickstart.yaml"


def run(out: str, env: dict[str, str]) -> dict[str, Any]:
    result = CliRunner().invoke(
        cli,
        ["run", str(RECIPE), "--out", out, "--format", "json", "--yes"],
        env=env,
        catch_exceptions=False,
    )
    assert result.exit_code == 0, result.stderr
    report: dict[str, Any] = json.loads(result.stdout)
    assert report["ok"]
    return report


def digests(report: dict[str, Any]) -> list[tuple[str, str]]:
    jobs = report["jobs"]
    assert isinstance(jobs, list)
    return [
        (Path(o["path"]).name, hashlib.sha256(Path(o["path"]).read_bytes()).hexdigest())
        for job in jobs
        for o in job["outputs"]
    ]


@pytest.fixture
def env(live_env: dict[str, str]) -> dict[str, str]:
    return live_env  # the mock as if it were the real providers (conftest)


def first_run(
    tmp_path: Path, env: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> dict[str, Any]:
    (tmp_path / "a").mkdir()
    monkeypatch.chdir(tmp_path / "a")
    report = run("out", env)
    assert digests(report)
    return report


def moved_and_run_again(
    tmp_path: Path,
    env: dict[str, str],
    mock: MockServer,
    monkeypatch: pytest.MonkeyPatch,
    before: list[tuple[str, str]],
) -> None:
    """Move ``a/out`` to ``c/moved`` and run it from ``c``, then by its absolute path from
    ``tmp_path``: nothing is downloaded or sent again, the same outputs are reported."""
    (tmp_path / "c").mkdir()
    shutil.move(tmp_path / "a" / "out", tmp_path / "c" / "moved")
    since = max((r.seq for r in mock.simulator.journal.records()), default=0)
    monkeypatch.chdir(tmp_path / "c")
    report = run("moved", env)
    assert digests(report) == before
    assert all(o["path"].startswith("moved/") for j in report["jobs"] for o in j["outputs"])
    monkeypatch.chdir(tmp_path)
    report = run(str(tmp_path / "c" / "moved"), env)
    assert digests(report) == before
    sent = mock.simulator.journal.records(since=since)
    assert [r for r in sent if r.op in ("download", "submit")] == [], sent


def test_a_moved_out_directory_is_resumed_from_another_directory_without_downloading(
    tmp_path: Path, env: dict[str, str], lipflow_mock: MockServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    before = digests(first_run(tmp_path, env, monkeypatch))
    moved_and_run_again(tmp_path, env, lipflow_mock, monkeypatch, before)


@pytest.mark.parametrize("absolute", [False, True])
def test_an_older_journal_with_paths_from_its_working_directory_is_read_where_files_are_now(
    tmp_path: Path,
    env: dict[str, str],
    lipflow_mock: MockServer,
    monkeypatch: pytest.MonkeyPatch,
    absolute: bool,
) -> None:
    before = digests(first_run(tmp_path, env, monkeypatch))
    old_out = str(tmp_path / "a" / "out") if absolute else "out"
    with sqlite3.connect(tmp_path / "a" / "out" / JOURNAL_NAME) as db:  # as lipflow wrote it
        db.execute("DELETE FROM meta WHERE key = 'paths'")
        rows = db.execute("SELECT job_id, idx, path FROM outputs").fetchall()
        assert rows
        db.executemany(
            "UPDATE outputs SET path = ? WHERE job_id = ? AND idx = ?",
            [(f"{old_out}/{Path(p).name}", job, idx) for job, idx, p in rows],
        )
    moved_and_run_again(tmp_path, env, lipflow_mock, monkeypatch, before)
    with sqlite3.connect(tmp_path / "c" / "moved" / JOURNAL_NAME) as db:
        kept = [r[0] for r in db.execute("SELECT path FROM outputs")]
    assert kept == [Path(p).name for _, _, p in rows], "rewritten relative to the out directory"

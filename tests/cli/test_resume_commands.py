"""Every resume command lipflow prints works as printed: the test reads the command off stderr,
splits it as a shell would, and runs it. An interrupted `--mock` run is finished that way too,
although the mock that held its jobs ended with the interrupted process."""

from __future__ import annotations

import json
import os
import re
import shlex
import signal
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from lipflow.cli import cli
from lipflow.reporting import progress
from lipflow.run.report import Snapshot
from mock_server import MockServer

REPO = Path(__file__).parents[2]
RECIPES = REPO / "recipes"


def run(args: list[str], env: dict[str, str] | None = None) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, args, env=env, catch_exceptions=False)
    return result.exit_code, result.stdout, result.stderr


def printed_command(stderr: str) -> list[str]:
    """The resume command lipflow printed, split as a shell would: ``run ...`` for the CLI."""
    match = re.search(r"[Rr]esume with: (lipflow run .+)$", stderr, re.MULTILINE)
    assert match, stderr
    argv = shlex.split(match.group(1))
    assert argv[:2] == ["lipflow", "run"]
    return argv[1:]


class _CtrlCAfterFirstSubmit:
    """A progress display that presses Ctrl-C once the first job is at the provider."""

    def __init__(self) -> None:
        self.sent = False

    def update(self, job_id: str, state: str, detail: str | None, snapshot: Snapshot) -> None:
        if state == "submitted" and not self.sent:
            self.sent = True
            os.kill(os.getpid(), signal.SIGINT)

    def close(self) -> None:
        pass


@pytest.fixture
def ctrl_c_after_first_submit(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    once = _CtrlCAfterFirstSubmit()  # one Ctrl-C in the test, not one per run
    monkeypatch.setattr(progress, "progress_for", lambda stream: once)
    yield


def test_an_interrupted_mock_run_is_finished_by_the_printed_command(
    ctrl_c_after_first_submit: None, tmp_path: Path
) -> None:
    out = tmp_path / "a dir with spaces"
    first = ["run", str(RECIPES / "pixverse_platform.yaml"), "--mock", "--out", str(out)]
    first += ["--concurrency", "1", "--budget", "2.5"]

    code, _, err = run(first)

    assert code == 130, err
    argv = printed_command(err)
    assert argv == [
        "run",
        str(RECIPES / "pixverse_platform.yaml"),
        "--mock",
        "--out",
        str(out),
        "--budget",
        "2.5",
        "--concurrency",
        "1",
        "--resume",
    ]
    journal = out / "lipflow-journal.sqlite"
    assert journal.exists()

    code, stdout, err = run([*argv, "--format", "json"])

    assert code == 0, err
    report = json.loads(stdout)
    assert report["counts"] == {"done": 2}
    assert all(Path(o["path"]).exists() for j in report["jobs"] for o in j["outputs"])


def test_an_interrupted_run_against_real_providers_is_finished_by_the_printed_command(
    ctrl_c_after_first_submit: None,
    lipflow_mock: MockServer,
    live_env: dict[str, str],
    tmp_path: Path,
) -> None:
    env = live_env
    recipe = str(RECIPES / "teaser.yaml")
    first = ["run", recipe, "--out", str(tmp_path), "--allow-unpriced"]
    first += ["--provider-concurrency", "runware=1"]

    code, _, err = run(first, env=env)

    assert code == 130, err
    argv = printed_command(err)
    assert "--allow-unpriced" in argv and "--provider-concurrency" in argv
    submitted = len(lipflow_mock.simulator.journal.records(op="submit"))

    code, stdout, err = run([*argv, "--format", "json"], env=env)

    assert code == 0, err
    report = json.loads(stdout)
    assert set(report["counts"]) == {"done"}
    jobs = len(report["jobs"])
    assert len(lipflow_mock.simulator.journal.records(op="submit")) == jobs >= submitted


def test_a_failed_runs_printed_command_retries_it(
    lipflow_mock: MockServer, live_env: dict[str, str], tmp_path: Path
) -> None:
    lipflow_mock.add_fault("moderation", provider="pixverse", op="submit", count=1)
    env = live_env

    code, _, err = run(
        ["run", str(RECIPES / "pixverse_platform.yaml"), "--out", str(tmp_path)], env=env
    )
    assert code == 4, err

    code, stdout, err = run([*printed_command(err), "--format", "json"], env=env)
    assert code == 0, err
    assert json.loads(stdout)["counts"] == {"done": 2}

"""The run report never hides what may have been charged: a job whose submit reached the provider
but whose answer was lost (ambiguous) is not counted as spent, and is shown apart as what may
still be charged, at its estimate, in JSON and in text."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from lipflow.cli import cli
from mock_server import MockServer
from tests.runner.conftest import RECIPES


def run(env: dict[str, str], out: Path, fmt: str) -> tuple[int, str]:
    recipe = str(RECIPES / "pixverse_platform.yaml")
    args = ["run", recipe, "--out", str(out), "--yes", "--budget", "5", "--format", fmt]
    result = CliRunner().invoke(cli, args, env=env)
    return result.exit_code, result.stdout


def test_a_submit_whose_answer_was_lost_is_reported_as_maybe_spent(
    lipflow_mock: MockServer, live_env: dict[str, str], tmp_path: Path
) -> None:
    lipflow_mock.add_fault("lose_reply", provider="pixverse", op="submit", count=1)

    code, stdout = run(live_env, tmp_path / "out", "json")

    assert code == 4, stdout
    report = json.loads(stdout)
    (ambiguous,) = [j for j in report["jobs"] if j["state"] == "ambiguous"]
    (done,) = [j for j in report["jobs"] if j["state"] == "done"]
    assert len(lipflow_mock.simulator.jobs("pixverse")) == 2, "the lost submit made its job"
    cost = report["cost"]
    assert cost["spent_usd"] == pytest.approx(done["reported_usd"])
    assert cost["maybe_spent_jobs"] == 1
    assert cost["maybe_spent_usd"] == pytest.approx(ambiguous["estimated_usd"])

    code, text = run(live_env, tmp_path / "out", "text")  # the same journal, read again
    assert code == 4, text
    assert (
        f"maybe spent ${ambiguous['estimated_usd']:.4f} more (estimated) on 1 job(s) the "
        "provider has or may have (ambiguous)"
    ) in text


def test_a_run_whose_jobs_all_finished_may_be_charged_nothing_more(
    lipflow_mock: MockServer, live_env: dict[str, str], tmp_path: Path
) -> None:
    code, stdout = run(live_env, tmp_path / "out", "json")

    assert code == 0, stdout
    cost = json.loads(stdout)["cost"]
    assert (cost["maybe_spent_jobs"], cost["maybe_spent_usd"]) == (0, 0)

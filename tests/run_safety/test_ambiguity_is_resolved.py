"""Ambiguity is resolved, not passed to the user (issue 8, item 3): a Runware submit whose reply
was lost is looked up with ``getTaskDetails`` (https://runware.ai/docs/platform/task-details)
before anything is sent again; PixVerse and WaveSpeed offer no such lookup, so theirs stay
ambiguous until ``--resubmit-ambiguous``. Through ``lipflow run`` against the mock."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from lipflow.cli import cli
from mock_server import MockServer

RECIPES = Path(__file__).parents[2] / "recipes"
ONE_JOB = {"runware": "quickstart", "pixverse": "pixverse_platform", "wavespeed": "wavespeed"}


def run(mock: MockServer, provider: str, out: Path, *extra: str) -> tuple[int, dict[str, object]]:
    env = {f"LIPFLOW_{p.upper()}_URL": mock.urls[p] for p in ONE_JOB}
    env.update({f"{p.upper()}_API_KEY": "k" for p in ONE_JOB})
    args = [str(RECIPES / f"{ONE_JOB[provider]}.yaml"), "--out", str(out), "--format", "json"]
    result = CliRunner().invoke(cli, ["run", *args, "--allow-unpriced", *extra], env=env)
    return result.exit_code, json.loads(result.stdout)


def sent(mock: MockServer, op: str) -> int:
    return len(mock.simulator.journal.records(op=op))


@pytest.mark.parametrize(
    ("fault", "created"), [("lose_reply", 1), ("drop", 0)], ids=["landed", "never-landed"]
)
def test_a_runware_submit_whose_reply_was_lost_is_looked_up_before_anything_is_sent(
    lipflow_mock: MockServer, tmp_path: Path, fault: str, created: int
) -> None:
    lipflow_mock.add_fault(fault, provider="runware", op="submit")
    code, first = run(lipflow_mock, "runware", tmp_path / "o")
    assert code == 4 and first["counts"] == {"ambiguous": 1}, first
    assert len(lipflow_mock.simulator.jobs("runware")) == created
    lipflow_mock.simulator.faults.clear()
    lipflow_mock.simulator.journal.clear()

    code, second = run(lipflow_mock, "runware", tmp_path / "o", "--resume")

    assert code == 0, second
    assert sent(lipflow_mock, "find") == 1, "getTaskDetails first"
    assert sent(lipflow_mock, "submit") == 1 - created, "sent again only if it never landed"
    assert len(lipflow_mock.simulator.jobs("runware")) == 1


@pytest.mark.parametrize("provider", ["pixverse", "wavespeed"])
def test_without_a_lookup_an_ambiguous_submit_is_never_resent_unless_asked(
    lipflow_mock: MockServer, tmp_path: Path, provider: str
) -> None:
    lipflow_mock.add_fault("lose_reply", provider=provider, op="submit", count=1)
    code, first = run(lipflow_mock, provider, tmp_path / "o")
    assert code == 4 and "ambiguous" in first["counts"], first  # type: ignore[operator]
    before = sent(lipflow_mock, "submit")

    code, again = run(lipflow_mock, provider, tmp_path / "o", "--resume")
    assert code == 4 and "ambiguous" in again["counts"], again  # type: ignore[operator]
    assert sent(lipflow_mock, "submit") == before, "nothing resent on its own"

    code, asked = run(lipflow_mock, provider, tmp_path / "o", "--resume", "--resubmit-ambiguous")
    assert code == 0, asked

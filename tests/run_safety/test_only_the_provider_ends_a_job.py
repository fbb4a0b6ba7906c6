"""Only the provider's word ends a job: a poll error of any kind leaves it submitted, polled again,
and never pays for it twice (issue 8, item 2). Runs go through ``lipflow.run.runner.execute``,
the function ``lipflow run`` calls, over the mock's in-process transport."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from lipflow.cli import cli
from lipflow.plan import plan_file
from lipflow.run.retry import RetryPolicy
from lipflow.run.runner import execute
from lipflow.run.settings import RunSettings
from lipflow.run.state import InvalidTransition, check_transition
from mock_server import MockServer, Simulator
from mock_server.adapters.transport import transport_urls
from tests.run_safety.hostile import Hostile

RECIPES = Path(__file__).parents[2] / "recipes"
ONE_JOB = {"runware": "quickstart", "pixverse": "pixverse_platform", "wavespeed": "wavespeed"}
FAST = RetryPolicy(backoff_first=0.0, capacity_wait=0.0, poll_next=0.0, poll_cap=0.0)

# (provider, HTTP status, body) of a poll reply that is no word about the job.
NOT_A_VERDICT = [
    *(
        (provider, status, {"error": "nope"})
        for provider in ONE_JOB
        for status in (401, 403, 404, 500, 502)
    ),
    *((provider, 200, b"<html>gateway</html>") for provider in ONE_JOB),
    *((provider, 200, [1, 2, 3]) for provider in ONE_JOB),
    ("pixverse", 200, {"ErrCode": "0", "ErrMsg": "", "Resp": {"status": 8}}),
    ("pixverse", 200, {"ErrCode": 987654, "ErrMsg": "something new"}),
    ("pixverse", 200, {"ErrCode": 0, "Resp": {"status": 99}}),
    ("runware", 200, {"errors": [{"code": "somethingNew", "message": "?"}]}),
    ("runware", 200, {"errors": [{"code": "invalidApiKey", "message": "bad key"}]}),
    ("wavespeed", 200, {"code": 200, "data": {"status": "paused"}}),
    ("wavespeed", 200, {"code": 200, "data": {"status": ""}}),
]
IDS = [f"{p}-{s}-{str(b)[:24]}" for p, s, b in NOT_A_VERDICT]


def run(provider: str, out: Path, transport: Hostile, **options: object) -> dict[str, object]:
    plan = plan_file(str(RECIPES / f"{ONE_JOB[provider]}.yaml"), env={})
    settings = RunSettings(
        out_dir=out,
        base_urls=transport_urls(transport.simulator),
        keys=dict.fromkeys(ONE_JOB, "k"),
        retry=FAST,
        allow_unpriced=True,
        **options,  # type: ignore[arg-type]
    )
    return execute(plan, settings, transport=transport).to_json()


def submits(sim: Simulator, provider: str) -> int:
    return len(sim.journal.records(provider=provider, op="submit"))


@pytest.mark.parametrize(("provider", "status", "body"), NOT_A_VERDICT, ids=IDS)
def test_a_poll_error_that_passes_is_polled_through(
    provider: str, status: int, body: object, tmp_path: Path
) -> None:
    sim = Simulator()
    hostile = Hostile(sim, status, body, polls=2)

    report = run(provider, tmp_path / "out", hostile)

    assert report["ok"], report
    assert hostile.answered == 2
    assert submits(sim, provider) == len(report["jobs"]), "one submit per job"  # type: ignore[arg-type]


@pytest.mark.parametrize(("provider", "status", "body"), NOT_A_VERDICT, ids=IDS)
def test_a_poll_error_that_persists_leaves_the_job_at_the_provider_and_the_next_run_polls_it(
    provider: str, status: int, body: object, tmp_path: Path
) -> None:
    sim = Simulator()
    out = tmp_path / "out"

    first = run(provider, out, Hostile(sim, status, body))
    states = {j["state"] for j in first["jobs"]}  # type: ignore[attr-defined]
    assert states <= {"submitted", "pending", "blocked"} and "submitted" in states, first
    assert "failed" not in states

    second = run(provider, out, Hostile(sim, 200, {}, polls=0), resume=True)

    assert second["ok"], second
    assert submits(sim, provider) == len(second["jobs"]), "nothing was paid for twice"  # type: ignore[arg-type]


@pytest.mark.parametrize("provider", list(ONE_JOB))
@pytest.mark.parametrize("fault", ["moderation", "generation_failure"])
def test_the_providers_verdict_fails_the_job_and_a_resume_submits_it_again(
    provider: str, fault: str, lipflow_mock: MockServer, tmp_path: Path
) -> None:
    lipflow_mock.add_fault(fault, provider=provider, op="submit", count=1)
    env = {f"LIPFLOW_{p.upper()}_URL": lipflow_mock.urls[p] for p in ONE_JOB}
    env.update({f"{p.upper()}_API_KEY": "k" for p in ONE_JOB})
    args = ["run", str(RECIPES / f"{ONE_JOB[provider]}.yaml"), "--out", str(tmp_path / "o")]

    first = CliRunner().invoke(cli, [*args, "--allow-unpriced"], env=env)
    assert first.exit_code == 4 and "failed" in first.stdout, first.stderr
    second = CliRunner().invoke(cli, [*args, "--allow-unpriced", "--resume"], env=env)

    assert second.exit_code == 0, second.stderr


def test_the_run_says_how_many_jobs_are_still_at_the_provider(
    lipflow_mock: MockServer, tmp_path: Path
) -> None:
    lipflow_mock.add_fault("server_error", provider="runware", op="poll")
    env = {"LIPFLOW_RUNWARE_URL": lipflow_mock.urls.runware, "RUNWARE_API_KEY": "k"}
    args = ["run", str(RECIPES / "quickstart.yaml"), "--out", str(tmp_path / "o")]

    result = CliRunner().invoke(cli, args, env=env)

    assert result.exit_code == 4
    assert "1 job(s) still at the provider: run again to keep polling" in result.stderr
    assert len(lipflow_mock.simulator.journal.records(op="submit")) == 1


@pytest.mark.parametrize("state", ["submitted", "downloading", "done"])
@pytest.mark.parametrize("error_class", [None, "rejected", "ambiguous", "unavailable", "timeout"])
def test_a_job_at_the_provider_never_fails_without_the_providers_verdict(
    state: str, error_class: str | None
) -> None:
    with pytest.raises(InvalidTransition):
        check_transition(state, "failed", error_class=error_class)
    with pytest.raises(InvalidTransition):
        check_transition(state, "pending")
    with pytest.raises(InvalidTransition):
        check_transition(state, "submitting")

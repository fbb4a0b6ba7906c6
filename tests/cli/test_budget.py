"""Money through the CLI against the mock: every field that changes the price is priced, the plan,
the mock and the run report bill on one basis, the budget holds while running, and `plan` exits 3
over the recipe's budget."""

from __future__ import annotations

import json
import shlex
import shutil
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from lipflow.cli import cli
from mock_server import MockServer

REPO = Path(__file__).parents[2]
RECIPES = REPO / "recipes"


def lipflow(*args: str, env: dict[str, str] | None = None) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, list(args), env=env, catch_exceptions=False)
    return result.exit_code, result.stdout, result.stderr


def write_recipe(tmp_path: Path, text: str) -> Path:
    """A recipe beside a copy of the bundled media, so ``media/...`` paths resolve."""
    shutil.copytree(RECIPES / "media", tmp_path / "media", dirs_exist_ok=True)
    path = tmp_path / "recipe.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def planned(recipe: Path) -> dict[str, Any]:
    code, out, err = lipflow("plan", str(recipe), "--format", "json")
    assert code == 0, err
    return json.loads(out)  # type: ignore[no-any-return]


def mock_run(recipe: Path, out: Path, *extra: str) -> dict[str, Any]:
    code, stdout, err = lipflow(
        "run", str(recipe), "--mock", "--out", str(out), "--format", "json", *extra
    )
    assert code == 0, err
    return json.loads(stdout)  # type: ignore[no-any-return]


# ---------------------------------------------------------------------------------- priced fields


@pytest.mark.parametrize("results", [1, 3], ids=["one-result", "three-results"])
def test_number_results_multiplies_the_estimate_and_the_mock_bills_the_same(
    tmp_path: Path, results: int
) -> None:
    recipe = write_recipe(
        tmp_path,
        f"""\
version: 1
inputs:
  presenter: {{video: media/presenter.mp4}}
  line: {{audio: media/voice_en.wav}}
steps:
  takes:
    lipsync: {{video: presenter, audio: line}}
    options: {{numberResults: {results}}}
""",
    )

    (job,) = planned(recipe)["jobs"]
    cost = job["cost"]
    assert cost["usd"] == pytest.approx(7.5 * 0.0136 * results)
    if results > 1:
        assert "x 3 results (numberResults)" in cost["basis"]

    report = mock_run(recipe, tmp_path / "out")
    (ran,) = report["jobs"]
    assert len(ran["outputs"]) == results
    assert ran["reported_usd"] == pytest.approx(ran["estimated_usd"])
    assert ran["drift"] is False and report["cost"]["drift"] is False


def test_segments_are_billed_by_their_video_ranges_in_plan_and_mock_alike(tmp_path: Path) -> None:
    # answer_1.wav lasts 4.5 s but drives a 9 s range; the second segment plays a 1 s slice of
    # a 6 s file over a 5 s range. Either way what is billed is the video range: 9 s + 5 s.
    recipe = write_recipe(
        tmp_path,
        """\
version: 1
inputs:
  interview: {video: media/interview.mp4}
  answer_1: {audio: media/answer_1.wav}
  answer_2: {audio: media/answer_2.mp3}
segments:
  answers:
    ranges:
      - {start: 0, end: 9, audio: answer_1}
      - {start: 10, end: 15, audio: answer_2, audio_start: 2, audio_end: 3}
steps:
  sync:
    lipsync: {video: interview, segments: answers}
""",
    )

    (job,) = planned(recipe)["jobs"]
    assert job["cost"]["usd"] == pytest.approx((9 + 5) * 0.044)
    assert any("video ranges" in a for a in job["cost"]["assumptions"])

    (ran,) = mock_run(recipe, tmp_path / "out")["jobs"]
    assert ran["reported_usd"] == pytest.approx((9 + 5) * 0.044)
    assert ran["drift"] is False


@pytest.mark.parametrize(
    "name", ["quickstart", "pixverse_platform", "wavespeed", "interview_segments", "dub_matrix"]
)
def test_every_bundled_recipe_is_billed_by_the_mock_as_planned(name: str, tmp_path: Path) -> None:
    """Durations (per second, per 5 s block, rounded up), TTS scripts and segments: the run
    report shows no drift between the plan's estimate and the mock's reported cost."""
    report = mock_run(RECIPES / f"{name}.yaml", tmp_path)
    for job in report["jobs"]:
        if job["reported_usd"] is not None:
            assert job["drift"] is False, job
    totals = report["cost"]
    assert totals["drift"] is False and totals["drifted_jobs"] == 0


DECLARED = """\
version: 1
inputs:
  presenter: {{video: media/presenter.mp4}}
  line: {{audio: media/voice_en.wav, duration: {declared}}}
steps:
  say:
    lipsync: {{video: presenter, audio: line}}
"""


def test_a_declared_duration_that_contradicts_the_file_is_an_error(tmp_path: Path) -> None:
    recipe = write_recipe(tmp_path, DECLARED.format(declared=3))

    code, _, err = lipflow("plan", str(recipe))

    assert code == 1
    assert f"{recipe}:4:" in err, "the problem points at the declared duration"
    assert "duration: 3 s contradicts the file, which lasts 7.5 s (tolerance 0.5 s)" in err


def test_a_declared_duration_within_the_tolerance_is_priced_by_the_file(tmp_path: Path) -> None:
    recipe = write_recipe(tmp_path, DECLARED.format(declared=7.3))
    (job,) = planned(recipe)["jobs"]
    assert job["cost"]["usd"] == pytest.approx(7.5 * 0.0136)


# ---------------------------------------------------------------------------------- plan's budget


def test_plan_exits_3_when_over_the_recipes_budget(tmp_path: Path) -> None:
    text = (RECIPES / "dub_matrix.yaml").read_text(encoding="utf-8")
    recipe = write_recipe(tmp_path, text.replace("budget: 5.00", "budget: 1.00"))

    code, out, err = lipflow("plan", str(recipe), "--no-requests")

    assert code == 3
    assert "budget: $1.00 - the estimate is OVER it" in out, "the plan is still shown"
    assert "over the budget of $1.00" in err and "step dub:" in err


def test_plan_within_the_budget_exits_0() -> None:
    code, _, err = lipflow("plan", str(RECIPES / "dub_matrix.yaml"), "--no-requests")
    assert code == 0, err


# ---------------------------------------------------------------------------------- run's budget

# Four jobs whose audio is declared 1 s long at a URL the mock cannot measure: the plan estimates
# $0.0136 each, the mock takes the audio as 5 s and reports $0.068 each through includeCost.
UNDERESTIMATED = """\
version: 1
budget: {budget}
inputs:
  presenter: {{video: "https://example.com/presenter.mp4", duration: 8}}
  line: {{audio: "https://example.com/line.wav", duration: 1}}
steps:
  say:
    matrix:
      take: [1, 2, 3, 4]
    lipsync: {{video: presenter, audio: line}}
"""


def test_the_budget_holds_while_running_on_provider_reported_costs(
    lipflow_mock: MockServer, live_env: dict[str, str], tmp_path: Path
) -> None:
    recipe = write_recipe(tmp_path, UNDERESTIMATED.format(budget=0.16))
    out = tmp_path / "out"
    args = ("run", str(recipe), "--out", str(out), "--concurrency", "2", "--format", "json")

    code, stdout, err = lipflow(*args, env=live_env)

    # Two jobs go out with $0.0136 reserved each; their reported $0.068 replaces the
    # reservations, so a third fits ($0.136 + $0.0136 at most) and a fourth never does.
    assert code == 3, err
    report = json.loads(stdout)
    assert len(lipflow_mock.simulator.journal.records(op="submit")) == 3
    states = sorted(j["state"] for j in report["jobs"])
    assert states == ["done", "done", "done", "pending"]
    (held,) = [j for j in report["jobs"] if j["state"] == "pending"]
    assert held["error"]["class"] == "budget"
    assert "not submitted" in held["error"]["message"]
    assert "the budget of $0.16" in held["error"]["message"]
    totals = report["cost"]
    assert totals["spent_usd"] == pytest.approx(3 * 0.068)
    assert totals["reported_usd"] == pytest.approx(3 * 0.068)
    assert totals["not_submitted_for_budget"] == 1
    assert totals["drift"] is True and totals["drifted_jobs"] == 3
    assert all(j["drift"] for j in report["jobs"] if j["state"] == "done")
    assert "the budget of $0.16 stopped the run: 1 job(s) were not submitted" in err

    # The printed command, as printed, keeps the recipe's budget: nothing more is sent.
    command = shlex.split(err.rsplit("go on: ", 1)[1].strip())
    assert command[:2] == ["lipflow", "run"] and command[-1] == "--resume"
    code, _, err = lipflow(*command[1:], env=live_env)
    assert code == 3, err
    assert len(lipflow_mock.simulator.journal.records(op="submit")) == 3

    # With the budget raised in it, the resumed run starts from the $0.204 its journal recorded.
    code, stdout, err = lipflow(*command[1:], "--budget", "0.30", "--format", "json", env=live_env)
    assert code == 0, err
    assert len(lipflow_mock.simulator.journal.records(op="submit")) == 4
    assert json.loads(stdout)["cost"]["spent_usd"] == pytest.approx(4 * 0.068)


def test_the_text_report_flags_drift_per_job_and_in_total(
    lipflow_mock: MockServer, live_env: dict[str, str], tmp_path: Path
) -> None:
    recipe = write_recipe(tmp_path, UNDERESTIMATED.format(budget=1))

    code, stdout, err = lipflow("run", str(recipe), "--out", str(tmp_path / "out"), env=live_env)

    assert code == 0, err
    job_lines = [line for line in stdout.splitlines() if line.startswith("done")]
    assert len(job_lines) == 4
    assert all("est $0.0136, reported $0.0680 (DRIFT +0.0544)" in line for line in job_lines)
    assert (
        "cost: estimated $0.0544, reported $0.2720 by 4 job(s); DRIFT +0.2176 from the estimate"
        in stdout
    )
    assert "spent $0.2720 of the budget of $1.00" in stdout


@pytest.mark.parametrize("value", ["nan", "inf", "-inf"])
@pytest.mark.parametrize(
    "option", ["--budget", "--max-output-mb", "--download-timeout", "--retry-after-cap"]
)
def test_a_run_bound_of_nan_or_infinity_is_refused_before_anything_runs(
    option: str, value: str, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    code, _, err = lipflow(
        "run", str(RECIPES / "quickstart.yaml"), "--mock", "--out", str(out), option, value
    )
    assert code == 2, err
    assert "is not a finite number" in err or "not in the range" in err
    assert not out.exists()


@pytest.mark.parametrize("budget", [".nan", ".inf", ".NaN", "+.Inf"])
def test_a_recipe_budget_of_nan_or_infinity_is_one_problem_on_its_line(
    budget: str, tmp_path: Path
) -> None:
    text = (
        (RECIPES / "quickstart.yaml")
        .read_text()
        .replace("version: 1\n", "version: 1\nbudget: " + budget + "\n")
    )
    recipe = write_recipe(tmp_path, text)
    line = text.splitlines().index(f"budget: {budget}") + 1

    code, out, err = lipflow("validate", str(recipe))

    assert code == 1
    problems = [p for p in (out + err).splitlines() if " error at " in p]
    assert problems == [
        f"{recipe}:{line}:9: error at $.budget: {budget} is not a number a recipe can use: "
        "write a finite one"
    ]
    code, _, err = lipflow("run", str(recipe), "--mock", "--out", str(tmp_path / "out"))
    assert code == 1 and "is not a number a recipe can use" in err

"""`lipflow run` through click's CliRunner: options, exit codes, the report, and keys kept secret."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from lipflow.cli import cli
from lipflow.media import probe
from mock_server import MockServer

REPO = Path(__file__).parents[2]
RECIPES = REPO / "recipes"
CANARY = "sk-canary-7f3a9c1e5b2d4f60-never-print-me"


def invoke(*args: str, env: dict[str, str] | None = None) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, ["run", *args], env=env, catch_exceptions=False)
    return result.exit_code, result.stdout, result.stderr


def live_env(mock: MockServer, key: str = "k") -> dict[str, str]:
    """Point lipflow at a mock as if it were the real providers (no --mock)."""
    env = {
        "LIPFLOW_RUNWARE_URL": mock.urls.runware,
        "LIPFLOW_PIXVERSE_URL": mock.urls.pixverse,
        "LIPFLOW_WAVESPEED_URL": mock.urls.wavespeed,
    }
    return {
        **env,
        **{var: key for var in ("RUNWARE_API_KEY", "PIXVERSE_API_KEY", "WAVESPEED_API_KEY")},
    }


def test_quickstart_with_mock_prints_a_json_report_and_writes_the_video(tmp_path: Path) -> None:
    code, out, err = invoke(
        str(RECIPES / "quickstart.yaml"), "--mock", "--out", str(tmp_path), "--format", "json"
    )

    assert code == 0, err
    report = json.loads(out)
    (job,) = report["jobs"]
    assert report["ok"] and job["state"] == "done" and job["provider_job_id"] == job["task_uuid"]
    assert job["estimated_usd"] and job["reported_usd"]
    assert probe(job["outputs"][0]["path"]).kind == "video"
    assert "done        hello" in err, "progress goes to stderr as plain lines when not a terminal"


def test_a_missing_key_is_an_error_naming_the_variable_before_anything_is_sent(
    lipflow_mock: MockServer, tmp_path: Path
) -> None:
    env = live_env(lipflow_mock)
    env["PIXVERSE_API_KEY"] = ""

    code, _, err = invoke(str(RECIPES / "pixverse_platform.yaml"), "--out", str(tmp_path), env=env)

    assert code == 2
    assert "PIXVERSE_API_KEY" in err
    assert lipflow_mock.simulator.journal.records() == []


def test_over_budget_is_refused_with_the_breakdown_and_nothing_sent(
    lipflow_mock: MockServer, tmp_path: Path
) -> None:
    code, _, err = invoke(
        str(RECIPES / "pixverse_platform.yaml"),
        "--budget",
        "0.10",
        "--out",
        str(tmp_path),
        env=live_env(lipflow_mock),
    )

    assert code == 3
    assert "over the budget of $0.10" in err and "step from_audio: $0.3200" in err
    assert lipflow_mock.simulator.journal.records() == []


def test_the_recipes_own_budget_applies_and_budget_overrides_it(tmp_path: Path) -> None:
    code, _, err = invoke(
        str(RECIPES / "quickstart.yaml"), "--mock", "--budget", "0", "--out", str(tmp_path)
    )
    assert code == 3 and "estimate $0.0419" in err


def test_unpriced_work_needs_allow_unpriced_against_real_providers(
    lipflow_mock: MockServer, tmp_path: Path
) -> None:
    recipe = str(RECIPES / "teaser.yaml")
    code, _, err = invoke(recipe, "--out", str(tmp_path), env=live_env(lipflow_mock))
    assert code == 3 and "--allow-unpriced" in err and "teaser" in err
    assert lipflow_mock.simulator.journal.records() == []

    code, _, err = invoke(
        recipe, "--allow-unpriced", "--out", str(tmp_path), env=live_env(lipflow_mock)
    )
    assert code == 0, err


def test_a_mock_run_is_free_so_unpriced_work_needs_no_flag(tmp_path: Path) -> None:
    code, _, err = invoke(str(RECIPES / "teaser.yaml"), "--mock", "--out", str(tmp_path))
    assert code == 0, err


def test_failed_jobs_exit_4_with_the_resume_command(
    lipflow_mock: MockServer, tmp_path: Path
) -> None:
    lipflow_mock.add_fault("moderation", provider="pixverse", op="submit", count=1)
    args = (str(RECIPES / "pixverse_platform.yaml"), "--out", str(tmp_path), "--format", "json")

    code, out, err = invoke(*args, env=live_env(lipflow_mock))

    assert code == 4
    report = json.loads(out)
    assert report["counts"] == {"done": 1, "failed": 1}
    assert f"--out {tmp_path} --resume" in err
    code, out, _ = invoke(*args, "--resume", env=live_env(lipflow_mock))
    assert code == 0 and json.loads(out)["counts"] == {"done": 2}


def test_a_saved_plan_runs_and_is_refused_once_its_recipe_changes(tmp_path: Path) -> None:
    shutil.copytree(RECIPES, tmp_path / "recipes")
    recipe, plan = tmp_path / "recipes" / "quickstart.yaml", tmp_path / "plan.json"
    assert CliRunner().invoke(cli, ["plan", str(recipe), "--out", str(plan)]).exit_code == 0

    code, _, err = invoke(str(plan), "--mock", "--out", str(tmp_path / "a"))
    assert code == 0, err

    recipe.write_text(recipe.read_text().replace("Hello!", "Hi!"))
    code, _, err = invoke(str(plan), "--mock", "--out", str(tmp_path / "b"))
    assert code == 2 and "changed since this plan was made" in err


def _edited(plan: Path, edit: Callable[[dict[str, Any]], None]) -> None:
    saved = json.loads(plan.read_text())
    edit(saved)
    plan.write_text(json.dumps(saved))


@pytest.mark.parametrize(
    ("edit", "says"),
    [
        (lambda p: p["jobs"][0].update(key="0" * 64), "job 'hello' is changed (key)"),
        (
            lambda p: p["jobs"][0]["params"]["tts"].update(text="Something else"),
            "job 'hello' is changed (params)",
        ),
        (lambda p: p["jobs"][0]["options"].update(numberResults=4), "changed (options)"),
        (
            lambda p: p["jobs"].append({**p["jobs"][0], "id": "hello-again"}),
            "job 'hello-again' is extra",
        ),  # the same job twice is refused before: test_hostile_plans
        (lambda p: p["jobs"].clear(), "job 'hello' is missing"),
        (lambda p: p.update(budget_usd=1000.0), "the budget is 1000.0"),
    ],
    ids=["job-key", "tts-text", "options", "extra-job", "no-jobs", "budget"],
)
def test_a_saved_plan_edited_by_hand_is_refused_and_nothing_is_sent(
    edit: Callable[[dict[str, Any]], None], says: str, tmp_path: Path, lipflow_mock: MockServer
) -> None:
    shutil.copytree(RECIPES, tmp_path / "recipes")
    recipe, plan = tmp_path / "recipes" / "quickstart.yaml", tmp_path / "plan.json"
    assert CliRunner().invoke(cli, ["plan", str(recipe), "--out", str(plan)]).exit_code == 0
    _edited(plan, edit)

    code, _, err = invoke(str(plan), "--out", str(tmp_path / "a"), env=live_env(lipflow_mock))

    assert code == 2 and says in err and "which is not what" in err, err
    assert lipflow_mock.simulator.journal.records() == [], "nothing was sent"


def test_a_saved_plan_is_refused_once_an_input_file_changes(tmp_path: Path) -> None:
    shutil.copytree(RECIPES, tmp_path / "recipes")
    recipe, plan = tmp_path / "recipes" / "quickstart.yaml", tmp_path / "plan.json"
    assert CliRunner().invoke(cli, ["plan", str(recipe), "--out", str(plan)]).exit_code == 0
    # Another clip in its place: the recipe's text (and digest) is the same, its job is not.
    shutil.copy(RECIPES / "media" / "interview.mp4", tmp_path / "recipes/media/presenter.mp4")

    code, _, err = invoke(str(plan), "--mock", "--out", str(tmp_path / "a"))

    assert code == 2 and "job 'hello' is changed (task_uuid, media, key)" in err, err
    assert "an input file changed" in err


@pytest.mark.parametrize("value", ["runware", "runware=0", "runwre=2"])
def test_bad_provider_concurrency_is_a_usage_error(value: str, tmp_path: Path) -> None:
    code, _, err = invoke(
        str(RECIPES / "quickstart.yaml"),
        "--mock",
        "--provider-concurrency",
        value,
        "--out",
        str(tmp_path),
    )
    assert code == 2 and "error:" in err


def test_an_empty_out_directory_is_a_usage_error_not_the_default(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    code, _, err = invoke(str(RECIPES / "quickstart.yaml"), "--mock", "--out", "")
    assert code == 2
    assert err.startswith("error: --out needs a directory name, not an empty string")
    assert not (tmp_path / "runs").exists()


def test_the_api_key_never_appears_in_output_journal_report_or_files(tmp_path: Path) -> None:
    out_dir = tmp_path / "out"
    with MockServer(api_key=CANARY) as strict:
        strict.add_fault("moderation", provider="runware", op="submit", count=1)
        strict.add_fault("lose_reply", provider="pixverse", op="submit", count=1)
        strict.add_fault("server_error", provider="wavespeed", op="poll", count=1)
        env = live_env(strict, key=CANARY)
        seen = []
        for recipe in ("quickstart", "pixverse_platform", "wavespeed"):
            for fmt in ("text", "json"):
                _, out, err = invoke(
                    str(RECIPES / f"{recipe}.yaml"),
                    "--out",
                    str(out_dir / recipe),
                    "--format",
                    fmt,
                    env=env,
                )
                seen += [out, err]
        accepted = [r for r in strict.simulator.journal.records() if r.status == 200]
    assert accepted, "the canary key was sent (the mock accepts no other)"
    assert any("moderation" in text for text in seen) and any("ambiguous" in text for text in seen)
    for text in seen:
        assert CANARY not in text
    files = [p for p in out_dir.rglob("*") if p.is_file()]
    assert any(p.name.startswith("lipflow-journal.sqlite") for p in files)
    for path in files:
        assert CANARY.encode() not in path.read_bytes(), path

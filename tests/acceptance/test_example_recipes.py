"""Recipes in example folders, each with the verdict `lipflow validate` must give it.

Every ``NAME.yaml`` under ``recipes/valid`` or ``recipes/invalid`` has a ``NAME.expect.yaml``
naming the exit code and the problems that must be reported: where (line:column), at which
field path, with which words, and which did-you-mean suggestion.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner

from lipflow.cli import cli

HERE = Path(__file__).parent / "recipes"
CASES = sorted(p for p in HERE.glob("*/*.yaml") if not p.name.endswith(".expect.yaml"))


def _matches(problem: dict[str, Any], expected: dict[str, Any]) -> bool:
    if "at" in expected and f"{problem['line']}:{problem['column']}" != expected["at"]:
        return False
    if "path" in expected and problem["path"] != expected["path"]:
        return False
    if "contains" in expected and expected["contains"] not in problem["message"]:
        return False
    if "suggestion" in expected and problem["suggestion"] != expected["suggestion"]:
        return False
    if "job" in expected and problem["context"].get("job") != expected["job"]:
        return False
    return bool(problem["severity"] == expected.get("severity", "error"))


@pytest.mark.parametrize("recipe", CASES, ids=lambda p: f"{p.parent.name}/{p.stem}")
def test_validate_reports_the_expected_problems(recipe: Path) -> None:
    expect = yaml.safe_load(recipe.with_name(recipe.stem + ".expect.yaml").read_text())
    result = CliRunner().invoke(cli, ["validate", "--format", "json", str(recipe)])
    assert result.exit_code == expect["exit"], result.output
    report = json.loads(result.stdout)
    for wanted in expect["problems"]:
        assert any(_matches(p, wanted) for p in report["problems"]), (
            f"no reported problem matches {wanted}; got:\n"
            + "\n".join(json.dumps(p) for p in report["problems"])
        )
    if not expect["problems"]:
        assert report["problems"] == []
    for problem in report["problems"]:
        assert problem["file"] == str(recipe)
        assert problem["line"] is not None, f"problem without a line: {problem}"


@pytest.mark.parametrize(
    "recipe", [p for p in CASES if p.parent.name == "valid"], ids=lambda p: p.stem
)
def test_valid_recipes_plan_the_expected_number_of_jobs(recipe: Path) -> None:
    expect = yaml.safe_load(recipe.with_name(recipe.stem + ".expect.yaml").read_text())
    result = CliRunner().invoke(cli, ["plan", "--format", "json", str(recipe)])
    assert result.exit_code == 0, result.output
    if "jobs" in expect:
        assert len(json.loads(result.stdout)["jobs"]) == expect["jobs"]

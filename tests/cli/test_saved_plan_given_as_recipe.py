"""A plan saved by `lipflow plan --out` given to `validate` or `plan`, which read a recipe: it is
told for what it is, with what to do (`lipflow run PLAN.json` runs it; validate and plan take the
recipe it was made from, which the plan names), exit 2, at its ``"lipflow_plan": 1``; never as
a recipe whose every key is unknown."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.cli.invoking import invoke


def _says(plan: Path, command: str, recipe: str) -> str:
    return (
        f'{plan}:2:19: error: this is a plan saved by `lipflow plan --out` ("lipflow_plan": 1), '
        f"not a recipe: run it with `lipflow run {plan}`, or {command} the recipe it was made "
        f"from: {recipe}\n"
    )


@pytest.mark.parametrize("command", ["validate", "plan"])
def test_a_saved_plan_is_told_apart_from_a_recipe_with_what_to_do(
    saved_plan: Path, command: str
) -> None:
    recipe = saved_plan.parent / "recipes" / "quickstart.yaml"

    code, out, err = invoke(command, str(saved_plan))

    assert code == 2
    assert _says(saved_plan, command, f"`lipflow {command} {recipe}`") in out + err
    assert "not a documented property" not in out + err


def test_validate_reports_a_saved_plan_among_recipes_as_a_file_it_cannot_read(
    saved_plan: Path,
) -> None:
    recipe = saved_plan.parent / "recipes" / "quickstart.yaml"

    code, out, _ = invoke("validate", "--format", "json", str(saved_plan), str(recipe))

    assert code == 2
    report = json.loads(out)
    assert report["valid"] is False
    ((problem),) = report["problems"]
    assert (problem["code"], problem["file"], problem["line"], problem["column"]) == (
        "unreadable",
        str(saved_plan),
        2,
        19,
    )
    assert problem["message"].startswith("this is a plan saved by `lipflow plan --out`")


def test_a_saved_plan_naming_an_unprintable_recipe_file_does_not_print_it(
    saved_plan: Path,
) -> None:
    saved = json.loads(saved_plan.read_text(encoding="utf-8"))
    saved["recipe"]["file"] = "recipes/\x1b[2Jquickstart.yaml"
    saved_plan.write_text(json.dumps(saved, indent=2), encoding="utf-8")

    code, out, err = invoke("plan", str(saved_plan), color=True)

    assert code == 2
    assert _says(saved_plan, "plan", "the recipe its $.recipe.file names") in err
    assert "\x1b" not in out + err


def test_a_recipe_that_only_mentions_the_mark_is_read_as_a_recipe(folder: Path) -> None:
    recipe = folder / "recipe.yaml"
    recipe.write_text("version: 1\ndescription: '\"lipflow_plan\": 1'\nsteps: 5\n")

    code, out, _ = invoke("validate", str(recipe))

    assert code == 1
    assert "recipe.yaml:3:8: error at $.steps" in out
    assert "saved by" not in out

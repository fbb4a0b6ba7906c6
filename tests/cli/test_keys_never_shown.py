"""A provider key the environment holds is never shown by any command, in any encoding, even
when the recipe itself holds it (a webhook's token, a text): plans are printed in CI logs."""

from __future__ import annotations

import base64
import json
import urllib.parse
from pathlib import Path

import pytest
from click.testing import CliRunner

from lipflow.cli import cli

KEY = "rw_Abc123Secret987XYZ"
ENV = {"RUNWARE_API_KEY": KEY}
RECIPE = f"""\
version: 1
name: demo
inputs:
  presenter: {{video: "https://example.com/presenter.mp4", duration: 8}}
steps:
  s:
    use: runware/pixverse-lipsync
    options: {{webhookURL: "https://hook.example.com/x?token={KEY}"}}
    lipsync:
      video: presenter
      tts: {{text: "say {KEY} and {base64.b64encode(KEY.encode()).decode()}", voice: Sophia}}
"""


def forms_of(key: str) -> list[str]:
    return [key, urllib.parse.quote(key), base64.b64encode(key.encode()).decode()[:-4]]


@pytest.fixture
def recipe(tmp_path: Path) -> Path:
    path = tmp_path / "demo.yaml"
    path.write_text(RECIPE)
    return path


@pytest.mark.parametrize("fmt", ["text", "json"])
def test_a_plan_shows_the_key_the_recipe_holds_as_stars(recipe: Path, fmt: str) -> None:
    result = CliRunner().invoke(cli, ["plan", str(recipe), "--format", fmt], env=ENV)
    assert result.exit_code == 0, result.output
    for form in forms_of(KEY):
        assert form not in result.output
    assert "token=***" in result.output
    if fmt == "json":
        json.loads(result.stdout)  # still a JSON document


def test_a_plan_holding_the_key_is_not_saved(recipe: Path, tmp_path: Path) -> None:
    """Saved with stars in place of the key, the plan would send the stars: it is refused."""
    out = tmp_path / "plan.json"
    result = CliRunner().invoke(cli, ["plan", str(recipe), "--out", str(out)], env=ENV)
    assert result.exit_code == 2
    assert "holds an API key's value" in result.output
    assert KEY not in result.output
    assert not out.exists()
    assert list(tmp_path.iterdir()) == [recipe]  # no temporary file left


def test_a_value_not_held_by_a_key_variable_is_saved_as_written(
    recipe: Path, tmp_path: Path
) -> None:
    out = tmp_path / "plan.json"
    result = CliRunner().invoke(cli, ["plan", str(recipe), "--out", str(out)], env={})
    assert result.exit_code == 0, result.output
    assert f"token={KEY}" in out.read_text()


def test_a_problem_quoting_the_key_shows_it_as_stars(tmp_path: Path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(RECIPE.replace("voice: Sophia", f"voice: {KEY}"))
    result = CliRunner().invoke(cli, ["validate", str(path)], env=ENV)
    assert result.exit_code == 1
    assert "***" in result.output
    for form in forms_of(KEY):
        assert form not in result.output

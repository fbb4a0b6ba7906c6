"""README's promises stay true: CI runs the test command README gives, verbatim."""

from __future__ import annotations

import re
from pathlib import Path

REPO = Path(__file__).parents[1]


def readme_commands() -> list[str]:
    text = (REPO / "README.md").read_text(encoding="utf-8")
    return re.findall(r"```sh\n(.+?)\n```", text, flags=re.S)[:2]


def test_readme_opens_with_an_install_and_run_command_and_a_test_command() -> None:
    install, tests = readme_commands()
    assert "pip install '.[test]'" in install and "lipflow " in install
    assert tests == "python -m pytest"


def test_ci_runs_exactly_the_readme_test_command() -> None:
    _, tests = readme_commands()
    ci_lines = (REPO / ".ci" / "run").read_text(encoding="utf-8").splitlines()
    assert tests in ci_lines


def test_the_recipe_example_in_the_readme_is_valid(tmp_path: Path) -> None:
    from click.testing import CliRunner

    from lipflow.cli import cli

    text = (REPO / "README.md").read_text(encoding="utf-8")
    (example,) = re.findall(r"```yaml\n(.+?)```", text, flags=re.S)
    (tmp_path / "media").symlink_to(REPO / "recipes" / "media")
    (tmp_path / "example.yaml").write_text(example, encoding="utf-8")
    result = CliRunner().invoke(cli, ["validate", str(tmp_path / "example.yaml")])
    assert result.exit_code == 0, result.output
    assert result.output.strip().endswith(": valid"), "no warnings either"

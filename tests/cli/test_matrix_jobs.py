"""What a step's matrix makes, through ``validate`` and ``plan``: GitHub Actions' documented
matrix rules (every combination one paid job, none made twice), and any two jobs that would
share one id refused at the value that makes them, before anything is paid for."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from lipflow.cli import cli

REPO = Path(__file__).parents[2]


def _recipe(matrix: str, tts: str = "{text: hello, voice: Sophia}") -> str:
    return (
        "version: 1\ninputs: {presenter: {video: media/presenter.mp4}}\nsteps:\n  s:\n"
        f"    matrix: {matrix}\n    lipsync: {{video: presenter, tts: {tts}}}\n"
    )


def _invoke(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, list(args))
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    return result.exit_code, result.stdout, result.stderr


@pytest.fixture
def recipe(tmp_path: Path) -> Path:
    (tmp_path / "media").symlink_to(REPO / "recipes" / "media")
    return tmp_path / "recipe.yaml"


def _job_ids(path: Path) -> list[str]:
    code, out, err = _invoke("plan", "--format", "json", str(path))
    assert code == 0, err
    return [job["id"] for job in json.loads(out)["jobs"]]


def test_include_alone_makes_exactly_its_entries(recipe: Path) -> None:
    recipe.write_text(
        _recipe(
            "{include: [{line: Hola}, {line: Bonjour}]}",
            "{text: \"{{ matrix.line | default('Hello') }}\", voice: Sophia}",
        )
    )
    assert _job_ids(recipe) == ["s[line=Hola]", "s[line=Bonjour]"]


def test_include_alone_gives_every_job_its_values(recipe: Path) -> None:
    recipe.write_text(
        _recipe(
            "{include: [{voice: Sophia}, {voice: Liam}]}",
            '{text: hello, voice: "{{ matrix.voice }}"}',
        )
    )
    assert _job_ids(recipe) == ["s[voice=Sophia]", "s[voice=Liam]"]


def test_an_include_naming_no_matrix_key_extends_every_combination(recipe: Path) -> None:
    recipe.write_text(
        _recipe(
            "{voice: [Sophia, Liam], include: [{line: Hola}]}",
            '{text: "{{ matrix.line }}", voice: "{{ matrix.voice }}"}',
        )
    )
    assert _job_ids(recipe) == ["s[voice=Sophia,line=Hola]", "s[voice=Liam,line=Hola]"]

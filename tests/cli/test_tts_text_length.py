"""A text-to-speech text over the model's documented length is one problem, at its line, saying
what to do; not also the provider schema's maxLength, which states the same documented limit."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from lipflow.cli import cli

RECIPE = """\
version: 1
name: long-line
inputs:
  presenter:
    video: https://example.com/presenter.mp4
steps:
  hello:
    use: {model}
    lipsync:
      video: presenter
      tts:
        text: "{text}"
        voice: Sophia
"""


@pytest.mark.parametrize("model", ["runware/pixverse-lipsync", "pixverse/lipsync"])
@pytest.mark.parametrize("length", [201, 299])
def test_a_text_over_the_limit_is_one_error_that_says_split_it(
    model: str, length: int, tmp_path: Path
) -> None:
    recipe = tmp_path / "long.yaml"
    recipe.write_text(RECIPE.format(model=model, text="a" * length))

    result = CliRunner().invoke(cli, ["validate", str(recipe)])

    assert result.exit_code == 1, result.output
    errors = [line for line in result.output.splitlines() if ": error " in line]
    assert len(errors) == 1, result.output
    assert errors[0].startswith(
        f"{recipe}:12:15: error [job hello] at $.steps.hello.lipsync.tts.text"
    )
    assert f"the text-to-speech text is {length} characters" in errors[0]
    assert "split it across segments or shorten it" in errors[0]
    assert "1 error(s)" in result.output


def test_a_text_at_the_limit_is_valid(tmp_path: Path) -> None:
    recipe = tmp_path / "long.yaml"
    recipe.write_text(RECIPE.format(model="runware/pixverse-lipsync", text="a" * 200))

    result = CliRunner().invoke(cli, ["validate", str(recipe)])

    assert result.exit_code == 0, result.output

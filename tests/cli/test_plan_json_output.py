"""`lipflow plan --format json` and `--out` write the plan job by job, and the bytes are the same
as the whole document dumped at once (``json.dumps(..., indent=2, ensure_ascii=False)``)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from lipflow.cli import cli
from lipflow.cli.environment import environ
from lipflow.plan import plan_file

REPO = Path(__file__).parents[2]

UNICODE_MATRIX = """\
version: 1
name: "dub — ñ 日本"
inputs:
  clip: {video: "https://example.com/clip.mp4", duration: 9}
steps:
  dub:
    use: runware/pixverse-lipsync
    matrix:
      line: ["Hola,\\nmundo — ¿qué tal?", "日本語の \\"台詞\\"", "tab\\there"]
    lipsync:
      video: clip
      tts: {text: "{{ matrix.line }}", voice: Sophia}
"""


def _recipes(tmp_path: Path) -> list[Path]:
    unicode_recipe = tmp_path / "unicode.yaml"
    unicode_recipe.write_text(UNICODE_MATRIX, encoding="utf-8")
    return [
        REPO / "recipes" / "quickstart.yaml",
        REPO / "recipes" / "dub_matrix.yaml",
        unicode_recipe,
    ]


@pytest.mark.parametrize("which", [0, 1, 2], ids=["quickstart", "dub_matrix", "unicode-matrix"])
def test_plan_json_on_stdout_and_in_out_are_the_whole_document_dumped_at_once(
    tmp_path: Path, which: int
) -> None:
    recipe = _recipes(tmp_path)[which]
    saved = tmp_path / "plan.json"
    result = CliRunner().invoke(cli, ["plan", str(recipe), "--format", "json", "--out", str(saved)])
    assert result.exit_code == 0, result.stderr
    expected = plan_file(str(recipe), env=environ()).to_json()
    printed = json.loads(result.stdout)
    assert result.stdout == _dumped(expected | {"already_paid": printed["already_paid"]})
    assert (
        saved.read_text(encoding="utf-8")
        == json.dumps(expected, indent=2, ensure_ascii=False) + "\n"
    )
    assert len(expected["jobs"]) >= 1


def test_a_plan_of_no_jobs_writes_an_empty_jobs_list_and_its_errors(tmp_path: Path) -> None:
    recipe = tmp_path / "none.yaml"
    recipe.write_text(UNICODE_MATRIX.replace("runware/pixverse-lipsync", "runware/no-such-model"))
    result = CliRunner().invoke(cli, ["plan", str(recipe), "--format", "json"])
    assert result.exit_code == 1
    expected = plan_file(str(recipe), env=environ()).to_json()
    assert expected["jobs"] == [] and expected["errors"]
    printed = json.loads(result.stdout)
    assert result.stdout == _dumped(expected | {"already_paid": printed["already_paid"]})


def _dumped(doc: object) -> str:
    return json.dumps(doc, indent=2, ensure_ascii=False) + "\n"

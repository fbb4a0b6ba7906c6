"""Subtitle files and scripts as `lipflow plan --lines` reads them: lenient where the formats
are loose, and every problem placed at its cue (`es.srt:42`) or cell (`lines.csv:17:3`).

Each file in ``files/`` has a ``NAME.expect.yaml`` with the lines it must give and the problems
it must report; each is read through a recipe, as a user would."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner

from lipflow.cli import cli

HERE = Path(__file__).parent / "files"
REPO = Path(__file__).parents[2]
CASES = sorted(p for p in HERE.iterdir() if not p.name.endswith(".expect.yaml"))
VIDEO = REPO / "recipes" / "media" / "interview.mp4"


def lines_recipe(tmp_path: Path, lines: Path, *, extra: str = "", step: str = "") -> Path:
    recipe = tmp_path / "dub.yaml"
    recipe.write_text(
        f"""version: 1
inputs:
  video: {{video: {VIDEO}}}
  lines: {{lines: {lines}}}
voices: {{Ana: Emily, Ben: James, SPEAKER_01: Liam}}
{extra or "fit: {tolerance: 30}"}
steps:
  dub:
    use: runware/pixverse-lipsync
    lipsync: {{video: video, lines: lines, voice: Sophia{step}}}
""",
        encoding="utf-8",
    )
    return recipe


def plan_lines(recipe: Path, fmt: str = "json") -> tuple[int, str]:
    result = CliRunner().invoke(cli, ["plan", "--lines", "--format", fmt, str(recipe)])
    return result.exit_code, result.stdout


def _at(problem: dict[str, Any]) -> str:
    return ":".join(str(problem[k]) for k in ("line", "column") if problem[k] is not None)


@pytest.mark.parametrize("file", CASES, ids=lambda p: p.name)
def test_lines_files_give_their_lines_and_located_problems(tmp_path: Path, file: Path) -> None:
    expect = yaml.safe_load(file.with_name(file.stem + ".expect.yaml").read_text())
    code, out = plan_lines(lines_recipe(tmp_path, file))
    report = json.loads(out)
    got = report["lines"]
    assert len(got) == len(expect["lines"]), got
    for line, wanted in zip(got, expect["lines"], strict=True):
        assert line["cue"] == wanted["cue"]
        assert (line["start"], line["end"]) == (wanted["start"], wanted["end"])
        assert line["text"] == wanted["text"]
        assert line["speaker"] == wanted.get("speaker")
        assert line["location"] == f"{file}:{wanted['at']}"
        if "voice" in wanted:
            assert line["voice"] == wanted["voice"]
    lines_problems = [p for p in report["problems"] if p["file"] == str(file)]
    for wanted in expect["problems"]:
        assert any(
            _at(p) == wanted["at"]
            and wanted["contains"] in p["message"]
            and p["severity"] == wanted.get("severity", "error")
            for p in lines_problems
        ), f"no problem matches {wanted}; got {json.dumps(lines_problems, indent=1)}"
    assert len(lines_problems) == len(expect["problems"]), lines_problems
    errors = any(p["severity"] == "error" for p in report["problems"])
    assert code == (1 if errors else 0)


def test_located_problems_are_in_the_text_and_csv_tables_too(tmp_path: Path) -> None:
    recipe = lines_recipe(tmp_path, HERE / "broken.srt")
    code, text = plan_lines(recipe, "text")
    assert code == 1
    assert f"{HERE / 'broken.srt'}:6:14: error" in text
    code, table = plan_lines(recipe, "csv")
    assert code == 1
    rows = table.splitlines()
    assert rows[0].endswith(",job,problems")
    assert any(
        row.startswith(f"dub,6,{HERE / 'broken.srt'}:21,") and "must not overlap" in row
        for row in rows
    )
    assert any(
        f",{HERE / 'broken.srt'}:10," in row and "not after its start" in row for row in rows
    )


def test_a_lines_file_that_cannot_be_read_is_a_problem_at_the_input(tmp_path: Path) -> None:
    code, out = plan_lines(lines_recipe(tmp_path, tmp_path / "missing.srt"))
    assert code == 2  # a file that cannot be read, as README's exit code table says
    (problem,) = json.loads(out)["problems"]
    assert problem["file"] == str(tmp_path / "dub.yaml")
    assert problem["line"] == 4 and problem["path"] == "$.inputs.lines.lines"
    assert "missing.srt: no such file" in problem["message"]


def test_lines_must_name_a_lines_input(tmp_path: Path) -> None:
    recipe = lines_recipe(tmp_path, HERE / "lenient.srt")
    recipe.write_text(recipe.read_text().replace("lines: lines,", "lines: line,"))
    code = CliRunner().invoke(cli, ["validate", "--format", "json", str(recipe)])
    assert code.exit_code == 1
    (problem,) = json.loads(code.stdout)["problems"]
    assert problem["suggestion"] == "lines"
    assert "lines 'line' is not an input of this recipe" in problem["message"]


@pytest.mark.parametrize(
    ("lines", "message"),
    [
        (
            "{video: other.mp4}",
            "input 'lines' is video, but lines (a subtitle file or script) are wanted",
        ),
        ("{lines: 'https://example.com/es.srt'}", "lines are read from a local file"),
    ],
    ids=["not-lines", "url"],
)
def test_lines_must_be_a_local_lines_file(tmp_path: Path, lines: str, message: str) -> None:
    recipe = lines_recipe(tmp_path, HERE / "lenient.srt")
    recipe.write_text(
        recipe.read_text().replace(f"lines: {{lines: {HERE / 'lenient.srt'}}}", f"lines: {lines}")
    )
    code, out = plan_lines(recipe)
    assert code == 1
    (problem,) = json.loads(out)["problems"]
    assert message in problem["message"] and problem["file"] == str(recipe)


def test_a_subtitle_file_saved_as_windows_1252_is_refused_where_its_first_bad_byte_is(
    tmp_path: Path,
) -> None:
    """A subtitle exported by an older Windows tool is Windows-1252, not UTF-8: lipflow refuses
    it as a file it cannot read (exit 2, as README's table says), at the line and column of the
    first byte that is not UTF-8, saying what the byte would be and how to fix the file."""
    srt = tmp_path / "es.srt"
    srt.write_bytes("1\n00:00:01,000 --> 00:00:03,000\nSeñor, ¿qué tal?\n".encode("cp1252"))

    code, out = plan_lines(lines_recipe(tmp_path, srt))

    assert code == 2
    (problem,) = json.loads(out)["problems"]
    assert (problem["file"], problem["line"], problem["column"]) == (str(srt), 3, 3)
    assert problem["code"] == "unreadable"
    assert "not UTF-8" in problem["message"] and "0xF1" in problem["message"]
    assert "Windows-1252" in problem["message"] and "'ñ'" in problem["message"]
    assert "save it as UTF-8" in problem["message"]

    result = CliRunner().invoke(cli, ["validate", str(lines_recipe(tmp_path, srt))])
    assert result.exit_code == 2, result.output
    assert f"{srt}:3:3: error" in result.output
    result = CliRunner().invoke(
        cli, ["run", str(lines_recipe(tmp_path, srt)), "--mock", "--out", str(tmp_path / "o")]
    )
    assert result.exit_code == 2, result.output

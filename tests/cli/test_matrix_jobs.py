"""What a step's matrix makes, through ``validate`` and ``plan``: GitHub Actions' documented
matrix rules (every combination one paid job, none made twice), and any two jobs that would
share one id refused at the value that makes them, before anything is paid for."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.cli.invoking import invoke as _invoke

REPO = Path(__file__).parents[2]


def _recipe(matrix: str, tts: str = "{text: hello, voice: Sophia}") -> str:
    return (
        "version: 1\ninputs: {presenter: {video: media/presenter.mp4}}\nsteps:\n  s:\n"
        f"    matrix: {matrix}\n    lipsync: {{video: presenter, tts: {tts}}}\n"
    )


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


def _problems(path: Path) -> list[dict[str, object]]:
    """The problems ``validate`` reports (exit 1), after ``plan`` refused the recipe too."""
    code, _, err = _invoke("plan", str(path))
    assert code == 1, err
    code, out, _ = _invoke("validate", "--format", "json", str(path))
    assert code == 1, out
    problems: list[dict[str, object]] = json.loads(out)["problems"]
    return problems


@pytest.mark.parametrize(
    ("matrix", "tts", "at", "column", "words"),
    [
        (
            "{voice: [Sophia, Liam, Sophia]}",
            '{text: hello, voice: "{{ matrix.voice }}"}',
            "voice[2]",
            36,
            "voice 'Sophia' is listed twice; each matrix value makes one job",
        ),
        (
            "{line: [1, '1']}",
            '{text: "{{ matrix.line }}", voice: Sophia}',
            "line[1]",
            24,
            "line '1' and line[0] 1 differ, but both make the job id part 'line=1'",
        ),
    ],
    ids=["listed-twice", "written-alike"],
)
def test_a_matrix_value_that_repeats_another_is_refused_where_written(
    recipe: Path, matrix: str, tts: str, at: str, column: int, words: str
) -> None:
    recipe.write_text(_recipe(matrix, tts))
    [problem] = _problems(recipe)
    assert problem["path"] == f"$.steps.s.matrix.{at}"
    assert (problem["line"], problem["column"]) == (5, column)
    assert words in str(problem["message"])


def test_an_include_entry_that_repeats_a_combination_is_refused_at_the_entry(
    recipe: Path,
) -> None:
    recipe.write_text(
        _recipe(
            "{voice: [Sophia], include: [{voice: Liam}, {voice: Liam}]}",
            '{text: hello, voice: "{{ matrix.voice }}"}',
        )
    )
    [problem] = _problems(recipe)
    assert problem["path"] == "$.steps.s.matrix.include[1]"
    assert "makes job 's[voice=Liam]', which an earlier combination already makes" in str(
        problem["message"]
    )


def test_a_matrix_key_named_like_an_upstream_key_cannot_make_two_jobs_of_one_id(
    recipe: Path,
) -> None:
    recipe.write_text(
        "version: 1\ninputs: {presenter: {video: media/presenter.mp4}}\nsteps:\n"
        "  gen:\n    matrix: {n: [1, 2]}\n    generate: {prompt: 'cat {{ matrix.n }}'}\n"
        "  voice:\n    matrix: {n: [1]}\n"
        "    lipsync: {video: steps.gen, tts: {text: hi, voice: Sophia}}\n"
    )
    [problem] = _problems(recipe)
    assert problem["path"] == "$.steps.voice.matrix"
    assert "step 'voice' would make two jobs of one id" in str(problem["message"])


def test_a_matrix_key_named_line_on_a_lines_step_cannot_make_two_jobs_of_one_id(
    recipe: Path,
) -> None:
    recipe.write_text(
        "version: 1\ninputs:\n  interview: {video: media/interview.mp4}\n"
        "  es: {lines: media/interview.es.srt, language: es}\n"
        "voices: {SPEAKER_01: Sophia, SPEAKER_02: Liam}\nsteps:\n  dub:\n"
        "    matrix: {line: [a, b]}\n    use: runware/pixverse-lipsync\n"
        "    lipsync: {video: interview, lines: es}\n"
    )
    [problem] = _problems(recipe)
    assert "step 'dub' would make two jobs of one id" in str(problem["message"])


def test_run_never_starts_a_plan_with_a_repeated_matrix_value(recipe: Path) -> None:
    recipe.write_text(
        _recipe("{voice: [Sophia, Liam, Sophia]}", '{text: hello, voice: "{{ matrix.voice }}"}')
    )
    out = recipe.parent / "out"
    code, _, err = _invoke("run", "--mock", "--out", str(out), str(recipe))
    assert code == 1 and "voice 'Sophia' is listed twice" in err, err
    assert not out.exists()

"""``--max-jobs`` bounds every job a plan would make, not only a matrix's: a job per subtitle
line, a job per piece of a long input. A step past it is refused before its jobs are built,
with the same message as a matrix past it, at the lines input or the cut that makes them."""

from __future__ import annotations

import json
from pathlib import Path

from tests.cli.invoking import invoke as _invoke

REPO = Path(__file__).parents[2]


def _dub_from_lines(folder: Path, cues: int, matrix: str = "") -> Path:
    """A dub of ``cues`` one-line subtitles, 10 ms each, spoken by text-to-speech."""
    srt = "".join(
        f"{i + 1}\n00:00:00,{i * 10:03d} --> 00:00:00,{i * 10 + 10:03d}\nhola\n\n"
        for i in range(cues)
    )
    (folder / "cues.srt").write_text(srt, encoding="utf-8")
    path = folder / "recipe.yaml"
    path.write_text(
        "version: 1\ninputs:\n  interview: {video: media/interview.mp4}\n"
        "  es: {lines: cues.srt, language: es}\nsteps:\n  dub:\n"
        f"{matrix}    use: runware/pixverse-lipsync\n"
        "    lipsync: {video: interview, lines: es, voice: Sophia}\n",
        encoding="utf-8",
    )
    return path


def _refused(path: Path, max_jobs: str) -> dict[str, object]:
    """The one problem ``validate`` reports, after ``plan`` refused the recipe too."""
    code, _, err = _invoke("plan", "--max-jobs", max_jobs, str(path))
    assert code == 1, err
    code, out, _ = _invoke("validate", "--format", "json", "--max-jobs", max_jobs, str(path))
    assert code == 1, out
    [problem] = json.loads(out)["problems"]
    assert problem["code"] == "too-many-jobs"
    return dict(problem)


def test_a_job_per_subtitle_line_counts_toward_max_jobs(folder: Path) -> None:
    path = _dub_from_lines(folder, 11)
    problem = _refused(path, "10")
    assert problem["message"] == (
        "step 'dub' would make 11 jobs (11 lines of input 'es', one job each); a plan holds at "
        "most 10: narrow it, or raise the bound with --max-jobs"
    )
    assert (problem["path"], problem["line"], problem["column"]) == ("$.inputs.es.lines", 4, 15)
    code, out, err = _invoke("plan", "--format", "json", "--max-jobs", "11", str(path))
    assert code == 0, err
    assert len(json.loads(out)["jobs"]) == 11


def test_lines_of_every_matrix_combination_count_toward_max_jobs(folder: Path) -> None:
    path = _dub_from_lines(folder, 6, matrix="    matrix: {take_name: [a, b]}\n")
    problem = _refused(path, "11")
    assert "would make 12 jobs (2 x 6 lines of input 'es', one job each)" in str(problem["message"])


def test_a_job_per_piece_of_a_long_input_counts_toward_max_jobs(folder: Path) -> None:
    path = folder / "recipe.yaml"
    path.write_text(
        "version: 1\ninputs:\n  interview: {video: media/long_interview.mp4}\n"
        "  voice: {audio: media/long_interview_voice.mp3}\nsteps:\n  dub:\n"
        "    cut: {at: [10, 20, 30, 40, 50, 60, 70, 80, 90, 100, 110, 120]}\n"
        "    lipsync: {video: interview, audio: voice}\n",
        encoding="utf-8",
    )
    problem = _refused(path, "12")
    assert "would make 13 jobs (13 pieces of a long input, one job each)" in str(problem["message"])
    assert problem["path"] == "$.steps.dub.cut.at"
    out = folder / "out"
    code, _, err = _invoke("run", "--mock", "--max-jobs", "12", "--out", str(out), str(path))
    assert code == 1 and "a plan holds at most 12" in err, err
    assert not out.exists(), "nothing is run from a plan past the bound"

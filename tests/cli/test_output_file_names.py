"""An output's file name is made from its job id, and stays a name the filesystem takes: a job id
of a few long matrix values once made one over 255 bytes, so the output of a job already paid
for could not be saved."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from click.testing import CliRunner

from lipflow.cli import cli
from lipflow.run.downloads import MAX_STEM

LONG = "x" * 140
RECIPE = f"""\
version: 1
name: long-names
inputs:
  presenter:
    video: https://example.com/presenter.mp4
steps:
  dub:
    use: runware/pixverse-lipsync
    matrix:
      line: ["Hello there", "Good morning"]
      note: ["{LONG}"]
      take: ["{LONG}"]
    lipsync:
      video: presenter
      tts:
        text: "{{{{ matrix.line }}}}"
        voice: Sophia
"""


def _run(recipe: Path, out: Path) -> tuple[int, dict[str, Any], str]:
    result = CliRunner().invoke(
        cli, ["run", str(recipe), "--mock", "--out", str(out), "--format", "json"]
    )
    report = json.loads(result.stdout) if result.stdout.strip() else {}
    return result.exit_code, report, result.stderr


def test_jobs_with_long_ids_save_their_outputs_under_names_the_filesystem_takes(
    tmp_path: Path,
) -> None:
    recipe = tmp_path / "long.yaml"
    recipe.write_text(RECIPE)

    code, report, err = _run(recipe, tmp_path / "out")

    assert code == 0, err
    jobs = report["jobs"]
    assert isinstance(jobs, list) and len(jobs) == 2
    names = [Path(job["outputs"][0]["path"]).name for job in jobs]
    assert all(len(name.encode()) < 255 for name in names)
    assert all(len(Path(name).stem) <= MAX_STEM for name in names)
    assert len(set(names)) == 2, "two jobs cut alike still get names of their own"
    assert all(name.startswith("dub_line-") for name in names)


def test_a_run_of_long_ids_resumes_to_the_same_files_without_paying_again(
    tmp_path: Path,
) -> None:
    recipe = tmp_path / "long.yaml"
    recipe.write_text(RECIPE)
    _, first, _ = _run(recipe, tmp_path / "out")

    code, again, err = _run(recipe, tmp_path / "out")

    assert code == 0, err
    assert [job["outputs"] for job in again["jobs"]] == [job["outputs"] for job in first["jobs"]]
    assert again["requests"] == 0, "nothing is asked of the provider again"
    assert "submitting" not in err

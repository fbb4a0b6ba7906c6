"""An output's file name is made from its job id, and stays a name the filesystem takes: a job id
of a few long matrix values once made one over 255 bytes, so the output of a job already paid
for could not be saved."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from click.testing import CliRunner

from lipflow.cli import cli
from lipflow.filenames import MAX_STEM

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


def _matrix_recipe(folder: Path, values: str) -> Path:
    """A TTS lip sync per ``lang`` of ``values`` (a YAML flow sequence)."""
    recipe = folder / "langs.yaml"
    recipe.write_text(
        "version: 1\nname: langs\ninputs:\n  presenter: {video: https://example.com/p.mp4}\n"
        f"steps:\n  dub:\n    use: runware/pixverse-lipsync\n    matrix:\n      lang: {values}\n"
        "    lipsync:\n      video: presenter\n"
        "      tts: {text: 'Hello {{ matrix.lang }}', voice: Sophia}\n",
        encoding="utf-8",
    )
    return recipe


def _outputs(report: dict[str, Any]) -> dict[str, Path]:
    return {job["id"]: Path(job["outputs"][0]["path"]) for job in report["jobs"]}


def test_matrix_values_in_any_script_name_their_outputs_readably_and_apart(
    tmp_path: Path,
) -> None:
    """Letters of every script are kept (they were all '_': 日本語 and 中文 both made
    ``dub_lang-``), in one Unicode form whatever the recipe's (``español`` written decomposed)."""
    recipe = _matrix_recipe(tmp_path, '[日本語, 中文, "espan\\u0303ol", "a<b>?"]')

    code, report, err = _run(recipe, tmp_path / "out")

    assert code == 0, err
    names = {job_id: path.name for job_id, path in _outputs(report).items()}
    assert sorted(names.values()) == sorted(
        ["dub_lang-日本語.mp4", "dub_lang-中文.mp4", "dub_lang-español.mp4", "dub_lang-a_b.mp4"]
    )
    assert all(path.is_file() for path in _outputs(report).values())


def test_a_job_never_writes_over_the_output_the_journal_keeps_for_another(
    tmp_path: Path,
) -> None:
    """Two values that name files alike (``a/b``, ``a:b``): the second job is told apart by a
    tag, but which is second used to be the plan's order. A value added in front made the new
    job take the name of the output already paid for, and write over it (data lost)."""
    out = tmp_path / "out"
    _, first, _ = _run(_matrix_recipe(tmp_path, '["a/b"]'), out)
    paid = _outputs(first)["dub[lang=a/b]"]
    kept = paid.read_bytes()

    code, again, err = _run(_matrix_recipe(tmp_path, '["a:b", "a/b"]'), out)

    assert code == 0, err
    outputs = _outputs(again)
    assert outputs["dub[lang=a/b]"] == paid and paid.read_bytes() == kept
    assert outputs["dub[lang=a:b]"] != paid and outputs["dub[lang=a:b]"].is_file()


def test_outputs_an_older_lipflow_named_stay_where_they_are_and_are_not_fetched_again(
    tmp_path: Path,
) -> None:
    """An out directory whose outputs were named before letters of every script were kept
    (``dub_lang-.mp4``): the journal's path is the output's; nothing is asked again."""
    import sqlite3
    from contextlib import closing

    recipe, out = _matrix_recipe(tmp_path, "[日本語]"), tmp_path / "out"
    _, first, _ = _run(recipe, out)
    (path,) = _outputs(first).values()
    old = path.with_name("dub_lang-.mp4")
    path.rename(old)
    with closing(sqlite3.connect(out / "lipflow-journal.sqlite")) as db, db:
        db.execute("UPDATE outputs SET path = ?", (old.name,))

    code, again, err = _run(_matrix_recipe(tmp_path, "[中文, 日本語]"), out)

    assert code == 0, err
    outputs = _outputs(again)
    assert outputs["dub[lang=日本語]"].name == "dub_lang-.mp4" and old.is_file()
    assert outputs["dub[lang=中文]"].name == "dub_lang-中文.mp4"
    assert again["counts"] == {"done": 2}
    assert again["requests"] == first["requests"], "what one job asks: 中文's, nothing for 日本語"


def test_a_long_value_in_a_script_of_wide_characters_names_a_file_the_filesystem_takes(
    tmp_path: Path,
) -> None:
    """Kept letters of other scripts take 2-4 bytes each: a stem is cut by bytes, on a
    character's edge, not by characters (140 of them were 420 bytes, over the 255 allowed)."""
    recipe = _matrix_recipe(tmp_path, f"[{'語' * 140}, {'語' * 139}]")

    code, report, err = _run(recipe, tmp_path / "out")

    assert code == 0, err
    names = [path.name for path in _outputs(report).values()]
    assert len(set(names)) == 2
    assert all(len(Path(name).stem.encode()) <= MAX_STEM for name in names)
    assert all(name.startswith("dub_lang-語語") for name in names)

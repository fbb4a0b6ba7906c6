"""A job is its content (issue 8, item 1): its key comes from what the provider is asked to do,
so edits that do not change a job keep it (and its finished output), and a new take is explicit.
Through ``lipflow plan`` and ``lipflow run`` against the mock."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from lipflow.cli import cli
from mock_server import MockServer

VIDEO = Path(__file__).parents[2] / "recipes" / "media" / "presenter.mp4"


def recipe(
    tmp: Path,
    name: str,
    langs: str = "[en, es]",
    es: str = "Hola.",
    *,
    head: str = "",
    before: str = "",
    take: str = "",
) -> Path:
    path = tmp / f"{name}.yaml"
    path.write_text(
        f"""{head}version: 1
name: dub
inputs:
  presenter:
    video: {VIDEO}
steps:
{before}  dub:
{take}    matrix:
      lang: {langs}
    lipsync:
      video: presenter
      tts:
        text: "{{{{ {{'en': 'Hello.', 'es': '{es}', 'fr': 'Salut.'}}[matrix.lang] }}}}"
        voice: Sophia
""",
        encoding="utf-8",
    )
    return path


UNRELATED = """  intro:
    lipsync:
      video: presenter
      tts: {text: "Something else entirely.", voice: Liam}
"""


def keys(path: Path) -> dict[str, str]:
    result = CliRunner().invoke(cli, ["plan", str(path), "--format", "json"])
    assert result.exit_code == 0, result.stderr
    return {job["id"]: job["key"] for job in json.loads(result.stdout)["jobs"]}


def live(mock: MockServer) -> dict[str, str]:
    """Runware pointed at the mock, as if it were the real API."""
    return {"LIPFLOW_RUNWARE_URL": mock.urls.runware, "RUNWARE_API_KEY": "k"}


def run(mock: MockServer, path: Path, out: Path, *extra: str) -> dict[str, Any]:
    result = CliRunner().invoke(
        cli, ["run", str(path), "--out", str(out), "--format", "json", *extra], env=live(mock)
    )
    assert result.exit_code == 0, result.stderr
    report: dict[str, object] = json.loads(result.stdout)
    return report


def test_comments_step_order_unrelated_steps_and_added_cells_keep_every_key(
    tmp_path: Path,
) -> None:
    first = keys(recipe(tmp_path, "a"))
    edited = keys(recipe(tmp_path, "b", "[en, es, fr]", head="# a comment\n", before=UNRELATED))

    assert len(first) == 2 and all(edited[job] == key for job, key in first.items())
    assert len(edited) == 4


def test_a_changed_field_or_a_take_changes_only_that_jobs_key(tmp_path: Path) -> None:
    first = keys(recipe(tmp_path, "a"))
    changed = keys(recipe(tmp_path, "b", es="Buenas."))
    took = keys(recipe(tmp_path, "c", take="    take: 2\n"))

    (en, es) = sorted(first)
    assert changed[en] == first[en] and changed[es] != first[es]
    assert not set(took.values()) & set(first.values()), "take: 2 is a new take of every job"


def test_an_edited_recipe_into_the_same_out_dir_submits_only_new_and_changed_jobs(
    lipflow_mock: MockServer, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    run(lipflow_mock, recipe(tmp_path, "a"), out)
    lipflow_mock.simulator.journal.clear()

    report = run(lipflow_mock, recipe(tmp_path, "b", "[en, es, fr]", es="Buenas."), out)

    submitted = lipflow_mock.simulator.journal.records(op="submit")
    assert len(submitted) == 2, "es changed and fr is new; en is kept as it was"
    assert report["ok"] and len(lipflow_mock.simulator.jobs("runware")) == 4
    (gone,) = report["not_in_recipe"]
    assert gone["id"].startswith("dub[lang=es]@") and gone["state"] == "done"
    assert len(list(out.glob("dub_lang-es*.mp4"))) == 2, "the earlier es output is kept"


def test_the_same_job_in_another_out_dir_creates_no_provider_job(
    lipflow_mock: MockServer, tmp_path: Path
) -> None:
    path = recipe(tmp_path, "a")
    run(lipflow_mock, path, tmp_path / "one")

    report = run(lipflow_mock, path, tmp_path / "two")

    assert report["ok"] and len(lipflow_mock.simulator.jobs("runware")) == 2


def test_fresh_is_a_deliberate_new_take_with_new_idempotency_keys(
    lipflow_mock: MockServer, tmp_path: Path
) -> None:
    path, out = recipe(tmp_path, "a"), tmp_path / "out"
    first = run(lipflow_mock, path, out)

    fresh = run(lipflow_mock, path, out, "--fresh")
    resumed = run(lipflow_mock, path, out, "--resume")

    assert len(lipflow_mock.simulator.jobs("runware")) == 4, "two takes of two jobs, no more"
    uuids = {j["task_uuid"] for r in (first, fresh) for j in r["jobs"]}
    assert len(uuids) == 4
    assert [j["task_uuid"] for j in resumed["jobs"]] == [j["task_uuid"] for j in fresh["jobs"]]
    assert len(list(out.glob("*.mp4"))) == 4, "the first take's outputs are kept"


def test_a_job_paid_for_in_one_out_dir_costs_nothing_in_another_and_plan_says_so(
    lipflow_mock: MockServer, tmp_path: Path, _own_output_store: Path
) -> None:
    path = recipe(tmp_path, "a")
    run(lipflow_mock, path, tmp_path / "one")
    lipflow_mock.simulator.journal.clear()

    planned = CliRunner().invoke(cli, ["plan", str(path)], env=live(lipflow_mock))
    report = run(lipflow_mock, recipe(tmp_path, "b", "[en, es, fr]"), tmp_path / "two")

    assert "2 job(s) already paid for" in planned.stdout and "not spent again" in planned.stdout
    assert str(_own_output_store) in planned.stdout, "the plan says where the store is"
    assert report["ok"] and len(lipflow_mock.simulator.journal.records(op="submit")) == 1
    assert len(list((tmp_path / "two").glob("*.mp4"))) == 3


def test_the_output_store_keeps_to_its_size_cap(
    lipflow_mock: MockServer,
    tmp_path: Path,
    _own_output_store: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("LIPFLOW_CACHE_MAX_MB", "0.000001")
    run(lipflow_mock, recipe(tmp_path, "a"), tmp_path / "one")

    assert not list(_own_output_store.glob("*/*/entry.json")), "nothing fits in one byte"

    monkeypatch.setenv("LIPFLOW_CACHE_MAX_MB", "lots")
    result = CliRunner().invoke(cli, ["plan", str(recipe(tmp_path, "a"))])
    assert result.exit_code == 2 and "LIPFLOW_CACHE_MAX_MB='lots'" in result.stderr


def test_plan_names_the_field_that_changed_since_a_job_was_paid_for(
    lipflow_mock: MockServer, tmp_path: Path
) -> None:
    run(lipflow_mock, recipe(tmp_path, "a"), tmp_path / "one")

    edited = recipe(tmp_path, "b", es="Buenas.")
    planned = CliRunner().invoke(cli, ["plan", str(edited)], env=live(lipflow_mock))

    assert "1 job(s) already paid for" in planned.stdout
    assert "changed since it was paid for: dub[lang=es]: params.tts.text" in planned.stdout


def test_outputs_made_against_one_api_address_never_serve_a_plan_against_another(
    lipflow_mock: MockServer, tmp_path: Path
) -> None:
    path = recipe(tmp_path, "a")
    run(lipflow_mock, path, tmp_path / "one")

    planned = CliRunner().invoke(cli, ["plan", str(path)])  # the real Runware API

    assert planned.exit_code == 0 and "already paid for" not in planned.stdout


@pytest.mark.parametrize("store_mb", ["0", "500"], ids=["store-off", "store-on"])
def test_a_text_edited_back_or_a_renamed_step_is_not_bought_again_in_the_same_out_dir(
    lipflow_mock: MockServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, store_mb: str
) -> None:
    """The out directory's journal knows what it paid for by content: a job the recipe names
    again, under its old text or a new step name, is copied from the output it already has,
    whether or not the output store (off, evicted, another machine's) holds it."""
    monkeypatch.setenv("LIPFLOW_CACHE_MAX_MB", store_mb)
    out = tmp_path / "out"
    run(lipflow_mock, recipe(tmp_path, "a"), out)
    run(lipflow_mock, recipe(tmp_path, "b", es="Buenas."), out)
    lipflow_mock.simulator.journal.clear()

    back = run(lipflow_mock, recipe(tmp_path, "c"), out)  # "Hola." again
    renamed = recipe(tmp_path, "d")
    renamed.write_text(renamed.read_text().replace("  dub:\n", "  voiced:\n"))
    again = run(lipflow_mock, renamed, out)

    assert lipflow_mock.simulator.journal.records(op="submit") == [], "nothing bought again"
    assert back["counts"] == again["counts"] == {"done": 2}
    es = next(job for job in back["jobs"] if job["id"] == "dub[lang=es]")
    assert Path(es["outputs"][0]["path"]).stat().st_size > 0

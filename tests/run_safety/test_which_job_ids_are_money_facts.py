"""A provider's job id is a money fact (fsync'd, counted) only where the submit intent cannot
stand in for it. A Runware job's id is the taskUUID its intent already holds, and
``getTaskDetails`` (https://runware.ai/docs/platform/task-details) tells a resume whether it
landed: losing that id to a power cut leaves the job as a ``kill -9`` just after its submit
does, and the resume asks Runware instead of paying again. PixVerse and WaveSpeed assign ids of
their own and offer no lookup, so theirs stay fsync'd. Runs go through
``lipflow.run.runner.execute`` (what ``lipflow run`` calls) over the mock's in-process transport."""

from __future__ import annotations

import sqlite3
from contextlib import closing
from pathlib import Path

import pytest

from lipflow.run.journal import JOURNAL_NAME, Journal
from mock_server import Simulator
from tests.run_safety.hostile import Hostile
from tests.run_safety.test_only_the_provider_ends_a_job import run, submits

META = {"recipe_digest": "d", "recipe_file": "recipe.yaml", "target": "t"}
UUID = "4a3b1c2d-0000-4000-8000-000000000000"


def journal_rows(out: Path, sql: str) -> list[tuple[object, ...]]:
    with closing(sqlite3.connect(f"file:{out / JOURNAL_NAME}?mode=ro", uri=True)) as db:
        return db.execute(sql).fetchall()


def money_facts(out: Path) -> int:
    """The journal's count of money facts, which its sidecar must agree with."""
    (count,) = journal_rows(out, "SELECT value FROM meta WHERE key = 'facts'")[0]
    assert int((out / f"{JOURNAL_NAME}.facts").read_text()) == int(str(count))
    return int(str(count))


@pytest.mark.parametrize(
    ("provider", "facts_per_job"), [("runware", 1), ("pixverse", 2), ("wavespeed", 2)]
)
def test_a_job_id_is_a_money_fact_only_where_the_intent_cannot_stand_in_for_it(
    provider: str, facts_per_job: int, tmp_path: Path
) -> None:
    out = tmp_path / "out"

    report = run(provider, out, Hostile(Simulator(), 200, {}, polls=0))

    assert report["ok"], report
    jobs = len(report["jobs"])  # type: ignore[arg-type]
    assert money_facts(out) == jobs * facts_per_job


def test_a_job_id_that_is_no_money_fact_commits_at_once_and_is_not_counted(
    tmp_path: Path,
) -> None:
    out = tmp_path / "out"
    out.mkdir()
    with Journal.create_run(out / JOURNAL_NAME, META) as journal:
        journal.add_jobs([("a", "runware", "m", 0.1), ("b", "pixverse", "m", 0.1)])
        journal.defer_durable_commits(True)  # as the runner holds it
        journal.record_intent("a", 1, UUID)
        intent = journal.take_deferred()
        assert intent is not None, "the intent waits for its fsync'd commit"
        intent.commit()
        intent.finish(None)

        journal.record_submitted("a", UUID, money_fact=False)

        assert journal.take_deferred() is None, "committed before the call returned"
        assert journal_rows(out, "SELECT state FROM jobs WHERE id = 'a'") == [("submitted",)]
        assert money_facts(out) == 1


def test_a_runware_job_id_lost_to_a_power_cut_costs_a_lookup_not_a_second_submit(
    tmp_path: Path,
) -> None:
    sim = Simulator()
    out = tmp_path / "out"
    first = run("runware", out, Hostile(sim, 500, {"error": "down"}))
    assert {j["state"] for j in first["jobs"]} == {"submitted"}, first  # type: ignore[attr-defined]
    # A power cut keeps what was fsync'd, the intent and every fact before it, and may lose
    # every fact committed after it without an fsync: the job id, the notes of the failed polls.
    [(intent_seq,)] = journal_rows(out, "SELECT max(seq) FROM events WHERE state = 'submitting'")
    with closing(sqlite3.connect(out / JOURNAL_NAME)) as db, db:
        db.execute("DELETE FROM events WHERE seq > ?", (intent_seq,))
        db.execute("UPDATE jobs SET state = 'submitting', provider_job_id = NULL")
        db.execute("UPDATE attempts SET provider_job_id = NULL")

    second = run("runware", out, Hostile(sim, 200, {}, polls=0), resume=True)

    assert second["ok"], second
    assert len(sim.journal.records(provider="runware", op="find")) == 1, "getTaskDetails first"
    assert submits(sim, "runware") == 1, "never paid for twice"
    assert len(sim.jobs("runware")) == 1

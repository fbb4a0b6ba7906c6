"""What each of a job's facts costs the journal in SQL statements, and that the statements it
skips could not have changed anything: a job's outputs are still replaced whenever it has some."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest

from lipflow.run.journal import JOURNAL_NAME, Journal
from lipflow.run.state import OUTPUT_LOST, InvalidTransition, JobState

META = {"recipe_digest": "d", "recipe_file": "recipe.yaml", "target": "t"}
UUID = "4a3b1c2d-0000-4000-8000-000000000000"


@pytest.fixture
def journal(tmp_path: Path) -> Iterator[Journal]:
    with Journal.create_run(tmp_path / JOURNAL_NAME, META) as journal:
        journal.add_jobs([("a", "runware", "m", 0.1), ("b", "runware", "m", 0.1)])
        yield journal


def statements(journal: Journal) -> Counter[str]:
    """Every statement the journal runs from now on, by its first two words."""
    seen: Counter[str] = Counter()
    journal._db.set_trace_callback(lambda sql: seen.update([" ".join(sql.split()[:2])]))
    return seen


def a_job_bought_and_saved(journal: Journal, job_id: str, out: Path) -> None:
    """A Runware job's facts: its intent, its job id, its output's URL, its output saved."""
    journal.record_intent(job_id, 1, UUID)
    journal.record_submitted(job_id, UUID, money_fact=False)
    journal.record_outputs(job_id, [f"https://provider.example/{job_id}.mp4"])
    journal.record_file(job_id, 0, str(out / f"{job_id}.mp4"), 10, 1.0, last=True, sha256="0")


def test_a_job_without_outputs_runs_no_delete_of_its_outputs(
    journal: Journal, tmp_path: Path
) -> None:
    seen = statements(journal)
    a_job_bought_and_saved(journal, "a", tmp_path)
    assert seen["DELETE FROM"] == 0
    assert journal.job("a").state is JobState.DONE
    assert [o.url for o in journal.job("a").outputs] == ["https://provider.example/a.mp4"]


def test_a_job_submitted_again_loses_the_outputs_of_its_earlier_attempt(
    journal: Journal, tmp_path: Path
) -> None:
    a_job_bought_and_saved(journal, "a", tmp_path)
    journal.set_state("a", JobState.FAILED, error_class=OUTPUT_LOST)
    seen = statements(journal)
    journal.record_intent("a", 2, UUID)
    assert seen["DELETE FROM"] == 1
    assert journal.job("a").outputs == ()
    with Journal.open_run(journal.path) as reread:
        assert reread.job("a").outputs == ()


def test_outputs_fetched_again_replace_the_ones_journaled(journal: Journal, tmp_path: Path) -> None:
    a_job_bought_and_saved(journal, "a", tmp_path)
    journal.record_outputs("a", ["https://provider.example/again.mp4"])
    assert [o.url for o in journal.job("a").outputs] == ["https://provider.example/again.mp4"]
    assert journal.job("a").outputs[0].path is None


def test_outputs_a_refused_fact_deleted_are_still_known_to_be_there(
    journal: Journal, tmp_path: Path
) -> None:
    a_job_bought_and_saved(journal, "a", tmp_path)
    journal.record_outputs("a", ["https://provider.example/again.mp4"])  # downloading again
    a_job_bought_and_saved(journal, "b", tmp_path)
    with pytest.raises(InvalidTransition):  # "a" goes back to pending, then "b" (done) cannot
        journal.restart_at_a_new_mock(["a", "b"], "the mock's jobs are gone")
    assert [o.url for o in journal.job("a").outputs] == ["https://provider.example/again.mp4"]
    journal.record_file("a", 0, str(tmp_path / "a.mp4"), 10, 1.0, last=True)
    journal.set_state("a", JobState.FAILED, error_class=OUTPUT_LOST)
    journal.record_intent("a", 2, UUID)
    assert journal.job("a").outputs == ()


def sync_level_of_each_commit(journal: Journal) -> tuple[list[str], list[str]]:
    """From now on: the ``synchronous`` level SQLite was last told before each COMMIT, and every
    change of level the journal asked for."""
    levels: list[str] = []
    changes: list[str] = []

    def seen(sql: str) -> None:
        if sql.startswith("PRAGMA synchronous="):
            changes.append(sql.split("=", 1)[1])
        elif sql == "COMMIT":
            levels.append(changes[-1] if changes else "NORMAL")

    journal._db.set_trace_callback(seen)
    return levels, changes


def test_money_facts_commit_fsynced_and_in_a_row_share_one_change_of_level(
    journal: Journal, tmp_path: Path
) -> None:
    levels, changes = sync_level_of_each_commit(journal)
    journal.record_intent("a", 1, UUID)  # money facts, both
    journal.record_intent("b", 1, UUID)
    journal.record_submitted("a", UUID, money_fact=False)
    journal.record_submitted("b", "provider-job-b")  # a job id the intent cannot stand in for
    journal.record_outputs("a", ["https://provider.example/a.mp4"])
    assert levels == ["FULL", "FULL", "NORMAL", "FULL", "NORMAL"]
    assert changes == ["FULL", "NORMAL", "FULL", "NORMAL"]


def test_a_change_allowed_once_is_still_refused_for_another_reason(journal: Journal) -> None:
    """The journal remembers the changes of state it has checked: by their states and reason."""
    for job_id in ("a", "b"):
        journal.record_intent(job_id, 1, UUID)
        journal.record_submitted(job_id, UUID, money_fact=False)
    journal.set_state("a", JobState.FAILED, error_class="moderation")  # the provider's verdict
    with pytest.raises(InvalidTransition, match="only fails on the provider's word"):
        journal.set_state("b", JobState.FAILED, error_class="timeout")
    assert journal.job("b").state is JobState.SUBMITTED
    with pytest.raises(InvalidTransition, match="cannot go from failed to done"):
        journal.record_file("a", 0, "a.mp4", 10, 1.0, last=True)

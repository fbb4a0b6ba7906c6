"""Each money-protecting fact (a submit intent, a provider's job id) is its own transaction,
committed with ``synchronous=FULL`` before anything acts on it, whether the runner runs its
COMMIT (the fsync) on the loop (a disk that syncs quickly) or on a thread while the loop serves
other jobs (a slow one): no other fact touches the journal until that commit has ended, facts
commit in the order they were handed over, and a ``kill -9`` right after the commit still finds
the fact."""

from __future__ import annotations

import asyncio
import json
import signal
import sqlite3
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from contextlib import closing
from pathlib import Path

import pytest

from lipflow.run.journal import JOURNAL_NAME, Journal
from lipflow.run.writer import INLINE_SYNC_S, JournalWriter

META = {"recipe_digest": "d", "recipe_file": "recipe.yaml", "target": "t"}
UUID = "4a3b1c2d-0000-4000-8000-000000000000"
# Where the writer runs a money fact's COMMIT: on the writer's thread always (0, as on a slow
# disk), or on the loop while syncs are quick (the default; a sync slower than an hour would
# be needed to move it).
ON_THE_THREAD = 0.0
ON_THE_LOOP = 3600.0
WHERE = pytest.mark.parametrize(
    "inline_sync_s", [ON_THE_THREAD, ON_THE_LOOP], ids=["on-the-thread", "on-the-loop"]
)


def a_run(out: Path) -> Journal:
    out.mkdir()
    journal = Journal.create_run(out / JOURNAL_NAME, META)
    journal.add_jobs([("a", "runware", "m", 0.1), ("b", "runware", "m", 0.1)])
    return journal


@pytest.fixture
def deferring(tmp_path: Path) -> Iterator[tuple[Path, Journal]]:
    """A run's journal as the runner holds it: money facts' COMMITs left to the caller."""
    out = tmp_path / "out"
    with a_run(out) as journal:
        journal.defer_durable_commits(True)
        yield out, journal


def seen_by_another_process(out: Path, sql: str) -> list[tuple[object, ...]]:
    """What a reader elsewhere sees: only committed facts."""
    with closing(sqlite3.connect(f"file:{out / JOURNAL_NAME}?mode=ro", uri=True)) as db:
        return db.execute(sql).fetchall()


def sidecar(out: Path) -> int:
    return int((out / f"{JOURNAL_NAME}.facts").read_text())


def test_a_money_fact_left_to_commit_is_not_in_the_journal_and_holds_off_every_other_fact(
    deferring: tuple[Path, Journal],
) -> None:
    out, journal = deferring
    journal.record_intent("a", 1, UUID)
    deferred = journal.take_deferred()

    assert deferred is not None
    assert seen_by_another_process(out, "SELECT job_id FROM attempts") == []
    with pytest.raises(RuntimeError, match="waits for its commit"):
        journal.set_state("b", "failed", error_class="input")
    deferred.commit()
    assert seen_by_another_process(out, "SELECT job_id, task_uuid FROM attempts") == [("a", UUID)]
    deferred.finish(None)
    assert sidecar(out) == 1, "counted once committed"
    journal.set_state("b", "failed", error_class="input")  # the journal is free again


def test_a_note_or_state_change_commits_at_once_and_only_money_facts_wait_for_a_commit(
    deferring: tuple[Path, Journal],
) -> None:
    out, journal = deferring
    journal.note("a", "upload: not sent; sending again in 0.25 s")
    journal.set_state("b", "failed", error_class="input")

    assert journal.take_deferred() is None
    assert len(seen_by_another_process(out, "SELECT seq FROM events")) == 2


@WHERE
def test_the_writer_commits_facts_in_the_order_they_were_handed_over_each_money_fact_alone(
    tmp_path: Path, inline_sync_s: float
) -> None:
    out = tmp_path / "out"
    journal = a_run(out)

    async def main() -> bool:
        writer = JournalWriter(journal, late_error=lambda error: None, inline_sync_s=inline_sync_s)
        first = writer.commit(lambda j: j.record_intent("a", 1, UUID))
        ended_at_once = first.done()
        writer.commit_later(lambda j: j.note("a", "a note"))
        second = writer.commit(lambda j: j.record_intent("b", 1, None))
        third = writer.commit(lambda j: j.record_submitted("a", "job-1"))
        await asyncio.gather(first, second, third)
        await writer.close()
        return ended_at_once

    ended_at_once = asyncio.run(main())

    # On the loop, the fact is committed (fsync'd) before commit() returns; on the thread, the
    # job hears of it only once the loop has seen the thread's COMMIT end.
    assert ended_at_once is (inline_sync_s == ON_THE_LOOP)
    events = seen_by_another_process(out, "SELECT job_id, state, detail FROM events ORDER BY seq")
    assert [(job, state) for job, state, _ in events] == [
        ("a", "submitting"),
        ("a", "submitting"),  # the note, in its turn
        ("b", "submitting"),
        ("a", "submitted"),
    ]
    assert seen_by_another_process(out, "SELECT value FROM meta WHERE key = 'facts'") == [("3",)]
    assert sidecar(out) == 3
    journal.close()


def test_a_commit_runs_on_the_loop_only_while_the_disks_syncs_are_quick(tmp_path: Path) -> None:
    """The default pace: a COMMIT is on the loop while this disk's syncs average under
    INLINE_SYNC_S, on the writer's thread after slow ones."""
    out = tmp_path / "out"
    journal = a_run(out)

    async def main() -> tuple[bool, bool, list[tuple[object, ...]]]:
        writer = JournalWriter(journal, late_error=print, inline_sync_s=INLINE_SYNC_S)
        writer._pace._average = INLINE_SYNC_S * 10  # as after a run of slow syncs
        first = writer.commit(lambda j: j.record_intent("a", 1, UUID))
        slow = first.done()
        await first
        writer._pace._average = 0.0  # as after a run of quick ones
        second = writer.commit(lambda j: j.record_intent("b", 1, None))
        quick = second.done()
        seen = seen_by_another_process(out, "SELECT job_id FROM attempts WHERE job_id = 'b'")
        await second
        await writer.close()
        return slow, quick, seen

    slow, quick, seen = asyncio.run(main())

    assert not slow, "on the thread: the job waits for the loop to hear the commit ended"
    assert quick and seen == [("b",)], "on the loop: committed before commit() returned"
    journal.close()


CHILD = textwrap.dedent(
    """
    import asyncio, sys, time
    from pathlib import Path
    from lipflow.run.journal import JOURNAL_NAME, Journal
    from lipflow.run.writer import INLINE_SYNC_S, JournalWriter

    out = Path(sys.argv[1])
    journal = Journal.create_run(out / JOURNAL_NAME, {"target": "t", "recipe_digest": "d"})
    journal.add_jobs([("a", "runware", "m", 0.1)])

    async def main():
        writer = JournalWriter(journal, late_error=print, inline_sync_s=float(sys.argv[3]))
        await writer.commit(lambda j: j.record_intent("a", 1, sys.argv[2]))
        print("committed", flush=True)  # the submit would leave now
        time.sleep(60)

    asyncio.run(main())
    """
)


@WHERE
def test_a_kill_9_right_after_a_money_facts_commit_still_finds_the_fact(
    tmp_path: Path, inline_sync_s: float
) -> None:
    out = tmp_path / "out"
    out.mkdir()
    with subprocess.Popen(
        [sys.executable, "-c", CHILD, str(out), UUID, str(inline_sync_s)],
        stdout=subprocess.PIPE,
        text=True,
    ) as child:
        try:
            assert child.stdout is not None
            assert child.stdout.readline().strip() == "committed"
            child.send_signal(signal.SIGKILL)
        finally:
            child.wait(timeout=30)

    journal = Journal.open_run(out / JOURNAL_NAME)  # accepted: it holds what its sidecar counts

    assert journal.attempts("a") == [(1, UUID, None)]
    assert journal.job("a").state == "submitting"
    journal.close()


FAILING_CHILD = textwrap.dedent(
    """
    import asyncio, json, resource, signal, sys
    from pathlib import Path
    from lipflow.run.journal import JOURNAL_NAME, Journal
    from lipflow.run.writer import INLINE_SYNC_S, JournalWriter

    out = Path(sys.argv[1])
    journal = Journal.create_run(out / JOURNAL_NAME, {"target": "t", "recipe_digest": "d"})
    journal.add_jobs([("a", "runware", "m", 0.1), ("b", "runware", "m", 0.1)])

    async def main():
        writer = JournalWriter(journal, late_error=print, inline_sync_s=float(sys.argv[3]))
        # The WAL may not grow: the intent's COMMIT fails, as on a full disk.
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        wal = (out / (JOURNAL_NAME + "-wal")).stat().st_size
        resource.setrlimit(resource.RLIMIT_FSIZE, (wal, resource.RLIM_INFINITY))
        try:
            await writer.commit(lambda j: j.record_intent("a", 1, sys.argv[2]))
            failed = None
        except Exception as exc:
            failed = type(exc).__name__
        resource.setrlimit(resource.RLIMIT_FSIZE, (resource.RLIM_INFINITY,) * 2)
        await writer.commit(lambda j: j.record_intent("b", 1, sys.argv[2]))  # room again
        await writer.close()
        return failed

    failed = asyncio.run(main())
    print(json.dumps({"failed": failed, "a": journal.job("a").state, "b": journal.job("b").state}))
    journal.close()
    """
)


@WHERE
def test_a_money_fact_whose_commit_fails_is_not_in_the_journal_and_the_next_fact_commits(
    tmp_path: Path, inline_sync_s: float
) -> None:
    out = tmp_path / "out"
    out.mkdir()

    child = subprocess.run(
        [sys.executable, "-c", FAILING_CHILD, str(out), UUID, str(inline_sync_s)],
        capture_output=True,
        text=True,
        timeout=60,
    )

    assert child.returncode == 0, child.stderr
    said = json.loads(child.stdout.splitlines()[-1])
    assert said == {"failed": "OperationalError", "a": "pending", "b": "submitting"}
    assert sidecar(out) == 1, "only the fact that was committed is counted"


# The tables as lipflow made them before money facts dirtied fewer pages (rowid tables with a
# second index for their keys, events numbered with AUTOINCREMENT).
EARLIER_TABLES = """
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE jobs (id TEXT PRIMARY KEY, provider TEXT NOT NULL, model TEXT NOT NULL,
    state TEXT NOT NULL, attempt INTEGER NOT NULL DEFAULT 0, task_uuid TEXT,
    provider_job_id TEXT, estimated_usd REAL, reported_usd REAL, reported_credits INTEGER,
    error_class TEXT, error TEXT, updated_at REAL NOT NULL, job_key TEXT,
    take TEXT NOT NULL DEFAULT '');
CREATE TABLE attempts (job_id TEXT NOT NULL, attempt INTEGER NOT NULL, task_uuid TEXT,
    provider_job_id TEXT, at REAL NOT NULL, PRIMARY KEY (job_id, attempt));
CREATE TABLE uploads (job_id TEXT NOT NULL, role TEXT NOT NULL, value TEXT NOT NULL,
    at REAL NOT NULL, PRIMARY KEY (job_id, role));
CREATE TABLE outputs (job_id TEXT NOT NULL, idx INTEGER NOT NULL, url TEXT NOT NULL,
    expected_size INTEGER, path TEXT, size_bytes INTEGER, duration_s REAL, sha256 TEXT,
    PRIMARY KEY (job_id, idx));
CREATE TABLE events (seq INTEGER PRIMARY KEY AUTOINCREMENT, at REAL NOT NULL,
    job_id TEXT NOT NULL, state TEXT NOT NULL, detail TEXT);
INSERT INTO meta VALUES ('schema', '1'), ('target', 't'), ('facts', '0'), ('open', '0');
"""


def test_a_journal_with_the_earlier_tables_keeps_them_and_takes_every_fact_of_a_job(
    tmp_path: Path,
) -> None:
    path = tmp_path / JOURNAL_NAME
    with closing(sqlite3.connect(path)) as db:
        db.executescript(EARLIER_TABLES)

    with Journal.open_run(path) as journal:
        journal.add_jobs([("a", "runware", "m", 0.1)])
        journal.record_upload("a", "audio", {"audioUUID": "u"})
        journal.record_intent("a", 1, UUID)
        journal.note("a", "a note")
        journal.record_submitted("a", "job-1")
        journal.record_outputs("a", ["https://cdn.example/a.mp4"], [10])
        journal.record_file("a", 0, str(tmp_path / "a.mp4"), 10, 1.0, last=True)
        assert journal.job("a").state == "done"
        assert journal.attempts("a") == [(1, UUID, "job-1")]
        assert journal.uploads("a") == {"audio": {"audioUUID": "u"}}
        assert [state for _, _, state, _ in journal.events("a")] == [
            "submitting",
            "submitting",
            "submitted",
            "downloading",
            "done",
        ]

    with closing(sqlite3.connect(path)) as db:
        kept = db.execute("SELECT sql FROM sqlite_master WHERE name = 'events'").fetchone()[0]
        numbered = db.execute("SELECT seq FROM sqlite_sequence WHERE name = 'events'").fetchone()
    assert "AUTOINCREMENT" in kept and numbered == (5,)
    assert sidecar(tmp_path) == 2

"""The journal cannot be mistaken (issue 8, item 4; issue 9's journal faults): an out directory
whose journal is empty, damaged, locked, copied without its -wal file, or contradicted by the
outputs beside it is refused with exit 6 and a message saying what to do; nothing is sent."""

from __future__ import annotations

import shutil
import signal
import sqlite3
import subprocess
import sys
from contextlib import closing
from pathlib import Path

import pytest
from click.testing import CliRunner

from lipflow.cli import cli
from lipflow.errors import JournalUnusable
from lipflow.run.journal import JOURNAL_NAME, Journal
from mock_server import MockServer

RECIPE = Path(__file__).parents[2] / "recipes" / "quickstart.yaml"


def run(mock: MockServer, out: Path, *extra: str) -> tuple[int, str]:
    env = {"LIPFLOW_RUNWARE_URL": mock.urls.runware, "RUNWARE_API_KEY": "k"}
    result = CliRunner().invoke(cli, ["run", str(RECIPE), "--out", str(out), *extra], env=env)
    return result.exit_code, result.stderr


def finished_run(mock: MockServer, out: Path) -> None:
    code, err = run(mock, out)
    assert code == 0, err
    mock.reset()


def sent(mock: MockServer) -> int:
    return len(mock.simulator.journal.records())


def a_run_still_going(out: Path) -> Journal:
    """A journal a run holds open, one submit intent in its -wal file (not checkpointed)."""
    out.mkdir()
    meta = {"recipe_digest": "d", "recipe_file": str(RECIPE), "target": "t"}
    journal = Journal.create_run(out / JOURNAL_NAME, meta)
    journal.add_jobs([("hello", "runware", "m", 0.1)])
    journal.record_intent("hello", 1, "4a3b1c2d-0000-4000-8000-000000000000")
    return journal


@pytest.mark.parametrize("resume", [False, True], ids=["run", "resume"])
def test_an_empty_journal_is_refused_not_read_as_a_fresh_run(
    lipflow_mock: MockServer, tmp_path: Path, resume: bool
) -> None:
    out = tmp_path / "out"
    out.mkdir()
    (out / JOURNAL_NAME).write_bytes(b"")

    code, err = run(lipflow_mock, out, *(["--resume"] if resume else []))

    assert code == 6, err
    assert "the run journal is empty" in err and "new --out directory" in err
    assert sent(lipflow_mock) == 0


def test_a_journal_copied_without_its_wal_file_is_refused(
    lipflow_mock: MockServer, tmp_path: Path
) -> None:
    live = tmp_path / "live"
    with a_run_still_going(live):
        copy = tmp_path / "copy"
        copy.mkdir()
        shutil.copy(live / JOURNAL_NAME, copy / JOURNAL_NAME)  # no -wal, as a careless backup

    code, err = run(lipflow_mock, copy, "--resume")

    assert code == 6, err
    assert f"without {JOURNAL_NAME}-wal" in err
    assert sent(lipflow_mock) == 0


def test_a_journal_with_flipped_bytes_is_refused(lipflow_mock: MockServer, tmp_path: Path) -> None:
    out = tmp_path / "out"
    finished_run(lipflow_mock, out)
    path = out / JOURNAL_NAME
    data = bytearray(path.read_bytes())
    page = 4096
    for offset in range(page, len(data), page):  # every b-tree page's header
        for i in range(offset, offset + 12):
            data[i] ^= 0x5A
    path.write_bytes(bytes(data))

    code, err = run(lipflow_mock, out)

    assert code == 6, err
    assert "damaged" in err and "Traceback" not in err
    assert sent(lipflow_mock) == 0


def test_a_journal_another_process_holds_locked_is_refused_in_bounded_time(
    lipflow_mock: MockServer, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    finished_run(lipflow_mock, out)
    with closing(sqlite3.connect(out / JOURNAL_NAME, isolation_level=None)) as other:
        other.execute("PRAGMA locking_mode=EXCLUSIVE")
        other.execute("BEGIN EXCLUSIVE")

        code, err = run(lipflow_mock, out)

        other.execute("ROLLBACK")
    assert code == 6, err
    assert "locked by another process" in err
    assert sent(lipflow_mock) == 0


@pytest.mark.parametrize("stray", ["hello.mp4", "hello-2.mp4", "hello.MOV"])
def test_outputs_without_their_journal_are_refused(
    lipflow_mock: MockServer, tmp_path: Path, stray: str
) -> None:
    out = tmp_path / "out"
    finished_run(lipflow_mock, out)
    (out / JOURNAL_NAME).unlink()
    for output in out.glob("hello.*"):
        output.rename(out / stray)  # as written, the second result of several, another container

    code, err = run(lipflow_mock, out)

    assert code == 6, err
    assert f"{stray} is an output of job hello, but the directory has no run journal" in err
    assert sent(lipflow_mock) == 0


def test_files_no_job_could_have_written_do_not_count_against_a_missing_journal(
    lipflow_mock: MockServer, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    finished_run(lipflow_mock, out)
    (out / JOURNAL_NAME).unlink()
    for output in out.glob("hello.*"):
        output.rename(out / "hello-world.mp4")  # not hello's name, nor hello-<n>

    code, err = run(lipflow_mock, out)

    assert code == 0, err
    assert "is an output of job" not in err


def lose_commits_after_the_submit(out: Path, state: str) -> None:
    """The journal as a power cut can leave it: the commits made without an fsync after the
    job's submit (its outputs, its end) are gone, while the output renamed into place stayed."""
    with closing(sqlite3.connect(out / JOURNAL_NAME)) as db, db:
        db.execute("DELETE FROM outputs WHERE job_id = 'hello'")
        db.execute("UPDATE jobs SET state = ? WHERE id = 'hello'", (state,))


@pytest.mark.parametrize("state", ["submitting", "submitted"])
def test_an_output_the_journal_lost_in_a_power_cut_is_fetched_again_not_paid_again(
    lipflow_mock: MockServer, tmp_path: Path, state: str
) -> None:
    out = tmp_path / "out"
    code, err = run(lipflow_mock, out)
    assert code == 0, err
    lose_commits_after_the_submit(out, state)

    code, err = run(lipflow_mock, out)

    assert code == 0, err
    assert len(lipflow_mock.simulator.journal.records(op="submit")) == 1, "not bought again"
    with closing(sqlite3.connect(out / JOURNAL_NAME)) as db:
        assert db.execute("SELECT state FROM jobs WHERE id = 'hello'").fetchone() == ("done",)
    assert [p.name for p in out.glob("hello.*")] == ["hello.mp4"]


@pytest.mark.parametrize("state", ["pending", "failed"])
def test_an_output_of_a_job_the_journal_says_was_never_sent_is_refused(
    lipflow_mock: MockServer, tmp_path: Path, state: str
) -> None:
    out = tmp_path / "out"
    finished_run(lipflow_mock, out)
    lose_commits_after_the_submit(out, state)

    code, err = run(lipflow_mock, out)

    assert code == 6, err
    assert f"hello.mp4 is an output of job hello, but the directory says it is {state}" in err
    assert sent(lipflow_mock) == 0


def test_a_finished_run_closes_its_journal_so_a_copy_is_a_whole_journal(
    lipflow_mock: MockServer, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    finished_run(lipflow_mock, out)
    copy = tmp_path / "copy"
    shutil.copytree(out, copy)

    code, err = run(lipflow_mock, copy, "--resume")

    assert code == 0, err
    assert sent(lipflow_mock) == 0, "every job was already done"


def test_a_journal_holding_fewer_submit_facts_than_its_sidecar_is_refused(tmp_path: Path) -> None:
    live, copy = tmp_path / "live", tmp_path / "copy"
    with a_run_still_going(live):
        copy.mkdir()
        for name in (JOURNAL_NAME, JOURNAL_NAME + ".facts"):  # all but the -wal file
            shutil.copy(live / name, copy / name)

    with pytest.raises(JournalUnusable, match="holds 0 of the 1 submit facts"):
        Journal.open_run(copy / JOURNAL_NAME)


def test_a_wal_folded_into_the_journal_after_a_kill_is_accepted(tmp_path: Path) -> None:
    out = tmp_path / "out"
    journal = a_run_still_going(out)
    # As after kill -9: the run never marked it closed. Its handle goes (the process is gone),
    # and another program opens and closes it read-write, folding the -wal file into the
    # journal and deleting it.
    journal._db.close()
    with closing(sqlite3.connect(out / JOURNAL_NAME)) as other:
        other.execute("SELECT count(*) FROM jobs").fetchone()
    assert not (out / (JOURNAL_NAME + "-wal")).exists()

    with Journal.open_run(out / JOURNAL_NAME) as resumed:
        assert resumed.jobs()["hello"].state == "submitting"


KILLED_AS_THE_RUN_BEGINS = """
import os, signal, sys
from pathlib import Path
from lipflow.run.journal import Journal


class KilledAtCheckpoint(Journal):
    def begin_run(self):  # kill -9 at the new run's first checkpoint: marked open by then
        self._db.set_trace_callback(
            lambda sql: os.kill(os.getpid(), signal.SIGKILL) if "wal_checkpoint" in sql else None
        )
        super().begin_run()


KilledAtCheckpoint.create_run(
    Path(sys.argv[1]), {"recipe_digest": "d", "recipe_file": "r", "target": "t"}
)
"""


def test_a_run_killed_as_it_marks_its_journal_open_is_resumed_not_refused(
    tmp_path: Path,
) -> None:
    path = tmp_path / JOURNAL_NAME
    killed = subprocess.run(
        [sys.executable, "-c", KILLED_AS_THE_RUN_BEGINS, str(path)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    with closing(sqlite3.connect(path)) as db:
        assert db.execute("SELECT value FROM meta WHERE key = 'open'").fetchone() == ("1",)

    Journal.open_run(path).close()  # not "copied or restored without its -wal file"

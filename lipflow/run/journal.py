"""The run journal: what the runner has done, written down before the next network step.

A run must never lose a result or pay twice, even if it is killed with ``kill -9`` at any
instant, so every fact goes to disk before the runner acts on it: the intent to submit (with the
taskUUID Runware will get) before the submit leaves, the provider's job id as soon as it is
known, every state change, every upload and output. ``--resume`` (or any later run into the
same out directory) reads it back and carries on from there.

It is SQLite from the standard library in WAL mode, one transaction per fact, committed before
the call returns. ``synchronous=NORMAL`` is durable against the process dying (what ``kill -9``
does: committed WAL frames are in the OS's hands). The facts that protect money, the intent
before a submit and (where the intent cannot stand in for it) the provider's job id after it, are
committed with ``synchronous=FULL``: the WAL is fsync'd before the call returns, so they (and
every fact before them) survive a power cut too. ``benchmarks/http_client.py`` measures what
that costs.

The runner writes every fact on its event loop and runs a money fact's COMMIT (its fsync) on a
thread of its own, so the loop serves other jobs while that commit waits for the disk
(:mod:`~lipflow.run.writer`; :meth:`Journal.defer_durable_commits`); nothing else touches the
journal until the commit has ended, and facts commit one at a time, in the order they were
handed over. What each job waits for, and why:

- the submit intent: committed (``synchronous=FULL``, its own transaction) and awaited before the
  submit is sent. Lost, a resume would not know the submit may have landed and would pay again.
- the provider's job id: committed (its own transaction) and awaited before the job's next
  request (its first poll). Where it is money-protecting, it is committed with FULL: lost, a
  resume could only treat the job as ambiguous. Where the intent already holds all a resume
  needs (Runware: the job is its taskUUID, and ``getTaskDetails`` tells whether it landed, or
  a provider deduplicates a resend on the intent's key), a lost job id leaves the job as a
  ``kill -9`` just after its submit leaves it, which a resume settles by asking the provider
  without paying again: that one commits with NORMAL and is not counted as a money fact.
- every state change (failed, ambiguous, pending after Ctrl-C, blocked, submitted after polling
  gave up), an upload's result, the output URLs and each output file: committed and awaited
  before the runner acts on it. A state the next run starts from must be the one this run ended
  on: an ambiguous submit not journaled as such could be resent, an upload not journaled is paid
  for again, and an output renamed into place before the journal knows its job finished would
  be fetched again by the next run. They commit with ``synchronous=NORMAL``, which
  ``kill -9`` cannot undo.
- notes (a retry and its wait, a refetch, outputs beyond ``--max-outputs``): informative, so the
  job does not wait for them. Each is queued on the same thread, so it commits before every fact
  handed over after it, and the run waits for all of them before it returns, however it ends (a
  clean end, Ctrl-C, an error). A note that cannot be committed stops the run as a failed fact
  does.

A journal that cannot be trusted is refused (:class:`~lipflow.errors.JournalUnusable`), never read
as a fresh run: a run's journal is created whole (schema and run facts written to a temporary file,
then renamed), so an empty file, one without the run facts, one that fails SQLite's integrity
check, one locked by another process, or one holding fewer facts than its run recorded is not a
journal of a run. The count of money-protecting facts (intents, and provider job ids the intent
cannot stand in for) is kept twice: in the journal, in the fact's own transaction, and after its
commit in a small sidecar (``<journal>.facts``; why it needs no fsync of its own:
:meth:`Journal._write_facts`). A journal holding fewer facts than its sidecar says lost some
(copied or restored without its ``-wal`` file); one that says it has a sidecar, was not closed by
its run, and has none beside it was copied alone. Folding the ``-wal`` file into the journal (what
any process opening it after a ``kill -9`` does) loses nothing, and is accepted; so is a journal of
an older lipflow, which kept no count.

Tables (``lipflow_journal`` schema version 1). A fact dirties as few pages as it can, since a
money fact's fsync writes each of them: the tables keyed by a job and another column
(``attempts``, ``uploads``, ``outputs``) are ``WITHOUT ROWID`` (one b-tree, no second index to
update); ``jobs`` keeps a rowid and an index of its ids, which changing a job's state leaves as
it is (it is looked up there, and only the row's page is written); ``events`` numbers its rows
without ``AUTOINCREMENT``
(no ``sqlite_sequence`` page per event; events are never deleted, so the numbers still only
grow). A journal made before keeps its tables as they were::

    meta      key -> value: recipe file, recipe digest, schema version, target, whether a run
              has it open (``open``), and ``paths`` = ``out`` once file paths (of outputs and
              joined files) are kept relative to the out directory, so the directory can be
              moved, renamed or run from anywhere (an older journal's paths, relative to the
              directory its run started in, are rewritten when a run opens it), and
              ``kept_otherwise`` once a job is noted kept otherwise (below)
    jobs      one row per planned job: state, submit attempt, taskUUID of that attempt,
              provider job id, estimated and reported cost, last error class and message, the
              job's content key and its ``--fresh`` take (a job whose key changed is kept
              under ``<id>@<old key>``, never deleted)
    attempts  every submit intent: job, attempt, taskUUID, provider job id once known
    uploads   job, media role -> what the provider returned for the upload (JSON)
    outputs   job, index -> provider URL, file path, size, duration and SHA-256 once downloaded
    events    an append-only log of every state change, with its detail; ``kept otherwise``:
              a job kept as paid that an older lipflow bought otherwise than this one would
              (its detail says how; the event moves with the job's row, as all its events)
    assemblies  one row per split lip sync: joining its pieces' outputs (assembling, done,
              failed), the joined file, and what verifying it measured

Job states are :class:`~lipflow.run.state.JobState`; every change is checked against its
transition table, and one the table does not allow is refused (the transaction rolls back).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import sqlite3
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from lipflow.errors import DiskError, InputError, JournalUnusable
from lipflow.run.state import MOCK_GONE, JobState, check_transition

__all__ = [
    "JOURNAL_NAME",
    "MADE_OF",
    "AssemblyRecord",
    "JobRecord",
    "Journal",
    "OutputRecord",
    "Transaction",
    "move_output",
]

JOURNAL_NAME = "lipflow-journal.sqlite"
FACTS_SUFFIX = ".facts"  # the sidecar counting the journal's money-protecting facts
SCHEMA_VERSION = "1"
# meta "paths" = "out": file paths are kept relative to the journal's own directory (the out
# directory), so it can be moved, renamed or run from another directory. A journal without it
# was written with paths as the run was given them (relative to that run's working directory).
PATHS_IN_OUT = "out"
LOCK_WAIT_S = 5.0  # how long to wait for a journal another process holds locked
# The changes of state check_transition has allowed (it is pure): (from, to, error class). A
# few dozen at most; each job's facts find theirs here instead of checking the table again.
_ALLOWED: set[tuple[str, JobState, str | None]] = set()

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS jobs (
    id TEXT PRIMARY KEY,
    provider TEXT NOT NULL,
    model TEXT NOT NULL,
    state TEXT NOT NULL,
    attempt INTEGER NOT NULL DEFAULT 0,
    task_uuid TEXT,
    provider_job_id TEXT,
    estimated_usd REAL,
    reported_usd REAL,
    reported_credits INTEGER,
    error_class TEXT,
    error TEXT,
    updated_at REAL NOT NULL,
    job_key TEXT,
    take TEXT NOT NULL DEFAULT ''
);
CREATE TABLE IF NOT EXISTS attempts (
    job_id TEXT NOT NULL,
    attempt INTEGER NOT NULL,
    task_uuid TEXT,
    provider_job_id TEXT,
    at REAL NOT NULL,
    PRIMARY KEY (job_id, attempt)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS uploads (
    job_id TEXT NOT NULL,
    role TEXT NOT NULL,
    value TEXT NOT NULL,
    at REAL NOT NULL,
    PRIMARY KEY (job_id, role)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS outputs (
    job_id TEXT NOT NULL,
    idx INTEGER NOT NULL,
    url TEXT NOT NULL,
    expected_size INTEGER,
    path TEXT,
    size_bytes INTEGER,
    duration_s REAL,
    sha256 TEXT,
    PRIMARY KEY (job_id, idx)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS assemblies (
    grp TEXT PRIMARY KEY,
    state TEXT NOT NULL,
    path TEXT,
    size_bytes INTEGER,
    detail TEXT,
    error TEXT,
    at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS events (
    seq INTEGER PRIMARY KEY,
    at REAL NOT NULL,
    job_id TEXT NOT NULL,
    state TEXT NOT NULL,
    detail TEXT
);
"""


@dataclass(frozen=True, slots=True, kw_only=True)
class OutputRecord:
    """One output of a job: where the provider serves it and, once downloaded, where it is."""

    idx: int
    url: str
    expected_size: int | None = None
    path: str | None = None
    size_bytes: int | None = None
    duration_s: float | None = None
    sha256: str | None = None  # of the file as downloaded; a resume re-fetches one that differs

    def intact(self) -> bool:
        """Downloaded, and the file is still there with the size and content it was written with
        (an output overwritten with zeros keeps its size, not its hash)."""
        if self.path is None or self.size_bytes is None:
            return False
        try:
            if os.stat(self.path).st_size != self.size_bytes:
                return False
            if self.sha256 is None:
                return True  # journaled before hashes were kept
            digest = hashlib.sha256()
            with open(self.path, "rb") as fh:
                while chunk := fh.read(1 << 20):
                    digest.update(chunk)
            return digest.hexdigest() == self.sha256
        except OSError:
            return False

    def to_json(self) -> dict[str, Any]:
        return {
            "url": self.url,
            "path": self.path,
            "size_bytes": self.size_bytes,
            "duration_s": self.duration_s,
            "sha256": self.sha256,
        }


def move_output(output: OutputRecord, moved: Path, paths: dict[int, str]) -> None:
    """Move a journaled output to ``moved`` (its index and new path added to ``paths``) before
    the journal says so. A run killed between the two left the file at ``moved`` with the size
    and hash journaled: that move is taken as done, not the output as lost."""
    assert output.path is not None
    if os.path.exists(output.path):
        os.replace(output.path, moved)
        paths[output.idx] = str(moved)
    elif replace(output, path=str(moved)).intact():
        paths[output.idx] = str(moved)


@dataclass(frozen=True, slots=True, kw_only=True)
class JobRecord:
    """A job as the journal knows it."""

    id: str
    provider: str
    model: str
    state: JobState
    attempt: int = 0
    task_uuid: str | None = None
    provider_job_id: str | None = None
    estimated_usd: float | None = None
    reported_usd: float | None = None
    reported_credits: int | None = None
    error_class: str | None = None
    error: str | None = None
    outputs: tuple[OutputRecord, ...] = field(default_factory=tuple)
    key: str | None = None  # the job's content key (None in a journal from before keys)
    take: str = ""  # the --fresh take its idempotency key is derived with ("" for none)


# An assembly's detail: the digest of the piece outputs the joined file was made of. The
# journal's own (a join made of other outputs is made again), not part of what was verified.
MADE_OF = "made_of"
# An event and a meta key: a job kept as paid, bought otherwise (:meth:`Journal.keep_otherwise`).
_KEPT_OTHERWISE = "kept otherwise"


@dataclass(frozen=True, slots=True, kw_only=True)
class AssemblyRecord:
    """The joining of a split lip sync's pieces: ``assembling``, ``done`` or ``failed``."""

    group: str
    state: str
    path: str | None = None
    size_bytes: int | None = None
    detail: Mapping[str, Any] = field(default_factory=dict)
    error: str | None = None

    @property
    def verified(self) -> dict[str, Any]:
        """What was checked of the joined file (duration, frames, joins...): its detail without
        the journal's own digest of what it was made of."""
        return {name: value for name, value in self.detail.items() if name != MADE_OF}

    def intact(self) -> bool:
        """Done, and the joined file is still there at the size it was written with."""
        output = OutputRecord(idx=0, url="", path=self.path, size_bytes=self.size_bytes)
        return self.state == "done" and output.intact()


class Journal:
    """One run's journal file; every method commits before it returns."""

    # The money facts are fsync'd (synchronous=FULL). Only the run
    # benchmark turns this off, to measure what durability across a power cut costs.
    durable_facts = True

    def __init__(self, path: str | os.PathLike[str], *, creating: Path | None = None) -> None:
        """``creating``: the journal's final path while it is written under a temporary name."""
        self.path = Path(path)
        self._facts_path = self.path.with_name(self.path.name + FACTS_SUFFIX)
        self._facts_fd: int | None = None
        self._facts: int | None = None  # the journal's committed count, once read
        # Each job's committed state, read once: a change is checked against it, not a SELECT.
        self._states: dict[str, str] | None = None
        self._moved: dict[str, str] = {}  # the states the open transaction moves jobs to
        # The jobs that have output rows, read once: a fact that replaces a job's outputs runs
        # no DELETE for a job that has none (most jobs, on their first submit and first
        # outputs). Kept as the open transaction changes it; read again after a rollback.
        self._with_outputs: set[str] | None = None
        self._deferring = False  # a durable fact's COMMIT is left to the caller (the runner)
        self._deferred: Transaction | None = None  # a fact whose COMMIT is not run yet
        # A Transaction holds no state of its own: one of each kind serves every fact.
        self._transactions: dict[tuple[bool, bool, bool], Transaction] = {}
        # Whether commits fsync the WAL now (synchronous=FULL, for money facts) or not (NORMAL).
        # The level is changed only when a fact needs the other one: SQLite prepares a PRAGMA
        # anew at each execution (12,000 instructions), so money facts in a row share a change.
        self._syncing = False
        self._here = os.path.abspath(self.path.parent)  # the out directory, for _store
        try:
            # The runner hands the connection to its journal thread (one at a time, never both).
            self._db = sqlite3.connect(
                self.path, isolation_level=None, timeout=LOCK_WAIT_S, check_same_thread=False
            )
        except sqlite3.DatabaseError as exc:
            raise InputError(f"cannot open the run journal: {exc}", path=str(self.path)) from exc
        # The facts' statements run on one cursor, not on one made (and freed) per statement.
        self._cur = self._db.cursor()
        try:
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")
            self._db.executescript(_SCHEMA)
            columns = {row[1] for row in self._db.execute("PRAGMA table_info(outputs)")}
            if "sha256" not in columns:  # a journal written before output hashes were kept
                self._db.execute("ALTER TABLE outputs ADD COLUMN sha256 TEXT")
            columns = {str(row[1]) for row in self._db.execute("PRAGMA table_info(jobs)")}
            if "job_key" not in columns:  # a journal written before jobs had content keys
                self._db.execute("ALTER TABLE jobs ADD COLUMN job_key TEXT")
                self._db.execute("ALTER TABLE jobs ADD COLUMN take TEXT NOT NULL DEFAULT ''")
            if self.meta("schema") is None:
                self.set_meta("schema", SCHEMA_VERSION)
            self._out_relative = self.meta("paths") == PATHS_IN_OUT
        except sqlite3.DatabaseError as exc:
            self._db.close()
            if creating is not None:
                raise _uncreatable(creating, exc) from None
            raise _unusable(self.path, exc) from None

    @classmethod
    def create_run(cls, path: Path, meta: Mapping[str, str]) -> Journal:
        """A new run's journal, created whole: schema and ``meta`` in a temporary file, renamed
        into place, so a journal at ``path`` always holds its run's facts."""
        tmp = path.with_name(f".{path.name}.new")
        leftovers = (tmp, tmp.with_name(tmp.name + "-wal"), tmp.with_name(tmp.name + "-shm"))
        for leftover in leftovers:
            leftover.unlink(missing_ok=True)
        try:
            with cls(tmp, creating=path) as journal, journal._transaction():
                for key, value in {**meta, "facts": "0", "paths": PATHS_IN_OUT}.items():
                    journal.set_meta(key, value)
            os.replace(tmp, path)
        except BaseException as exc:
            for leftover in leftovers:
                leftover.unlink(missing_ok=True)
            if isinstance(exc, sqlite3.DatabaseError | OSError):
                raise _uncreatable(path, exc) from None
            raise
        _fsync_dir(path.parent)
        journal = cls(path)
        journal.begin_run()
        return journal

    @classmethod
    def open_run(cls, path: Path) -> Journal:
        """An earlier run's journal, checked before anything is read from it as a fact."""
        where = str(path)
        try:
            size = path.stat().st_size
        except OSError as exc:
            raise JournalUnusable(
                f"cannot read the run journal: {exc.strerror}", path=where
            ) from None
        if size == 0:
            raise JournalUnusable(
                "the run journal is empty: it holds no record of what an earlier run sent, so "
                "running now could pay for jobs again. Run into a new --out directory, or restore "
                "the journal from where it was copied.",
                path=where,
            )
        recorded = _read_facts(path.with_name(path.name + FACTS_SUFFIX))
        journal = cls(path)
        try:
            journal._check(recorded)
            journal._keep_paths_in_out()
        except BaseException:
            journal.close()
            raise
        journal.begin_run()
        return journal

    def _check(self, recorded: int | None) -> None:
        where = str(self.path)
        try:
            verdict = [str(row[0]) for row in self._db.execute("PRAGMA quick_check")]
            meta = dict(self._db.execute("SELECT key, value FROM meta").fetchall())
            states = {str(row[0]) for row in self._db.execute("SELECT DISTINCT state FROM jobs")}
        except sqlite3.DatabaseError as exc:
            raise _unusable(self.path, exc) from None
        if verdict != ["ok"]:
            raise JournalUnusable(
                f"the run journal is damaged ({'; '.join(verdict[:3])}). Nothing was sent; run "
                "into a new --out directory (its outputs and events stay readable with sqlite3).",
                path=where,
            )
        if "target" not in meta:
            raise JournalUnusable(
                "the run journal holds no run (it is empty, or was copied without its -wal file "
                "before anything was checkpointed), so it cannot say what was already sent. "
                "Copy it together with its -wal file, or run into a new --out directory.",
                path=where,
            )
        held = int(meta.get("facts") or 0)
        alone = recorded is None and "facts" in meta and meta.get("open") == "1"
        if alone or (recorded is not None and recorded > held):
            said = (
                f"its {self.path.name}{FACTS_SUFFIX} is not beside it"
                if recorded is None
                else f"it holds {held} of the {recorded} submit facts its run recorded"
            )
            raise JournalUnusable(
                f"the run journal belongs to a run that never closed it, and {said}: it was "
                f"copied or restored without {self.path.name}-wal (which holds that run's latest "
                "facts), so it cannot say what was already sent. Put the -wal file back, or run "
                "into a new --out directory.",
                path=where,
            )
        unknown = sorted(states - {s.value for s in JobState})
        if unknown:
            raise JournalUnusable(
                f"the run journal is damaged: unknown job state {unknown[0]!r}", path=where
            )

    def begin_run(self) -> None:
        """Mark the journal open and checkpoint, so a copy without the -wal file is recognised.

        The sidecar is written (fsync'd) before the journal is marked open: an open journal
        without its sidecar is refused as a copy, so a kill between the two must not leave one.
        """
        self._facts = int(self.meta("facts") or 0)
        self._write_facts(self._facts, sync=True)  # realigned after a kill in a fact's window
        self.set_meta("open", "1")
        self._db.execute("PRAGMA wal_checkpoint(FULL)")

    def end_run(self) -> None:
        """Mark the run closed; its facts are all checkpointed into the main file on close."""
        self.set_meta("open", "0")

    def close(self) -> None:
        self._db.close()
        if self._facts_fd is not None:
            os.close(self._facts_fd)
            self._facts_fd = None

    def __enter__(self) -> Journal:
        return self

    def __exit__(self, exc_type: object, exc: object, tb: object) -> None:
        self.close()

    # -- paths -----------------------------------------------------------------------------
    def _store(self, path: str | None) -> str | None:
        """``path`` as journaled: relative to the out directory when it is inside it."""
        if path is None:
            return None
        full = os.path.abspath(path)
        here = self._here
        if full.startswith(here) and full[len(here) : len(here) + 1] == os.sep:
            return full[len(here) + 1 :]  # inside it (what relpath says, without its cost)
        inside = os.path.relpath(full, here)
        if inside == os.curdir or inside.split(os.sep, 1)[0] == os.pardir:
            return full
        return inside

    def _found(self, stored: str | None) -> str | None:
        """A journaled path as this run reaches it (through the out directory as given)."""
        if stored is None or not self._out_relative:
            return stored
        return str(self.path.parent / stored)

    def _detail(self, stored: str | None) -> dict[str, Any]:
        detail: dict[str, Any] = json.loads(stored or "{}")
        if isinstance(detail.get("path"), str):
            detail["path"] = self._found(detail["path"])
        return detail

    def _where_now(self, stored: str, size: int | None, sha256: str | None) -> str:
        """Where a path an older journal holds (relative to that run's working directory, or
        absolute) is now, relative to the out directory: the file it names when that is in the
        out directory, else the file at the same place under the out directory, found by
        dropping the old out directory's part of the path (the one whose size and SHA-256 match
        what was journaled); a path outside the out directory is kept absolute."""
        here = os.path.abspath(self.path.parent)
        inside = self._store(stored) or stored
        parts = [p for p in stored.split(os.sep) if p not in ("", os.curdir, os.pardir)]
        candidates = [] if os.path.isabs(inside) else [inside]
        for k in range(len(parts)):
            rel = os.path.join(*parts[k:])
            if rel not in candidates:
                candidates.append(rel)
        existing = [r for r in candidates if os.path.isfile(os.path.join(here, r))]
        for rel in existing:
            if _same_file(os.path.join(here, rel), size, sha256):
                return rel
        if existing:
            return existing[0]  # not the file journaled: a resume fetches it again
        if not os.path.isabs(inside) or os.path.exists(stored):
            return inside  # where it was (outside the out directory only if it still is there)
        return parts[-1] if parts else stored

    def _keep_paths_in_out(self) -> None:
        """Rewrite an older journal's paths relative to the out directory, once."""
        if self._out_relative:
            return
        with self._transaction():
            rows = self._db.execute(
                "SELECT job_id, idx, path, size_bytes, sha256 FROM outputs WHERE path IS NOT NULL"
            ).fetchall()
            self._db.executemany(
                "UPDATE outputs SET path = ? WHERE job_id = ? AND idx = ?",
                [(self._where_now(r[2], r[3], r[4]), r[0], r[1]) for r in rows],
            )
            moved = []
            for group, stored, size, text in self._db.execute(
                "SELECT grp, path, size_bytes, detail FROM assemblies WHERE path IS NOT NULL"
            ).fetchall():
                path = self._where_now(stored, size, None)
                detail = json.loads(text or "{}")
                if isinstance(detail.get("path"), str):
                    detail["path"] = path  # the joined file verifying measured
                moved.append((path, json.dumps(detail), group))
            self._db.executemany("UPDATE assemblies SET path = ?, detail = ? WHERE grp = ?", moved)
            self.set_meta("paths", PATHS_IN_OUT)
        self._out_relative = True

    # -- meta ------------------------------------------------------------------------------
    def meta(self, key: str) -> str | None:
        row = self._db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return None if row is None else str(row[0])

    def set_meta(self, key: str, value: str) -> None:
        self._db.execute(
            "INSERT INTO meta (key, value) VALUES (?, ?) "
            "ON CONFLICT(key) DO UPDATE SET value = excluded.value",
            (key, value),
        )

    # -- jobs ------------------------------------------------------------------------------
    def add_jobs(self, rows: Iterable[tuple[Any, ...]]) -> None:
        """Add planned jobs not yet in the journal as pending: (id, provider, model, estimated
        USD), optionally followed by (content key, take)."""
        now = time.time()
        with self._transaction():
            self._db.executemany(
                "INSERT OR IGNORE INTO jobs (id, provider, model, state, estimated_usd, "
                "job_key, take, updated_at) VALUES (?, ?, ?, 'pending', ?, ?, ?, ?)",
                [(*row, *(None, "")[len(row) - 4 :], now) for row in rows],
            )
        self._states = None  # read again when next needed

    def first_sent_at(self, job_id: str) -> float | None:
        """When the job's first submit was journaled (its intent), or None if it never was."""
        row = self._db.execute("SELECT MIN(at) FROM attempts WHERE job_id = ?", (job_id,))
        found = row.fetchone()[0]
        return None if found is None else float(found)

    def rekey(self, job_id: str, key: str) -> None:
        """The job's content key, computed anew for the same content (a key scheme fixed)."""
        with self._transaction():
            self._cur.execute("UPDATE jobs SET job_key = ? WHERE id = ?", (key, job_id))
            self._event(time.time(), job_id, "rekeyed", "the same content, its key made anew")
        self._states = None

    def keep_otherwise(self, job_id: str, why: str) -> None:
        """Note that the job is kept as paid though an older lipflow bought it otherwise than
        this one would (``why``): every later run's report says so, not only this one's."""
        with self._transaction():
            self._event(time.time(), job_id, _KEPT_OTHERWISE, why)
            self.set_meta(_KEPT_OTHERWISE, "1")

    def kept_otherwise(self) -> dict[str, str]:
        """The jobs :meth:`keep_otherwise` noted, by id (a retired row's under its new id): why.
        The log is read only once a job was noted."""
        if self.meta(_KEPT_OTHERWISE) is None:
            return {}
        rows = self._db.execute(
            "SELECT job_id, detail FROM events WHERE state = ? ORDER BY seq", (_KEPT_OTHERWISE,)
        )
        return {str(job_id): str(why) for job_id, why in rows}

    def retire(self, job_id: str, new_id: str, paths: Mapping[int, str]) -> None:
        """Keep a job whose key changed (or that gets a fresh take) under ``new_id``, with its
        outputs moved to ``paths`` (index -> path): the planned job starts again under its id."""
        self._reid(job_id, new_id, paths, "retired", f"was {job_id}; kept, not deleted")

    def rename(self, job_id: str, new_id: str, paths: Mapping[int, str], why: str) -> None:
        """The same job (its content unchanged) under the id the plan now gives it, with its
        outputs moved to ``paths`` (index -> path): ``why`` the id changed."""
        self._reid(job_id, new_id, paths, "renamed", f"was {job_id}: {why}")

    def _reid(
        self, job_id: str, new_id: str, paths: Mapping[int, str], event: str, note: str
    ) -> None:
        with self._transaction():
            self._cur.execute("UPDATE jobs SET id = ? WHERE id = ?", (new_id, job_id))
            for table in ("attempts", "uploads", "outputs", "events"):
                self._cur.execute(
                    f"UPDATE {table} SET job_id = ? WHERE job_id = ?",  # the table names are fixed
                    (new_id, job_id),
                )
            self._cur.executemany(
                "UPDATE outputs SET path = ? WHERE job_id = ? AND idx = ?",
                [(self._store(path), new_id, idx) for idx, path in paths.items()],
            )
            self._event(time.time(), new_id, event, note)
        self._states = None
        self._with_outputs = None  # its outputs are the new id's now

    def jobs(self) -> dict[str, JobRecord]:
        outputs: dict[str, list[OutputRecord]] = {}
        for row in self._db.execute(
            "SELECT job_id, idx, url, expected_size, path, size_bytes, duration_s, sha256 "
            "FROM outputs ORDER BY job_id, idx"
        ):
            outputs.setdefault(row[0], []).append(
                OutputRecord(
                    idx=row[1],
                    url=row[2],
                    expected_size=row[3],
                    path=self._found(row[4]),
                    size_bytes=row[5],
                    duration_s=row[6],
                    sha256=row[7],
                )
            )
        out = {}
        # One string per provider and model, not one per row: 100,000 records share a few.
        shared: dict[str, str] = {}
        for row in self._db.execute(
            "SELECT id, provider, model, state, attempt, task_uuid, provider_job_id, estimated_usd, "
            "reported_usd, reported_credits, error_class, error, job_key, take FROM jobs"
        ):
            out[row[0]] = JobRecord(
                id=row[0],
                provider=shared.setdefault(row[1], row[1]),
                model=shared.setdefault(row[2], row[2]),
                state=JobState(row[3]),
                attempt=row[4],
                task_uuid=row[5],
                provider_job_id=row[6],
                estimated_usd=row[7],
                reported_usd=row[8],
                reported_credits=row[9],
                error_class=row[10],
                error=row[11],
                outputs=tuple(outputs.get(row[0], ())),
                key=row[12],
                take=row[13] or "",
            )
        return out

    def job(self, job_id: str) -> JobRecord:
        return self.jobs()[job_id]

    def set_state(
        self,
        job_id: str,
        state: JobState | str,
        *,
        detail: str | None = None,
        error_class: str | None = None,
        error: str | None = None,
    ) -> None:
        """Move a job to ``state``; an error class and message replace the last ones (None clears)."""
        now = time.time()
        with self._transaction():
            self._move(job_id, JobState(state), error_class=error_class)
            self._cur.execute(
                "UPDATE jobs SET state = ?, error_class = ?, error = ?, updated_at = ? WHERE id = ?",
                (str(state), error_class, error, now, job_id),
            )
            self._event(now, job_id, str(state), detail or error)

    def note(self, job_id: str, detail: str) -> None:
        """Log something that happened to a job without changing its state (a retry, a wait)."""
        now = time.time()
        with self._transaction():
            self._event(now, job_id, self._job_states().get(job_id, "?"), detail)

    def record_intent(self, job_id: str, attempt: int, task_uuid: str | None) -> None:
        """Before a submit leaves: which attempt, and the idempotency key it carries, if any."""
        now = time.time()
        with self._transaction(durable=True):
            self._move(job_id, JobState.SUBMITTING)
            self._cur.execute(
                "UPDATE jobs SET state = 'submitting', attempt = ?, task_uuid = ?, "
                "provider_job_id = NULL, error_class = NULL, error = NULL, updated_at = ? "
                "WHERE id = ?",
                (attempt, task_uuid, now, job_id),
            )
            self._cur.execute(
                "INSERT OR REPLACE INTO attempts (job_id, attempt, task_uuid, at) VALUES (?, ?, ?, ?)",
                (job_id, attempt, task_uuid, now),
            )
            self._forget_outputs(job_id)
            self._event(now, job_id, "submitting", f"attempt {attempt}")

    def record_submitted(
        self,
        job_id: str,
        provider_job_id: str,
        *,
        reported_usd: float | None = None,
        reported_credits: int | None = None,
        detail: str | None = None,
        money_fact: bool = True,
    ) -> None:
        """The provider has the job: its id, and any cost it reported on submit. Not a
        ``money_fact`` when the job's intent already tells a resume how to settle it with the
        provider (the runner knows which jobs those are)."""
        now = time.time()
        with self._transaction(durable=money_fact):
            self._move(job_id, JobState.SUBMITTED)
            self._cur.execute(
                "UPDATE jobs SET state = 'submitted', provider_job_id = ?, "
                "reported_usd = COALESCE(?, reported_usd), "
                "reported_credits = COALESCE(?, reported_credits), "
                "error_class = NULL, error = NULL, updated_at = ? WHERE id = ?",
                (provider_job_id, reported_usd, reported_credits, now, job_id),
            )
            self._cur.execute(
                "UPDATE attempts SET provider_job_id = ? WHERE job_id = ? AND attempt = "
                "(SELECT attempt FROM jobs WHERE id = ?)",
                (provider_job_id, job_id, job_id),
            )
            self._event(now, job_id, "submitted", detail or f"provider job {provider_job_id}")

    def record_outputs(
        self,
        job_id: str,
        urls: Iterable[str],
        sizes: Iterable[int | None] = (),
        *,
        reported_usd: float | None = None,
    ) -> None:
        """The provider finished the job: its output URLs (and sizes, cost) before any download."""
        now = time.time()
        urls, sizes = list(urls), list(sizes)
        sizes += [None] * (len(urls) - len(sizes))
        with self._transaction():
            self._move(job_id, JobState.DOWNLOADING)
            self._forget_outputs(job_id)
            if urls:
                self._jobs_with_outputs().add(job_id)
            self._cur.executemany(
                "INSERT INTO outputs (job_id, idx, url, expected_size) VALUES (?, ?, ?, ?)",
                [
                    (job_id, i, url, size)
                    for i, (url, size) in enumerate(zip(urls, sizes, strict=True))
                ],
            )
            self._cur.execute(
                "UPDATE jobs SET state = 'downloading', reported_usd = COALESCE(?, reported_usd), "
                "error_class = NULL, error = NULL, updated_at = ? WHERE id = ?",
                (reported_usd, now, job_id),
            )
            self._event(now, job_id, "downloading", f"{len(urls)} output(s)")

    def record_file(
        self,
        job_id: str,
        idx: int,
        path: str,
        size_bytes: int,
        duration_s: float | None,
        *,
        last: bool = False,
        sha256: str | None = None,
    ) -> None:
        """One output is on disk (renamed into place) at ``path``; the ``last`` one ends the job."""
        now = time.time()
        with self._transaction():
            self._cur.execute(
                "UPDATE outputs SET path = ?, size_bytes = ?, duration_s = ?, sha256 = ? "
                "WHERE job_id = ? AND idx = ?",
                (self._store(path), size_bytes, duration_s, sha256, job_id, idx),
            )
            if last:
                self._move(job_id, JobState.DONE)
                self._cur.execute(
                    "UPDATE jobs SET state = 'done', error_class = NULL, error = NULL, "
                    "updated_at = ? WHERE id = ?",
                    (now, job_id),
                )
                self._event(now, job_id, "done", f"output {idx} saved to {path}; all saved")
            else:
                self._event(now, job_id, "downloading", f"output {idx} saved to {path}")

    def record_upload(self, job_id: str, role: str, value: Mapping[str, Any]) -> None:
        with self._transaction():
            self._cur.execute(
                "INSERT OR REPLACE INTO uploads (job_id, role, value, at) VALUES (?, ?, ?, ?)",
                (job_id, role, json.dumps(dict(value)), time.time()),
            )

    def uploads(self, job_id: str) -> dict[str, dict[str, Any]]:
        return {
            role: json.loads(value)
            for role, value in self._db.execute(
                "SELECT role, value FROM uploads WHERE job_id = ?", (job_id,)
            )
        }

    def all_uploads(self) -> dict[str, dict[str, dict[str, Any]]]:
        """Every journaled upload: job id -> role -> result (one query, for a run's start)."""
        out: dict[str, dict[str, dict[str, Any]]] = {}
        for job_id, role, value in self._db.execute("SELECT job_id, role, value FROM uploads"):
            out.setdefault(job_id, {})[role] = json.loads(value)
        return out

    def events(self, job_id: str | None = None) -> list[tuple[float, str, str, str | None]]:
        """The log, oldest first: (time, job id, state, detail)."""
        sql = "SELECT at, job_id, state, detail FROM events"
        args: tuple[Any, ...] = ()
        if job_id is not None:
            sql, args = sql + " WHERE job_id = ?", (job_id,)
        return [
            (row[0], row[1], row[2], row[3])
            for row in self._db.execute(sql + " ORDER BY seq", args)
        ]

    def attempts(self, job_id: str) -> list[tuple[int, str | None, str | None]]:
        """Every submit intent of a job: (attempt, taskUUID, provider job id)."""
        return [
            (row[0], row[1], row[2])
            for row in self._db.execute(
                "SELECT attempt, task_uuid, provider_job_id FROM attempts WHERE job_id = ? "
                "ORDER BY attempt",
                (job_id,),
            )
        ]

    # -- assemblies ------------------------------------------------------------------------
    def record_assembly(
        self,
        group: str,
        state: str,
        *,
        path: str | None = None,
        size_bytes: int | None = None,
        detail: Mapping[str, Any] | None = None,
        error: str | None = None,
    ) -> None:
        """Where the joining of ``group``'s pieces stands; logged as an event of ``group``."""
        now = time.time()
        detail = dict(detail or {})
        if isinstance(detail.get("path"), str):  # what verifying the joined file measured
            detail["path"] = self._store(detail["path"])
        with self._transaction():
            self._cur.execute(
                "INSERT OR REPLACE INTO assemblies (grp, state, path, size_bytes, detail, error, at) "
                "VALUES (?, ?, ?, ?, ?, ?, ?)",
                (
                    group,
                    state,
                    self._store(path),
                    size_bytes,
                    json.dumps(detail),
                    error,
                    now,
                ),
            )
            self._event(now, group, f"assembly {state}", error or path)

    def assemblies(self) -> dict[str, AssemblyRecord]:
        return {
            row[0]: AssemblyRecord(
                group=row[0],
                state=row[1],
                path=self._found(row[2]),
                size_bytes=row[3],
                detail=self._detail(row[4]),
                error=row[5],
            )
            for row in self._db.execute(
                "SELECT grp, state, path, size_bytes, detail, error FROM assemblies"
            )
        }

    def restart_at_a_new_mock(self, job_ids: Iterable[str], detail: str) -> None:
        """A ``--mock`` run's provider ended with its process: the uploads it held are gone, and
        ``job_ids`` (jobs it had, not finished here) go back to pending, their provider ids,
        outputs and simulated costs forgotten, so this run's mock gets them again (for free)."""
        now = time.time()
        with self._transaction():
            self._cur.execute("DELETE FROM uploads")
            for job_id in job_ids:
                self._move(job_id, JobState.PENDING, error_class=MOCK_GONE)
                self._cur.execute(
                    "UPDATE jobs SET state = 'pending', provider_job_id = NULL, "
                    "reported_usd = NULL, reported_credits = NULL, error_class = NULL, "
                    "error = NULL, updated_at = ? WHERE id = ?",
                    (now, job_id),
                )
                self._forget_outputs(job_id)
                self._event(now, job_id, "pending", detail)

    # -- plumbing --------------------------------------------------------------------------
    def _move(self, job_id: str, state: JobState, *, error_class: str | None = None) -> None:
        """Refuse a change of state the transition table does not allow (inside the transaction);
        an allowed one reaches the mirror of job states when the transaction commits."""
        was = self._moved.get(job_id) or self._job_states().get(job_id)
        if was is not None:
            change = (was, state, error_class)
            if change not in _ALLOWED:
                check_transition(was, state, error_class=error_class)
                _ALLOWED.add(change)
            self._moved[job_id] = state.value

    def _job_states(self) -> dict[str, str]:
        """Every job's committed state, read from the journal once (this run holds it alone)."""
        if self._states is None:
            self._states = {
                str(row[0]): str(row[1]) for row in self._db.execute("SELECT id, state FROM jobs")
            }
        return self._states

    def _jobs_with_outputs(self) -> set[str]:
        """The jobs that have output rows, read from the journal once (this run holds it alone)."""
        if self._with_outputs is None:
            self._with_outputs = {
                str(row[0]) for row in self._db.execute("SELECT DISTINCT job_id FROM outputs")
            }
        return self._with_outputs

    def _forget_outputs(self, job_id: str) -> None:
        """Delete the job's output rows (inside the transaction), if it has any."""
        with_outputs = self._jobs_with_outputs()
        if job_id in with_outputs:
            self._cur.execute("DELETE FROM outputs WHERE job_id = ?", (job_id,))
            with_outputs.discard(job_id)

    def _committed(self, *, durable: bool) -> None:
        """After a commit: the mirror takes the states moved; a money fact reaches the sidecar."""
        if self._moved:
            self._job_states().update(self._moved)
            self._moved.clear()
        if durable:
            self._facts = self._fact_count() + 1
            self._write_facts(self._facts)

    def _rolled_back(self) -> None:
        self._moved.clear()
        self._with_outputs = None  # what the transaction changed in it never happened

    def _fact_count(self) -> int:
        if self._facts is None:
            self._facts = int(self.meta("facts") or 0)
        return self._facts

    def _event(self, at: float, job_id: str, state: str, detail: str | None) -> None:
        self._cur.execute(
            "INSERT INTO events (at, job_id, state, detail) VALUES (?, ?, ?, ?)",
            (at, job_id, state, detail),
        )

    def _transaction(self, *, durable: bool = False) -> Transaction:
        """One fact; a ``durable`` one (a money-protecting fact) is also counted, in the journal
        and, once committed, in the sidecar."""
        if self._db.in_transaction:  # a deferred one, its COMMIT not run or not finished
            raise RuntimeError("a fact was started while another one waits for its commit")
        synced = durable and self.durable_facts
        if synced is not self._syncing:
            self._cur.execute("PRAGMA synchronous=FULL" if synced else "PRAGMA synchronous=NORMAL")
            self._syncing = synced
        deferred = synced and self._deferring
        kind = (durable, synced, deferred)
        transaction = self._transactions.get(kind)
        if transaction is None:
            transaction = self._transactions[kind] = Transaction(
                self._cur,
                before_commit=self._count_fact if durable else None,
                after_commit=self._fact_committed if durable else self._plain_committed,
                after_rollback=self._rolled_back,
                defer=self._hand_over if deferred else None,
            )
        return transaction

    def _plain_committed(self) -> None:
        self._committed(durable=False)

    def _fact_committed(self) -> None:
        self._committed(durable=True)

    def defer_durable_commits(self, on: bool) -> None:
        """While on, a money-protecting fact's method returns with its transaction written but
        not committed; :meth:`take_deferred` hands over its COMMIT (the fsync), so the caller
        can wait for the disk on another thread. Until that transaction is finished, the
        journal refuses to start another fact."""
        self._deferring = on

    def take_deferred(self) -> Transaction | None:
        """The transaction the last fact left to commit (see :meth:`defer_durable_commits`)."""
        deferred, self._deferred = self._deferred, None
        return deferred

    def _hand_over(self, transaction: Transaction) -> None:
        self._deferred = transaction

    def _count_fact(self) -> None:
        self._cur.execute(
            "INSERT INTO meta (key, value) VALUES ('facts', ?) "
            "ON CONFLICT(key) DO UPDATE SET value = excluded.value",
            (str(self._fact_count() + 1),),
        )

    def _write_facts(self, count: int, *, sync: bool = False) -> None:
        """The sidecar's count, overwritten in place (one fixed-width record).

        After each money fact it is written, not fsync'd: the sidecar only exposes a journal
        that lost facts (copied or restored without its -wal file), and it is written after the
        fact's fsync'd commit, so it can never count more than the journal durably holds. A
        ``kill -9`` leaves the write in the OS's page cache (it reaches the file); a power cut
        can at worst leave it counting fewer facts than the journal holds, which weakens that
        one check until the next fact and never refuses a good journal. The realignment at the
        start of a run (``sync``) is fsync'd.
        """
        if self._facts_fd is None:
            self._facts_fd = os.open(self._facts_path, os.O_WRONLY | os.O_CREAT, 0o644)
        os.pwrite(self._facts_fd, f"{count:020d}\n".encode(), 0)
        if sync and self.durable_facts:
            os.fsync(self._facts_fd)


class Transaction:
    """BEGIN IMMEDIATE ... COMMIT (ROLLBACK on error): one fact, all or nothing. A money fact's
    commits with ``synchronous=FULL`` (set by :meth:`Journal._transaction` before it begins):
    the WAL is fsync'd, so a power cut cannot undo it.

    A ``defer``'d one leaves the block with its statements written and the transaction open:
    whoever it was handed to runs :meth:`commit` (on any thread: it is the fsync) and then
    :meth:`finish`, and nothing else uses the connection in between."""

    def __init__(
        self,
        cursor: sqlite3.Cursor,
        *,
        before_commit: Callable[[], None] | None = None,
        after_commit: Callable[[], None] | None = None,
        after_rollback: Callable[[], None] | None = None,
        defer: Callable[[Transaction], None] | None = None,
    ) -> None:
        self._cur = cursor
        self._db = cursor.connection
        self._before = before_commit
        self._after = after_commit
        self._after_rollback = after_rollback
        self._defer = defer

    def __enter__(self) -> None:
        self._cur.execute("BEGIN IMMEDIATE")

    def __exit__(self, exc_type: object, exc: object, tb: object) -> None:
        if exc_type is None and self._before is not None:
            try:
                self._before()
            except BaseException:
                try:
                    self._cur.execute("ROLLBACK")
                finally:
                    self._ended(committed=False)
                raise
        if exc_type is None and self._defer is not None:
            self._defer(self)  # committed by whoever it was handed to
            return
        try:
            self._cur.execute("COMMIT" if exc_type is None else "ROLLBACK")
        except BaseException:
            self._ended(committed=False)
            raise
        self._ended(committed=exc_type is None)

    def commit(self) -> None:
        """A deferred transaction's COMMIT (for a durable one, the fsync): any thread may run it."""
        self._cur.execute("COMMIT")

    def finish(self, error: BaseException | None) -> None:
        """After a deferred :meth:`commit` (on the connection's owner again): ``error`` is what the
        commit raised, raised again here once the transaction's bookkeeping is undone."""
        self._ended(committed=error is None)
        if error is not None:
            raise error

    def _ended(self, *, committed: bool) -> None:
        try:
            if not committed and self._db.in_transaction:  # a COMMIT that failed (disk full)
                with contextlib.suppress(sqlite3.Error):
                    self._cur.execute("ROLLBACK")
        finally:
            if not committed and self._after_rollback is not None:
                self._after_rollback()
        if committed and self._after is not None:
            self._after()


def _unusable(path: Path, exc: sqlite3.DatabaseError) -> JournalUnusable:
    """SQLite's complaint about a journal as a message that says what to do."""
    text = str(exc)
    if "locked" in text or "busy" in text:
        return JournalUnusable(
            f"the run journal is locked by another process (waited {LOCK_WAIT_S:g} s): another "
            "program (a sqlite3 shell, a backup, another lipflow) holds it. Close that program, "
            "or run into another --out directory.",
            path=str(path),
        )
    return JournalUnusable(
        f"the run journal cannot be read ({text}); it is damaged or not a lipflow journal. "
        "Nothing was sent; run into a new --out directory.",
        path=str(path),
    )


def _uncreatable(path: Path, exc: sqlite3.DatabaseError | OSError) -> DiskError:
    """A journal being created cannot be damaged: whatever failed was writing it."""
    reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
    return DiskError(
        f"cannot create the run journal: writing it failed ({reason}). The disk may be full or "
        "over a size limit, or not writable. Nothing was sent; free some space or choose "
        "another --out, then run again.",
        path=str(path),
    )


def _same_file(path: str, size: int | None, sha256: str | None) -> bool:
    """Whether the file at ``path`` has the size and SHA-256 journaled (those known)."""
    if size is None:
        return True  # nothing journaled to tell it by
    return OutputRecord(idx=0, url="", path=path, size_bytes=size, sha256=sha256).intact()


def _read_facts(path: Path) -> int | None:
    """The sidecar's count; None when there is none (or it is not one: then it proves nothing)."""
    try:
        return int(path.read_bytes().strip() or b"x")
    except (OSError, ValueError):
        return None


def _fsync_dir(directory: Path) -> None:
    """Make a rename in ``directory`` durable (where the platform allows opening a directory)."""
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)

"""The runner: a plan's jobs turned into media files on disk, resumably, never paying twice.

For each job, in dependency order and concurrently where independent, the runner uploads local
inputs the way the provider takes them, submits, polls with backoff, downloads every output
(:mod:`~lipflow.run.downloads`) and hands the output URL to the jobs that need it. The provider
clients build every request (the same functions the plan shows) and classify every reply; the
runner only drives those flows, lets the one retry engine (:mod:`~lipflow.run.retry`) decide
what to send again, and writes each fact to the :mod:`~lipflow.run.journal` before taking the
next network step. A job's states and their order are :mod:`~lipflow.run.state`'s.

The HTTP client is injected (a :class:`~lipflow.run.sender.Sender`, or an ``httpx.AsyncClient``),
and so are ``sleep`` and ``clock``, so a test can run it over real sockets against the mock, or
over the mock's httpx transport, and a benchmark can simulate a long job.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import functools
import hashlib
import json
import os
import shutil
import sqlite3
import sys
import time
import uuid
from collections.abc import Awaitable, Callable, Coroutine, Iterator, Mapping, Sequence
from dataclasses import replace
from fractions import Fraction
from pathlib import Path
from typing import IO, Any, Literal, TypeVar

import httpx

from lipflow.catalog import load_catalog
from lipflow.errors import (
    AssemblyFailed,
    BudgetExceeded,
    DiskError,
    InputError,
    JobFailed,
    JobUnknown,
    JournalUnusable,
    LipflowError,
    OutputInvalid,
    OutputRefused,
    ProviderAmbiguous,
    ProviderCapacity,
    ProviderError,
    ProviderRejected,
    ProviderUnavailable,
    ReplyUnreadable,
    UsageError,
)
from lipflow.filenames import output_names, same_name
from lipflow.identity import job_doc, take_uuid_parts
from lipflow.jobs import Job, MediaRef, Plan, PlannedJob, resolve
from lipflow.longmedia import (
    Assembled,
    AssemblyPiece,
    assemble,
    audio_facts,
    cut_audio,
    cut_video,
)
from lipflow.longmedia.keyframes import COPY
from lipflow.media import piece_range, read_media, turn_to_send
from lipflow.providers import registry
from lipflow.providers._common import stable_uuid4
from lipflow.providers._http import UrlRule
from lipflow.providers.base import Finished, Flow, ProviderClient, Submitted
from lipflow.run.budget import BudgetCheck, Ledger
from lipflow.run.cache import store_key
from lipflow.run.downloads import Downloader, OpenFile, disk_error, file_name
from lipflow.run.dubbing import dub_joins, join_dub
from lipflow.run.edited import set_aside
from lipflow.run.journal import JOURNAL_NAME, MADE_OF, JobRecord, Journal, move_output
from lipflow.run.report import (
    AssemblyReport,
    JobReport,
    KeptOtherwise,
    Observer,
    RunReport,
    Snapshot,
)
from lipflow.run.retry import GaveUp, RetryEngine, poll_delays
from lipflow.run.sender import Sender, as_sender
from lipflow.run.settings import RunSettings
from lipflow.run.state import OUTPUT_LOST, OUTPUT_REFUSED, RUNNING, SENT, JobState, StateTally
from lipflow.run.upgrades import EarlierKeys, OlderJournal, bought_otherwise, stored
from lipflow.run.uploads import Uploads, upload_key
from lipflow.run.writer import JournalWriter
from lipflow.secrets import Secrets

__all__ = ["Runner", "execute"]

T = TypeVar("T")
Sleep = Callable[[float], Awaitable[None]]
S = JobState


class Runner:
    """Runs a :class:`~lipflow.jobs.Plan` with the given settings over the given HTTP client."""

    def __init__(
        self,
        plan: Plan,
        settings: RunSettings,
        client: httpx.AsyncClient | Sender,
        *,
        observer: Observer | None = None,
        sleep: Sleep | None = None,
        clock: Callable[[], float] = time.monotonic,
        open_file: OpenFile | None = None,
    ) -> None:
        """``open_file`` opens each output's temporary file for writing (a test passes one that
        fails as a full disk does)."""
        self.plan = plan
        self.settings = settings
        self.client = client
        self._sender = as_sender(client)
        self.observer = observer
        self.secrets = Secrets.of_providers(settings.keys)
        self._rules = {p: UrlRule.for_base_url(url) for p, url in settings.base_urls.items()}
        self._disk_error: DiskError | None = None
        self._unkept: list[str] = []  # submitted jobs whose provider ids the journal lost
        self._sleep = sleep or self._stoppable_sleep
        self._clock = clock
        self._stop = asyncio.Event()
        self._in_flight: set[asyncio.Future[Any]] = set()
        self._cut: set[asyncio.Future[Any]] = set()
        self.interrupted = False
        self.not_in_recipe: tuple[tuple[str, str], ...] = ()  # (job id, state) kept from before
        self._takes: dict[str, str] = {}
        self.polls = 0
        self._requests = 0
        self._job_list = tuple(pj.job for pj in plan.jobs)
        self._needed = {need for job in self._job_list for need in job.needs}
        self._jobs = {job.id: job for job in self._job_list}
        # Each job's content key, estimate and most it may cost, read from its planned job (a
        # map per finished job made a run quadratic; a dict per field held 5 MB a field at
        # 100,000 jobs queued).
        planned = {pj.job.id: pj for pj in plan.jobs}
        self._keys: Mapping[str, str] = _PlannedField(planned, _key)
        self._estimates: Mapping[str, float | None] = _PlannedField(planned, _estimate)
        self._maxima: Mapping[str, float | None] = _PlannedField(planned, _maximum)
        self._names = output_names(self._job_list)
        # What older lipflows called jobs.
        self._earlier = EarlierKeys(self._jobs, plan.lines, recipe=plan.recipe_name)
        self._state = StateTally()
        self._budget = Ledger(self.budget_check().budget_usd)
        self._started = clock()
        self._journal: Journal | None = None
        self._writer: JournalWriter | None = None  # the jobs' phase commits through it
        self._late_error: BaseException | None = None  # a queued note's commit that failed
        self._uploaded: dict[str, dict[str, dict[str, Any]]] = {}  # job -> role -> upload
        self._lock: IO[bytes] | None = None
        self._output_urls: dict[str, str] = {}
        self._output_files: dict[str, str] = {}  # job -> its first output as downloaded here
        self._paid_here: dict[tuple[str, str], JobRecord] = {}  # (key, take) -> a retired job
        # Jobs kept as an older lipflow bought them, otherwise than this one would: what was.
        self._kept_otherwise: dict[str, str] = {}
        self._finished: dict[str, asyncio.Future[bool]] = {}
        self._uploads = Uploads()
        retry = settings.retry
        self._timeout = httpx.Timeout(retry.request_timeout, connect=retry.connect_timeout)
        self._downloads = Downloader(
            self._sender,
            self._timeout,
            deadline=settings.download_deadline,
            **({"open_file": open_file} if open_file is not None else {}),
        )
        self._retry = RetryEngine(retry, lambda s: self._sleep(s), self._stop.is_set)

    # -- public ----------------------------------------------------------------------------
    @property
    def journal_path(self) -> Path:
        return self.settings.out_dir / JOURNAL_NAME

    @property
    def requests(self) -> int:
        """HTTP requests sent so far, downloads included."""
        return self._requests + self._downloads.requests

    def budget_check(self) -> BudgetCheck:
        """The plan's estimate against ``--budget`` (or the recipe's budget); see ``enforce``."""
        return BudgetCheck.of(self.plan, self.settings.budget)

    def interrupt(self) -> None:
        """Send nothing new; requests in flight get ``interrupt_grace`` seconds to answer (an
        unanswered one is journaled as ambiguous), then every job settles and the run returns."""
        first = not self._stop.is_set()
        self.interrupted = True
        self._stop.set()
        if first:
            try:
                loop = asyncio.get_running_loop()
            except RuntimeError:
                return
            loop.call_later(self.settings.retry.interrupt_grace, self._cut_in_flight)

    def _cut_in_flight(self) -> None:
        for task in list(self._in_flight):
            self._cut.add(task)
            task.cancel()

    async def _bounded(self, send: Awaitable[T], provider: str) -> T:
        """Await one request; after Ctrl-C it has the grace period to answer, then it is cut
        (:class:`ProviderAmbiguous`: it was sent, its fate is unknown).

        The request runs on the task that awaits it: the cut cancels that task while it waits
        inside ``send`` (where it always is while it is in flight), and the cancellation is
        turned into the error here. No task and shield of its own per request (they cost a
        twentieth of the runner's CPU per job). A cancellation of the run itself (a second
        Ctrl-C) still goes through, even one that lands together with the cut."""
        task = asyncio.current_task()
        assert task is not None  # the runner's jobs are tasks
        self._in_flight.add(task)
        try:
            return await send
        except asyncio.CancelledError:
            if task not in self._cut or _cancelled_by_another(task):
                raise  # the run itself is cancelled (a second Ctrl-C)
            raise ProviderAmbiguous(
                "no answer within the grace period after Ctrl-C", provider=provider
            ) from None
        finally:
            self._in_flight.discard(task)
            self._cut.discard(task)

    async def run(self) -> RunReport:
        """Run every job that is not done yet; the report says how each one ended."""
        # --mock is free: unpriced jobs cost nothing there, so they need no --allow-unpriced.
        mock = self.settings.target == "mock"
        self.budget_check().enforce(allow_unpriced=self.settings.allow_unpriced or mock)
        try:
            journal, older = self._open_journal()
        except sqlite3.OperationalError as exc:
            self._unlock()
            raise self._journal_unwritable(exc) from None
        except BaseException:
            self._unlock()
            raise
        self._journal = journal
        self._kept_otherwise = older.noted()
        try:
            if mock:
                _restart_at_a_new_mock(journal)
            records = journal.jobs()
            loop = asyncio.get_running_loop()
            uploaded = self._uploaded = {
                job_id: {role: self._unmasked(value) for role, value in roles.items()}
                for job_id, roles in journal.all_uploads().items()
            }
            for job_id in older.uploads_not_to_send(uploaded, self.settings.out_dir):
                uploaded.pop(job_id, None)
            for job_id, rec in records.items():
                if job_id in self._jobs and rec.state == S.DONE:
                    older.cut_by_an_older_lipflow(self._jobs[job_id], self.settings.out_dir)
                if job_id not in self._jobs and rec.state == S.DONE and rec.key and rec.outputs:
                    # A job this out directory paid for that the recipe no longer names (its
                    # step renamed, its text edited and edited back): found by its content.
                    self._paid_here.setdefault((rec.key, rec.take), rec)
                if job_id in self._jobs:
                    self._uploads.remember(self._jobs[job_id], uploaded.get(job_id, {}), loop)
                    self._state.set(job_id, rec.state)
                    if rec.outputs:
                        self._output_urls[job_id] = self.secrets.unmasked(rec.outputs[0].url)
                        if rec.outputs[0].path is not None:
                            self._output_files[job_id] = rec.outputs[0].path
                    self._count_spending(rec)
            # Only a job another job needs is awaited: a future for each of those alone.
            self._finished = {
                job_id: loop.create_future() for job_id in self._needed if job_id in self._jobs
            }
            provider_slots = {
                p: asyncio.Semaphore(n) for p, n in self.settings.provider_concurrency.items()
            }
            slots = asyncio.Semaphore(max(1, self.settings.concurrency))
            self._writer = JournalWriter(journal, late_error=self._late)
            try:
                # Each record is let go as its job starts: none of them is held to the report,
                # which reads the journal anew (two copies of 100,000 records were the peak).
                await self._spawn_all(
                    lambda job: self._job(job, records.pop(job.id), slots, provider_slots)
                )
            finally:
                await self._writer.close()  # every queued fact committed (or failed)
                self._writer = None
            late = self._late_error
            if late is not None and self._disk_error is None:
                if not isinstance(late, sqlite3.OperationalError):
                    raise late
                self._disk_error = self._journal_unwritable(late)
            if self._disk_error is not None:
                if self._unkept:
                    self._disk_error.message += (
                        f". Submitted before the journal could keep them (a next run finds "
                        f"them ambiguous; note these): {'; '.join(self._unkept)}"
                    )
                raise self._disk_error
            await self._assemble_all()
            return self._report(journal)
        finally:
            with contextlib.suppress(sqlite3.Error):
                journal.end_run()
            journal.close()
            self._journal = None
            self._unlock()

    async def _spawn_all(self, one: Callable[[Job], Coroutine[Any, Any, None]]) -> None:
        """Run ``one(job)`` for every job, dependencies first, with at most a window of jobs
        started at once (each waits for its needs, then for a slot, as before).

        A task per job from the start held 100,000 coroutines, their frames and their waits on
        the slots at 100,000 jobs; the window keeps what a queued job costs to its plan entry and
        journal record. No deadlock: a job starts after every job it needs, so the earliest
        unfinished job in the window has its needs finished and proceeds.
        """
        window = asyncio.Semaphore(max(_WINDOW, 4 * self.settings.concurrency))
        live: set[asyncio.Task[None]] = set()
        failures: list[BaseException] = []

        def finished(task: asyncio.Task[None]) -> None:
            live.discard(task)
            window.release()
            error = None if task.cancelled() else task.exception()
            if error is not None:
                failures.append(error)

        try:
            for job in _dependencies_first(self._job_list):
                await window.acquire()
                if failures:
                    break
                task = asyncio.create_task(one(job))
                live.add(task)
                task.add_done_callback(finished)
            await asyncio.gather(*live)
        except BaseException:
            for task in live:  # as gather did for its tasks when the run was cancelled
                task.cancel()
            raise
        if failures:
            raise failures[0]

    def _count_spending(self, rec: JobRecord) -> None:
        """What a journaled job has cost or may still cost, before this run sends anything."""
        if rec.reported_usd is not None:
            self._budget.spent += rec.reported_usd
        elif rec.state in (S.DOWNLOADING, S.DONE):
            self._budget.spent += self._estimates.get(rec.id) or 0.0
        elif rec.state in (S.SUBMITTING, S.SUBMITTED, S.AMBIGUOUS):
            self._budget.hold(rec.id, self._maxima.get(rec.id))

    def _journal_unwritable(self, exc: sqlite3.OperationalError) -> DiskError:
        return DiskError(
            f"cannot write the run journal: {exc}; free some space or choose a writable "
            "--out, then run again to resume",
            path=str(self.journal_path),
        )

    def _unlock(self) -> None:
        if self._lock is not None:
            self._lock.close()
            self._lock = None

    # -- journal ---------------------------------------------------------------------------
    def _open_journal(self) -> tuple[Journal, OlderJournal]:
        """The out directory's journal, locked, checked against the plan and matched to its
        jobs; with what older lipflows journaled in it, recognised."""
        out = self.settings.out_dir
        path = out / JOURNAL_NAME
        exists = path.exists()
        if self.settings.resume and not exists:
            raise UsageError(f"nothing to resume: {out} holds no run journal ({JOURNAL_NAME})")
        try:
            out.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise disk_error(exc, out, "the out directory") from None
        try:
            self._lock = _lock_out_dir(out)
            # A run killed mid-download leaves its temporary file; with the lock held, none is live.
            for stale in out.glob(".*.part"):
                stale.unlink(missing_ok=True)
        except OSError as exc:
            raise disk_error(exc, out, "the out directory") from None
        target = _target(self.settings)
        if not exists:
            self._refuse_unjournaled_outputs({}, set())
            journal = Journal.create_run(
                path,
                {
                    "recipe_digest": self.plan.recipe_digest,
                    "recipe_file": self.plan.recipe_file,
                    "target": target,
                },
            )
        else:
            journal = Journal.open_run(path)
        try:
            older = OlderJournal(self._jobs, self._earlier, journal)
            self._check_journal(journal, target, older)
            self._reconcile(journal, older)
            take = uuid.uuid4().hex if self.settings.fresh else ""
            journal.add_jobs(
                (job.id, job.provider, job.model, self._estimates.get(job.id), job.key, take)
                for job in self._job_list
            )
            journal.set_meta("recipe_digest", self.plan.recipe_digest)
            self._apply_takes(journal.jobs())
        except BaseException:
            journal.close()
            raise
        return journal, older

    def _reconcile(self, journal: Journal, older: OlderJournal) -> None:
        """Match the journal's jobs to the plan's by content key: an unchanged job keeps its row
        (finished ones cost nothing), and so does one an older lipflow keyed otherwise (rekeyed,
        never bought again); a changed one (or one given a ``--fresh`` take) is kept under
        ``<id>@<old key>`` with its outputs renamed beside it, never deleted, and starts again;
        rows no plan job claims are reported as no longer in the recipe."""
        records = journal.jobs()
        settled = (S.PENDING, S.FAILED, S.BLOCKED, S.DONE)
        for job in self._job_list:
            rec = records.get(job.id)
            if rec is None or rec.key is None or not job.key:
                continue
            changed = rec.key != job.key and not older.rekeyed(job, rec)
            if not changed and not (self.settings.fresh and rec.state in settled):
                continue
            if not changed and rec.state != S.DONE:
                continue  # a fresh take of a job that never finished: its row serves as is
            mark = rec.key[:12] if changed else f"{rec.key[:12]}-{rec.take[:8] or 'take'}"
            new_id = f"{job.id}@{mark}"
            paths: dict[int, str] = {}
            for output in rec.outputs:
                if output.path:
                    old = Path(output.path)
                    move_output(output, old.with_name(f"{old.stem}@{mark}{old.suffix}"), paths)
            journal.retire(job.id, new_id, paths)
        self.not_in_recipe = tuple(
            sorted(
                (job_id, str(rec.state))
                for job_id, rec in journal.jobs().items()
                if job_id not in self._jobs
            )
        )

    def _apply_takes(self, records: Mapping[str, JobRecord]) -> None:
        """A job on a ``--fresh`` take sends its own idempotency key (Runware's ``taskUUID``)."""
        if not any(rec.take and job_id in self._jobs for job_id, rec in records.items()):
            return  # no job on a take: the plan's jobs as they are (no second list of them)
        jobs = []
        for job in self._job_list:
            rec = records.get(job.id)
            if rec is not None and rec.take:
                self._takes[job.id] = rec.take
            if rec is not None and rec.take and job.key:
                job = replace(job, task_uuid=stable_uuid4(*take_uuid_parts(job.key, rec.take)))
            jobs.append(job)
        self._job_list = tuple(jobs)
        self._jobs = {job.id: job for job in jobs}

    def _check_journal(self, journal: Journal, target: str, older: OlderJournal) -> None:
        """Refuse a journal of another recipe version or target, or one the outputs contradict
        (once the rows an older lipflow named otherwise are renamed: their outputs with them)."""
        out = self.settings.out_dir
        digest = journal.meta("recipe_digest")
        keyed = all(rec.key is not None for rec in journal.jobs().values())
        if not keyed and digest is not None and digest != self.plan.recipe_digest:
            raise UsageError(
                f"{out} holds a run of another version of the recipe (digest {digest[:12]}, "
                f"now {self.plan.recipe_digest[:12]}); its jobs may still be at the provider. "
                "Run into a new --out directory."
            )
        was = journal.meta("target")
        if was is not None and was != target:
            raise UsageError(
                f"{out} holds a run against {was}, not {target}; its jobs live there. "
                "Run into a new --out directory."
            )
        records = journal.jobs()
        if older.rename_earlier_ids(records, self._names):
            records = journal.jobs()  # before the outputs are checked: they may have new names
        known = {Path(o.path).name for rec in records.values() for o in rec.outputs if o.path}
        # A job never writes where the journal keeps another job's output (two ids that name
        # files alike, the first of them in this plan not the first in an earlier one).
        claimed = {
            same_name(stem): job_id
            for job_id, rec in records.items()
            for o in rec.outputs
            if o.path
            for stem in _output_stems(Path(o.path).name)
        }
        self._names = output_names(self._job_list, claimed)
        self._refuse_unjournaled_outputs(records, known)

    def _refuse_unjournaled_outputs(
        self, records: Mapping[str, JobRecord], known: set[str]
    ) -> None:
        """An output file of a job the journal says was never sent (or failed): the journal is
        not the one that wrote this directory (restored from an older copy, or lost), and
        trusting it could pay for the job again.

        A job the journal knows was sent is not refused: a power cut can lose the commits made
        without an fsync after its submit (its outputs, its end) and keep the output renamed
        into place, and this run asks the provider about the job (never buys it again) and
        saves its output over the one found."""
        out = self.settings.out_dir
        try:
            present = {p.name for p in out.iterdir() if not p.name.startswith(".")}
        except OSError:
            return
        strays = present - known
        if not strays:
            return
        owner = {stem: job_id for job_id, stem in self._names.items()}
        found: dict[str, list[str]] = {}  # job id -> its stray files
        for name in strays:
            for stem in _output_stems(name):
                job_id = owner.get(stem)
                if job_id is not None:
                    found.setdefault(job_id, []).append(name)
        for job in self._job_list:
            stray = sorted(found.get(job.id, ()))
            rec = records.get(job.id)
            if stray and not (rec is not None and rec.state in SENT):
                said = (
                    "has no run journal"
                    if not records
                    else f"says it is {rec.state if rec else 'not started'}"
                )
                raise JournalUnusable(
                    f"{stray[0]} is an output of job {job.id}, but the directory {said}: the "
                    "journal that wrote it is missing or older than the outputs, and running now "
                    "could pay for the job again. Restore the journal (with its -wal file), or "
                    "run into a new --out directory.",
                    path=str(out / JOURNAL_NAME),
                )

    @property
    def _j(self) -> Journal:
        assert self._journal is not None
        return self._journal

    async def _commit(self, fact: Callable[[Journal], T]) -> T:
        """Commit one fact (or read the journal) in its turn and wait for it: a money fact's
        fsync runs on the writer's thread while the loop serves the other jobs
        (:mod:`~lipflow.run.writer`). A queued note whose commit failed stops the run here."""
        if self._late_error is not None:
            raise self._late_error
        if self._writer is None:  # outside the jobs' phase: nothing else uses the journal
            return fact(self._j)
        return await self._writer.commit(fact)

    def _commit_later(self, fact: Callable[[Journal], None]) -> None:
        """Queue an informative fact (a note on a retry, a wait): committed before every fact
        handed over after it, and before the run returns."""
        if self._writer is None:
            fact(self._j)
        else:
            self._writer.commit_later(fact)

    def _late(self, error: BaseException) -> None:
        """A queued note's commit failed: as when a job's awaited commit fails, nothing new is
        sent, and the run ends with the error."""
        if self._late_error is None:
            self._late_error = error
            self._stop.set()

    async def _set(
        self,
        job_id: str,
        state: JobState,
        *,
        detail: str | None = None,
        error: ProviderError | LipflowError | None = None,
        error_class: str | None = None,
    ) -> None:
        message = (
            None if error is None else self.secrets.scrub(error.format().removeprefix("error: "))
        )
        scrubbed = self.secrets.scrub(detail) if detail else None
        await self._commit(
            lambda j: j.set_state(
                job_id, state, detail=scrubbed, error_class=error_class, error=message
            )
        )
        self._emit(job_id, state, message or detail)

    def _emit(self, job_id: str, state: JobState, detail: str | None) -> None:
        self._state.set(job_id, state)
        if self.observer is not None:
            self.observer.update(job_id, str(state), detail, self._snapshot())

    def _snapshot(self) -> Snapshot:
        tally = self._state
        return Snapshot(
            total=len(self._jobs),
            queued=tally.count(S.PENDING),
            running=tally.count(*RUNNING),
            done=tally.count(S.DONE),
            failed=tally.count(S.FAILED, S.BLOCKED),
            ambiguous=tally.count(S.AMBIGUOUS),
            elapsed_s=self._clock() - self._started,
            spent_usd=self._budget.spent,
        )

    def _noter(self, job_id: str) -> Callable[[str], None]:
        """Journal a retry's note about ``job_id``, scrubbed of keys."""
        return lambda text: self._note(job_id, text)

    def _note(self, job_id: str, text: str) -> None:
        """Journal something that happened to a job (informative: queued, see _commit_later)."""
        scrubbed = self.secrets.scrub(text)
        self._commit_later(lambda j: j.note(job_id, scrubbed))

    # -- one job ---------------------------------------------------------------------------
    async def _job(
        self,
        job: Job,
        rec: JobRecord,
        slots: asyncio.Semaphore,
        provider_slots: Mapping[str, asyncio.Semaphore],
    ) -> None:
        ok = False
        try:
            ok = await self._job_inner(job, rec, slots, provider_slots)
        except DiskError as exc:  # every job would fail alike: stop submitting, settle, say so
            self._disk_error = self._disk_error or exc
            self._stop.set()
        except sqlite3.OperationalError as exc:  # the journal's disk is full or read-only
            self._disk_error = self._disk_error or self._journal_unwritable(exc)
            self._stop.set()
        finally:
            if (self._state.get(job.id) or rec.state) in (S.PENDING, S.FAILED, S.BLOCKED):
                self._budget.release(job.id)  # not at the provider: its reservation is free
            future = self._finished.get(job.id)
            if future is not None and not future.done():
                future.set_result(ok)

    async def _job_inner(
        self,
        job: Job,
        rec: JobRecord,
        slots: asyncio.Semaphore,
        provider_slots: Mapping[str, asyncio.Semaphore],
    ) -> bool:
        if rec.state == S.DONE and rec.outputs:
            changed = await asyncio.to_thread(lambda: [o for o in rec.outputs if not o.intact()])
            if not changed:
                return True
            kept = await asyncio.to_thread(
                lambda: [
                    (Path(o.path), aside)
                    for o in changed
                    if o.path is not None and (aside := set_aside(Path(o.path))) is not None
                ]
            )
            self._note(
                job.id,
                "an output on disk is missing or differs from what was downloaded: fetched again",
            )
            for path, aside in kept:
                said = f"{path.name} was changed since it was saved: kept as {aside.name}"
                self._note(job.id, said)
                self._tell(job.id, "kept", said)
        for need in job.needs:
            if need in self._finished and not await self._finished[need]:
                if self.interrupted:
                    return False
                await self._set(
                    job.id,
                    S.BLOCKED,
                    detail=f"needs {need}, which did not finish",
                    error_class="blocked",
                )
                return False
        if rec.state == S.PENDING and await self._from_store(job):
            return True
        action = await self._action(rec)
        if action == "leave":
            return False
        provider_slot = provider_slots.get(job.provider)
        if provider_slot is not None:
            async with provider_slot, slots:
                return await self._execute(job, rec, action)
        async with slots:
            return await self._execute(job, rec, action)

    async def _action(self, rec: JobRecord) -> str:
        """What to do first for a job, from its journal state."""
        state = rec.state
        if state == S.FAILED and rec.error_class == LOST:
            if rec.outputs and rec.provider_job_id:
                return "download"  # fetched again (a fresh URL asked for) before any is bought
            if not self.settings.retake_lost:
                self._emit(rec.id, S.FAILED, rec.error)  # a fresh take is bought only when asked
                return "leave"
        if state in (S.DONE, S.DOWNLOADING):
            return "download" if rec.outputs else "submit"
        if state == S.SUBMITTED and rec.provider_job_id:
            return "poll"
        if state in (S.SUBMITTING, S.AMBIGUOUS):
            if self._recoverable(rec.provider, self._jobs.get(rec.id), max(rec.attempt, 1)):
                return "recover"  # the provider itself says whether it has the job
            if self.settings.resubmit_ambiguous:
                return "submit"
            if state == S.SUBMITTING:
                await self._set(
                    rec.id,
                    S.AMBIGUOUS,
                    error_class="ambiguous",
                    detail="a submit was in flight when the last run stopped",
                )
            self._emit(rec.id, S.AMBIGUOUS, rec.error)
            return "leave"
        return "submit"

    async def _execute(self, job: Job, rec: JobRecord, action: str) -> bool:
        if self._stop.is_set() and action in ("submit", "recover"):
            return False
        client = registry.get(job.provider).client
        provider_job_id = rec.provider_job_id
        if action == "recover":
            attempt = max(rec.attempt, 1)
            found = await self._find(job, client, attempt)
            if found == "unknown":
                return False
            if isinstance(found, Submitted):  # it landed: poll it, send nothing
                detail = f"provider job {found.provider_job_id} (found by its idempotency key)"
                await self._commit(
                    lambda j: j.record_submitted(
                        job.id, found.provider_job_id, detail=detail, money_fact=False
                    )
                )
                self._emit(job.id, S.SUBMITTED, detail)
                provider_job_id = found.provider_job_id
                action = "poll"
        if action == "submit" and (refused := self._budget.reserve(job.id, self._maxima[job.id])):
            await self._set(job.id, S.PENDING, error=BudgetExceeded(refused), error_class="budget")
            return False
        if action in ("submit", "recover"):
            attempt = max(rec.attempt, 1) if action == "recover" else rec.attempt + 1
            if job.piece is not None:
                prepared = await self._prepare_piece(job)
                if prepared is None:
                    return False
                job = prepared
            sendable = self._signed_links_sent_as_files(job)
            if isinstance(sendable, str):
                await self._set(job.id, S.BLOCKED, error_class="blocked", detail=sendable)
                return False
            job = sendable
            values = await self._upload(job, client)
            if values is None:
                return False
            submitted = await self._submit(
                job, client, values, attempt, recovering=action == "recover"
            )
            if submitted is None:
                return False
            provider_job_id = submitted.provider_job_id
        urls: Sequence[str]
        sizes: Sequence[int | None]
        if action == "download":
            if rec.state == S.FAILED:  # its output was lost: it may be served again
                await self._set(
                    job.id,
                    S.DOWNLOADING,
                    error_class=OUTPUT_REFUSED,
                    detail="its output was lost in an earlier run: fetched again, nothing bought",
                )
            urls = [self.secrets.unmasked(o.url) for o in rec.outputs]
            sizes = [o.expected_size for o in rec.outputs]
        else:
            assert provider_job_id is not None
            finished = await self._poll(job, client, provider_job_id)
            if finished is None:
                return False
            urls, sizes = finished.outputs, finished.sizes
        lost = await self._download(job, urls, sizes)
        if lost is None:
            return True
        if lost is False:
            return False
        # The output URL is refused (expired, deleted, not there yet): ask the provider for a
        # fresh one and fetch again, a few times with a wait. Only the provider's word that the
        # job failed makes the output lost; any other outcome leaves the job downloading, paid
        # for and never bought again unless the user asks for a fresh take.
        verdict: JobFailed | None = None
        unasked: ProviderError | None = None
        retry = self.settings.retry
        for attempt in range(1, retry.refused_output_tries + 1):
            if provider_job_id is None or self._stop.is_set():
                break
            self._note(job.id, f"{lost.format()}; asking the provider for a fresh URL")
            fresh = await self._repoll(job, client, provider_job_id)
            if fresh is None:
                return False  # interrupted: the job stays as journaled
            if isinstance(fresh, JobFailed):
                verdict = fresh
                break
            if isinstance(fresh, ProviderError):
                unasked = fresh
                break
            if tuple(fresh.outputs) == tuple(urls):
                await self._stoppable_sleep(retry.backoff(attempt))
                if self._stop.is_set():
                    break
            urls = fresh.outputs
            again = await self._download(job, fresh.outputs, fresh.sizes)
            if again is None:
                return True
            if again is False:
                return False
            lost = again
        usd = self._estimates.get(job.id)
        cost = f"about ${usd:.2f}" if usd is not None else "an unpriced amount"
        if verdict is not None:
            message = (
                f"the output cannot be recovered ({lost.message}) and the provider says the job "
                f"failed ({verdict.message}); a fresh take would cost {cost}: run again with "
                "--retake-lost to buy it"
            )
        elif unasked is not None and _forgotten(job.provider, unasked):
            message = (
                f"the output URL is refused ({lost.message}) and the provider no longer knows the "
                f"job ({unasked.message}): it cannot give the output again. The job is paid for "
                "and stays downloading, never bought again unless you ask: run again with --resume "
                f"--retake-lost to buy a fresh take ({cost}); a run without --retake-lost only "
                "tries this download again"
            )
        else:
            why = (
                f"; the provider could not be asked for a fresh URL ({unasked.message})"
                if unasked is not None
                else "; the provider still reports the job done"
            )
            message = (
                f"the output URL is refused ({lost.message}){why}; the job is paid for and stays "
                "downloading, not bought again: run again with --resume to try the download "
                f"again, or with --resume --retake-lost to buy a fresh take ({cost})"
            )
        # --retake-lost buys a fresh take of a job an earlier run paid for, once: never of a take
        # this run bought (its refused output is kept downloading like any other)
        retake = self.settings.retake_lost and action == "download" and not self._stop.is_set()
        if verdict is None and not retake:
            await self._set(
                job.id,
                S.DOWNLOADING,
                error_class=OUTPUT_REFUSED,
                error=OutputInvalid(message, provider=job.provider, status=lost.status),
            )
            return False
        await self._set(
            job.id,
            S.FAILED,
            error_class=LOST,
            error=OutputInvalid(message, provider=job.provider, status=lost.status),
        )
        if retake:  # the user asked: buy it again
            return await self._execute(job, await self._commit(lambda j: j.job(job.id)), "submit")
        return False

    async def _repoll(
        self, job: Job, client: ProviderClient, provider_job_id: str
    ) -> Finished | ProviderError | None:
        """Ask the provider once (with the usual retries) about a job it finished, for fresh output
        URLs. The outputs when it still calls the job done (journaled, the job ``downloading``);
        its error (a :class:`JobFailed` is its verdict) otherwise; None when interrupted. The
        job's state is the caller's to set: a job with outputs never goes back to ``submitted``.
        """
        result = await self._ask(job, client, provider_job_id)
        if isinstance(result, GaveUp):
            return None if result.interrupted else result.error
        if not result.done:
            status = result.unknown_status or "not finished"
            return ProviderError(
                f"answered that the job it had finished is {status}", provider=job.provider
            )
        result = self._capped(job, result)
        await self._found(job, result, f"{len(result.outputs)} fresh output URL(s)")
        return result

    async def _ask(
        self, job: Job, client: ProviderClient, provider_job_id: str
    ) -> Finished | GaveUp[Finished]:
        """One poll of the job, with the retry engine's retries of its failures."""
        key = self.secrets.key(job.provider)
        base = self.settings.base_urls[job.provider]
        self.polls += 1
        return await self._retry.run(
            "poll",
            lambda: self._drive(
                client.poll_flow(job, provider_job_id, base_url=base, key=key), job.provider
            ),
            note=self._noter(job.id),
        )

    async def _found(self, job: Job, result: Finished, detail: str) -> None:
        """Journal the output URLs (and cost) the provider gave: the job is downloading. A URL
        signed with the key is journaled with the key masked, put back when it is fetched."""
        await self._commit(
            functools.partial(
                Journal.record_outputs,
                job_id=job.id,
                urls=[self.secrets.masked(url) for url in result.outputs],
                sizes=result.sizes,
                reported_usd=result.reported_usd,
            )
        )
        self._output_urls[job.id] = result.outputs[0]
        self._emit(job.id, S.DOWNLOADING, detail)

    def _signed_links_sent_as_files(self, job: Job) -> Job | str:
        """``job`` with each upstream output whose link another provider signed with its own key
        given as the file downloaded from it, uploaded as a local file is: that key is never
        sent to this job's provider. A link without another provider's key is sent as it is.
        Why the job cannot be sent, when such an output is not on disk."""
        media = dict(job.media)
        for role, ref in job.media.items():
            upstream = str(ref.value)
            url = self._output_urls.get(upstream) if ref.origin == "step" else None
            if url is None or not self.secrets.holds_a_key_other_than(job.provider, url):
                continue
            path = self._output_files.get(upstream)
            if path is None:
                return (
                    f"needs the output of {upstream}, whose link is signed with another "
                    "provider's key and which is not downloaded: nothing was sent"
                )
            media[role] = replace(ref, origin="file", value=path, size_bytes=None)
        return job if media == job.media else replace(job, media=media)

    def _masked(self, upload: dict[str, Any]) -> dict[str, Any]:
        """An upload's result (the provider's media id, its URL) to journal: keys masked."""
        return _through_json(upload, self.secrets.masked)

    def _unmasked(self, upload: dict[str, Any]) -> dict[str, Any]:
        """A journaled upload's result with the keys it was masked of put back."""
        return _through_json(upload, self.secrets.unmasked)

    def _store_key(self, job: Job) -> str | None:
        """The job's key in the output store: its content key, and its --fresh take if any."""
        if self.settings.store is None or not job.key or job.id in self._needed:
            return None  # a job whose output URL another job sends is run at the provider
        if job.piece is not None:
            return None  # a piece of a split lip sync or a dub's line: joined here, not reused
        base = self.settings.base_urls.get(job.provider, "")
        return store_key(job.key, base, self._takes.get(job.id, ""))

    async def _from_store(self, job: Job) -> bool:
        """A job already paid for (in any out directory, by this lipflow or an older one): its
        stored outputs, copied; no request."""
        store = self.settings.store
        if self._store_key(job) is None or store is None:
            return await self._from_this_journal(job)
        base = self.settings.base_urls.get(job.provider, "")
        found = stored(store, job, base, self._earlier, take=self._takes.get(job.id, ""))
        if found is None:
            return await self._from_this_journal(job)
        key, outputs, _, then = found
        why = None if then is None else bought_otherwise(job, then)
        if why is not None:  # noted for every later run's report too
            await self._commit(functools.partial(Journal.keep_otherwise, job_id=job.id, why=why))
            self._kept_otherwise[job.id] = why
        self._output_urls[job.id] = str(outputs[0].path.as_uri())
        await self._copy_paid(
            job,
            [(o.path, o.size_bytes, o.duration_s, None) for o in outputs],
            f"lipflow-store:{key}",
            "already paid for: outputs from the output store, no request",
        )
        return True

    async def _from_this_journal(self, job: Job) -> bool:
        """A job this out directory already paid for under another id (a renamed step, a text
        edited and edited back), its outputs intact here: copied, no request. The output store
        does the same across directories, but it may be off, evicted or another machine's."""
        if not job.key or job.id in self._needed or job.piece is not None:
            return False
        paid = self._paid_here.get((job.key, self._takes.get(job.id, "")))
        if paid is None or not await asyncio.to_thread(
            lambda: all(o.intact() for o in paid.outputs)
        ):
            return False
        await self._copy_paid(
            job,
            [
                (Path(o.path), o.size_bytes, o.duration_s, o.sha256)
                for o in paid.outputs
                if o.path is not None and o.size_bytes is not None
            ],
            f"lipflow-journal:{paid.id}",
            f"already paid for here as {paid.id}: its outputs copied, no request",
        )
        return True

    async def _copy_paid(
        self,
        job: Job,
        outputs: Sequence[tuple[Path, int, float | None, str | None]],
        source: str,
        detail: str,
    ) -> None:
        """Give ``job`` the outputs of a job already paid for (path, size, duration, SHA-256,
        from ``source``): journaled as its outputs, copied under its names, no request."""
        urls = [f"{source}/{path.name}" for path, *_ in outputs]
        await self._commit(lambda j: j.record_outputs(job.id, urls, [o[1] for o in outputs]))
        for idx, (origin, size, duration_s, sha256) in enumerate(outputs):
            name = file_name(self._names[job.id], idx, len(outputs), urls[idx])
            path = self.settings.out_dir / name
            tmp = path.with_name(f".{name}.paid.part")
            await asyncio.to_thread(shutil.copyfile, origin, tmp)
            os.replace(tmp, path)
            await self._saved(job.id, idx, len(outputs), path, size, duration_s, sha256)
        self._emit(job.id, S.DONE, detail)

    async def _saved(
        self,
        job_id: str,
        idx: int,
        count: int,
        path: Path,
        size: int,
        duration_s: float | None,
        sha256: str | None = None,
    ) -> None:
        """Journal output ``idx`` of ``count`` as on disk at ``path`` (the last one ends the job)."""
        if idx == 0:
            self._output_files[job_id] = str(path)
        await self._commit(
            functools.partial(
                Journal.record_file,
                job_id=job_id,
                idx=idx,
                path=str(path),
                size_bytes=size,
                duration_s=duration_s,
                last=idx == count - 1,
                sha256=sha256,
            )
        )

    def _recoverable(self, provider: str, job: Job | None, attempt: int) -> bool:
        """Whether a resume can settle submit ``attempt`` with the provider from its intent
        alone: the provider deduplicates a resend on the intent's key, or finds the job by it.
        Then the provider's job id, once known, protects no money: losing it leaves the job as
        a kill -9 just after its submit does, which the resume settles without paying again."""
        entry = registry.get(provider)
        if entry.wire.idempotency.deduplicated:
            return True
        base = self.settings.base_urls.get(provider, "")
        return job is not None and (
            entry.client.find_flow(job, attempt, base_url=base, key="") is not None
        )

    async def _find(self, job: Job, client: ProviderClient, attempt: int) -> str | Submitted:
        """Before anything is sent again for an ambiguous submit: ask the provider whether it
        has the job. "absent" (sending is safe), "unknown" (leave it), or the job."""
        key = self.secrets.key(job.provider)
        base = self.settings.base_urls[job.provider]
        if client.find_flow(job, attempt, base_url=base, key=key) is None:
            return (
                "absent" if registry.get(job.provider).wire.idempotency.deduplicated else "unknown"
            )
        result = await self._retry.run(
            "find",
            lambda: self._drive(
                client.find_flow(job, attempt, base_url=base, key=key),  # type: ignore[arg-type]
                job.provider,
            ),
            note=self._noter(job.id),
        )
        if isinstance(result, GaveUp):
            await self._set(
                job.id,
                S.AMBIGUOUS,
                error=result.error,
                error_class="ambiguous",
                detail="could not ask the provider whether the submit landed",
            )
            return "unknown"
        return "absent" if result is None else result

    # -- steps -----------------------------------------------------------------------------
    async def _drive(self, flow: Flow[T], provider: str) -> T:
        """Send each request a flow yields, give it the response; httpx errors become lipflow's."""
        request = next(flow)
        timeout = self._timeout.as_dict()
        try:
            while True:
                request.extensions["timeout"] = timeout
                await self._check_elsewhere(request, provider)
                self._requests += 1
                response = await self._bounded(
                    self._sender.send(request, provider, max_bytes=self.settings.max_reply_bytes),
                    provider,
                )
                try:
                    request = flow.send(response)
                except StopIteration as stop:
                    return stop.value  # type: ignore[no-any-return]
        finally:
            flow.close()

    async def _check_elsewhere(self, request: httpx.Request, provider: str) -> None:
        """A request to a URL the provider handed back (an upload ticket's PUT) goes only where
        the URL rule allows, and never carries the API key to a host other than the API's."""
        rule = self._rules.get(provider)
        if rule is None or rule.same_host(request.url):
            return
        refused = await rule.check(request.url, provider, "upload URL")
        if refused is not None:
            raise OutputRefused(refused + "; the local file was not sent", provider=provider)
        key = self.secrets.key(provider)
        for name, value in list(request.headers.items()):
            if key and key in value:
                del request.headers[name]

    async def _upload(self, job: Job, client: ProviderClient) -> dict[str, Any] | None:
        """Upload what the provider needs uploaded; the submit's media values, or None (failed)."""
        lookup: dict[str, Any] = {}
        for need in job.needs:
            if need in self._output_urls:
                lookup[f"jobs.{need}.output_url"] = self._output_urls[need]
        done = self._uploaded.setdefault(job.id, {})
        key = self.secrets.key(job.provider)
        base = self.settings.base_urls[job.provider]
        for role, ref in job.media.items():
            if client.needs_upload(ref) and role not in done:
                url = lookup.get(f"jobs.{ref.value}.output_url") if ref.origin == "step" else None

                async def upload(
                    role: str = role, ref: MediaRef = ref, url: str | None = url
                ) -> Any:
                    data: bytes | None = None
                    if ref.origin == "file":
                        try:
                            data = await asyncio.to_thread(read_media, str(ref.value))
                        except OSError as exc:
                            return InputError(
                                f"cannot read input: {exc.strerror or exc}", path=str(ref.value)
                            )
                        except InputError as exc:  # a piece that cannot be cut from its file
                            return exc
                        most = _byte_limit(job.model_id, role)
                        if most is not None and len(data) > most:
                            return _over_byte_limit(job.model_id, str(ref.value), len(data), most)
                    flow = functools.partial(
                        client.upload_flow,
                        job,
                        role,
                        ref,
                        data=data,
                        url=url,
                        base_url=base,
                        key=key,
                    )
                    result = await self._retry.run(
                        "upload",
                        lambda: self._drive(flow(), job.provider),
                        note=self._noter(job.id),
                    )
                    return result.error if isinstance(result, GaveUp) else result

                result = await self._uploads.once(upload_key(job, ref), upload)
                if isinstance(result, InputError):
                    await self._set(job.id, S.FAILED, error=result, error_class="input")
                    return None
                if isinstance(result, ProviderError):
                    if self._stop.is_set():
                        await self._set(job.id, S.PENDING, detail="interrupted before the submit")
                    else:
                        await self._set(
                            job.id, S.FAILED, error=result, error_class=_error_class(result)
                        )
                    return None
                await self._commit(
                    functools.partial(
                        Journal.record_upload, job_id=job.id, role=role, value=self._masked(result)
                    )
                )
                done[role] = result
        for role, result in done.items():
            for name, value in result.items():
                lookup[f"uploads.{role}.{name}"] = value
        try:
            return resolve(client.deferred_values(job), lookup)  # type: ignore[no-any-return]
        except KeyError as exc:
            await self._set(
                job.id,
                S.BLOCKED,
                error_class="blocked",
                detail=f"needs {exc.args[0]}, which is not known",
            )
            return None

    async def _submit(
        self,
        job: Job,
        client: ProviderClient,
        values: Mapping[str, Any],
        attempt: int,
        *,
        recovering: bool,
    ) -> Submitted | None:
        """Record the intent, send the submit, and act on how the retry engine ended."""
        if self._stop.is_set():  # interrupted while uploading: nothing new is sent
            return None
        if not recovering:
            key = client.submit_key(job, attempt)
            await self._commit(lambda j: j.record_intent(job.id, attempt, key))
            self._emit(job.id, S.SUBMITTING, f"attempt {attempt}")
        key = self.secrets.key(job.provider)
        base = self.settings.base_urls[job.provider]
        result = await self._retry.run(
            "submit",
            lambda: self._drive(
                client.submit_flow(job, values, attempt=attempt, base_url=base, key=key),
                job.provider,
            ),
            deduplicated=registry.get(job.provider).wire.idempotency.deduplicated,
            note=self._noter(job.id),
        )
        if isinstance(result, GaveUp):
            error = result.error
            if result.interrupted and result.ambiguous is None:
                await self._set(job.id, S.PENDING, detail="interrupted before the submit was sent")
            elif result.ambiguous is not None:  # an earlier send may have landed
                ambiguous = error if isinstance(error, ProviderAmbiguous) else result.ambiguous
                await self._set(job.id, S.AMBIGUOUS, error=ambiguous, error_class="ambiguous")
            elif isinstance(error, ProviderRejected | ProviderCapacity):
                await self._set(job.id, S.FAILED, error=error, error_class=_error_class(error))
            else:
                await self._set(job.id, S.FAILED, error=error, error_class=_error_class(error))
            return None
        submitted = result
        usd = submitted.reported_usd
        if usd is not None:
            self._budget.settle(job.id, usd)
        detail = self.secrets.scrub(f"provider job {submitted.provider_job_id}")
        if submitted.existed:
            detail += " (the provider already had this idempotency key)"
        money_fact = not self._recoverable(job.provider, job, attempt)
        try:
            await self._commit(
                lambda j: j.record_submitted(
                    job.id,
                    submitted.provider_job_id,
                    reported_usd=usd,
                    reported_credits=submitted.reported_credits,
                    detail=detail,
                    money_fact=money_fact,
                )
            )
        except sqlite3.OperationalError:
            # The job is bought, and the journal could not keep how to find it: the run's error
            # says it, the one place left, so the user can fetch it instead of buying it again.
            self._unkept.append(f"{job.id} at {job.provider} ({detail})")
            raise
        self._emit(job.id, S.SUBMITTED, detail)
        return submitted

    async def _poll(
        self, job: Job, client: ProviderClient, provider_job_id: str
    ) -> Finished | None:
        """Poll until the job is done, failed, or polling gives up (the job stays submitted)."""
        retry = self.settings.retry
        started = self._clock()
        unknown = 0
        for delay in poll_delays(retry):
            if delay:
                await self._sleep(delay)
            if self._stop.is_set():
                return None
            result = await self._ask(job, client, provider_job_id)
            if isinstance(result, GaveUp):
                error = result.error
                if isinstance(error, JobFailed):  # the provider's own word: it may be resent
                    await self._set(job.id, S.FAILED, error=error, error_class=_error_class(error))
                else:  # still at the provider: a later run polls it again; never re-submitted
                    await self._set(
                        job.id, S.SUBMITTED, error=error, error_class=_error_class(error)
                    )
                return None
            if result.unknown_status is not None and not result.done:
                unknown += 1
                if unknown >= self.settings.unknown_status_polls:
                    message = (
                        f"answered status {result.unknown_status!r}, which its documentation "
                        f"does not list, {unknown} times; the job stays submitted (not bought "
                        "again): resume polls it again"
                    )
                    await self._set(
                        job.id,
                        S.SUBMITTED,
                        error_class="unknown_status",
                        error=ProviderError(message, provider=job.provider),
                    )
                    return None
            if result.done:
                reported = result.reported_usd
                result = self._capped(job, result)
                if reported is not None or self._budget.holds(job.id):
                    # the reported cost replaces the reservation; without one, the estimate
                    estimate = self._estimates[job.id] or 0.0
                    self._budget.settle(job.id, estimate if reported is None else reported)
                await self._found(job, result, f"{len(result.outputs)} output(s)")
                return result
            if self._clock() - started > retry.poll_deadline:
                await self._set(
                    job.id,
                    S.SUBMITTED,
                    error_class="timeout",
                    detail=f"still running after {retry.poll_deadline:g} s; resume polls it again",
                )
                return None
        raise AssertionError("poll_delays never ends")

    def _capped(self, job: Job, finished: Finished) -> Finished:
        """At most ``max_outputs`` outputs per job; the rest are named in a note, not fetched."""
        cap = self.settings.max_outputs
        if len(finished.outputs) <= cap:
            return finished
        self._note(
            job.id,
            f"{job.provider} returned {len(finished.outputs):,} outputs; the first {cap} are "
            f"downloaded (--max-outputs {cap}), the other {len(finished.outputs) - cap:,} are not",
        )
        return dataclasses.replace(
            finished, outputs=finished.outputs[:cap], sizes=finished.sizes[:cap]
        )

    async def _download(
        self, job: Job, urls: Sequence[str], sizes: Sequence[int | None]
    ) -> ProviderError | Literal[False] | None:
        """Every output to ``<out>/<name>``: a temporary file first, checked, then renamed.

        None when all are saved; the error when an output URL is gone (the provider refuses it:
        expired or deleted), so the caller may ask for a fresh one; False for any other failure.
        """
        saved: list[tuple[str, int, float | None, str | None]] = []
        rule = self._rules[job.provider]
        cap = self.settings.output_cap(registry.get(job.provider).wire.limits.get("output_bytes"))
        for idx, url in enumerate(urls):
            expected = sizes[idx] if idx < len(sizes) else None
            path = self.settings.out_dir / file_name(self._names[job.id], idx, len(urls), url)
            result = await self._retry.run(
                "download",
                lambda url=url, path=path, expected=expected: self._bounded(  # type: ignore[misc]
                    self._downloads.fetch(job, url, path, expected, rule=rule, max_bytes=cap),
                    job.provider,
                ),
                note=self._noter(job.id),
            )
            if isinstance(result, GaveUp):
                error = result.error
                if _gone(error) and not result.interrupted:
                    return error
                await self._set(job.id, S.DOWNLOADING, error=error, error_class="download")
                return False
            await self._saved(
                job.id, idx, len(urls), path, result.size, result.duration_s, result.sha256
            )
            saved.append((str(path), result.size, result.duration_s, result.sha256))
        self._emit(job.id, S.DONE, f"{len(urls)} output(s) saved")
        key = self._store_key(job)
        store = self.settings.store
        if key is not None and store is not None:
            await asyncio.to_thread(
                store.keep,
                key,
                [f[:3] for f in saved],
                self._estimates.get(job.id),
                recipe=self.plan.recipe_name,
                job_id=job.id,
                job_key=job.key,
                doc=job_doc(job, self._keys),
            )
        return None

    # -- long media: pieces and their assembly -----------------------------------------------
    async def _prepare_piece(self, job: Job) -> Job | None:
        """The piece's media cut from the sources into the out directory (once: a file there is
        complete, being renamed into place), for the roles not uploaded yet; None if it failed."""
        piece = job.piece
        assert piece is not None
        uploaded = self._uploaded.get(job.id, {})
        media = dict(job.media)
        for role in ("video", "audio"):
            ref = media[role]
            path = self.settings.out_dir / str(ref.value)
            if role not in uploaded and not path.exists():
                path.parent.mkdir(parents=True, exist_ok=True)
                try:
                    if role == "video":
                        await asyncio.to_thread(
                            cut_video,
                            piece.video,
                            path,
                            piece.start,
                            piece.end,
                            copy=piece.video_method == COPY,
                            size=piece.size,
                        )
                    else:
                        await asyncio.to_thread(
                            cut_audio, piece.audio, path, piece.start, piece.end
                        )
                except InputError as exc:
                    await self._set(job.id, S.FAILED, error=exc, error_class="input")
                    return None
            most = _byte_limit(job.model_id, role)
            if role not in uploaded and most is not None and path.stat().st_size > most:
                # The plan's size was an estimate from the source's bitrate; never send what the
                # provider documents it will refuse.
                error = InputError(
                    f"piece {piece.index} of {piece.group} is {path.stat().st_size:,} bytes, over "
                    f"{job.model_id}'s limit of {most:,}: set cut.max_seconds lower",
                    path=str(path),
                )
                await self._set(job.id, S.FAILED, error=error, error_class="input")
                return None
            media[role] = replace(ref, value=str(path))
        return replace(job, media=media)

    def _piece_groups(self) -> dict[str, list[Job]]:
        groups: dict[str, list[Job]] = {}
        for job in self._job_list:
            if job.piece is not None:
                groups.setdefault(job.piece.group, []).append(job)
        return groups

    def _joins(self) -> list[tuple[str, list[Job], Callable[[Mapping[str, str], Path], Assembled]]]:
        """Every output joined from several jobs, with its jobs and how it is joined: a split
        lip sync from its pieces, a dub made line by line from its lines and the source video."""
        joins: list[tuple[str, list[Job], Callable[[Mapping[str, str], Path], Assembled]]] = [
            (group, jobs, functools.partial(_join_pieces, jobs))
            for group, jobs in self._piece_groups().items()
        ]
        for dub in dub_joins(self.plan):
            jobs = [self._jobs[job_id] for _, _, job_id in dub.lines]
            joins.append((dub.name, jobs, functools.partial(join_dub, dub)))
        return joins

    async def _assemble_all(self) -> None:
        """Join the outputs of every joined output whose jobs are all done (once: a joined
        file that is journaled and intact is kept), and journal how it went."""
        records = self._j.jobs()
        joined = self._j.assemblies()
        for group, jobs, join in self._joins():
            if self._stop.is_set():
                return
            if any(records[j.id].state != S.DONE or not records[j.id].outputs for j in jobs):
                continue
            made_of = _made_of(jobs, records)
            rec = joined.get(group)
            if rec is not None and rec.intact() and rec.detail.get(MADE_OF) == made_of:
                continue  # joined from these very outputs: a line bought again is joined anew
            path = (
                self.settings.out_dir / f"{output_names((replace(jobs[0], id=group),))[group]}.mp4"
            )
            outputs = {j.id: str(records[j.id].outputs[0].path) for j in jobs}
            if rec is not None and rec.path is not None and not rec.intact():
                aside = await asyncio.to_thread(set_aside, Path(rec.path))
                if aside is not None:
                    said = f"{Path(rec.path).name} was changed since it was joined: kept as {aside.name}"
                    self._tell(group, "kept", said)
            self._j.record_assembly(group, "assembling", path=str(path))
            self._tell(group, "assembling", f"joining {len(jobs)} pieces into {path}")
            try:
                result = await asyncio.to_thread(join, outputs, path)
            except (AssemblyFailed, InputError) as exc:
                self._j.record_assembly(group, "failed", path=str(path), error=exc.message)
                self._tell(group, "failed", exc.message)
                continue
            self._j.record_assembly(
                group,
                "done",
                path=result.path,
                size_bytes=result.size_bytes,
                detail={**result.to_json(), MADE_OF: made_of},
            )
            self._tell(group, "joined", f"{result.duration_s:.2f} s, verified: {result.path}")

    def _tell(self, name: str, state: str, detail: str) -> None:
        """Show an assembly's progress, or what became of a job's file (the job counts stay as
        they are)."""
        if self.observer is not None:
            self.observer.update(name, state, detail, self._snapshot())

    async def _stoppable_sleep(self, seconds: float) -> None:
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(self._stop.wait(), timeout=seconds)

    # -- report ----------------------------------------------------------------------------
    def _report(self, journal: Journal) -> RunReport:
        """How each job ended, and the jobs kept as an older lipflow bought them, otherwise
        than this one would (what was otherwise), each with its outputs."""
        records = journal.jobs()
        reports = []
        for job in self._job_list:
            rec = records[job.id]
            reports.append(
                JobReport(
                    id=job.id,
                    step=job.step,
                    provider=job.provider,
                    model=job.model,
                    state=str(rec.state),
                    attempts=rec.attempt,
                    task_uuid=rec.task_uuid,
                    provider_job_id=rec.provider_job_id,
                    outputs=rec.outputs,
                    estimated_usd=self._estimates.get(job.id),
                    reported_usd=rec.reported_usd,
                    reported_credits=rec.reported_credits,
                    error_class=rec.error_class,
                    error=rec.error,
                    # A journaled path is as this run reaches it (through --out as given).
                    missing=frozenset(
                        o.path for o in rec.outputs if o.path and not os.path.isfile(o.path)
                    ),
                )
            )
        joined = journal.assemblies()
        assemblies = tuple(
            AssemblyReport(
                group=group,
                pieces=tuple(j.id for j in jobs),
                state=joined[group].state if group in joined else "waiting",
                record=joined.get(group),
            )
            for group, jobs, _ in self._joins()
        )
        return RunReport(
            assemblies=assemblies,
            recipe=self.plan.recipe_file,
            out_dir=str(self.settings.out_dir),
            journal=str(self.journal_path),
            jobs=tuple(reports),
            elapsed_s=self._clock() - self._started,
            interrupted=self.interrupted,
            polls=self.polls,
            requests=self.requests,
            mock=self.settings.target == "mock",
            resume_args=self.settings.resume_args(self.plan.recipe_file),
            budget_usd=self._budget.budget,
            spent_usd=self._budget.spent,
            not_in_recipe=self.not_in_recipe,
            kept_otherwise=tuple(
                KeptOtherwise(
                    id=job_id,
                    step=self._jobs[job_id].step,
                    outputs=tuple(o.path for o in records[job_id].outputs if o.path),
                    why=why,
                )
                for job_id, why in sorted(self._kept_otherwise.items())
                if job_id in records and records[job_id].state == S.DONE
            ),
        )


# ---------------------------------------------------------------------------------- the edge


def execute(
    plan: Plan,
    settings: RunSettings,
    *,
    observer: Observer | None = None,
    transport: httpx.AsyncBaseTransport | None = None,
) -> RunReport:
    """Run ``plan`` to the end on a fresh event loop and HTTP client: what ``lipflow run`` calls.

    The first SIGINT (Ctrl-C) or SIGTERM stops submitting and lets jobs in flight write their
    state; a second one cancels at once (the journal is still consistent: every fact is one transaction).
    """
    import signal

    from lipflow.run.transport import run_sender  # aiohttp's import only when a run sends

    async def main() -> RunReport:
        limits = httpx.Limits(
            max_connections=max(16, settings.concurrency * 2),
            max_keepalive_connections=max(16, settings.concurrency * 2),
        )
        async with run_sender(transport=transport, limits=limits) as client:
            runner = Runner(plan, settings, client, observer=observer)
            loop = asyncio.get_running_loop()
            task = asyncio.current_task()

            def on_sigint() -> None:
                if runner.interrupted and task is not None:
                    task.cancel()
                runner.interrupt()

            # SIGTERM (docker stop, a CI job cancelled, kill) is a Ctrl-C too: the run settles
            # its journal and says how to resume, instead of ending as a kill -9 does.
            installed = []
            for signum in (signal.SIGINT, signal.SIGTERM):
                try:
                    loop.add_signal_handler(signum, on_sigint)
                    installed.append(signum)
                except (NotImplementedError, RuntimeError, ValueError):
                    pass  # not the main thread, or no signals here: Ctrl-C raises instead
            try:
                return await runner.run()
            finally:
                for signum in installed:
                    loop.remove_signal_handler(signum)

    try:
        return asyncio.run(main())
    except asyncio.CancelledError:
        raise KeyboardInterrupt from None


# ---------------------------------------------------------------------------------- helpers


def _cancelled_by_another(task: asyncio.Task[Any]) -> bool:
    """After the grace period's cut reached ``task``: whether it was cancelled again besides
    (the run itself). The cut's own cancellation is withdrawn, so the job goes on to journal
    its request as ambiguous; Python 3.10 does not count cancellations, and takes it as the
    cut's alone."""
    if sys.version_info < (3, 11):  # pragma: no cover
        return False
    return task.uncancel() > 0


def _lock_out_dir(out: Path) -> IO[bytes] | None:
    """An exclusive lock on the out directory for the run's life: one runner per journal."""
    try:
        import fcntl
    except ImportError:  # not on POSIX: no advisory locks; one run at a time is up to the user
        return None
    handle = open(out / ".lipflow.lock", "wb")  # noqa: SIM115 - held until the run ends
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        handle.close()
        raise UsageError(
            f"another lipflow run is using {out}; wait for it or use another --out"
        ) from None
    return handle


def _restart_at_a_new_mock(journal: Journal) -> None:
    """Each ``--mock`` run has its own mock, and the last one's jobs and uploads ended with it:
    what it held and this out directory has not saved is sent again. The mock is free, so this
    pays nothing twice; it is how an interrupted ``--mock`` run is finished."""
    gone = [
        rec.id
        for rec in journal.jobs().values()
        if rec.state in SENT  # at the last run's mock
        and not (rec.state == S.DONE and rec.outputs and all(o.intact() for o in rec.outputs))
    ]
    journal.restart_at_a_new_mock(
        gone, "the mock of the last --mock run ended with it; sent again to this run's mock"
    )


def _target(settings: RunSettings) -> str:
    if settings.target == "mock":
        return "the bundled mock (--mock)"
    return ", ".join(f"{k} {v}" for k, v in sorted(settings.base_urls.items()))


# Jobs started at once at least (more with a higher --concurrency); the rest wait unstarted.
_WINDOW = 256


def _output_stems(name: str) -> list[str]:
    """The job file-name stems ``name`` could be an output of: ``<stem>.<ext>`` or
    ``<stem>-<n>.<ext>`` (one output of several), the names :func:`file_name` gives."""
    base, dot, ext = name.rpartition(".")
    if not dot or not base or not ext.isascii() or not ext.isalnum():
        return []
    stems = [base]
    head, dash, number = base.rpartition("-")
    if dash and head and number.isascii() and number.isdigit():
        stems.append(head)
    return stems


class _PlannedField(Mapping[str, T]):
    """One field of each planned job, by job id, read from the plan's own entries."""

    __slots__ = ("_planned", "_read")

    def __init__(self, planned: Mapping[str, PlannedJob], read: Callable[[PlannedJob], T]) -> None:
        self._planned, self._read = planned, read

    def __getitem__(self, job_id: str) -> T:
        return self._read(self._planned[job_id])

    def __iter__(self) -> Iterator[str]:
        return iter(self._planned)

    def __len__(self) -> int:
        return len(self._planned)


def _key(pj: PlannedJob) -> str:
    return pj.job.key


def _estimate(pj: PlannedJob) -> float | None:
    return pj.cost.usd


def _maximum(pj: PlannedJob) -> float | None:
    return pj.cost.usd if pj.usd_high is None else pj.usd_high


def _dependencies_first(jobs: Sequence[Job]) -> Sequence[Job]:
    """``jobs`` in their order, except that each comes after the jobs it needs (in ``jobs``)."""
    if not any(job.needs for job in jobs):
        return jobs  # nothing to reorder (and no second index of 100,000 jobs to build)
    by_id = {job.id: job for job in jobs}
    seen: set[str] = set()
    order: list[Job] = []
    for root in jobs:
        stack: list[tuple[Job, bool]] = [(root, False)]
        while stack:
            job, expanded = stack.pop()
            if expanded:
                order.append(job)
                continue
            if job.id in seen:
                continue
            seen.add(job.id)
            stack.append((job, True))
            stack.extend(
                (by_id[need], False)
                for need in reversed(job.needs)
                if need in by_id and need not in seen
            )
    return order


LOST = OUTPUT_LOST  # the error class of a job whose output cannot be fetched or re-polled


def _gone(error: ProviderError) -> bool:
    """The output URL no longer serves the output: 4xx other than rate limiting (an expired
    signed URL is 403 or 400, a deleted file 404 or 410)."""
    return (
        isinstance(error, ProviderRejected)
        and error.status is not None
        and 400 <= error.status < 500
        and error.status != 429
    )


def _through_json(value: dict[str, Any], change: Callable[[str], str]) -> dict[str, Any]:
    """``value`` with ``change`` applied to its JSON text; ``value`` itself when that changes
    nothing (the usual upload: no key in it, no JSON parsed again)."""
    text = json.dumps(value)
    changed = change(text)
    if changed == text:
        return value
    parsed: dict[str, Any] = json.loads(changed)
    return parsed


def _forgotten(provider: str, error: ProviderError) -> bool:
    """Whether ``error`` is the provider saying it does not know the job (:class:`JobUnknown`, an
    error code or HTTP status its wire declares ``not_found``): a job it has forgotten, not a passing failure."""
    if isinstance(error, JobUnknown):
        return True
    if not isinstance(error, ProviderRejected):
        return False
    not_found = registry.get(provider).wire.codes("not_found")
    return error.code in not_found or error.status in not_found


def _byte_limit(model_id: str, role: str) -> int | None:
    """The most bytes ``model_id`` documents it takes for a ``role`` (video, audio, image)."""
    most: int | None = (load_catalog().model(model_id).limits.get(role) or {}).get("max_bytes")
    return most


def _over_byte_limit(model_id: str, value: str, size: int, most: int) -> InputError:
    """The error for bytes about to be uploaded that the model documents it refuses: a video
    turned upright is re-encoded, and can outgrow the file the plan measured."""
    path, span = piece_range(value)
    if span is not None:
        what, fix = "the part cut from it", "cut it shorter"
    elif turn_to_send(value):
        what = "turned upright for the provider (its display matrix turns it), it"
        fix = "turn it upright yourself at a lower quality, or set cut.max_seconds to send it in pieces"
    else:
        what, fix = "it", "send a smaller file"
    return InputError(
        f"{what} is {size:,} bytes, over {model_id}'s limit of {most:,}: {fix}; nothing was sent",
        path=path,
    )


def _error_class(exc: ProviderError) -> str:
    if isinstance(exc, JobFailed):
        return exc.reason
    return {
        ProviderRejected: "rejected",
        ProviderCapacity: "capacity",
        ProviderUnavailable: "unavailable",
        ProviderAmbiguous: "ambiguous",
        OutputInvalid: "download",
        OutputRefused: "download",
        ReplyUnreadable: "unreadable",
    }.get(type(exc), "error")


_JOIN_FORMAT = 2  # 2: a dub's stretches between lines carry the source's sound


def _made_of(jobs: Sequence[Job], records: Mapping[str, JobRecord]) -> str:
    """What a joined output is made of, as 64 hex digits: its jobs in order, each with its
    content key and its output's bytes. A journaled join whose jobs were bought again, added or
    dropped since (a line edited, a cue removed) is no longer the join this plan asks for.
    ``_JOIN_FORMAT`` counts changes to how joins are made: a dub joined before the source's
    sound was kept between its lines is silent there, and is joined again."""
    parts: list[object] = [_JOIN_FORMAT]
    for job in jobs:
        rec = records[job.id]
        output = rec.outputs[0]
        parts.append([job.id, rec.key, output.sha256, output.size_bytes])
    return hashlib.sha256(json.dumps(parts).encode()).hexdigest()


def _join_pieces(jobs: Sequence[Job], outputs: Mapping[str, str], path: Path) -> Assembled:
    """A split lip sync's pieces joined in order, at the source's frame rate and sample rate."""
    first = jobs[0].piece
    assert first is not None
    pieces = [AssemblyPiece(outputs[j.id], j.piece.start, j.piece.end) for j in jobs if j.piece]
    rate = audio_facts(first.audio).rate
    return assemble(pieces, path, fps=Fraction(first.fps), size=first.size, audio_rate=rate)

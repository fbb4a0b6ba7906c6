"""The runner's journal writer: every fact committed in the order it was handed over.

A fact is a call on the :class:`~lipflow.run.journal.Journal` (a state change, an upload, an
output, a note). The writer runs it on the event loop at once, unless an earlier fact is still
committing; then it waits its turn in a queue. A fact that commits with ``synchronous=NORMAL``
(no fsync) costs the loop less than handing it to a thread and back. A money-protecting fact
(the submit intent, the provider's job id) is written on the loop too, and its COMMIT, which
fsyncs the WAL (``synchronous=FULL``), runs where it costs the run least: on the loop while
this disk's syncs are quick (their moving average under :data:`INLINE_SYNC_S`), on a thread
of its own once they are slow, so that the loop serves the other jobs while the disk syncs.
Either way the job waits for that commit, and no other fact touches the journal until it has
ended. Each fact is still its own transaction and its own commit; none is batched with another.

Handing every fact to a thread cost more than the fsyncs it hid: each statement gave the GIL
back and waited to retake it from the busy loop, so a money fact's commit took 2-4x the disk's
own sync time inside a run, and the jobs waiting for it queued behind one another. Measured
against ``benchmarks/http_client.py``'s bare server (300 jobs, concurrency 16, 5 paired rounds on
a shared 2-core machine): 83 -> 90 jobs/s and 8.4 -> 8.0 ms of CPU per job with fsync'd facts,
107 -> 139 jobs/s and 7.1 -> 5.7 ms without.

Handing only the COMMIT to the thread still cost more than a quick sync: the thread waits for
the GIL to start it and again to end it, and its end reaches the loop behind every callback
queued meanwhile, so a 0.7-1 ms fsync held the journal for 2.2-3 ms (the money facts' commits,
one after another, bounded the run: jobs waited 15 ms for each). On a disk that syncs in under
a millisecond the loop now waits for the fsync itself.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import functools
from collections import deque
from collections.abc import Callable
from typing import Any, TypeVar

from lipflow.run.journal import Journal, Transaction
from lipflow.run.pace import Pace

__all__ = ["INLINE_SYNC_S", "JournalWriter"]

# While the disk's syncs average less than this, a money fact's COMMIT runs on the loop: the
# hop to the writer's thread and back costs the run more than the sync it would hide.
INLINE_SYNC_S = 0.002

T = TypeVar("T")
_Fact = Callable[[Journal], Any]


class JournalWriter:
    """Commits a run's facts in order, for the jobs' phase of one run (then :meth:`close`)."""

    def __init__(
        self,
        journal: Journal,
        *,
        late_error: Callable[[BaseException], None],
        inline_sync_s: float = INLINE_SYNC_S,
    ) -> None:
        """``late_error`` hears of a queued fact nobody waits for (a note) that failed;
        ``inline_sync_s``: the average sync time under which a COMMIT runs on the loop (0: on
        the writer's thread always)."""
        self._journal = journal
        self._pace = Pace(inline_sync_s)
        self._late_error = late_error
        self._loop = asyncio.get_running_loop()
        self._queue: deque[tuple[_Fact, asyncio.Future[Any] | None]] = deque()
        self._thread = concurrent.futures.ThreadPoolExecutor(
            max_workers=1, thread_name_prefix="lipflow-journal"
        )
        self._committing: _Committing | None = None  # a money fact whose COMMIT is on the thread
        self._settled = asyncio.Event()
        self._settled.set()
        journal.defer_durable_commits(True)

    def commit(self, fact: Callable[[Journal], T]) -> asyncio.Future[T]:
        """Commit ``fact`` after every fact handed over before it; the future is its result."""
        future: asyncio.Future[T] = self._loop.create_future()
        self._queue.append((fact, future))
        self._drain()
        return future

    def commit_later(self, fact: Callable[[Journal], None]) -> None:
        """Commit an informative ``fact`` in its turn; nobody waits for it (a failure is told
        to ``late_error``)."""
        self._queue.append((fact, None))
        self._drain()

    async def close(self) -> None:
        """Wait until every fact handed over is committed (or has failed), then end the thread.
        If the wait is cancelled, a commit under way still ends before this returns, and the
        facts nobody waits for any more (notes) are committed; the others are dropped."""
        try:
            await self._settled.wait()
        finally:
            self._thread.shutdown(wait=True)
            if self._committing is not None:  # its callback may never reach the loop now
                self._committed(self._committing)
            self._journal.defer_durable_commits(False)
            self._drain()

    def _drain(self) -> None:
        """Run queued facts until one leaves a COMMIT to the thread (or none is left).

        A COMMIT the thread has ended is finished here at once, without waiting for its
        callback to reach the loop (behind every callback queued before it): the next fact's
        turn, and the next fsync, come sooner while the loop is busy."""
        committing = self._committing
        if committing is not None and committing.sync.done():
            self._committed(committing)  # which drains the queue itself
            return
        while self._committing is None and self._queue:
            fact, future = self._queue.popleft()
            if future is not None and future.cancelled():
                continue  # its job was cancelled before its turn: the fact never happened
            try:
                result = fact(self._journal)
                deferred = self._journal.take_deferred()
            except BaseException as exc:
                self._settle(future, None, exc)
                continue
            if deferred is None:
                self._settle(future, result, None)
                continue
            if self._pace.inline:
                try:
                    self._pace.timed(deferred.commit)
                except BaseException as exc:
                    self._finish(deferred, future, result, exc)
                else:
                    self._finish(deferred, future, result, None)
                continue
            sync = self._thread.submit(self._pace.timed, deferred.commit)
            committing = _Committing(deferred, future, result, sync)
            self._committing = committing
            committing.sync.add_done_callback(functools.partial(self._wake, committing))
        if self._committing is None and not self._queue:
            self._settled.set()
        else:
            self._settled.clear()

    def _wake(self, committing: _Committing, _: object) -> None:  # on the writer's thread
        self._loop.call_soon_threadsafe(self._committed, committing)

    def _committed(self, committing: _Committing) -> None:
        """On the loop, once the thread's COMMIT has ended: finish the fact, then the queue."""
        if self._committing is not committing:
            return  # finished already (by close)
        self._committing = None
        self._finish(
            committing.transaction,
            committing.future,
            committing.result,
            committing.sync.exception(),
        )
        self._drain()

    def _finish(
        self,
        transaction: Transaction,
        future: asyncio.Future[Any] | None,
        result: Any,
        error: BaseException | None,
    ) -> None:
        """A money fact's COMMIT has ended (``error``: what it raised): its bookkeeping, then
        its future."""
        try:
            transaction.finish(error)
        except BaseException as exc:
            self._settle(future, None, exc)
        else:
            self._settle(future, result, None)

    def _settle(
        self, future: asyncio.Future[Any] | None, result: Any, error: BaseException | None
    ) -> None:
        if future is None:
            if error is not None:
                self._late_error(error)
        elif not future.done():
            if error is None:
                future.set_result(result)
            else:
                future.set_exception(error)


class _Committing:
    """A money fact between its statements and the end of its COMMIT on the writer's thread."""

    __slots__ = ("future", "result", "sync", "transaction")

    def __init__(
        self,
        transaction: Transaction,
        future: asyncio.Future[Any] | None,
        result: Any,
        sync: concurrent.futures.Future[None],
    ) -> None:
        self.transaction = transaction
        self.future = future
        self.result = result
        self.sync = sync

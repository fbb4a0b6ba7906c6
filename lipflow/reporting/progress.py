"""How a run shows its progress: a live status line on a terminal, plain log lines elsewhere.

Both are observers of the runner (``Runner(observer=...)``): they are told every state change
and a snapshot of the counts, and only write text. Progress goes to stderr, so ``--format json``
keeps stdout for the run report alone.
"""

from __future__ import annotations

import time
from typing import TextIO

from lipflow.run.report import Snapshot

__all__ = ["LineProgress", "LiveProgress", "progress_for"]

# Printed on a line of their own above the status line, as they happen.
_PRINTED = frozenset({"failed", "ambiguous", "blocked", "kept"})  # "kept": a user's file set aside


def _status(s: Snapshot) -> str:
    return (
        f"{s.done}/{s.total} done, {s.running} running, {s.queued} queued, {s.failed} failed, "
        f"{s.ambiguous} ambiguous; {s.elapsed_s:.1f} s; ${s.spent_usd:.4f} reported spent"
    )


class LineProgress:
    """One line per state change: for logs, CI and pipes."""

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream

    def update(self, job_id: str, state: str, detail: str | None, snapshot: Snapshot) -> None:
        stamp = time.strftime("%H:%M:%S")
        suffix = f": {detail}" if detail else ""
        self.stream.write(f"{stamp} {state:<11} {job_id}{suffix}\n")
        self.stream.flush()

    def close(self) -> None:
        return None


class LiveProgress:
    """One status line redrawn in place (at most ten times a second); failures printed above it.

    A state change costs O(1) and writes nothing unless the line is due (or a failure was
    printed over it): the line is formatted only when drawn, and the last one is drawn on close,
    so a run of 100,000 jobs writes about ten lines a second, not one per finished job.
    """

    def __init__(self, stream: TextIO, *, interval: float = 0.1) -> None:
        self.stream = stream
        self.interval = interval
        self._last = 0.0
        self._snapshot: Snapshot | None = None

    def update(self, job_id: str, state: str, detail: str | None, snapshot: Snapshot) -> None:
        self._snapshot = snapshot
        if state in _PRINTED:
            self.stream.write(f"\r\x1b[K{state}: {job_id}{f': {detail}' if detail else ''}\n")
            self._draw()
            return
        now = time.monotonic()
        if now - self._last >= self.interval:
            self._last = now
            self._draw()

    def _draw(self, end: str = "") -> None:
        if self._snapshot is not None:
            self.stream.write(f"\r\x1b[K{_status(self._snapshot)}{end}")
            self.stream.flush()

    def close(self) -> None:
        self._draw("\n")


def progress_for(stream: TextIO) -> LineProgress | LiveProgress:
    """A live display when ``stream`` is a terminal, log lines otherwise."""
    isatty = getattr(stream, "isatty", None)
    return LiveProgress(stream) if isatty is not None and isatty() else LineProgress(stream)

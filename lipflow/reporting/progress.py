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

_NOTEWORTHY = frozenset({"failed", "ambiguous", "blocked", "done"})


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
    """One status line redrawn in place (at most ten times a second); failures printed above it."""

    def __init__(self, stream: TextIO, *, interval: float = 0.1) -> None:
        self.stream = stream
        self.interval = interval
        self._last = 0.0
        self._line = ""

    def update(self, job_id: str, state: str, detail: str | None, snapshot: Snapshot) -> None:
        if state in _NOTEWORTHY and state != "done":
            self.stream.write(f"\r\x1b[K{state}: {job_id}{f': {detail}' if detail else ''}\n")
        now = time.monotonic()
        self._line = _status(snapshot)
        if now - self._last >= self.interval or state in _NOTEWORTHY:
            self._last = now
            self.stream.write(f"\r\x1b[K{self._line}")
            self.stream.flush()

    def close(self) -> None:
        if self._line:
            self.stream.write(f"\r\x1b[K{self._line}\n")
            self.stream.flush()


def progress_for(stream: TextIO) -> LineProgress | LiveProgress:
    """A live display when ``stream`` is a terminal, log lines otherwise."""
    isatty = getattr(stream, "isatty", None)
    return LiveProgress(stream) if isatty is not None and isatty() else LineProgress(stream)

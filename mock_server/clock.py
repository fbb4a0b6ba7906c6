"""Time as the simulator sees it, injectable so tests decide when a job finishes.

Jobs finish when the clock passes their ready time; nothing runs in the background. A test that
wants a job to stay in progress uses :class:`ManualClock` and advances it; a realistic run uses
:class:`SystemClock`. Wall-clock timestamps in replies (``created_at``) come from ``wall()``.
"""

from __future__ import annotations

import threading
import time
from typing import Protocol

__all__ = ["Clock", "ManualClock", "SystemClock"]


class Clock(Protocol):
    def now(self) -> float:
        """Seconds on a monotonic scale: only differences matter."""
        ...

    def wall(self) -> float:
        """Seconds since the epoch, for timestamps shown to clients."""
        ...


class SystemClock:
    """The real time: monotonic for job progress, the system clock for timestamps."""

    def now(self) -> float:
        return time.monotonic()

    def wall(self) -> float:
        return time.time()


class ManualClock:
    """A clock that moves only when told to; safe to advance from another thread."""

    def __init__(self, start: float = 0.0, *, wall_start: float = 1_750_000_000.0) -> None:
        self._now = start
        self._wall_offset = wall_start - start
        self._lock = threading.Lock()

    def now(self) -> float:
        with self._lock:
            return self._now

    def wall(self) -> float:
        with self._lock:
            return self._now + self._wall_offset

    def advance(self, seconds: float) -> None:
        if seconds < 0:
            raise ValueError("a clock cannot go back")
        with self._lock:
            self._now += seconds

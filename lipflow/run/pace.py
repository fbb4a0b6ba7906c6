"""How long a blocking step takes on this machine (a moving average), and so where the next one
runs: on the event loop while it is quick, on a worker thread once it has been slow.

A hop to a thread and back costs the loop more than a step of a millisecond or two: a task or
a future, a thread switch, waiting for the GIL at both ends, and a wake-up behind every
callback queued meanwhile. A step the disk makes slow (an fsync, creating a file behind the
file system's journal) is worth it: the loop serves the other jobs while it waits.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import ParamSpec, TypeVar

__all__ = ["Pace"]

P = ParamSpec("P")
T = TypeVar("T")


class Pace:
    """The moving average of a step's duration (over about its last 8 runs) against a limit."""

    __slots__ = ("_average", "_limit")

    def __init__(self, limit: float) -> None:
        self._limit = limit
        self._average = 0.0

    @property
    def inline(self) -> bool:
        """Whether the next step runs on the loop."""
        return self._average < self._limit

    def timed(self, step: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
        """Run ``step`` (on either thread) and count how long it took, failed or not."""
        started = time.perf_counter()
        try:
            return step(*args, **kwargs)
        finally:
            self._average += (time.perf_counter() - started - self._average) / 8

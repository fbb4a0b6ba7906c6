"""Paired rounds and the one way every benchmark reports a ratio against its baseline.

A benchmark measures lipflow and its strongest baseline in the same round, back to back (the
order alternating between rounds, so a machine that slows down during the run hurts both
alike), and reports the per-round ratios as min / median / max with its goal and whether the
median meets it. Ratios of paired measurements, not timed assertions: the machine's speed
cancels out of each round.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Literal

__all__ = ["Goal", "Ratios", "paired", "spread", "timed"]


def timed(action: Callable[[], object]) -> float:
    """Wall-clock seconds one call of ``action`` takes."""
    start = time.perf_counter()
    action()
    return time.perf_counter() - start


def paired(
    rounds: int, ours: Callable[[], float], baseline: Callable[[], float]
) -> tuple[list[float], list[float]]:
    """Run ``ours`` and ``baseline`` once per round, alternating which goes first.

    Each callable returns its own measurement (seconds, bytes, jobs/s: whatever the benchmark
    compares), so a callable can exclude its set-up from what it reports.
    """
    mine: list[float] = []
    theirs: list[float] = []
    for round_ in range(rounds):
        if round_ % 2 == 0:
            mine.append(ours())
            theirs.append(baseline())
        else:
            theirs.append(baseline())
            mine.append(ours())
    return mine, theirs


@dataclass(frozen=True)
class Goal:
    """What the median ratio must be: ``at_least`` for rates, ``at_most`` for costs."""

    bound: float
    kind: Literal["at_least", "at_most"]

    def met(self, ratio: float) -> bool:
        return ratio >= self.bound if self.kind == "at_least" else ratio <= self.bound

    def __str__(self) -> str:
        return f"{'>=' if self.kind == 'at_least' else '<='} {self.bound:g}"


@dataclass(frozen=True)
class Ratios:
    """Per-round ratios ``ours / baseline`` and the goal they are held to."""

    what: str
    values: Sequence[float]
    goal: Goal

    @classmethod
    def of(cls, what: str, ours: Sequence[float], baseline: Sequence[float], goal: Goal) -> Ratios:
        return cls(what, [a / b for a, b in zip(ours, baseline, strict=True)], goal)

    @property
    def median(self) -> float:
        return statistics.median(self.values)

    @property
    def met(self) -> bool:
        return self.goal.met(self.median)

    def line(self) -> str:
        """``<what>: min 0.81, median 0.86, max 0.90 over 3 rounds; goal >= 0.8: met``"""
        return f"{self.figures()}; goal {self.goal}: {'met' if self.met else 'NOT met'}"

    def compared(self, why: str = "for comparison") -> str:
        """The figures without a verdict, for a ratio the goal does not judge: ``why``."""
        return f"{self.figures()} ({why})"

    def figures(self) -> str:
        """``<what>: min 0.81, median 0.86, max 0.90 over 3 rounds``"""
        return (
            f"{self.what}: min {min(self.values):.2f}, median {self.median:.2f}, "
            f"max {max(self.values):.2f} over {len(self.values)} paired round(s)"
        )


def spread(values: Sequence[float], unit: str = "s", scale: float = 1.0) -> str:
    """``min / median / max`` of raw measurements, for the lines above a ratio."""
    low, mid, high = (v * scale for v in (min(values), statistics.median(values), max(values)))
    return f"min {low:.3f} {unit}, median {mid:.3f} {unit}, max {high:.3f} {unit}"

"""A memo that cannot grow without bound: the one way lipflow's per-plan caches forget."""

from __future__ import annotations

from typing import Generic, TypeVar

__all__ = ["BoundedMemo"]

K = TypeVar("K")
V = TypeVar("V")


class BoundedMemo(dict[K, V], Generic[K, V]):
    """A dict that forgets everything when it holds ``kept`` entries and takes one more.

    For memos of what a plan's jobs share (estimates, costs, encodings): a plan needs a few
    thousand entries at once, a huge one would otherwise keep one per job. Clearing all at once
    is cheaper per entry than evicting one by one, and lookups stay plain ``dict`` lookups."""

    __slots__ = ("kept",)

    def __init__(self, kept: int) -> None:
        super().__init__()
        self.kept = kept

    def put(self, key: K, value: V) -> V:
        """``self[key] = value`` (forgetting the rest first when full); returns ``value``."""
        if len(self) >= self.kept:
            self.clear()
        self[key] = value
        return value

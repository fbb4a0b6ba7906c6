"""The request journal: every request the mock received and what it did about it.

Tests assert on it after the fact (how many submits reached the server, what a client sent) the
way pytest-httpserver's log is used. API keys never enter it: the simulator stores what
:mod:`mock_server.redaction` keeps of a request (credentials out in every spelling and encoding),
and long base64 payloads are summarized so the journal stays small.
"""

from __future__ import annotations

import threading
from collections import deque
from dataclasses import dataclass, field
from typing import Any

__all__ = ["Journal", "Record"]


@dataclass(slots=True, kw_only=True)
class Record:
    """One request: what came in, how the mock classified it, and what went out."""

    seq: int
    time: float
    transport: str
    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: Any
    provider: str | None = None
    op: str | None = None
    status: int | None = None
    outcome: str = "answered"  # answered | dropped | reply_lost
    faults: list[str] = field(default_factory=list)
    jobs: list[str] = field(default_factory=list)
    reply: Any = None

    def to_json(self) -> dict[str, Any]:
        return {
            "seq": self.seq,
            "time": self.time,
            "transport": self.transport,
            "method": self.method,
            "path": self.path,
            "query": self.query,
            "headers": self.headers,
            "body": self.body,
            "provider": self.provider,
            "op": self.op,
            "status": self.status,
            "outcome": self.outcome,
            "faults": self.faults,
            "jobs": self.jobs,
            "reply": self.reply,
        }


class Journal:
    """A bounded, thread-safe log of :class:`Record`; the oldest go first past ``limit``."""

    def __init__(self, limit: int = 50_000) -> None:
        self._records: deque[Record] = deque(maxlen=limit)
        self._seq = 0
        self._lock = threading.Lock()

    def open(self, **fields: Any) -> Record:
        """Start a record; the caller fills in its outcome, then it is already in the journal."""
        with self._lock:
            self._seq += 1
            record = Record(seq=self._seq, **fields)
            self._records.append(record)
        return record

    def records(
        self, *, provider: str | None = None, op: str | None = None, since: int = 0
    ) -> list[Record]:
        with self._lock:
            items = list(self._records)
        return [
            r
            for r in items
            if r.seq > since
            and (provider is None or r.provider == provider)
            and (op is None or r.op == op)
        ]

    def clear(self) -> None:
        with self._lock:
            self._records.clear()

    def __len__(self) -> int:
        with self._lock:
            return len(self._records)

"""The request journal: every request the mock received and what it did about it.

Tests assert on it after the fact (how many submits reached the server, what a client sent) the
way pytest-httpserver's log is used. API keys never enter it: the simulator stores what
:mod:`mock_server.redaction` keeps of a request (credentials out in every spelling and encoding),
and long base64 payloads are summarized so the journal stays small.
"""

from __future__ import annotations

import json
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
    _reply: Any = None
    # A reply document kept whole, as the JSON text it was sent as: parsed when first read (most
    # records never are), the same document a copy made now would be (the text cannot change).
    _reply_text: str | None = field(default=None, repr=False, compare=False)

    @property
    def reply(self) -> Any:
        """What the journal keeps of the reply (a document, redacted, or a body's size)."""
        text = self._reply_text
        if text is None:
            return self._reply
        document = json.loads(text)
        self._reply = document  # before the text goes: a reader in between parses it again
        self._reply_text = None
        return document

    @reply.setter
    def reply(self, value: Any) -> None:
        self._reply, self._reply_text = value, None

    def keep_reply_text(self, text: str) -> None:
        """Keep a reply whose JSON ``text`` has nothing to redact, as the document it encodes."""
        self._reply, self._reply_text = None, text

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

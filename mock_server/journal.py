"""The request journal: every request the mock received and what it did about it.

Tests assert on it after the fact (how many submits reached the server, what a client sent) the
way pytest-httpserver's log is used. API keys never come out of it: a record gives what
:mod:`mock_server.redaction` keeps of a request (credentials out in every spelling and encoding),
worked out from what the simulator left it when the record is first read, and long base64
payloads are summarized on the request's path so the journal stays small.
"""

from __future__ import annotations

import json
import threading
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

__all__ = ["Journal", "Kept", "Record"]


# What a record keeps of its request, computed when first read: (path, query, headers, body).
Kept = tuple[str, dict[str, str], dict[str, str], Any]


# Its __init__ is written out, taking the four fields a record starts with by position: the
# generated one binds all 17 fields as keywords, calling list() or dict() for each default
# container (9,500 instructions a record, against 4,200).
@dataclass(slots=True, init=False)
class Record:
    """One request: what came in, how the mock classified it, and what went out.

    What is kept of the request (``path``, ``query``, ``headers``, ``body``) and of the reply
    may be worked out when first read rather than on the request's path (``kept``, and a
    reply's ``scrub``): most records are never read, and every way a record is read goes
    through these properties."""

    seq: int
    time: float
    transport: str
    method: str
    provider: str | None = None
    op: str | None = None
    status: int | None = None
    outcome: str = "answered"  # answered | dropped | reply_lost
    faults: list[str] = field(default_factory=list)
    jobs: list[str] = field(default_factory=list)
    _path: str = ""
    _query: dict[str, str] = field(default_factory=dict)
    _headers: dict[str, str] = field(default_factory=dict)
    _body: Any = None
    # Gives what is kept of the request, once: then None (set after the four fields above).
    _kept: Callable[[], Kept] | None = field(default=None, repr=False, compare=False)
    _reply: Any = None
    # A reply document kept as the JSON text it was sent as, with what gives the document from
    # it (one attribute: a reader sees both or neither): worked out when first read (most
    # records never are), the same document a copy made now would be (the text cannot change).
    _reply_text: tuple[str, Callable[[str], Any]] | None = field(
        default=None, repr=False, compare=False
    )

    def __init__(self, seq: int, time: float, transport: str, method: str) -> None:
        self.seq = seq
        self.time = time
        self.transport = transport
        self.method = method
        self.provider = self.op = self.status = None
        self.outcome = "answered"
        self.faults = []
        self.jobs = []
        self._path = ""
        self._query = {}
        self._headers = {}
        self._body = self._kept = self._reply = self._reply_text = None

    def _settle(self) -> None:
        kept = self._kept
        if kept is not None:  # a reader in between works out the same values again
            self._path, self._query, self._headers, self._body = kept()
            self._kept = None

    @property
    def path(self) -> str:
        self._settle()
        return self._path

    @property
    def query(self) -> dict[str, str]:
        self._settle()
        return self._query

    @property
    def headers(self) -> dict[str, str]:
        self._settle()
        return self._headers

    @property
    def body(self) -> Any:
        """What the journal keeps of the body (a document, a form, a summary), redacted."""
        self._settle()
        return self._body

    @property
    def reply(self) -> Any:
        """What the journal keeps of the reply (a document, redacted, or a body's size)."""
        kept = self._reply_text
        if kept is None:
            return self._reply
        text, scrub = kept
        document = scrub(text)
        self._reply = document  # before the text goes: a reader in between works it out again
        self._reply_text = None
        return document

    @reply.setter
    def reply(self, value: Any) -> None:
        self._reply, self._reply_text = value, None

    def keep_reply_text(self, text: str, scrub: Callable[[str], Any] = json.loads) -> None:
        """Keep a reply as its JSON ``text``, the document ``scrub(text)`` gives when first
        read (by default: the document ``text`` encodes, nothing in it to redact)."""
        self._reply, self._reply_text = None, (text, scrub)

    def __repr__(self) -> str:  # what is kept, worked out if not yet
        return f"Record({self.to_json()!r})"

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

    def open(
        self, *, time: float, transport: str, method: str, kept: Callable[[], Kept] | Kept
    ) -> Record:
        """Start a record of what is ``kept`` of a request (path, query, headers, body), or of
        what a function gives of it when the record is first read; the caller fills in its
        outcome, then it is already in the journal."""
        record = Record(0, time, transport, method)
        if callable(kept):
            record._kept = kept
        else:
            record._path, record._query, record._headers, record._body = kept
        with self._lock:
            self._seq += 1
            record.seq = self._seq
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

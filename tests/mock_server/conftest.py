"""Fixtures for the mock server's tests: the plugin's server, with every reply checked.

``mock`` is the ``lipflow_mock`` fixture of the pytest plugin plus one more deferred assertion:
after the test, every reply the mock journaled (other than the ones a fault broke on purpose)
must validate against that provider's response schema.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from lipflow.schemas import check_response, find_endpoint
from mock_server import MockServer
from mock_server.journal import Record

_BROKEN_ON_PURPOSE = frozenset({"malformed_json", "drop", "lose_reply"})


def reply_problems(record: Record) -> list[str]:
    """Why this journaled reply breaks its provider's response schema (empty when it does not)."""
    if record.provider is None or record.status is None or not isinstance(record.reply, dict):
        return []
    if _BROKEN_ON_PURPOSE & set(record.faults) or "bytes" in record.reply:
        return []
    if find_endpoint(record.provider, record.method, record.path) is not None:
        problems = check_response(
            record.provider, record.reply, endpoint=record.path, method=record.method
        )
    else:
        return []
    return [f"{record.method} {record.path} -> {p.format()}" for p in problems if p.is_error]


def envelope_problem(provider: str, doc: Any) -> str | None:
    """Why a reply is not in its provider's documented envelope, success or error (None if it is):
    Runware's ``data``/``errors`` arrays, PixVerse's ``ErrCode``/``ErrMsg``/``Resp``, WaveSpeed's
    ``code``/``message``/``data``."""
    if not isinstance(doc, dict):
        return f"not a JSON object: {doc!r:.80}"
    if provider == "runware":
        lists = [doc.get(k) for k in ("data", "errors") if k in doc]
        ok = bool(lists) and all(isinstance(v, list) and v for v in lists)
        errors_ok = all(
            isinstance(e, dict)
            and isinstance(e.get("code"), str)
            and isinstance(e.get("message"), str)
            for e in doc.get("errors", [])
        )
        return (
            None
            if ok and errors_ok and set(doc) <= {"data", "errors"}
            else f"not Runware's: {doc!r:.200}"
        )
    if provider == "pixverse":
        ok = (
            isinstance(doc.get("ErrCode"), int)
            and isinstance(doc.get("ErrMsg"), str)
            and "Resp" in doc
        )
        return None if ok else f"not PixVerse's: {doc!r:.200}"
    ok = isinstance(doc.get("code"), int) and isinstance(doc.get("message"), str) and "data" in doc
    return None if ok else f"not WaveSpeed's: {doc!r:.200}"


def assert_replies_valid(server: MockServer) -> None:
    problems = [p for r in server.simulator.journal.records() for p in reply_problems(r)]
    assert not problems, "replies that break the response schemas:\n" + "\n".join(problems)


@pytest.fixture
def check_replies() -> Callable[[MockServer], None]:
    """For tests that start their own server: call it on the server before it stops."""
    return assert_replies_valid


@pytest.fixture
def mock(lipflow_mock: MockServer) -> Iterator[MockServer]:
    yield lipflow_mock
    assert_replies_valid(lipflow_mock)


def records(mock: MockServer, **match: Any) -> list[Record]:
    return mock.simulator.journal.records(**match)

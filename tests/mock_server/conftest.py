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

"""What the journal keeps of a request is scrubbed of the keys known when the request came, and
that does not depend on when, how often or through which door the record is first read: the
admin API, the records the tests read, each record's fields, from several threads at once.
(The mock works out a record's scrubbed form when it is first read, not on the request's path.)"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from typing import Any
from urllib.parse import quote

import httpx

from mock_server import MockServer
from mock_server.clock import ManualClock
from mock_server.journal import Record

FIRST = "sk-first/5e1d+9c é"  # "/", "+", " " and "é" encode differently in each scheme
SECOND = "sk-second-0a7f3b2c"
HOST = {"Host": "mock"}  # the same records from mocks on different ports


def _forms(secret: str) -> list[str]:
    return [secret, quote(secret, safe=""), json.dumps(secret)[1:-1], secret[3:12]]


def _traffic(mock: MockServer, between: Callable[[], None] = lambda: None) -> None:
    """A key in a header, the path, the query, a short JSON body and the reply that echoes
    it; ``between`` runs after the first request, before a second key is named."""
    runware = mock.urls.runware
    httpx.post(
        runware,
        headers={"Authorization": f"Bearer {quote(FIRST)}", **HOST},
        json=[{"taskType": "getResponse", "taskUUID": FIRST, "note": f"{FIRST} {SECOND}"}],
    )
    between()
    httpx.get(
        f"{mock.urls.pixverse}/video/result/{quote(FIRST, safe='')}",
        params={"api_key": SECOND, "note": FIRST},
        headers=HOST,
    )
    httpx.post(
        runware,
        headers={"Authorization": f"Bearer {SECOND}", **HOST},
        json=[
            {"taskType": "ping", "ping": True, "note": f"{FIRST} and {SECOND}"},
            {"taskType": "getResponse", "taskUUID": SECOND},  # a short plain ASCII echo
        ],
    )


def _fields(record: Record) -> dict[str, Any]:
    return {
        "path": record.path,
        "query": record.query,
        "headers": record.headers,
        "body": record.body,
        "reply": record.reply,
    }


def _mock() -> MockServer:
    return MockServer(clock=ManualClock(), seed=3)


def test_a_record_read_late_is_what_it_would_have_been_read_at_once() -> None:
    early: list[dict[str, Any]] = []
    with _mock() as at_once, _mock() as late:

        def read_first() -> None:
            (record,) = at_once.simulator.journal.records()
            early.append(_fields(record))

        _traffic(at_once, between=read_first)
        _traffic(late)

        assert _fields(late.simulator.journal.records()[0]) == early[0]
        assert [r.to_json() for r in late.simulator.journal.records()] == [
            r.to_json() for r in at_once.simulator.journal.records()
        ]
    # the second key was named only after the first request: that record still shows it,
    # as it did when the journal scrubbed every record on the request's path
    assert early[0]["body"][0]["note"] == f"*** {SECOND}"
    assert early[0]["reply"]["errors"][0]["message"] == "No task with taskUUID '***' exists."


def test_every_way_out_of_the_journal_gives_the_same_record_without_a_known_key() -> None:
    with _mock() as mock:
        _traffic(mock)
        admin = httpx.get(mock.urls.admin + "/requests").json()["requests"]
        records = mock.simulator.journal.records()

        assert admin == [json.loads(json.dumps(r.to_json())) for r in records]
        assert [_fields(r) for r in records] == [
            {name: kept[name] for name in ("path", "query", "headers", "body", "reply")}
            for kept in admin
        ]
    texts = [json.dumps(kept, ensure_ascii=False) + json.dumps(kept) for kept in admin]
    assert [form for text in texts for form in _forms(FIRST) if form in text] == []
    # the second key is known from the second request on (its query names it)
    assert [form for text in texts[1:] for form in _forms(SECOND) if form in text] == []
    assert admin[2]["reply"]["errors"][0]["message"] == "No task with taskUUID '***' exists."


def test_records_read_by_many_threads_at_once_are_each_scrubbed_once_alike() -> None:
    with _mock() as mock:
        for _ in range(20):
            _traffic(mock)
        records = mock.simulator.journal.records()
        seen: list[list[str]] = []

        def read() -> None:
            seen.append([json.dumps(r.to_json(), sort_keys=True) for r in records])

        readers = [threading.Thread(target=read) for _ in range(8)]
        for reader in readers:
            reader.start()
        for reader in readers:
            reader.join()

    assert len(seen) == 8 and all(s == seen[0] for s in seen)
    assert all(form not in text for text in seen[0] for form in _forms(FIRST))

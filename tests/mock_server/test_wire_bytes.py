"""The mock writes its replies itself, without building werkzeug's Request and Response: every
byte it sends is still what werkzeug's Response of the same reply sends (status line, headers in
their order, body, keep-alive), for every kind of reply, whatever the request.

The reference is the mock's own adapter served the werkzeug way (a subclass answering with
werkzeug responses, as pytest-httpserver serves one); both simulators start alike, so the same
requests get the same replies; only the Date header (the second it was sent) may differ."""

from __future__ import annotations

import base64
import json
import re
import socket
from collections.abc import Iterator, Mapping

import pytest
from werkzeug.wrappers import Request, Response

from lipflow import media
from mock_server import Simulator
from mock_server.adapters.http import MockHTTPServer
from mock_server.clock import ManualClock

BASE = "http://mock.test"  # both simulators name their media by the same URL
TASK = "00000000-0000-4000-8000-00000000000a"


class ThroughWerkzeug(MockHTTPServer):
    """The mock's adapter answering with werkzeug's Response of each reply."""

    def dispatch(self, request: Request) -> Response:
        return super().dispatch(request)


def _request(method: str, path: str, body: bytes = b"", **headers: str) -> bytes:
    lines = [f"{method} {path} HTTP/1.1", "Host: mock", "Authorization: Bearer k"]
    if body or method == "POST":
        lines += ["Content-Type: application/json", f"Content-Length: {len(body)}"]
    lines += [f"{name.replace('_', '-')}: {value}" for name, value in headers.items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


def _tasks(*tasks: Mapping[str, object]) -> bytes:
    return json.dumps(list(tasks)).encode()


def _requests() -> list[bytes]:
    wav = base64.b64encode(media.synthesize_audio(0.2)).decode()
    poll = _tasks({"taskType": "getResponse", "taskUUID": TASK})
    submit = _tasks(
        {
            "taskType": "videoInference",
            "taskUUID": TASK,
            "model": "pixverse:lipsync@1",
            "deliveryMethod": "async",
            "includeCost": True,
            "speech": {"text": "Hello there.", "voice": "Sophia"},
            "inputs": {"referenceVideos": ["https://example.com/presenter.mp4"]},
        }
    )
    upload = {"taskType": "mediaStorage", "taskUUID": TASK, "operation": "upload", "media": wav}
    return [
        _request("POST", "/v1", _tasks(upload)),
        _request("POST", "/v1", submit),
        _request("POST", "/v1", poll),
        _request("POST", "/v1", submit),  # a conflict: 400 in Runware's shape
        _request("POST", "/v1", b"[{"),  # not JSON
        _request("POST", "/v1", poll, X_Mock_Fault="rate_limit"),  # 429 with Retry-After
        _request("POST", "/v1", poll, X_Mock_Fault="malformed_json"),
        _request("POST", "/v1", poll, X_Mock_Fault='{"action": "server_error", "status": 599}'),
        _request("POST", "/v1", poll, Connection="close"),
        # over the cap: 413, the connection closed (the body is not sent: it would not be read)
        _request("POST", "/v1", b"x").replace(b"Length: 1\r\n\r\nx", b"Length: 30000\r\n\r\n"),
        _request("GET", "/v1"),  # 405 with Allow
        _request("GET", "/nowhere?a=1&a=2&b="),  # 404 in the mock's own shape
        _request("GET", "/media/%C3%A9t%C3%A9.mp4"),
        _request("GET", "/media/\u00e9t\u00e9.mp4"),  # sent as UTF-8
        _request("GET", "/media/bad.mp4").replace(b"bad", b"\xff\xfe"),  # not UTF-8
        _request("HEAD", "/nowhere"),
        _request("GET", "/api/v3/predictions/unknown/result"),
        _request("GET", "/openapi/v2/video/result/123"),
        _request("GET", "/_mock/faults"),
        _request("GET", "/_mock/requests?provider=runware&since=2"),
        _request("DELETE", "/_mock/settings"),
        _request("POST", "/v1", poll, Expect="100-continue"),
        # chunked, then a body shorter than announced (werkzeug's own 400)
        _request("POST", "/v1", Transfer_Encoding="chunked").replace(b"Content-Length: 0\r\n", b"")
        + b"%x\r\n" % len(poll)
        + poll
        + b"\r\n0\r\n\r\n",
        _request("POST", "/v1", poll).replace(
            b"Content-Length: %d" % len(poll), b"Content-Length: 999"
        ),
    ]


def _exchange(port: int, raw: bytes) -> bytes:
    """Send ``raw`` and stop sending; everything the server sends until it closes."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(raw)
        sock.shutdown(socket.SHUT_WR)
        received = b""
        while part := sock.recv(65536):
            received += part
    return re.sub(rb"\r\nDate: [^\r]*\r\n", b"\r\nDate: -\r\n", received)


def _simulator() -> Simulator:
    return Simulator(seed=7, clock=ManualClock(), base_url=BASE, max_body_bytes=20_000)


@pytest.fixture
def servers() -> Iterator[tuple[MockHTTPServer, MockHTTPServer]]:
    mock, reference = MockHTTPServer(_simulator()), ThroughWerkzeug(_simulator())
    mock.start()
    reference.start()
    try:
        yield mock, reference
    finally:
        mock.stop()
        reference.stop()


def test_every_reply_is_sent_byte_for_byte_as_werkzeugs_response_sends_it(
    servers: tuple[MockHTTPServer, MockHTTPServer],
) -> None:
    mock, reference = servers
    for raw in _requests():
        sent, expected = _exchange(mock.port, raw), _exchange(reference.port, raw)
        assert sent == expected, raw[:120]


def test_a_head_request_is_answered_as_werkzeug_answers_it(
    servers: tuple[MockHTTPServer, MockHTTPServer],
) -> None:
    upload = {
        "taskType": "mediaStorage",
        "taskUUID": TASK,
        "operation": "upload",
        "media": base64.b64encode(media.synthesize_audio(0.2)).decode(),
    }
    for server in servers:
        _exchange(server.port, _request("POST", "/v1", _tasks(upload)))
    (path,) = {  # both stored the upload under the same id
        record.reply["data"][0]["mediaURL"].removeprefix(BASE)
        for server in servers
        for record in server.simulator.journal.records()
    }
    for method in ("HEAD", "GET"):
        raw = _request(method, path)
        assert _exchange(servers[0].port, raw) == _exchange(servers[1].port, raw)


def test_the_keep_alive_reply_is_the_same_on_a_connection_that_stays_open(
    servers: tuple[MockHTTPServer, MockHTTPServer],
) -> None:
    poll = _tasks({"taskType": "getResponse", "taskUUID": TASK})
    raw = _request("POST", "/v1", poll) * 3 + _request("GET", "/_mock/faults")
    sent, expected = _exchange(servers[0].port, raw), _exchange(servers[1].port, raw)
    assert sent == expected and sent.count(b"Connection: keep-alive") == 4

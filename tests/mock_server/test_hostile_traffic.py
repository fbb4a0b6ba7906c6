"""Hostile bodies on a real socket: every reply is the provider's own error, never an HTML 500.

Each provider's API answers in its own shape (Runware's ``errors`` array, PixVerse's
``ErrCode``/``ErrMsg`` envelope, WaveSpeed's ``code``/``message``); the ``mock`` fixture then
checks every journaled reply against the provider's response schema, and the plugin fails the
test if a handler raised.
"""

from __future__ import annotations

import json
import socket
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest

from mock_server import MockServer

KEY = {"Authorization": "Bearer any-key", "API-KEY": "any-key", "Ai-Trace-Id": "t-1"}


def runware_error(doc: Any) -> bool:
    errors = doc.get("errors") if isinstance(doc, dict) else None
    if not isinstance(errors, list) or not errors:
        return False
    return all(isinstance(e.get("code"), str) and e.get("message") for e in errors)


def pixverse_error(doc: Any) -> bool:
    return (
        isinstance(doc, dict)
        and isinstance(doc.get("ErrCode"), int)
        and doc["ErrCode"] != 0
        and isinstance(doc.get("ErrMsg"), str)
        and "Resp" in doc
    )


def wavespeed_error(doc: Any) -> bool:
    return (
        isinstance(doc, dict)
        and isinstance(doc.get("code"), int)
        and doc["code"] >= 400
        and isinstance(doc.get("message"), str)
        and doc.get("data") is None
    )


ERROR_SHAPE: dict[str, Callable[[Any], bool]] = {
    "runware": runware_error,
    "pixverse": pixverse_error,
    "wavespeed": wavespeed_error,
}

# (provider, path) of every route that takes a body
BODY_ROUTES = [
    ("runware", "/v1"),
    ("pixverse", "/openapi/v2/video/lip_sync/generate"),
    ("pixverse", "/openapi/v2/media/upload"),
    ("wavespeed", "/api/v3/pixverse/lipsync"),
    ("wavespeed", "/api/v3/media/uploads"),
    ("wavespeed", "/api/v3/media/upload/binary"),
]

HOSTILE_BODIES = {
    "200000-deep-arrays": b"[" * 200_000 + b"]" * 200_000,
    "65-deep-objects": b'{"a":' * 65 + b"1" + b"}" * 65,
    "5000-digit-integer": b'[{"taskType":"ping","seconds":' + b"9" * 5000 + b"}]",
    "seconds-1e308": b'{"seconds":1e308,"duration":1e308}',
    "float-overflow": b'{"duration":1e999}',
    "NaN": b'{"duration":NaN}',
    "Infinity": b'[{"taskType":"ping","x":-Infinity}]',
    "invalid-utf8": b'{"video":"\xff\xfe\xc3"}',
    "lone-surrogate": b'{"video":"\\ud800"}',
}


def _url(mock: MockServer, path: str) -> str:
    return f"http://127.0.0.1:{mock.http_port}{path}"


@pytest.mark.parametrize(("provider", "path"), BODY_ROUTES, ids=[p for _, p in BODY_ROUTES])
@pytest.mark.parametrize("body", list(HOSTILE_BODIES.values()), ids=list(HOSTILE_BODIES))
def test_a_hostile_json_body_gets_the_providers_own_error(
    mock: MockServer, provider: str, path: str, body: bytes
) -> None:
    reply = httpx.post(
        _url(mock, path), headers={**KEY, "Content-Type": "application/json"}, content=body
    )
    assert reply.status_code != 500
    assert reply.headers["content-type"].startswith("application/json")
    assert ERROR_SHAPE[provider](reply.json()), reply.text
    (record,) = mock.simulator.journal.records()
    assert record.provider == provider and record.status == reply.status_code


@pytest.mark.parametrize(("provider", "path"), BODY_ROUTES, ids=[p for _, p in BODY_ROUTES])
@pytest.mark.parametrize(
    "content_type",
    [
        "text/plain",
        "multipart/form-data",  # no boundary
        "multipart/form-data; boundary=zz",
        "application/x-www-form-urlencoded",
        "application/json; charset=latin-1",
        'video/mp4; charset="unterminated',
        "x/y; boundary=",
    ],
)
def test_a_wrong_content_type_gets_the_providers_own_error(
    mock: MockServer, provider: str, path: str, content_type: str
) -> None:
    reply = httpx.post(
        _url(mock, path),
        headers={**KEY, "Content-Type": content_type},
        content=b"apiKey=x&\xff\x00--zz\r\nnot a form",
    )
    assert reply.status_code != 500
    assert ERROR_SHAPE[provider](reply.json()), reply.text


def _raw(port: int, request: bytes) -> tuple[int, dict[str, Any]]:
    """Send raw bytes, read one HTTP reply; the status and its JSON document."""
    with socket.create_connection(("127.0.0.1", port), timeout=30) as sock:
        sock.sendall(request)
        data = b""
        while chunk := sock.recv(65536):
            data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    status = int(head.split(b" ", 2)[1])
    return status, json.loads(body)


@pytest.mark.parametrize(("provider", "path"), BODY_ROUTES, ids=[p for _, p in BODY_ROUTES])
def test_a_malformed_chunked_body_gets_the_providers_own_400(
    mock: MockServer, provider: str, path: str
) -> None:
    request = (
        f"POST {path} HTTP/1.1\r\nHost: mock\r\nAuthorization: Bearer k\r\nAPI-KEY: k\r\n"
        "Ai-Trace-Id: t\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"
        "zz\r\n{}\r\n0\r\n\r\n"
    ).encode()
    status, doc = _raw(mock.http_port, request)
    assert status == 400 and ERROR_SHAPE[provider](doc), doc
    assert "chunk" in json.dumps(doc)


@pytest.fixture
def small_cap() -> Iterator[MockServer]:
    with MockServer(max_body_bytes=1000) as server:
        yield server


def test_a_chunked_body_without_length_is_read_only_up_to_the_cap(small_cap: MockServer) -> None:
    """The 413 arrives while the client is still sending: the mock stopped reading at the cap."""
    head = (
        b"POST /api/v3/pixverse/lipsync HTTP/1.1\r\nHost: mock\r\nAuthorization: Bearer k\r\n"
        b"Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"
    )
    chunk = b"200\r\n" + b" " * 0x200 + b"\r\n"
    with socket.create_connection(("127.0.0.1", small_cap.http_port), timeout=30) as sock:
        sock.sendall(head + chunk * 3)  # 1,536 bytes, no last chunk: the body never ends
        data = b""
        while b"\r\n\r\n" not in data or not data.rstrip().endswith(b"}"):
            part = sock.recv(65536)
            if not part:
                break
            data += part
    head_part, _, body = data.partition(b"\r\n\r\n")
    assert head_part.startswith(b"HTTP/1.1 413")
    doc = json.loads(body)
    assert wavespeed_error(doc) and "more than 1000 bytes" in doc["message"]
    record = small_cap.simulator.journal.records()[-1]
    assert record.body == {"bytes": 1001, "refused": "over the size cap"}


@pytest.mark.parametrize(
    ("provider", "path"),
    [
        ("runware", "/v1/images"),
        ("pixverse", "/openapi/v2/video/nothing"),
        ("wavespeed", "/api/v3/predictions/a/b/c"),
    ],
)
def test_an_unknown_path_under_a_providers_api_is_its_own_404(
    mock: MockServer, provider: str, path: str
) -> None:
    reply = httpx.get(_url(mock, path), headers=KEY)
    assert reply.status_code == 404 and ERROR_SHAPE[provider](reply.json())
    assert "routes:" in json.dumps(reply.json())


@pytest.mark.parametrize(
    ("provider", "method", "path", "allow"),
    [
        ("runware", "GET", "/v1", "POST"),
        ("pixverse", "DELETE", "/openapi/v2/video/lip_sync/generate", "POST"),
        ("wavespeed", "PATCH", "/api/v3/media/uploads", "POST"),
    ],
)
def test_a_wrong_method_is_the_providers_own_405_with_allow(
    mock: MockServer, provider: str, method: str, path: str, allow: str
) -> None:
    reply = httpx.request(method, _url(mock, path), headers=KEY)
    assert reply.status_code == 405 and reply.headers["Allow"] == allow
    assert ERROR_SHAPE[provider](reply.json())


def test_the_wavespeed_upload_target_answers_in_wavespeeds_shape(mock: MockServer) -> None:
    reply = httpx.put(_url(mock, "/storage/no-such-ticket"), content=b"bytes")
    assert reply.status_code == 403 and wavespeed_error(reply.json())


def test_a_handler_bug_is_a_500_in_the_providers_shape(
    lipflow_mock_server: MockServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Even the mock's own bug answers in the provider's shape, and is kept for the test to see."""
    from lipflow.providers.wavespeed import sim

    lipflow_mock_server.reset()

    def broken(*args: object, **kwargs: object) -> None:
        raise ZeroDivisionError("a bug")

    monkeypatch.setattr(sim, "request_problems", broken)
    reply = httpx.post(
        lipflow_mock_server.urls.wavespeed + "/pixverse/lipsync", headers=KEY, json={}
    )
    assert reply.status_code == 500 and wavespeed_error(reply.json())
    assert "mock server bug" in reply.json()["message"]
    assert isinstance(lipflow_mock_server.simulator.internal_errors[0], ZeroDivisionError)
    lipflow_mock_server.reset()


def test_the_mocks_own_errors_are_its_own_not_lipflows() -> None:
    """A request the schemas cannot place is a MockError, not lipflow's UsageError."""
    from lipflow.errors import LipflowError
    from mock_server.errors import MockError
    from mock_server.validation import request_problems

    with pytest.raises(MockError, match="/no/such/endpoint") as raised:
        request_problems("wavespeed", {}, endpoint="/no/such/endpoint")
    assert not isinstance(raised.value, LipflowError)


def test_the_in_process_transport_reads_a_streamed_body_only_up_to_the_cap() -> None:
    from mock_server import Simulator
    from mock_server.adapters.transport import MockTransport, transport_urls

    def stream() -> Iterator[bytes]:
        yield from (b"x" * 500 for _ in range(3))  # 1,500 bytes: past the 1,000-byte cap
        raise AssertionError("the transport read past the cap")

    simulator = Simulator(max_body_bytes=1000)
    with httpx.Client(transport=MockTransport(simulator)) as client:
        reply = client.post(
            transport_urls(simulator)["wavespeed"] + "/pixverse/lipsync",
            headers=KEY,
            content=stream(),
        )
    assert reply.status_code == 413 and wavespeed_error(reply.json())
    assert simulator.journal.records()[-1].body == {"bytes": 1001, "refused": "over the size cap"}


def test_hostile_websocket_frames_get_runwares_own_errors(mock: MockServer) -> None:
    import asyncio

    from websockets.asyncio.client import connect

    async def scenario() -> list[Any]:
        async with connect(mock.urls.runware_ws) as ws:
            replies = []
            for frame in HOSTILE_BODIES.values():
                await ws.send(frame)
                replies.append(json.loads(await ws.recv()))
            return replies

    replies = asyncio.run(asyncio.wait_for(scenario(), 30))
    assert all(runware_error(reply) for reply in replies), replies
    assert [r["errors"][0]["code"] for r in replies[:3]] == ["invalidJSON"] * 3

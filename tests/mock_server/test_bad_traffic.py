"""Bad traffic never crashes the mock: each case gets a clear reply, and every one is journaled."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest

from mock_server import MockServer

KEY = {"Authorization": "Bearer any-key"}


def _url(mock: MockServer, path: str) -> str:
    return f"http://127.0.0.1:{mock.http_port}{path}"


@pytest.mark.parametrize(
    ("path", "headers", "status", "check"),
    [
        pytest.param(
            "/v1", KEY, 400, lambda b: b["errors"][0]["code"] == "invalidJSON", id="runware"
        ),
        pytest.param(
            "/openapi/v2/video/lip_sync/generate",
            {"API-KEY": "k", "Ai-Trace-Id": "t"},
            200,
            lambda b: b["ErrCode"] == 400013,
            id="pixverse",
        ),
        pytest.param(
            "/api/v3/pixverse/lipsync",
            KEY,
            400,
            lambda b: "Invalid JSON" in b["message"],
            id="wavespeed",
        ),
    ],
)
@pytest.mark.parametrize(
    "body", [b"{not json", b"\xff\xfe\x00binary", b""], ids=["broken", "binary", "empty"]
)
def test_invalid_json_gets_the_providers_own_error(
    mock: MockServer,
    path: str,
    headers: dict[str, str],
    status: int,
    check: Callable[[object], bool],
    body: bytes,
) -> None:
    reply = httpx.post(
        _url(mock, path), headers={**headers, "Content-Type": "application/json"}, content=body
    )
    assert reply.status_code == status
    assert check(reply.json())
    assert mock.simulator.journal.records()[-1].path == path


def test_runware_wants_an_array_of_tasks(mock: MockServer) -> None:
    reply = httpx.post(mock.urls.runware, headers=KEY, json={"taskType": "ping"})
    assert reply.status_code == 400 and "array" in reply.json()["errors"][0]["message"]


def test_an_unknown_runware_task_type_names_the_supported_ones(mock: MockServer) -> None:
    reply = httpx.post(
        mock.urls.runware, headers=KEY, json=[{"taskType": "imageInference", "taskUUID": "x"}]
    )
    error = reply.json()["errors"][0]
    assert error["parameter"] == "taskType" and "videoInference" in error["message"]


@pytest.fixture
def small_cap() -> Iterator[MockServer]:
    with MockServer(max_body_bytes=1000) as server:
        yield server


def test_a_body_over_the_cap_is_413_unread(small_cap: MockServer) -> None:
    big = b"[" + b" " * 5000 + b"]"
    reply = httpx.post(small_cap.urls.runware, headers=KEY, content=big)
    assert reply.status_code == 413
    assert reply.json()["errors"][0]["code"] == "requestTooLarge"
    record = small_cap.simulator.journal.records()[-1]
    assert record.status == 413 and record.body == {
        "bytes": len(big),
        "refused": "over the size cap",
    }


def test_a_chunked_body_over_the_cap_is_413_too(small_cap: MockServer) -> None:
    def chunks() -> Iterator[bytes]:
        for _ in range(10):
            yield b"x" * 500

    reply = httpx.post(
        small_cap.urls.wavespeed + "/pixverse/lipsync", headers=KEY, content=chunks()
    )
    assert reply.status_code == 413 and reply.json()["code"] == 413


def test_an_unknown_path_is_404_listing_the_routes(mock: MockServer) -> None:
    reply = httpx.get(_url(mock, "/openapi/v3/video/result/1"))
    assert reply.status_code == 404
    routes = reply.json()["routes"]
    assert "GET /openapi/v2/video/result/{video_id}" in routes and "POST /v1" in routes
    assert mock.simulator.journal.records()[-1].status == 404


def test_a_wrong_method_is_405_with_allow(mock: MockServer) -> None:
    reply = httpx.get(mock.urls.runware)
    assert reply.status_code == 405 and reply.headers["Allow"] == "POST"
    assert httpx.delete(mock.urls.admin + "/jobs").status_code == 405


def test_a_malformed_multipart_upload_is_refused(mock: MockServer) -> None:
    reply = httpx.post(
        mock.urls.pixverse + "/media/upload",
        headers={
            "API-KEY": "k",
            "Ai-Trace-Id": "t",
            "Content-Type": "multipart/form-data; boundary=zz",
        },
        content=b'--zz\r\nContent-Disposition: form-data; name="file"\r\n\r\nno end boundary',
    )
    assert reply.status_code == 200 and reply.json()["ErrCode"] in (400013, 400017)


def test_downloads_of_unknown_media_are_404(mock: MockServer) -> None:
    assert httpx.get(mock.urls.media + "/nothing.mp4").status_code == 404


def test_garbage_websocket_frames_get_errors_and_the_connection_lives(mock: MockServer) -> None:
    from websockets.asyncio.client import connect

    async def scenario() -> list[dict[str, object]]:
        async with connect(mock.urls.runware_ws) as ws:
            await ws.send("{{{")
            first = json.loads(await ws.recv())
            await ws.send(b"\x00\x01binary")
            second = json.loads(await ws.recv())
            await ws.send(json.dumps([{"taskType": "ping", "ping": True}]))
            third = json.loads(await ws.recv())
            return [first, second, third]

    first, second, third = asyncio.run(asyncio.wait_for(scenario(), 10))
    assert first["errors"][0]["code"] == "invalidJSON"  # type: ignore[index]
    assert second["errors"][0]["code"] == "invalidJSON"  # type: ignore[index]
    assert third == {"data": [{"taskType": "ping", "pong": True}]}


def test_tasks_before_authentication_are_refused_over_websocket(mock: MockServer) -> None:
    from websockets.asyncio.client import connect

    async def scenario() -> dict[str, Any]:
        async with connect(mock.urls.runware_ws) as ws:
            await ws.send(json.dumps([{"taskType": "getResponse", "taskUUID": "abc"}]))
            reply: dict[str, Any] = json.loads(await ws.recv())
            return reply

    reply = asyncio.run(asyncio.wait_for(scenario(), 10))
    assert reply["errors"][0]["code"] == "missingApiKey"


def test_the_server_still_answers_after_all_that(mock: MockServer) -> None:
    httpx.post(mock.urls.runware, headers=KEY, content=b"\x00" * 100)
    httpx.request("PATCH", _url(mock, "/anything"))
    reply = httpx.post(mock.urls.runware, headers=KEY, json=[{"taskType": "ping", "ping": True}])
    assert reply.json() == {"data": [{"taskType": "ping", "pong": True}]}
    assert len(mock.simulator.journal.records()) == 3
    assert mock.simulator.internal_errors == []

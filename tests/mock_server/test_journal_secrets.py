"""The mock's request journal never keeps a key: not in a header, a query, a form, a JSON or text
body, under any spelling of the field, percent-encoded or JSON-escaped, nor repeated elsewhere."""

from __future__ import annotations

import asyncio
import json
from urllib.parse import quote, quote_plus

import httpx
import pytest

from mock_server import MockServer

CANARY = "sk-canary/6b1f+0d9e é"  # "/", "+", " " and "é" encode differently in each scheme


def _forms(secret: str) -> list[str]:
    return [
        secret,
        quote(secret, safe=""),
        quote_plus(secret, safe=""),
        quote(quote(secret, safe=""), safe=""),
        json.dumps(secret)[1:-1],
        json.dumps(secret, ensure_ascii=True)[1:-1],
        "6b1f",  # the key's core, whatever wraps it
    ]


def _journal_text(mock: MockServer) -> str:
    requests = httpx.get(mock.urls.admin + "/requests").text
    jobs = httpx.get(mock.urls.admin + "/jobs").text
    return requests + jobs


def _assert_no_key(mock: MockServer) -> None:
    text = _journal_text(mock)
    decoded = json.dumps(json.loads(text.split('{"jobs"')[0]), ensure_ascii=False)
    for form in _forms(CANARY):
        assert form not in text and form not in decoded, form
    assert len(mock.simulator.journal.records()) >= 1


@pytest.mark.parametrize(
    "name", ["api_key", "apiKey", "API-KEY", "x-api-key", "key", "token", "api%5Fkey"]
)
def test_a_key_in_a_query_parameter_is_not_kept(mock: MockServer, name: str) -> None:
    httpx.get(f"{mock.urls.pixverse}/video/lip_sync/tts_list?{name}={quote(CANARY)}&page_num=1")
    _assert_no_key(mock)
    (record,) = mock.simulator.journal.records()
    assert record.query["page_num"] == "1"


@pytest.mark.parametrize(
    ("content_type", "body"),
    [
        ("text/plain", f"apiKey={CANARY}"),
        ("text/plain", f"apiKey%3D{quote(CANARY, safe='')}"),
        ("text/plain", f"api%5Fkey={quote(quote(CANARY, safe=''), safe='')}"),
        ("application/x-www-form-urlencoded", f"apiKey={quote_plus(CANARY)}&x=1"),
        ("application/json", '{"api\\u004bey": ' + json.dumps(CANARY) + "}"),
        ("application/json", '[{"taskType": "authentication", "api\\u004bey": "' + CANARY),
        ("application/json", '{"Api-Key": ' + json.dumps(CANARY, ensure_ascii=True) + ", }"),
        ("text/plain", f"my key:\n  API_KEY: {CANARY}"),
    ],
    ids=[
        "text",
        "percent-encoded-text",
        "double-percent-encoded",
        "urlencoded-form",
        "json-escaped-name",
        "broken-json",
        "broken-json-ascii-escaped",
        "yaml-like-text",
    ],
)
def test_a_key_in_a_body_is_not_kept(mock: MockServer, content_type: str, body: str) -> None:
    httpx.post(mock.urls.runware, headers={"Content-Type": content_type}, content=body.encode())
    _assert_no_key(mock)


@pytest.mark.parametrize(
    "headers",
    [
        {"Authorization": f"Bearer {quote(CANARY)}"},
        {"API-KEY": quote(CANARY)},
        {"X-Api-Key": quote(CANARY)},
        {"X-Auth-Token": quote(CANARY)},
    ],
)
def test_a_key_in_a_header_is_not_kept(mock: MockServer, headers: dict[str, str]) -> None:
    httpx.get(mock.urls.wavespeed + "/predictions/x/result", headers=headers)
    _assert_no_key(mock)


def test_a_key_named_once_is_scrubbed_wherever_else_it_appears_later(mock: MockServer) -> None:
    httpx.post(
        mock.urls.runware,
        headers={"Authorization": f"Bearer {quote(CANARY)}"},
        json=[{"taskType": "ping", "ping": True, "note": f"mine is {CANARY}"}],
    )
    httpx.get(f"{mock.urls.pixverse}/video/result/{quote(CANARY, safe='')}?api_key={CANARY}")
    _assert_no_key(mock)


def test_the_mocks_own_key_is_scrubbed_from_everything_kept() -> None:
    with MockServer(api_key=quote(CANARY)) as mock:
        httpx.post(
            mock.urls.wavespeed + "/pixverse/lipsync",
            headers={"Authorization": f"Bearer {quote(CANARY)}"},
            json={
                "video": f"https://example.com/{quote(CANARY)}.mp4",
                "audio": "https://example.com/a.mp3",
            },
        )
        (job,) = mock.simulator.jobs("wavespeed")  # the key was accepted: a job with its request
        assert job.request["video"] == "https://example.com/***.mp4"
        _assert_no_key(mock)


def test_a_key_in_the_websocket_url_or_frames_is_not_kept(mock: MockServer) -> None:
    from websockets.asyncio.client import connect

    async def scenario() -> None:
        async with connect(f"{mock.urls.runware_ws}?api_key={quote(CANARY)}") as ws:
            await ws.send(json.dumps([{"taskType": "authentication", "apiKey": CANARY}]))
            await ws.recv()
            await ws.send("{broken " + f'"apiKey": "{CANARY}"')
            await ws.recv()

    asyncio.run(asyncio.wait_for(scenario(), 10))
    _assert_no_key(mock)
    assert {r.path for r in mock.simulator.journal.records()} == {"/v1"}

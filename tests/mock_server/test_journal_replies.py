"""The journal keeps each reply as it was sent, less any key it echoes and long strings summarized;
and keys stay out of the journal however many requests came before (the scrubbing of a key is
prepared once per set of known keys, not once per request)."""

from __future__ import annotations

import json
from urllib.parse import quote

import httpx

from mock_server import MockServer

CANARY = "sk-echo/4c2e+a7 é"  # "/", "+", " " and "é" encode differently in each scheme
FORMS = (CANARY, quote(CANARY, safe=""), json.dumps(CANARY)[1:-1], "4c2e+a7")


def _journal(mock: MockServer) -> str:
    return httpx.get(mock.urls.admin + "/requests").text


def test_a_reply_without_a_key_is_journaled_as_it_was_sent(mock: MockServer) -> None:
    url = mock.urls.runware
    auth = {"Authorization": "Bearer a-long-enough-key"}
    task = "3f1c1f0e-8f0a-4c57-9d7e-1b2c3d4e5f60"
    submit = {
        "taskType": "videoInference",
        "taskUUID": task,
        "model": "pixverse:lipsync@1",
        "speech": {"text": "Hello there.", "voice": "Sophia"},
        "inputs": {"referenceVideos": ["https://example.com/v.mp4"]},
    }
    sent = [
        httpx.post(url, headers=auth, json=[submit]).json(),
        httpx.post(url, headers=auth, json=[{"taskType": "getResponse", "taskUUID": task}]).json(),
    ]

    assert [r.reply for r in mock.simulator.journal.records()] == sent
    assert sent[1]["data"][0]["status"] == "success"


def test_a_key_the_reply_echoes_is_not_kept(mock: MockServer) -> None:
    reply = httpx.post(
        mock.urls.runware,
        headers={"Authorization": f"Bearer {quote(CANARY)}"},  # headers are ASCII
        json=[{"taskType": f"no-such-task {CANARY}", "taskUUID": CANARY}],
    )
    assert CANARY in reply.json()["errors"][0]["message"]  # the provider echoes what it got

    text = _journal(mock)
    decoded = json.dumps(json.loads(text), ensure_ascii=False)
    for form in FORMS:
        assert form not in text and form not in decoded, form
    (record,) = mock.simulator.journal.records()
    assert "no-such-task ***" in record.reply["errors"][0]["message"]


def test_a_long_string_in_a_reply_is_journaled_summarized(mock: MockServer) -> None:
    long_task = "t" * 600
    httpx.post(
        mock.urls.runware,
        headers={"Authorization": "Bearer a-long-enough-key"},
        json=[{"taskType": "getResponse", "taskUUID": long_task}],
    )

    (record,) = mock.simulator.journal.records()
    kept = record.reply["errors"][0]
    assert kept["taskUUID"] == f"{'t' * 64}...<600 characters>"


def test_each_new_key_is_scrubbed_from_the_requests_after_it(mock: MockServer) -> None:
    keys = [f"sk-rotating-{n:04d}-secret" for n in range(20)]  # over 100 encoded forms
    for n, key in enumerate(keys):  # each request names its own key and every earlier one
        note = f"keys: {' '.join(keys[: n + 1])}"
        httpx.post(
            mock.urls.runware,
            headers={"Authorization": f"Bearer {key}"},
            json=[{"taskType": "ping", "ping": True, "note": note}],
        )

    text = _journal(mock)
    assert [key for key in keys if key in text] == []
    records = mock.simulator.journal.records()
    assert [r.body[0]["note"] for r in records] == [
        "keys: " + " ".join(["***"] * n) for n in range(1, len(keys) + 1)
    ]


def test_a_key_in_a_long_string_is_scrubbed_before_the_string_is_cut(mock: MockServer) -> None:
    key = "sk-cut-here-9d3e5a7b1c"
    note = "x" * 55 + key + "y" * 600  # the summary keeps 64 characters: the key's first 9
    httpx.post(
        mock.urls.runware,
        headers={"Authorization": f"Bearer {key}"},
        json=[{"taskType": "ping", "ping": True, "note": note}],
    )

    text = _journal(mock)
    assert "sk-cut" not in text
    (record,) = mock.simulator.journal.records()
    assert record.body[0]["note"].startswith("x" * 55 + "***" + "y" * 6)


def test_the_keys_sent_last_stay_scrubbed_after_more_keys_than_the_mock_remembers(
    lipflow_mock: MockServer,
) -> None:
    """The mock remembers the last 256 credentials sent to it (a key, and its header value with
    "Bearer"): past that, the least recently sent are forgotten, never the ones sent since.
    (``lipflow_mock``: reading back what is kept of every reply, as ``mock`` does after each
    test, would scrub 150 of them of up to 256 keys each.)"""
    with httpx.Client() as client:
        for n in range(130):  # 260 credentials: the mock forgets the first ones
            client.post(
                lipflow_mock.urls.runware,
                headers={"Authorization": f"Bearer sk-earlier-{n:04d}-secret"},
                json=[{"taskType": "ping", "ping": True}],
            )
        keys = [f"sk-rotating-{n:04d}-secret" for n in range(20)]
        for n, key in enumerate(keys):  # each request names its own key and every earlier one
            client.post(
                lipflow_mock.urls.runware,
                headers={"Authorization": f"Bearer {key}"},
                json=[{"taskType": "ping", "ping": True, "note": " ".join(keys[: n + 1])}],
            )

    notes = [r.body[0]["note"] for r in lipflow_mock.simulator.journal.records()[130:]]
    assert notes == [" ".join(["***"] * n) for n in range(1, len(keys) + 1)]

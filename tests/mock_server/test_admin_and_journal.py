"""The admin API and the journal: every request recorded, keys never, jobs listed with charges."""

from __future__ import annotations

import uuid

import httpx
import pytest

from mock_server import MockServer, Simulator
from mock_server.core import MockRequest

CANARY = "sk-canary-6b1f0d9e"


def test_the_journal_records_requests_with_keys_redacted(mock: MockServer) -> None:
    httpx.post(
        mock.urls.runware,
        json=[
            {"taskType": "authentication", "apiKey": CANARY},
            {"taskType": "ping", "ping": True},
        ],
    )
    httpx.get(
        mock.urls.pixverse + "/video/lip_sync/tts_list",
        headers={"API-KEY": CANARY, "Ai-Trace-Id": str(uuid.uuid4())},
    )
    httpx.get(
        mock.urls.wavespeed + "/predictions/x/result", headers={"Authorization": f"Bearer {CANARY}"}
    )

    listed = httpx.get(mock.urls.admin + "/requests")
    assert CANARY not in listed.text
    records = listed.json()["requests"]
    assert [(r["provider"], r["op"], r["status"]) for r in records] == [
        ("runware", "ping", 200),
        ("pixverse", "list", 200),
        ("wavespeed", "poll", 404),
    ]
    assert records[0]["body"][0]["apiKey"] == "***"
    assert records[1]["headers"]["api-key"] == "***"
    assert records[2]["headers"]["authorization"] == "Bearer ***"
    only = httpx.get(mock.urls.admin + "/requests", params={"provider": "pixverse"}).json()
    assert [r["op"] for r in only["requests"]] == ["list"]


def test_jobs_list_their_state_output_and_would_be_charge(mock: MockServer) -> None:
    task_uuid = str(uuid.uuid4())
    httpx.post(
        mock.urls.runware,
        headers={"Authorization": "Bearer k"},
        json=[
            {
                "taskType": "videoInference",
                "taskUUID": task_uuid,
                "model": "sync:lipsync-2@1",
                "inputs": {"video": "https://e.com/v.mp4", "audio": "https://e.com/a.wav"},
                "providerSettings": {
                    "sync": {
                        "segments": [
                            {"startTime": 0, "endTime": 2.5, "audio": "https://e.com/a.wav"}
                        ]
                    }
                },
            }
        ],
    )
    (job,) = httpx.get(mock.urls.admin + "/jobs").json()["jobs"]
    assert job["id"] == task_uuid and job["state"] == "succeeded"
    assert job["duration_s"] == 2.5 and job["cost_usd"] == pytest.approx(0.044 * 2.5)
    assert "$0.044" in job["cost_basis"]
    assert httpx.get(job["outputs"][0]).status_code == 200


def test_settings_and_reset(mock: MockServer) -> None:
    admin = mock.urls.admin
    assert (
        httpx.put(admin + "/settings", json={"processing_seconds": 3}).json()["processing_seconds"]
        == 3
    )
    bad = httpx.put(admin + "/settings", json={"procesing_seconds": 3})
    assert bad.status_code == 400 and "processing_seconds" in bad.json()["error"]
    httpx.post(admin + "/faults", json={"action": "drop"})
    assert httpx.post(admin + "/reset").json() == {"reset": True}
    assert httpx.get(admin + "/settings").json()["processing_seconds"] == 0
    assert httpx.get(admin + "/faults").json() == {"rules": []}
    assert httpx.get(admin + "/requests").json() == {"requests": []}


def test_the_same_seed_hands_out_the_same_ids() -> None:
    def ids(seed: int) -> list[str]:
        sim = Simulator(seed=seed)
        request = MockRequest(
            method="POST",
            path="/api/v3/pixverse/lipsync",
            headers={"authorization": "Bearer k"},
            body=b'{"video": "https://e.com/v.mp4", "audio": "https://e.com/a.mp3"}',
        )
        return [sim.handle(request).document["data"]["id"] for _ in range(3)]

    assert ids(7) == ids(7)
    assert ids(7) != ids(8)


def test_a_handler_bug_is_a_500_and_fails_the_test_later(monkeypatch: pytest.MonkeyPatch) -> None:
    from lipflow.providers.wavespeed import sim as wavespeed

    def broken_pricing(*args: object, **kwargs: object) -> None:
        raise KeyError("a bug in a handler")

    monkeypatch.setattr(wavespeed, "charge", broken_pricing)
    with MockServer() as server:
        reply = httpx.post(
            server.urls.wavespeed + "/pixverse/lipsync",
            headers={"Authorization": "Bearer k"},
            json={"video": "https://e.com/v.mp4", "audio": "https://e.com/a.mp3"},
        )
        assert reply.status_code == 500
        assert server.simulator.journal.records()[-1].status == 500
        with pytest.raises(AssertionError, match="KeyError"):
            server.check()

"""Each fault, set per server (rules), per request (X-Mock-Fault) and per job, and what a client sees."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest

from lipflow.providers import registry
from mock_server import ManualClock, MockServer
from mock_server.errors import MockUsageError
from tests.replies import as_json

KEY = {"Authorization": "Bearer any-key"}
PV = {"API-KEY": "any-key"}
SOURCES = {"video": "https://example.com/v.mp4", "audio": "https://example.com/a.mp3"}


def _pv_headers() -> dict[str, str]:
    return {**PV, "Ai-Trace-Id": str(uuid.uuid4())}


def _pv_tts_body() -> dict[str, Any]:
    return {"source_video_id": 0, "lip_sync_tts_speaker_id": "1", "lip_sync_tts_content": "hi"}


def submit(mock: MockServer, provider: str, **headers: str) -> httpx.Response:
    """One lip-sync submit to ``provider`` that the mock accepts when no fault fires."""
    if provider == "runware":
        task = {
            "taskType": "videoInference",
            "taskUUID": str(uuid.uuid4()),
            "model": "pixverse:lipsync@1",
            "inputs": {"referenceVideos": [SOURCES["video"]], "audio": SOURCES["audio"]},
        }
        return httpx.post(mock.urls.runware, headers={**KEY, **headers}, json=[task])
    if provider == "wavespeed":
        return httpx.post(
            mock.urls.wavespeed + "/pixverse/lipsync", headers={**KEY, **headers}, json=SOURCES
        )
    upload = httpx.post(
        mock.urls.pixverse + "/media/upload",
        headers=_pv_headers(),
        data={"file_url": SOURCES["video"]},
    ).json()
    body = {**_pv_tts_body(), "video_media_id": upload["Resp"]["media_id"]}
    del body["source_video_id"]
    return httpx.post(
        mock.urls.pixverse + "/video/lip_sync/generate",
        headers={**_pv_headers(), **headers},
        json=body,
    )


def poll(mock: MockServer, provider: str, job_id: str) -> dict[str, Any]:
    if provider == "runware":
        task = {"taskType": "getResponse", "taskUUID": job_id}
        return as_json(httpx.post(mock.urls.runware, headers=KEY, json=[task]))
    if provider == "wavespeed":
        return as_json(httpx.get(f"{mock.urls.wavespeed}/predictions/{job_id}/result", headers=KEY))
    return as_json(httpx.get(f"{mock.urls.pixverse}/video/result/{job_id}", headers=_pv_headers()))


PROVIDERS = list(registry.names())


@pytest.fixture
def manual(
    check_replies: Callable[[MockServer], None],
) -> Iterator[tuple[MockServer, ManualClock]]:
    clock = ManualClock()
    with MockServer(clock=clock, processing_seconds=10) as server:
        yield server, clock
        check_replies(server)


def test_latency_delays_the_reply_then_answers(mock: MockServer) -> None:
    mock.add_fault("latency", provider="wavespeed", seconds=0.3, count=1)
    assert submit(mock, "wavespeed").status_code == 200
    assert submit(mock, "wavespeed").status_code == 200
    delayed, prompt = mock.simulator.journal.records()
    assert (delayed.faults, delayed.status) == (["latency"], 200)
    assert prompt.faults == []


@pytest.mark.parametrize("provider", PROVIDERS)
def test_rate_limit_is_429_with_retry_after_in_the_providers_shape(
    mock: MockServer, provider: str
) -> None:
    mock.add_fault("rate_limit", provider=provider, op="submit", seconds=1.5, count=1)
    refused = submit(mock, provider)
    assert refused.status_code == 429
    assert refused.headers["Retry-After"] == "2"
    body = refused.json()
    shape = {"runware": "errors", "pixverse": "ErrCode", "wavespeed": "code"}[provider]
    assert shape in body
    assert mock.simulator.jobs() == []
    assert submit(mock, provider).status_code == 200  # count=1: the next one goes through


@pytest.mark.parametrize("provider", PROVIDERS)
def test_server_error_on_the_nth_poll_only(mock: MockServer, provider: str) -> None:
    mock.add_fault("server_error", provider=provider, op="poll", nth=2, count=1, status=502)
    submit(mock, provider)
    (job,) = mock.simulator.jobs()
    job_id = job.id
    statuses = []
    for _ in range(3):
        poll(mock, provider, job_id)
        statuses.append(mock.simulator.journal.records(op="poll")[-1].status)
    assert statuses == [200, 502, 200]


def test_concurrency_limit_gives_pixverse_500044_until_a_job_finishes(
    manual: tuple[MockServer, ManualClock],
) -> None:
    server, clock = manual
    server.add_fault("concurrency_limit", provider="pixverse", limit=1)
    assert submit(server, "pixverse").json()["ErrCode"] == 0
    refused = submit(server, "pixverse").json()
    assert refused["ErrCode"] == 500044
    clock.advance(10)
    assert submit(server, "pixverse").json()["ErrCode"] == 0
    assert len(server.simulator.jobs("pixverse")) == 2


@pytest.mark.parametrize(
    ("action", "provider", "expect"),
    [
        ("moderation", "pixverse", 7),
        ("generation_failure", "pixverse", 8),
        ("moderation", "wavespeed", "failed"),
        ("generation_failure", "wavespeed", "failed"),
        ("moderation", "runware", "contentModerated"),
        ("generation_failure", "runware", "providerError"),
    ],
)
def test_job_failures_show_as_each_provider_reports_them(
    manual: tuple[MockServer, ManualClock], action: str, provider: str, expect: object
) -> None:
    server, clock = manual
    server.add_fault(action, provider=provider, count=1)
    submit(server, provider)
    (job,) = server.simulator.jobs()
    in_progress = poll(server, provider, job.id)
    clock.advance(10)
    done = poll(server, provider, job.id)
    if provider == "pixverse":
        assert (in_progress["Resp"]["status"], done["Resp"]["status"]) == (5, expect)
    elif provider == "wavespeed":
        assert in_progress["data"]["status"] == "processing"
        assert done["data"]["status"] == expect and done["data"]["error"]
    else:
        assert in_progress["data"][0]["status"] == "processing"
        assert done["errors"][0]["code"] == expect
        assert done["errors"][0]["taskUUID"] == job.id


def test_a_job_fault_can_name_one_runware_task(mock: MockServer) -> None:
    doomed = str(uuid.uuid4())
    mock.add_fault("moderation", job=doomed)
    task = {
        "taskType": "videoInference",
        "model": "pixverse:lipsync@1",
        "inputs": {"referenceVideos": [SOURCES["video"]], "audio": SOURCES["audio"]},
    }
    fine = str(uuid.uuid4())
    httpx.post(mock.urls.runware, headers=KEY, json=[{**task, "taskUUID": doomed}])
    httpx.post(mock.urls.runware, headers=KEY, json=[{**task, "taskUUID": fine}])
    assert mock.simulator.job("runware", doomed).outcome == "moderation"  # type: ignore[union-attr]
    assert mock.simulator.job("runware", fine).outcome == "success"  # type: ignore[union-attr]


@pytest.mark.parametrize("provider", PROVIDERS)
def test_malformed_json_reply_after_the_job_was_created(mock: MockServer, provider: str) -> None:
    mock.add_fault("malformed_json", provider=provider, op="submit")
    reply = submit(mock, provider)
    assert reply.status_code == 200
    with pytest.raises(json.JSONDecodeError):
        json.loads(reply.content)
    assert len(mock.simulator.jobs()) == 1


@pytest.mark.parametrize("provider", PROVIDERS)
def test_drop_closes_the_connection_and_does_nothing(mock: MockServer, provider: str) -> None:
    mock.add_fault("drop", provider=provider, op="submit")
    with pytest.raises(httpx.RemoteProtocolError):
        submit(mock, provider)
    assert mock.simulator.jobs() == []
    assert mock.simulator.journal.records(op="submit")[-1].outcome == "dropped"


@pytest.mark.parametrize("provider", PROVIDERS)
def test_lose_reply_creates_the_job_but_the_client_never_hears(
    mock: MockServer, provider: str
) -> None:
    mock.add_fault("lose_reply", provider=provider, op="submit", count=1)
    with pytest.raises(httpx.RemoteProtocolError):
        submit(mock, provider)
    (job,) = mock.simulator.jobs()
    assert job.state(mock.simulator.clock.now()) == "succeeded"
    record = mock.simulator.journal.records(op="submit")[-1]
    assert (record.outcome, record.status, record.jobs) == ("reply_lost", None, [job.id])
    listed = httpx.get(mock.urls.admin + "/jobs").json()["jobs"]
    assert [j["id"] for j in listed] == [job.id]


def test_x_mock_fault_header_applies_to_that_request_only(mock: MockServer) -> None:
    assert submit(mock, "wavespeed", **{"X-Mock-Fault": "rate_limit"}).status_code == 429
    rule = json.dumps({"action": "server_error", "status": 504})
    assert submit(mock, "wavespeed", **{"X-Mock-Fault": rule}).status_code == 504
    assert submit(mock, "wavespeed").status_code == 200


def test_faults_are_read_and_set_as_json_over_the_admin_api(mock: MockServer) -> None:
    admin = mock.urls.admin + "/faults"
    rules = {"rules": [{"action": "server_error", "provider": "pixverse", "op": "poll"}]}
    assert httpx.put(admin, json=rules).status_code == 200
    httpx.post(admin, json={"action": "latency", "seconds": 0.01})
    listed = httpx.get(admin).json()["rules"]
    assert [r["action"] for r in listed] == ["server_error", "latency"]
    assert listed[0]["fired"] == 0

    bad = httpx.post(admin, json={"action": "rate_limitt"})
    assert bad.status_code == 400 and "did you mean 'rate_limit'" in bad.json()["error"]
    bad = httpx.post(admin, json={"action": "drop", "provder": "runware"})
    assert bad.status_code == 400 and "'provider'" in bad.json()["error"]

    assert httpx.delete(admin).json() == {"rules": []}


def test_lose_reply_over_the_runware_websocket_drops_the_connection(mock: MockServer) -> None:
    import asyncio

    from websockets.asyncio.client import connect
    from websockets.exceptions import ConnectionClosed

    mock.add_fault("lose_reply", provider="runware", op="submit")
    task_uuid = str(uuid.uuid4())

    async def scenario() -> None:
        async with connect(mock.urls.runware_ws) as ws:
            await ws.send(json.dumps([{"taskType": "authentication", "apiKey": "k"}]))
            assert "connectionSessionUUID" in (await ws.recv())
            task = {
                "taskType": "videoInference",
                "taskUUID": task_uuid,
                "model": "pixverse:lipsync@1",
                "speech": {"voice": "Ava", "text": "hello"},
                "inputs": {"referenceVideos": [SOURCES["video"]]},
            }
            await ws.send(json.dumps([task]))
            with pytest.raises(ConnectionClosed):
                await ws.recv()

    asyncio.run(asyncio.wait_for(scenario(), 10))
    assert mock.simulator.job("runware", task_uuid) is not None


@pytest.mark.parametrize("provider", PROVIDERS)
def test_key_in_url_signs_a_jobs_output_links_with_the_key_and_serves_them_only_signed(
    provider: str,
) -> None:
    key = "any-key"
    with MockServer(api_key=key) as signing:
        reply = httpx.post(signing.urls.admin + "/faults", json={"action": "key_in_url"})
        assert reply.status_code == 200, reply.text
        submit(signing, provider)
        (job,) = signing.simulator.jobs()
        (link,) = links_in(poll(signing, provider, job.id))
        assert link.endswith("?token=" + key)
        assert httpx.get(link).status_code == 200
        unsigned = link.split("?", 1)[0]
        assert httpx.get(unsigned).status_code == 403
        assert httpx.get(unsigned + "?token=other").status_code == 403
        kept = json.dumps(httpx.get(signing.urls.admin + "/requests").json())
        assert "token=" + key not in kept, "the mock's journal keeps no key"


def test_key_in_url_is_refused_by_a_mock_taking_any_key(mock: MockServer) -> None:
    reply = httpx.post(mock.urls.admin + "/faults", json={"action": "key_in_url"})
    assert reply.status_code == 400 and "--api-key" in reply.json()["error"]
    assert httpx.get(mock.urls.admin + "/faults").json() == {"rules": []}
    with pytest.raises(MockUsageError, match="API key"):
        mock.add_fault("key_in_url")


def links_in(document: object) -> list[str]:
    """Every link to the mock's media in a JSON reply."""
    if isinstance(document, str):
        return [document] if "/media/" in document else []
    if isinstance(document, dict):
        document = list(document.values())
    if isinstance(document, list):
        return [link for item in document for link in links_in(item)]
    return []

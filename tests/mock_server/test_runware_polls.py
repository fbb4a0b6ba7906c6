"""Runware polls: a finished job answers every getResponse alike, its outputs at the mock's URL."""

from __future__ import annotations

import json
import uuid
from typing import Any

from mock_server import Simulator
from mock_server.core import MockRequest, Reply


def _post(sim: Simulator, task: dict[str, Any]) -> Reply:
    return sim.handle(
        MockRequest(
            method="POST",
            path="/v1",
            headers={"authorization": "Bearer k", "content-type": "application/json"},
            body=json.dumps([task]).encode(),
        )
    )


def _submit(sim: Simulator, **extra: Any) -> str:
    task_uuid = str(uuid.uuid4())
    task = {
        "taskType": "videoInference",
        "taskUUID": task_uuid,
        "model": "pixverse:lipsync@1",
        "includeCost": True,
        "speech": {"text": "Hello there, this is a test.", "voice": "Sophia"},
        "inputs": {"referenceVideos": ["https://example.com/presenter.mp4"]},
        **extra,
    }
    reply = _post(sim, task)
    assert reply.status == 200, reply.document
    return task_uuid


def _poll(sim: Simulator, task_uuid: str) -> Reply:
    return _post(sim, {"taskType": "getResponse", "taskUUID": task_uuid})


def test_every_poll_of_a_finished_job_answers_the_same_bytes() -> None:
    sim = Simulator(seed=3, base_url="http://127.0.0.1:9")
    task_uuid = _submit(sim, numberResults=2)
    first, *later = (_poll(sim, task_uuid).payload() for _ in range(3))
    assert later == [first, first]
    results = json.loads(first)["data"]
    (job,) = sim.jobs()
    assert [r["videoURL"] for r in results] == [sim.url(item) for item in job.outputs]
    assert [r["cost"] for r in results] == [round(job.cost_usd / 2, 6)] * 2  # type: ignore[operator]
    assert {r["taskUUID"] for r in results} == {task_uuid}


def test_a_finished_job_polled_after_the_mocks_url_changed_names_its_outputs_at_the_new_one() -> (
    None
):
    sim = Simulator(base_url="http://127.0.0.1:9")
    task_uuid = _submit(sim)
    before = _poll(sim, task_uuid).document["data"][0]["videoURL"]
    sim.base_url = "http://127.0.0.1:10"
    after = _poll(sim, task_uuid).document["data"][0]["videoURL"]
    assert before.startswith("http://127.0.0.1:9/media/")
    assert after == "http://127.0.0.1:10" + before.removeprefix("http://127.0.0.1:9")

"""Jobs of the same shape share one rendered output; each output is still the real file its job
asked for; and the cache of rendered outputs stays under its byte cap, least recently served
first out."""

from __future__ import annotations

import uuid

import httpx

from lipflow import media
from mock_server import MockServer
from mock_server.store import OUTPUTS, OutputCache

KEY = {"Authorization": "Bearer k"}


def _tts_output(mock: MockServer, text: str) -> bytes:
    """Submit a Runware TTS lip sync of ``text``, poll it once, download its output."""
    task = str(uuid.uuid4())
    submit = {
        "taskType": "videoInference",
        "taskUUID": task,
        "model": "pixverse:lipsync@1",
        "speech": {"text": text, "voice": "Sophia"},
        "inputs": {"referenceVideos": ["https://example.com/v.mp4"]},
    }
    httpx.post(mock.urls.runware, headers=KEY, json=[submit]).raise_for_status()
    poll = [{"taskType": "getResponse", "taskUUID": task}]
    (result,) = httpx.post(mock.urls.runware, headers=KEY, json=poll).json()["data"]
    return httpx.get(result["videoURL"]).content


def test_jobs_of_one_shape_are_served_one_encode(mock: MockServer) -> None:
    first = _tts_output(mock, "Line 1 of the benchmark.")
    held = len(OUTPUTS)
    others = [_tts_output(mock, f"Line {n} of the benchmark.") for n in range(2, 9)]

    assert all(video == first for video in others)
    assert len(OUTPUTS) == held  # no new file: the same duration, size and container
    (job, *_) = mock.simulator.jobs("runware")
    info = media.probe_bytes(first)
    assert info.kind == "video"
    assert abs((info.duration_s or 0) - job.duration_s) < 0.1


def test_jobs_of_another_length_get_their_own_file(mock: MockServer) -> None:
    short = _tts_output(mock, "Hi.")
    long = _tts_output(mock, "A much longer line, " * 8)

    assert short != long
    durations = sorted(media.probe_bytes(v).duration_s or 0 for v in (short, long))
    expected = sorted(job.duration_s for job in mock.simulator.jobs("runware"))
    assert expected[0] < expected[1]
    assert all(abs(d - e) < 0.1 for d, e in zip(durations, expected, strict=True))


def test_the_cache_drops_the_least_recently_served_file_past_its_byte_cap() -> None:
    cache = OutputCache(max_bytes=10)
    made: list[str] = []

    def make(name: str, size: int) -> bytes:
        made.append(name)
        return name.encode() * size

    cache.get("a", lambda: make("a", 4))
    cache.get("b", lambda: make("b", 4))
    cache.get("a", lambda: make("a", 4))  # served again: now the most recent
    cache.get("c", lambda: make("c", 4))  # 12 bytes: "b", the least recent, goes
    cache.get("a", lambda: make("a", 4))
    cache.get("b", lambda: make("b", 4))

    assert made == ["a", "b", "c", "b"]
    assert cache.size <= 10
    assert len(cache) == 2


def test_a_file_larger_than_the_cap_is_served_but_not_kept() -> None:
    cache = OutputCache(max_bytes=10)

    assert cache.get("big", lambda: b"x" * 11) == b"x" * 11
    assert cache.size == 0
    assert len(cache) == 0

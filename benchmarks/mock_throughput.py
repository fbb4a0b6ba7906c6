"""How fast the mock answers submit + poll cycles, against a bare server on the same HTTP stack.

Both servers are pytest-httpserver's ``HTTPServer`` on werkzeug's threaded server with the same
quiet request handler; the bare one answers every request with one fixed JSON body, so the ratio
is what the simulator (routing, validation, faults, journal, jobs) costs on top of HTTP itself.
Each cycle is one lip-sync submit and one poll of that job, spread over the three providers.
Target: the mock reaches >= 50% of the bare server's rate.

    python benchmarks/mock_throughput.py [--cycles 1500] [--concurrency 8]
"""

from __future__ import annotations

import argparse
import json
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import httpx
from werkzeug.wrappers import Request, Response

from mock_server import MockServer, Simulator
from mock_server.adapters.http import MockHTTPServer

_FIXED = json.dumps({"code": 200, "message": "success", "data": {"id": "x", "status": "completed"}})


class BareServer(MockHTTPServer):
    """The mock's HTTP adapter with the simulator replaced by one fixed reply."""

    def dispatch(self, request: Request) -> Response:
        request.get_data()
        return Response(_FIXED, content_type="application/json")


def _upload_video(urls: object) -> int:
    """A PixVerse media id to lip sync (the bare server's fixed reply has none: any id will do)."""
    reply = httpx.post(
        urls.pixverse + "/media/upload",  # type: ignore[attr-defined]
        headers={"API-KEY": "bench-key", "Ai-Trace-Id": str(uuid.uuid4())},
        data={"file_url": "https://example.com/v.mp4"},
    )
    return int((reply.json().get("Resp") or {}).get("media_id", 1))


def _cycle_for(urls: object, index: int, media_id: int) -> Callable[[httpx.Client], int]:
    """One submit + poll against the provider ``index`` picks; returns the requests made."""
    provider = ("runware", "pixverse", "wavespeed")[index % 3]
    bearer = {"Authorization": "Bearer bench-key"}

    def runware(client: httpx.Client) -> int:
        task_uuid = str(uuid.uuid4())
        task = {
            "taskType": "videoInference",
            "taskUUID": task_uuid,
            "model": "pixverse:lipsync@1",
            "speech": {"voice": "Emily", "text": "Hello from the benchmark"},
            "inputs": {"referenceVideos": ["https://example.com/v.mp4"]},
        }
        client.post(urls.runware, headers=bearer, json=[task]).raise_for_status()  # type: ignore[attr-defined]
        poll = [{"taskType": "getResponse", "taskUUID": task_uuid}]
        client.post(urls.runware, headers=bearer, json=poll).raise_for_status()  # type: ignore[attr-defined]
        return 2

    def pixverse(client: httpx.Client) -> int:
        headers = {"API-KEY": "bench-key", "Ai-Trace-Id": str(uuid.uuid4())}
        body = {
            "video_media_id": media_id,
            "lip_sync_tts_speaker_id": "1",
            "lip_sync_tts_content": "Hi",
        }
        reply = client.post(urls.pixverse + "/video/lip_sync/generate", headers=headers, json=body)  # type: ignore[attr-defined]
        video_id = (reply.json().get("Resp") or {}).get("video_id", 1)
        headers["Ai-Trace-Id"] = str(uuid.uuid4())
        client.get(f"{urls.pixverse}/video/result/{video_id}", headers=headers).raise_for_status()  # type: ignore[attr-defined]
        return 2

    def wavespeed(client: httpx.Client) -> int:
        body = {"video": "https://example.com/v.mp4", "audio": "https://example.com/a.mp3"}
        reply = client.post(urls.wavespeed + "/pixverse/lipsync", headers=bearer, json=body)  # type: ignore[attr-defined]
        task_id = reply.json()["data"]["id"]
        client.get(
            f"{urls.wavespeed}/predictions/{task_id}/result", headers=bearer
        ).raise_for_status()  # type: ignore[attr-defined]
        return 2

    return {"runware": runware, "pixverse": pixverse, "wavespeed": wavespeed}[provider]


def _drive(urls: object, cycles: int, concurrency: int) -> tuple[int, float]:
    media_id = _upload_video(urls)

    def worker(offset: int) -> int:
        done = 0
        with httpx.Client(timeout=10) as client:
            for i in range(offset, cycles, concurrency):
                done += _cycle_for(urls, i, media_id)(client)
        return done

    started = time.perf_counter()
    with ThreadPoolExecutor(concurrency) as pool:
        requests = sum(pool.map(worker, range(concurrency)))
    return requests, time.perf_counter() - started


class _BareUrls:
    def __init__(self, base: str) -> None:
        self.runware = f"{base}/v1"
        self.pixverse = f"{base}/openapi/v2"
        self.wavespeed = f"{base}/api/v3"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cycles", type=int, default=1500)
    parser.add_argument("--concurrency", type=int, default=8)
    args = parser.parse_args()

    with MockServer(Simulator(seed=1)) as mock:
        _drive(mock.urls, 60, args.concurrency)  # warm-up: schema validators, catalog, imports
        mock.reset()
        mock_requests, mock_seconds = _drive(mock.urls, args.cycles, args.concurrency)
        assert not mock.simulator.internal_errors
        jobs = len(mock.simulator.jobs())

    bare = BareServer(Simulator())
    bare.start()
    try:
        base = f"http://127.0.0.1:{bare.port}"
        _drive(_BareUrls(base), 60, args.concurrency)
        bare_requests, bare_seconds = _drive(_BareUrls(base), args.cycles, args.concurrency)
    finally:
        bare.stop()

    mock_rate = mock_requests / mock_seconds
    bare_rate = bare_requests / bare_seconds
    print(
        f"cycles: {args.cycles} (submit + poll), concurrency {args.concurrency}, jobs created {jobs}"
    )
    print(
        f"mock server : {mock_requests} requests in {mock_seconds:.2f} s = {mock_rate:,.0f} req/s"
    )
    print(
        f"bare server : {bare_requests} requests in {bare_seconds:.2f} s = {bare_rate:,.0f} req/s"
    )
    verdict = "meets" if mock_rate / bare_rate >= 0.5 else "misses"
    print(f"ratio       : {mock_rate / bare_rate:.2f} ({verdict} the >= 0.50 target)")


if __name__ == "__main__":
    main()

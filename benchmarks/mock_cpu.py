"""What the mock's simulation costs per request, against a bare server on the same HTTP stack.

Two servers, each in its own process: ``lipflow mock serve`` (processing time 0), and the
mock's own HTTP adapter (:class:`~mock_server.adapters.http.MockHTTPServer`: werkzeug's threaded
server, the keep-alive handler) with the simulator replaced by a plain WSGI application giving
fixed replies of the same shapes and sizes (the mock's adapter is a plain WSGI application
too): the same output video (the length the mock gives the benchmark's speech), and every
connection kept open as the mock keeps it. A client process (this one, aiohttp, keep-alive,
concurrency 8) drives the same realistic mix at each: per Runware job an upload (a small WAV
as base64), a submit, three polls and the download of the output. What is measured is the
server process's CPU time (``/proc/<pid>/stat``: user + system) per request, so the client's
own cost does not count.

Also printed: how often the server's threads wait per request. Both servers answer as fast as
they can, so the one whose Python holds the GIL longer per request also has its threads wait
for it more often, and each wait is a context switch paid in CPU time.

Goal: bare CPU per request / mock CPU per request >= 0.8, the median of paired rounds.

    python benchmarks/mock_cpu.py [--jobs 500] [--rounds 3] [--concurrency 8]
"""

from __future__ import annotations

import asyncio
import base64
import json
import os
import statistics
import uuid
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from _rounds import Goal, Ratios, paired, spread
from _servers import arguments, runware_submit, server

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIApplication, WSGIEnvironment

GOAL = Goal(0.8, "at_least")
POLLS = 3
AUTH = {"Authorization": "Bearer bench-key"}


def _wav() -> bytes:
    from lipflow import media

    return media.synthesize_audio(1.0)


# -- the bare server (its own process) ---------------------------------------------------------


def serve_bare() -> None:
    """The mock's HTTP adapter answering fixed Runware replies; print its URL, serve until killed."""
    import threading

    from lipflow import media
    from lipflow.pricing import estimate_tts_seconds
    from mock_server import Simulator
    from mock_server.adapters.http import MockHTTPServer

    # The file the mock renders for a job of the mix: a 64-pixel video of its speech's length.
    speech = runware_submit(0, "")["speech"]["text"]
    video = media.synthesize_video(estimate_tts_seconds(speech) or 1.0)
    task = "00000000-0000-4000-8000-000000000000"
    media_id = "11111111-1111-4111-8111-111111111111"
    media_url = f"http://127.0.0.1:0/media/{media_id}.wav"

    def document(items: list[dict[str, Any]]) -> bytes:
        return json.dumps({"data": items}, separators=(",", ":")).encode()

    replies = {
        "mediaStorage": document(
            [
                {
                    "taskType": "mediaStorage",
                    "taskUUID": task,
                    "mediaUUID": media_id,
                    "mediaURL": media_url,
                }
            ]
        ),
        "videoInference": document([{"taskType": "videoInference", "taskUUID": task}]),
        "getResponse": document(
            [
                {
                    "taskType": "videoInference",
                    "taskUUID": task,
                    "status": "success",
                    "videoUUID": media_id,
                    "videoURL": f"http://127.0.0.1:0/media/{media_id}.mp4",
                    "seed": 271861598,
                    "NSFWContent": False,
                    "cost": 0.027472,
                }
            ]
        ),
    }

    class Bare(MockHTTPServer):
        """The mock's server and keep-alive handler running a plain WSGI application, as the
        mock's own adapter does (werkzeug's Request and Response objects cost both alike, so
        neither builds them: the strongest bare server on this stack)."""

        def wsgi_application(self) -> WSGIApplication:
            return self.fixed

        def fixed(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
            environ["mock_server.keep_alive"] = True  # as the mock: every body read whole
            if environ["REQUEST_METHOD"] == "GET":
                body, content_type = video, "video/mp4"
            else:
                request = environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0))
                kind = next((k for k in replies if k.encode() in request[:200]), "getResponse")
                body, content_type = replies[kind], "application/json"
            start_response(
                "200 OK", [("Content-Type", content_type), ("Content-Length", str(len(body)))]
            )
            return [body]

    server = Bare(Simulator())
    server.start()
    base = f"http://127.0.0.1:{server.port}"
    print(json.dumps({"runware": f"{base}/v1", "media": f"{base}/media"}), flush=True)
    threading.Event().wait()


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of process ``pid`` (all its threads) so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


# -- the client (this process) -----------------------------------------------------------------


async def drive(
    url: str, jobs: int, concurrency: int, wav: str, pid: int
) -> tuple[int, float, int]:
    """The mix for ``jobs`` Runware jobs: the number of requests sent, and server ``pid``'s CPU
    seconds and its threads' context switches meanwhile. Measured once the connections (and the
    threads serving them) are open, and read before they close: a thread's switches are
    counted only while it runs."""
    import aiohttp

    sent = 0

    async def post(session: aiohttp.ClientSession, tasks: list[dict[str, Any]]) -> Any:
        nonlocal sent
        sent += 1
        async with session.post(url, json=tasks, headers=AUTH) as reply:
            reply.raise_for_status()
            return (await reply.json())["data"][0]

    async def one(session: aiohttp.ClientSession, slots: asyncio.Semaphore, n: int) -> None:
        nonlocal sent
        async with slots:
            await post(
                session,
                [
                    {
                        "taskType": "mediaStorage",
                        "taskUUID": str(uuid.uuid4()),
                        "operation": "upload",
                        "media": wav,
                    }
                ],
            )
            task_uuid = str(uuid.uuid4())
            submit = runware_submit(n, task_uuid)
            await post(session, [submit])
            for _ in range(POLLS):
                done = await post(session, [{"taskType": "getResponse", "taskUUID": task_uuid}])
            output = done["videoURL"].rsplit("/", 1)[1]
            sent += 1
            async with session.get(f"{url.rsplit('/', 1)[0]}/media/{output}") as video:
                video.raise_for_status()
                await video.read()

    slots = asyncio.Semaphore(concurrency)
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=concurrency)) as session:
        # Every connection opened, and its thread started, before measuring.
        await asyncio.gather(*(one(session, slots, n) for n in range(concurrency)))
        sent, cpu, waits = 0, cpu_seconds(pid), context_switches(pid)
        await asyncio.gather(*(one(session, slots, n) for n in range(jobs)))
        return sent, cpu_seconds(pid) - cpu, context_switches(pid) - waits


def context_switches(pid: int) -> int:
    """How many times the threads of process ``pid`` (those alive now) gave up the CPU waiting:
    for a socket, a lock or the GIL."""
    total = 0
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            status = (task / "status").read_text()
        except FileNotFoundError:  # a thread that ended meanwhile
            continue
        total += sum(
            int(line.split()[1])
            for line in status.splitlines()
            if line.startswith("voluntary_ctxt_switches")
        )
    return total


def per_request(
    pid: int, url: str, jobs: int, concurrency: int, wav: str, switches: list[float]
) -> float:
    """Server CPU seconds per request for one run of the mix; its context switches per
    request are appended to ``switches``."""
    sent, cpu, waits = asyncio.run(drive(url, jobs, concurrency, wav, pid))
    switches.append(waits / sent)
    return cpu / sent


def main() -> None:
    args = arguments(__doc__ or "", serve_bare, jobs=500, concurrency=8)
    if args is None:
        return

    import httpx

    wav = base64.b64encode(_wav()).decode()
    mock_cmd = ("-m", "lipflow", "mock", "serve", "--print-urls", "json")
    with (
        server(*mock_cmd) as (mock_pid, mock),
        server(__file__, "--serve-bare") as (bare_pid, bare),
    ):
        switches: dict[int, list[float]] = {mock_pid: [], bare_pid: []}

        def run(pid: int, url: str, reset: Callable[[], None]) -> Callable[[], float]:
            def measure() -> float:
                reset()
                return per_request(pid, url, args.jobs, args.concurrency, wav, switches[pid])

            return measure

        def reset_mock() -> None:
            httpx.post(mock["admin"] + "/reset").raise_for_status()

        for pid, url, reset in (
            (mock_pid, mock["runware"], reset_mock),
            (bare_pid, bare["runware"], lambda: None),
        ):
            run(pid, url, reset)()  # warm-up: imports, schema validators, the output video
            switches[pid].clear()
        mock_cpu, bare_cpu = paired(
            args.rounds,
            run(mock_pid, mock["runware"], reset_mock),
            run(bare_pid, bare["runware"], lambda: None),
        )
    requests = args.jobs * (3 + POLLS)
    print(
        f"{args.jobs} Runware jobs x (upload, submit, {POLLS} polls, download) = {requests} "
        f"requests per server per round, concurrency {args.concurrency}, keep-alive"
    )
    print(f"  mock server CPU per request: {spread(mock_cpu, 'ms', 1000)}")
    print(f"  bare server CPU per request: {spread(bare_cpu, 'ms', 1000)}")
    print(
        "  threads' waits (voluntary context switches) per request: "
        f"mock {statistics.median(switches[mock_pid]):.1f}, "
        f"bare {statistics.median(switches[bare_pid]):.1f} (medians; each wait for the GIL "
        "another request's thread holds is one more)"
    )
    ratios = Ratios.of("bare / mock CPU per request", bare_cpu, mock_cpu, GOAL)
    print(ratios.line())


if __name__ == "__main__":
    main()

"""How fast lipflow's runner drives a provider, against a hand-written aiohttp client.

N TTS lip-sync jobs on Runware (a video by URL: nothing to upload), each a submit, polls until
the job is done, and a download. lipflow runs them as a library user does (``execute``: the
HTTP layer ``lipflow run`` uses, the journal with its fsync'd facts, the atomic rename and the
media probe of every output); the baseline is the least a client can do: an aiohttp script with
one session, the same concurrency and the same polls, writing each output to a file. Each
server runs in its own process, the clients in this one, and the rounds are paired:

(a) a bare keep-alive server (aiohttp.web, canned Runware replies: the submit's ack, a poll
    answering "processing", then one answering "success" with the output's URL, and the
    output) -- what the HTTP client costs when the server costs next to nothing;
(b) ``lipflow mock serve`` (processing time 0: done at the first poll).

Polls are sent without waiting (both clients alike): the benchmark measures the clients' cost
per request, not the poll schedule. Goals: lipflow / aiohttp jobs per second >= 0.8 against
each server. Each client's CPU per job (this process's, its threads included, and the event
loop's thread's alone) is printed too.
On (a) it also prints the aiohttp client keeping lipflow's safety rule (each money fact its own
SQLite commit with the WAL fsync'd before the client goes on, and nothing else; for Runware the
intent before each submit): against the plain client, the most any client that keeps
the rule can reach on this disk; against lipflow, what the runner costs beyond the rule.
For comparison it also prints, on (a), the runner without fsync'd journal facts (what power-cut
safety costs) against the same aiohttp client, and the runner against itself over httpx's
client on aiohttp's pool and over httpx's own transport (what ``lipflow run`` used before):
what the HTTP layer gained; and the runner on its own, over a sender that answers from memory
(no sockets, no server), with and without fsync'd facts: the CPU per job and the rate no HTTP
layer can improve on.

    python benchmarks/http_client.py [--jobs 1000] [--concurrency 16] [--rounds 3]
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import sqlite3
import statistics
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import httpx
from _rounds import Goal, Ratios, paired, spread
from _servers import arguments, runware_submit, server
from run_throughput import bench_plan

from lipflow.jobs import Plan
from lipflow.reporting.runs import format_run
from lipflow.run.journal import Journal
from lipflow.run.retry import RetryPolicy
from lipflow.run.runner import Runner, execute
from lipflow.run.settings import RunSettings
from lipflow.run.transport import whole_reply

NO_WAIT = RetryPolicy(poll_first=0.0, poll_next=0.0)  # poll again at once, both clients alike
GOAL = Goal(0.8, "at_least")
KEYS = {"runware": "k", "pixverse": "k", "wavespeed": "k"}


# -- the bare server (its own process) ---------------------------------------------------------


def serve_bare() -> None:
    """A Runware look-alike that keeps connections open and answers from memory: print its
    base URL as one JSON line, then serve until killed."""
    from aiohttp import web

    from lipflow import media

    video = media.synthesize_video(8.0)
    polls: dict[str, int] = {}

    async def api(request: web.Request) -> web.Response:
        answers = [answer(task, polls, request.host) for task in await request.json()]
        return web.json_response({"data": answers})

    async def output(request: web.Request) -> web.Response:
        return web.Response(body=video, content_type="video/mp4")

    app = web.Application()
    app.add_routes([web.post("/v1", api), web.get("/media/{name}", output)])

    async def main() -> None:
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        print(json.dumps({"runware": f"http://127.0.0.1:{port}/v1"}), flush=True)
        await asyncio.Event().wait()

    asyncio.run(main())


def answer(task: dict[str, Any], polls: dict[str, int], host: str) -> dict[str, Any]:
    """The bare server's answer to one task: an ack, then "processing", then "success"."""
    task_uuid = task["taskUUID"]
    if task["taskType"] != "getResponse":
        return {"taskType": task["taskType"], "taskUUID": task_uuid}
    polls[task_uuid] = polls.get(task_uuid, 0) + 1
    item = {"taskType": "videoInference", "taskUUID": task_uuid}
    if polls[task_uuid] < 2:
        return {**item, "status": "processing"}
    del polls[task_uuid]
    url = f"http://{host}/media/{task_uuid}.mp4"
    return {**item, "status": "success", "videoURL": url, "cost": 0.0275}


# -- the clients (this process) ----------------------------------------------------------------


def run_settings(urls: dict[str, str], concurrency: int, out: Path) -> RunSettings:
    return RunSettings(
        out_dir=out,
        base_urls={"runware": urls["runware"]},
        keys=KEYS,
        concurrency=concurrency,
        allow_unpriced=True,
        retry=NO_WAIT,
    )


def lipflow_rate(plan: Plan, urls: dict[str, str], concurrency: int, out: Path) -> float:
    """Jobs per second of ``execute``: the runner over the HTTP layer ``lipflow run`` uses."""
    started = time.perf_counter()
    report = execute(plan, run_settings(urls, concurrency, out))
    elapsed = time.perf_counter() - started
    assert report.ok, format_run(report)[-2000:]
    return len(plan.jobs) / elapsed


def volatile_rate(plan: Plan, urls: dict[str, str], concurrency: int, out: Path) -> float:
    """``lipflow_rate`` without fsync'd money facts: what power-cut safety costs."""
    Journal.durable_facts = False
    try:
        return lipflow_rate(plan, urls, concurrency, out)
    finally:
        Journal.durable_facts = True


class _FromMemory:
    """A sender that answers as the bare server does, from memory: no socket, no HTTP parsing,
    no other process. What the runner costs on its own (journal, flows, retry engine, state,
    downloads written, renamed and probed), which no HTTP layer can take away."""

    def __init__(self) -> None:
        from lipflow import media

        self.video = media.synthesize_video(8.0)
        self.polls: dict[str, int] = {}

    async def send(self, request: httpx.Request, provider: str, **_: Any) -> httpx.Response:
        await asyncio.sleep(0)  # a reply arrives on a later turn of the loop
        data = [answer(task, self.polls, "memory") for task in json.loads(request.content)]
        body = json.dumps({"data": data}).encode()
        head = [(b"Content-Type", b"application/json"), (b"Content-Length", b"%d" % len(body))]
        return whole_reply(200, head, body, request)  # as the run's sender makes a reply

    @contextlib.asynccontextmanager
    async def stream(self, url: httpx.URL, timeout: httpx.Timeout) -> AsyncIterator[_Output]:
        await asyncio.sleep(0)
        yield _Output(self.video)


class _Output:
    status_code = 200

    def __init__(self, video: bytes) -> None:
        self.video = video
        self.headers = {"content-length": str(len(video)), "content-type": "video/mp4"}

    async def chunks(self) -> AsyncIterator[bytes]:
        yield self.video


def memory_rate(plan: Plan, out: Path, *, durable: bool) -> tuple[float, float]:
    """Jobs per second of the runner over :class:`_FromMemory`, and its CPU per job (ms)."""
    settings = run_settings({"runware": "http://memory/v1"}, 16, out)
    sender = _FromMemory()  # its video made before the CPU is counted
    Journal.durable_facts = durable
    try:

        async def main() -> float:
            started = time.perf_counter()
            report = await Runner(plan, settings, sender).run()
            assert report.ok, format_run(report)[-2000:]
            return len(plan.jobs) / (time.perf_counter() - started)

        cpu = time.process_time()
        rate = asyncio.run(main())
        return rate, (time.process_time() - cpu) * 1000 / len(plan.jobs)
    finally:
        Journal.durable_facts = True


def runner_alone(plan: Plan, rounds: int) -> None:
    """Print the runner's own rate and CPU per job, with fsync'd facts and without."""
    with tempfile.TemporaryDirectory() as tmp:
        for durable in (True, False):
            runs = [
                memory_rate(plan, Path(tmp) / f"{durable}-{i}", durable=durable)
                for i in range(rounds)
            ]
            rates, cpu = [r for r, _ in runs], statistics.median(c for _, c in runs)
            facts = "with fsync'd facts" if durable else "without fsync'd facts"
            print(f"  runner alone, {facts}: {spread(rates, 'jobs/s')}; CPU {cpu:.2f} ms/job")


def httpx_runner_rate(
    plan: Plan, urls: dict[str, str], concurrency: int, out: Path, *, over_aiohttp: bool = False
) -> float:
    """The same runner over httpx's own transport and pool (``lipflow run`` before aiohttp), or
    over httpx's client on aiohttp's pool (``lipflow run`` before it sent with aiohttp directly)."""
    from lipflow.run.transport import http_client

    settings = run_settings(urls, concurrency, out)
    limits = httpx.Limits(
        max_connections=concurrency * 2, max_keepalive_connections=concurrency * 2
    )
    make = http_client if over_aiohttp else httpx.AsyncClient

    async def main() -> float:
        async with make(limits=limits) as client:
            started = time.perf_counter()
            report = await Runner(plan, settings, client).run()
            elapsed = time.perf_counter() - started
        assert report.ok, format_run(report)[-2000:]
        return len(plan.jobs) / elapsed

    return asyncio.run(main())


class _Facts:
    """The least a client can do to keep lipflow's safety rule: each money fact its own SQLite
    transaction in one WAL journal, committed with ``synchronous=FULL`` (the WAL fsync'd) before
    the client goes on. For Runware that is the intent alone, before the submit: the job's id is
    the taskUUID the intent holds, so the ack adds nothing a resume needs (lipflow commits it
    without an fsync, and this client not at all).
    The commits run on the loop: on a thread of their own they measured slower (107-228 against
    165-251 jobs/s, 300 jobs, 4 paired rounds on a shared 2-core machine)."""

    def __init__(self, path: Path) -> None:
        self._db = sqlite3.connect(path, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=FULL")
        self._db.execute("CREATE TABLE fact (job INTEGER, what TEXT, value TEXT)")

    def commit(self, job: int, what: str, value: str) -> None:
        self._db.execute("BEGIN")
        self._db.execute("INSERT INTO fact VALUES (?, ?, ?)", (job, what, value))
        self._db.execute("COMMIT")

    def close(self) -> None:
        self._db.close()


def aiohttp_rate(jobs: int, url: str, concurrency: int, out: Path, *, facts: bool = False) -> float:
    """The hand-written baseline: submit, poll until success, download; nothing else.

    ``facts``: the same client keeping lipflow's safety rule too, each money fact fsync'd
    before the request it protects (:class:`_Facts`)."""
    import aiohttp

    headers = {"Authorization": "Bearer k"}
    journal = _Facts(out / "facts.db") if facts else None

    async def one(session: aiohttp.ClientSession, slots: asyncio.Semaphore, n: int) -> None:
        async with slots:
            task_uuid = str(uuid.uuid4())
            task = runware_submit(n, task_uuid)
            if journal is not None:
                journal.commit(n, "intent", task_uuid)
            async with session.post(url, json=[task], headers=headers) as reply:
                reply.raise_for_status()
                await reply.read()
            poll = [{"taskType": "getResponse", "taskUUID": task_uuid}]
            while True:
                async with session.post(url, json=poll, headers=headers) as reply:
                    data: list[dict[str, Any]] = (await reply.json()).get("data", [])
                done = [d for d in data if d.get("status") == "success"]
                if done:
                    break
            async with session.get(done[0]["videoURL"]) as video:
                video.raise_for_status()
                (out / f"{n}.mp4").write_bytes(await video.read())

    async def main() -> float:
        slots = asyncio.Semaphore(concurrency)
        connector = aiohttp.TCPConnector(limit=concurrency * 2)
        async with aiohttp.ClientSession(connector=connector) as session:
            started = time.perf_counter()
            await asyncio.gather(*(one(session, slots, n) for n in range(jobs)))
            return jobs / (time.perf_counter() - started)

    try:
        return asyncio.run(main())
    finally:
        if journal is not None:
            journal.close()


# -- the rounds ----------------------------------------------------------------------------------


def compare(
    what: str,
    rounds: int,
    ours: Callable[[Path], float],
    baseline: Callable[[Path], float],
    reset: Callable[[], None],
    *,
    jobs: int,
    goal: bool = True,
    names: tuple[str, str] = ("lipflow", "aiohttp"),
) -> Ratios:
    """Paired rounds of two clients (jobs/s), each run on a fresh out directory and server."""
    cpu: dict[str, list[float]] = {name: [] for name in names}
    loop: dict[str, list[float]] = {name: [] for name in names}  # this thread's: the loop's
    with tempfile.TemporaryDirectory() as tmp:
        runs = iter(range(1_000_000))

        def fresh(client: Callable[[Path], float], name: str) -> Callable[[], float]:
            def run() -> float:
                out = Path(tmp) / str(next(runs))
                out.mkdir()
                reset()
                started, on_loop = time.process_time(), time.thread_time()
                rate = client(out)
                cpu[name].append((time.process_time() - started) * 1000 / jobs)
                loop[name].append((time.thread_time() - on_loop) * 1000 / jobs)
                return rate

            return run

        mine, theirs = paired(rounds, fresh(ours, names[0]), fresh(baseline, names[1]))
    for name, rates in ((names[0], mine), (names[1], theirs)):
        cpu_ms, loop_ms = statistics.median(cpu[name]), statistics.median(loop[name])
        print(
            f"  {name}: {spread(rates, 'jobs/s')}; CPU {cpu_ms:.2f} ms/job, "
            f"{loop_ms:.2f} ms on the event loop's thread (medians)"
        )
    ratios = Ratios.of(what, mine, theirs, GOAL)
    print(ratios.line() if goal else ratios.compared())
    return ratios


def main() -> None:
    args = arguments(__doc__ or "", serve_bare, jobs=1000, concurrency=16)
    if args is None:
        return

    plan = bench_plan(args.jobs)
    n, c = args.jobs, args.concurrency
    print(
        f"{n} Runware TTS lip-sync jobs, concurrency {c}, {args.rounds} paired round(s); "
        "servers in their own processes"
    )
    results = []
    with server(__file__, "--serve-bare") as (_, urls):
        url = urls["runware"]
        print("(a) a bare keep-alive server (aiohttp.web, canned replies, 2 polls per job)")
        results.append(
            compare(
                "(a) lipflow / aiohttp client, bare keep-alive server",
                args.rounds,
                lambda out: lipflow_rate(plan, urls, c, out),
                lambda out: aiohttp_rate(n, url, c, out),
                lambda: None,
                jobs=n,
            )
        )
        print(
            "    the same aiohttp client keeping lipflow's safety rule (each money fact, for "
            "Runware the intent, its own fsync'd commit before its request):"
        )
        ceiling = compare(
            "    aiohttp client with fsync'd facts / without",
            args.rounds,
            lambda out: aiohttp_rate(n, url, c, out, facts=True),
            lambda out: aiohttp_rate(n, url, c, out),
            lambda: None,
            jobs=n,
            goal=False,
            names=("aiohttp + facts", "aiohttp"),
        )
        if not GOAL.met(ceiling.median):
            print(
                f"    on this disk no client that keeps one fsync'd commit per money fact reaches "
                f"goal (a): the least such client does {ceiling.median:.2f} of the one without"
            )
        compare(
            "    lipflow / aiohttp client with fsync'd facts",
            args.rounds,
            lambda out: lipflow_rate(plan, urls, c, out),
            lambda out: aiohttp_rate(n, url, c, out, facts=True),
            lambda: None,
            jobs=n,
            goal=False,
            names=("lipflow", "aiohttp + facts"),
        )
        print("    for comparison, the same without fsync'd facts (what power-cut safety costs):")
        compare(
            "    runner without fsync'd facts / aiohttp client",
            args.rounds,
            lambda out: volatile_rate(plan, urls, c, out),
            lambda out: aiohttp_rate(n, url, c, out),
            lambda: None,
            jobs=n,
            goal=False,
        )
        print(
            "    and what the HTTP layer gained: the runner over httpx's client on aiohttp (before)"
        )
        compare(
            "    runner over aiohttp directly / over httpx's client on aiohttp",
            args.rounds,
            lambda out: lipflow_rate(plan, urls, c, out),
            lambda out: httpx_runner_rate(plan, urls, c, out, over_aiohttp=True),
            lambda: None,
            jobs=n,
            goal=False,
            names=("direct", "httpx on aiohttp"),
        )
        print("    and over httpx's own transport (before that)")
        compare(
            "    runner over aiohttp directly / over httpx's own transport",
            args.rounds,
            lambda out: lipflow_rate(plan, urls, c, out),
            lambda out: httpx_runner_rate(plan, urls, c, out),
            lambda: None,
            jobs=n,
            goal=False,
            names=("direct", "over httpx"),
        )
    print(
        "    and the runner on its own, over a sender answering from memory (no sockets, no "
        "server): the CPU per job no HTTP layer can take away"
    )
    runner_alone(plan, args.rounds)
    with server("-m", "lipflow", "mock", "serve", "--print-urls", "json") as (_, urls):
        url = urls["runware"]

        def reset() -> None:
            httpx.post(urls["admin"] + "/reset").raise_for_status()

        print("(b) lipflow mock serve (processing time 0)")
        results.append(
            compare(
                "(b) lipflow / aiohttp client, lipflow mock serve",
                args.rounds,
                lambda out: lipflow_rate(plan, urls, c, out),
                lambda out: aiohttp_rate(n, url, c, out),
                reset,
                jobs=n,
            )
        )
    print("all goals met" if all(r.met for r in results) else "NOT all goals met")


if __name__ == "__main__":
    main()

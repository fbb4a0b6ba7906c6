"""How fast ``lipflow run`` is against the mock, measured against a minimal hand-written client.

Prints, in one run against one mock server (its own process, zero processing time):

* jobs/s of lipflow's runner for N TTS lip-sync jobs on Runware (submit, poll, download; journal,
  atomic rename and media probe included), and of a bare httpx asyncio script doing the same
  submit + poll + download with the same concurrency, and their ratio (target >= 80%);
* polls per job for a simulated 60-second job (the runner over real sockets to an in-process
  mock whose clock the runner's injected sleep advances; target <= 10);
* peak memory (max RSS) of a process holding 10,000 queued jobs in the runner (target <= 300 MB).

    python benchmarks/run_throughput.py [--jobs 1000] [--concurrency 16] [--rounds 3]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import httpx

from lipflow.jobs import Plan
from lipflow.plan import plan_recipe
from lipflow.recipe import parse_recipe
from lipflow.reporting.runs import format_run
from lipflow.run.journal import Journal
from lipflow.run.runner import Runner
from lipflow.run.settings import RunSettings

VIDEO = "https://example.com/presenter.mp4"  # a URL: nothing to upload, for both clients alike
RECIPE = """
version: 1
name: bench
inputs:
  presenter:
    video: {video}
    duration: 8
steps:
  dub:
    use: runware/pixverse-lipsync
    matrix:
      n: [{numbers}]
    lipsync:
      video: presenter
      tts:
        text: "Line {{{{ matrix.n }}}} of the benchmark."
        voice: Sophia
"""


def bench_plan(jobs: int) -> Plan:
    text = RECIPE.format(video=VIDEO, numbers=", ".join(str(i) for i in range(jobs)))
    recipe, problems = parse_recipe(text, "bench.yaml")
    assert recipe is not None, problems
    plan = plan_recipe(recipe, env={})
    assert plan.ok, plan.problems
    return plan


def settings(out: Path, urls: dict[str, str], concurrency: int) -> RunSettings:
    return RunSettings(
        out_dir=out,
        base_urls=urls,
        keys={"runware": "k", "pixverse": "k", "wavespeed": "k"},
        concurrency=concurrency,
        allow_unpriced=True,
    )


async def lipflow_run(plan: Plan, urls: dict[str, str], concurrency: int, out: Path) -> float:
    limits = httpx.Limits(
        max_connections=concurrency * 2, max_keepalive_connections=concurrency * 2
    )
    async with httpx.AsyncClient(limits=limits) as client:
        started = time.perf_counter()
        report = await Runner(plan, settings(out, urls, concurrency), client).run()
        elapsed = time.perf_counter() - started
    assert report.ok, format_run(report)[-2000:]
    return elapsed


async def script_run(jobs: int, url: str, concurrency: int, out: Path) -> float:
    """The hand-written baseline: submit, poll until success, download; nothing else."""
    headers = {"Authorization": "Bearer k"}
    slots = asyncio.Semaphore(concurrency)
    limits = httpx.Limits(
        max_connections=concurrency * 2, max_keepalive_connections=concurrency * 2
    )

    async def one(client: httpx.AsyncClient, n: int) -> None:
        async with slots:
            task_uuid = str(uuid.uuid4())
            task = {
                "taskType": "videoInference",
                "taskUUID": task_uuid,
                "model": "pixverse:lipsync@1",
                "deliveryMethod": "async",
                "includeCost": True,
                "speech": {"text": f"Line {n} of the benchmark.", "voice": "Sophia"},
                "inputs": {"referenceVideos": [VIDEO]},
            }
            (await client.post(url, json=[task], headers=headers)).raise_for_status()
            delay = 0.0
            while True:
                await asyncio.sleep(delay)
                reply = await client.post(
                    url, json=[{"taskType": "getResponse", "taskUUID": task_uuid}], headers=headers
                )
                done = [d for d in reply.json().get("data", []) if d.get("status") == "success"]
                if done:
                    break
                delay = min(15.0, max(0.5, delay * 2))
            video = await client.get(done[0]["videoURL"])
            (out / f"{n}.mp4").write_bytes(video.content)

    async with httpx.AsyncClient(limits=limits) as client:
        started = time.perf_counter()
        await asyncio.gather(*(one(client, n) for n in range(jobs)))
        return time.perf_counter() - started


def polls_for_a_60_second_job() -> int:
    """One job that takes 60 s at the mock, its time advanced by the runner's own waits."""
    from mock_server import ManualClock, MockServer

    clock = ManualClock()

    async def sleep(seconds: float) -> None:
        clock.advance(seconds)
        await asyncio.sleep(0)

    with (
        MockServer(processing_seconds=60.0, clock=clock) as mock,
        tempfile.TemporaryDirectory() as tmp,
    ):
        urls = {
            "runware": mock.urls.runware,
            "pixverse": mock.urls.pixverse,
            "wavespeed": mock.urls.wavespeed,
        }

        async def main() -> int:
            async with httpx.AsyncClient() as client:
                runner = Runner(bench_plan(1), settings(Path(tmp), urls, 1), client, sleep=sleep)
                report = await runner.run()
            assert report.ok and clock.now() >= 60
            return report.polls

        return asyncio.run(main())


def memory_child(urls: dict[str, str], jobs: int) -> None:
    """In a fresh process: queue ``jobs`` jobs, run until 200 are done, stop; print max RSS in MB."""
    plan = bench_plan(jobs)

    async def main() -> None:
        with tempfile.TemporaryDirectory() as tmp:
            async with httpx.AsyncClient() as client:
                runner = Runner(plan, settings(Path(tmp), urls, 16), client)
                run = asyncio.create_task(runner.run())
                while runner._snapshot().done < 200:  # every job is queued from the start
                    await asyncio.sleep(0.05)
                runner.interrupt()
                await run

    asyncio.run(main())
    print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=1000)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--rounds", type=int, default=3, help="best of this many runs of each")
    parser.add_argument("--memory-jobs", type=int, default=10_000)
    parser.add_argument("--memory-child", metavar="URLS_JSON", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.memory_child:
        memory_child(json.loads(args.memory_child), args.memory_jobs)
        return

    mock = subprocess.Popen(
        [sys.executable, "-m", "lipflow", "mock", "serve", "--print-urls", "json"],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert mock.stdout is not None
        urls = json.loads(mock.stdout.readline())
        plan = bench_plan(args.jobs)
        lipflow_s, script_s, volatile_s = [], [], []
        with tempfile.TemporaryDirectory() as tmp:
            for r in range(args.rounds):
                # Each measured run starts on an empty mock, so neither client pays for the
                # jobs and journal the other one left behind (the rounds alternate).
                out = Path(tmp) / f"script{r}"
                out.mkdir()
                httpx.post(urls["admin"] + "/reset")
                script_s.append(
                    asyncio.run(script_run(args.jobs, urls["runware"], args.concurrency, out))
                )
                httpx.post(urls["admin"] + "/reset")
                lipflow_s.append(
                    asyncio.run(
                        lipflow_run(plan, urls, args.concurrency, Path(tmp) / f"lipflow{r}")
                    )
                )
                # The same run without fsync'd intents and job ids: what power-cut safety costs.
                httpx.post(urls["admin"] + "/reset")
                Journal.durable_facts = False
                try:
                    volatile_s.append(
                        asyncio.run(
                            lipflow_run(plan, urls, args.concurrency, Path(tmp) / f"volatile{r}")
                        )
                    )
                finally:
                    Journal.durable_facts = True
        lipflow_rate, script_rate = args.jobs / min(lipflow_s), args.jobs / min(script_s)
        print(
            f"jobs: {args.jobs} TTS lip-sync on Runware (mock, zero processing), concurrency {args.concurrency}, best of {args.rounds}"
        )
        print(f"lipflow run:          {lipflow_rate:8.1f} jobs/s")
        print(f"hand-written script:  {script_rate:8.1f} jobs/s")
        print(f"ratio:                {lipflow_rate / script_rate:8.1%}  (target >= 80%)")
        volatile_rate = args.jobs / min(volatile_s)
        print(
            f"without fsync'd facts:{volatile_rate:8.1f} jobs/s; durable journaling costs "
            f"{1 - lipflow_rate / volatile_rate:.1%} (intent and provider job id fsync'd)"
        )
        print(f"polls for a 60 s job: {polls_for_a_60_second_job():8d}  (target <= 10)")
        child = subprocess.run(
            [
                sys.executable,
                __file__,
                "--memory-child",
                json.dumps(urls),
                "--memory-jobs",
                str(args.memory_jobs),
            ],
            capture_output=True,
            text=True,
            check=True,
            env={**os.environ, "PYTHONPATH": str(Path(__file__).parents[1])},
        )
        peak = float(child.stdout.strip().splitlines()[-1])
        print(f"peak memory, {args.memory_jobs:,} queued jobs: {peak:8.1f} MB  (target <= 300 MB)")
    finally:
        mock.terminate()
        mock.communicate(timeout=10)


if __name__ == "__main__":
    main()

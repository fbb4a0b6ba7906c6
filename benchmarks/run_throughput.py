"""What ``lipflow run`` costs besides its speed (``benchmarks/http_client.py`` measures that,
against a hand-written aiohttp client).

Prints, in one run against one mock server (its own process, zero processing time):

* polls per job for a simulated 60-second job (the runner over real sockets to an in-process
  mock whose clock the runner's injected sleep advances; target <= 10);
* peak memory (max RSS) of a process holding 10,000 queued jobs in the runner (target <= 300 MB).

    python benchmarks/run_throughput.py [--memory-jobs 10000]
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
from pathlib import Path

import httpx

from lipflow.jobs import Plan
from lipflow.plan import plan_recipe
from lipflow.recipe import parse_recipe
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

"""What ``lipflow run`` costs besides its speed (``benchmarks/http_client.py`` measures that,
against a hand-written aiohttp client).

Prints:

* polls per job for a simulated 60-second job (the runner over real sockets to an in-process
  mock whose clock the runner's injected sleep advances; target <= 10).

The memory of queued jobs is measured at 100,000 by ``benchmarks/run_scale.py``. The recipe and
plan here are the ones the other run benchmarks share.

    python benchmarks/run_throughput.py
"""

from __future__ import annotations

import argparse
import asyncio
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


def main() -> None:
    argparse.ArgumentParser(description=__doc__.splitlines()[0]).parse_args()
    print(f"polls for a 60 s job: {polls_for_a_60_second_job():8d}  (target <= 10)")


if __name__ == "__main__":
    main()

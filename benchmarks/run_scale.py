"""What users run: ``lipflow run`` (the CLI, live progress display on) at 1,000 to 100,000 jobs,
against the runner alone, and the memory a run holding 100,000 queued jobs takes.

Both sides run against one ``lipflow mock serve`` (its own process, zero processing time, reset
before every run), each in a process of its own, in paired rounds (the order alternating):

* ``lipflow run RECIPE --yes``: a subprocess whose stderr is a pseudo-terminal, so the progress
  display is the live status line a user at a terminal sees (a reader thread drains it, as a
  terminal would). Timed from start to exit: start-up, planning, run, report.
* the runner alone: a subprocess that plans the same recipe with the public API and times only
  ``execute(plan, settings)`` with no observer (the same store settings, the same concurrency).

Per size it prints both jobs/s and the ratio CLI / runner (goal >= 0.9 at 10,000 and 100,000 jobs;
at other sizes the ratios are printed for comparison, without a verdict),
the CPU (user + sys) the CLI process spent per job (start-up and planning included) against the
runner's CPU per job in ``execute`` (the ratio a loaded machine disturbs least), and the CPU the
mock server spent per job while serving the runner; with two sizes or more, the largest size's
CPU per job against the smallest's (goal <= 1.2: flat). Then the peak memory (max RSS) of a
process that plans N jobs, queues them all in the runner and runs until 200 are done (goal
<= 300 MB at 100,000).

    python benchmarks/run_scale.py [--sizes 1000,10000] [--rounds 3] [--memory-jobs 100000]
    python benchmarks/run_scale.py --sizes 1000,100000 --rounds 1     # the long run
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import os
import pty
import resource
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from dataclasses import replace
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from _rounds import Goal, Ratios, paired, spread
from mock_cpu import cpu_seconds
from run_throughput import RECIPE, VIDEO  # the same TTS lip-sync job on Runware

from lipflow.jobs import Plan
from lipflow.providers import registry
from lipflow.run.settings import RunSettings

HERE = Path(__file__).resolve()
ROOT = HERE.parents[1]
GOAL_SIZES = (10_000, 100_000)  # the sizes the goal names; smaller ones are printed for comparison
NOT_A_GOAL_SIZE = "for comparison: the goal is at 10,000 and 100,000"


def write_recipe(folder: Path, jobs: int) -> Path:
    path = folder / f"bench{jobs}.yaml"
    path.write_text(RECIPE.format(video=VIDEO, numbers=", ".join(str(i) for i in range(jobs))))
    return path


def environment(urls: dict[str, str], cache: Path) -> dict[str, str]:
    """The mock's URLs and keys, and an empty output store of the run's own."""
    env = {**os.environ, "PYTHONPATH": str(ROOT), "LIPFLOW_CACHE_DIR": str(cache)}
    for name in registry.names():
        wire = registry.get(name).wire
        env[wire.url_env], env[wire.key_env] = urls[name], "k"
    return env


def reset(urls: dict[str, str]) -> None:
    urllib.request.urlopen(urllib.request.Request(urls["admin"] + "/reset", method="POST")).close()


class Sides:
    """One size's two measured callables, each returning jobs/s, and the CLI's CPU per job."""

    def __init__(
        self,
        urls: dict[str, str],
        recipe: Path,
        jobs: int,
        concurrency: int,
        tmp: Path,
        mock_pid: int,
    ) -> None:
        self.urls, self.recipe, self.jobs, self.concurrency, self.tmp = (
            urls,
            recipe,
            jobs,
            concurrency,
            tmp,
        )
        self.cpu_per_job: list[float] = []  # the CLI's, start-up and planning included
        self.runner_cpu_per_job: list[float] = []  # the runner's, execute() alone
        self.mock_pid = mock_pid
        self.mock_cpu_per_job: list[float] = []  # the mock server's, while the runner ran
        self.runs = 0

    def _fresh(self, name: str) -> tuple[Path, dict[str, str]]:
        self.runs += 1
        folder = self.tmp / f"{name}{self.jobs}-{self.runs}"
        reset(self.urls)
        return folder / "out", environment(self.urls, folder / "cache")

    def cli(self) -> float:
        """``lipflow run`` with its stderr on a pseudo-terminal: the live display."""
        out, env = self._fresh("cli")
        out.parent.mkdir(parents=True)
        master, slave = pty.openpty()
        seen = bytearray()

        def drain() -> None:
            while True:
                try:
                    chunk = os.read(master, 65536)
                except OSError:  # the other end closed
                    return
                if not chunk:
                    return
                seen[:] = (seen + chunk)[-4096:]

        reader = threading.Thread(target=drain, daemon=True)
        reader.start()
        command = [sys.executable, "-m", "lipflow", "run", str(self.recipe), "--yes"]
        command += ["--max-jobs", str(max(self.jobs, 10_000))]  # past the 10,000 default bound
        command += ["--out", str(out), "--concurrency", str(self.concurrency)]
        with open(out.parent / "stdout.txt", "wb") as stdout:
            started = time.perf_counter()
            proc = subprocess.Popen(command, stdout=stdout, stderr=slave, env=env)
            _, status, usage = os.wait4(proc.pid, 0)
            elapsed = time.perf_counter() - started
        proc.returncode = os.waitstatus_to_exitcode(status)
        os.close(slave)
        reader.join(timeout=10)
        os.close(master)
        tail = seen.decode(errors="replace")
        if proc.returncode != 0 or f"{self.jobs}/{self.jobs} done" not in tail:
            raise SystemExit(f"lipflow run exited {proc.returncode}; its display ended:\n{tail}")
        self.cpu_per_job.append((usage.ru_utime + usage.ru_stime) / self.jobs)
        return self.jobs / elapsed

    def runner(self) -> float:
        """The same plan through ``execute`` with no observer, in a process of its own."""
        out, env = self._fresh("runner")
        command = [sys.executable, str(HERE), "--runner-child", str(self.recipe), str(out)]
        command += ["--concurrency", str(self.concurrency)]
        mock_cpu = cpu_seconds(self.mock_pid)
        done = subprocess.run(command, env=env, capture_output=True, text=True)
        self.mock_cpu_per_job.append((cpu_seconds(self.mock_pid) - mock_cpu) / self.jobs)
        if done.returncode != 0:
            raise SystemExit(f"the runner-alone child failed:\n{done.stderr[-3000:]}")
        elapsed, cpu = (float(v) for v in done.stdout.split()[-2:])
        self.runner_cpu_per_job.append(cpu / self.jobs)
        return self.jobs / elapsed


def planned(recipe: str, out: str, concurrency: int) -> tuple[Plan, RunSettings]:
    """The recipe's plan, and settings for running it at the URLs in the environment."""
    from lipflow.plan import plan_file

    plan = plan_file(recipe, env=os.environ, max_jobs=1_000_000)
    assert plan.ok, plan.problems
    settings = RunSettings(
        out_dir=Path(out),
        base_urls=registry.base_urls(os.environ),
        keys={"runware": "k", "pixverse": "k", "wavespeed": "k"},
        concurrency=concurrency,
        target="live",
    )
    return plan, settings


def runner_child(recipe: str, out: str, concurrency: int) -> None:
    """Plan ``recipe``, then time ``execute`` alone; print its seconds and CPU seconds."""
    from lipflow.run.cache import default_store
    from lipflow.run.runner import execute

    plan, settings = planned(recipe, out, concurrency)
    settings = replace(settings, store=default_store(os.environ))
    started, cpu = time.perf_counter(), _cpu()
    report = execute(plan, settings)
    elapsed, cpu = time.perf_counter() - started, _cpu() - cpu
    assert report.ok, [j.state for j in report.jobs if j.state != "done"][:5]
    print(elapsed, cpu)


def _cpu() -> float:
    """User + system CPU seconds this process (all its threads) has used."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _rss_mb() -> float:
    """This process's resident memory now (Linux)."""
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def memory_child(recipe: str, out: str) -> None:
    """Plan ``recipe``, queue every job in the runner, run until 200 are done, stop; print
    the RSS in MB once planned and once every job was queued, and the max RSS."""
    import httpx

    from lipflow.run.report import Snapshot
    from lipflow.run.runner import Runner

    plan, settings = planned(recipe, out, 16)
    gc.collect()
    planned_mb = _rss_mb()

    async def main() -> float:
        async with httpx.AsyncClient() as client:
            runner: Runner
            queued: list[float] = []

            class StopAt200:
                def update(self, job_id: str, state: str, detail: str | None, s: Snapshot) -> None:
                    if s.done >= 200 and not queued:
                        queued.append(_rss_mb())
                        runner.interrupt()

                def close(self) -> None:
                    return None

            runner = Runner(plan, settings, client, observer=StopAt200())
            await runner.run()
            return queued[0]

    queued = asyncio.run(main())
    print(planned_mb, queued, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--sizes", default="1000,10000", help="comma-separated job counts")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--memory-jobs", type=int, default=100_000, help="0: skip")
    parser.add_argument(
        "--runner-child", nargs=2, metavar=("RECIPE", "OUT"), help=argparse.SUPPRESS
    )
    parser.add_argument(
        "--memory-child", nargs=2, metavar=("RECIPE", "OUT"), help=argparse.SUPPRESS
    )
    args = parser.parse_args()
    if args.runner_child:
        recipe, out = args.runner_child
        runner_child(recipe, out, args.concurrency)
        return
    if args.memory_child:
        recipe, out = args.memory_child
        memory_child(recipe, out)
        return
    sizes = [int(s) for s in args.sizes.split(",") if s.strip()]

    mock = subprocess.Popen(
        [sys.executable, "-m", "lipflow", "mock", "serve", "--print-urls", "json"],
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    try:
        assert mock.stdout is not None
        urls = json.loads(mock.stdout.readline())
        print(
            f"TTS lip-sync jobs on Runware against `lipflow mock serve` (own process, zero "
            f"processing), concurrency {args.concurrency}, {args.rounds} paired round(s)"
        )
        cpu: dict[int, list[float]] = {}
        with tempfile.TemporaryDirectory() as name:
            tmp = Path(name)
            for jobs in sizes:
                recipe = write_recipe(tmp, jobs)
                sides = Sides(urls, recipe, jobs, args.concurrency, tmp, mock.pid)
                cli, runner = paired(args.rounds, sides.cli, sides.runner)
                cpu[jobs] = sides.cpu_per_job
                print(f"{jobs:,} jobs:")
                print(f"  lipflow run (CLI, live progress): {spread(cli, 'jobs/s')}")
                print(f"  runner alone (execute, no observer): {spread(runner, 'jobs/s')}")
                print(f"  CLI CPU per job: {spread(sides.cpu_per_job, 'ms', 1000)}")
                print(f"  runner CPU per job: {spread(sides.runner_cpu_per_job, 'ms', 1000)}")
                mock_cpu = spread(sides.mock_cpu_per_job, "ms", 1000)
                print(f"  mock serve CPU per job, serving the runner: {mock_cpu}")
                goal = Goal(0.9, "at_least")
                rate = Ratios.of(f"CLI / runner at {jobs:,}", cli, runner, goal)
                # CPU is what a loaded machine disturbs least: runner CPU / CLI CPU, per job.
                efficiency = Ratios.of(
                    f"runner / CLI CPU per job at {jobs:,}",
                    sides.runner_cpu_per_job,
                    sides.cpu_per_job,
                    goal,
                )
                for ratios in (rate, efficiency):
                    judged = jobs in GOAL_SIZES
                    print("  " + (ratios.line() if judged else ratios.compared(NOT_A_GOAL_SIZE)))
            if len(sizes) > 1:
                low, high = min(sizes), max(sizes)
                flat = Ratios.of(
                    f"CLI CPU per job, {high:,} / {low:,} jobs",
                    cpu[high],
                    cpu[low],
                    Goal(1.2, "at_most"),
                )
                print(flat.line())
            if args.memory_jobs:
                reset(urls)
                recipe = write_recipe(tmp, args.memory_jobs)
                child = subprocess.run(
                    [sys.executable, str(HERE), "--memory-child", str(recipe), str(tmp / "memory")],
                    capture_output=True,
                    text=True,
                    env=environment(urls, tmp / "memory-cache"),
                )
                if child.returncode != 0:
                    raise SystemExit(f"the memory child failed:\n{child.stderr[-3000:]}")
                plan_mb, queued_mb, peak = (float(v) for v in child.stdout.split()[-3:])
                met = "met" if peak <= 300 else "NOT met"
                print(
                    f"peak memory, {args.memory_jobs:,} jobs queued in the runner: {peak:.1f} MB "
                    f"(RSS {plan_mb:.1f} MB once planned, {queued_mb:.1f} MB once queued); "
                    f"goal <= 300 MB: {met}"
                )
    finally:
        mock.terminate()
        mock.communicate(timeout=10)


if __name__ == "__main__":
    main()

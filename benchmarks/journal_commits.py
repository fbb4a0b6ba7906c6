"""What a money-protecting fact's commit costs, against the least any durable log pays.

N jobs' facts as the runner commits them, in a fresh journal: the submit intent and the
provider's job id (each its own transaction, ``synchronous=FULL``: the WAL is fsync'd), then the
outputs and the saved file (``synchronous=NORMAL``), with each job's output written and renamed
beside it as a run does. The baseline is the floor for one durable fact on this disk: the same
bytes the fact's commit writes (its pages), written in place into an already allocated file and
``fdatasync``'d, with the same output files written between. Rounds are paired.

Goal: the median money fact's commit costs at most 1.5x that floor. It also prints the commits
made while the WAL file still grew (the first ~1000 pages of a run, before the first checkpoint
lets SQLite write it from its start again) apart from the later ones.

    python benchmarks/journal_commits.py [--jobs 1000] [--rounds 3]
"""

from __future__ import annotations

import argparse
import functools
import os
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from _rounds import Goal, Ratios, paired

from lipflow.run.journal import JOURNAL_NAME, Journal

GOAL = Goal(1.5, "at_most")
OUTPUT = os.urandom(17_243)  # the size of the benchmarks' synthesized 8-second output
UUID = "4a3b1c2d-0000-4000-8000-000000000000"


def journal_facts(jobs: int, grew: list[float], wrapped: list[float]) -> float:
    """The median money fact's commit (seconds) over ``jobs`` jobs in a fresh journal."""
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp)
        journal = Journal.create_run(out / JOURNAL_NAME, {"target": "t", "recipe_digest": "d"})
        journal.add_jobs((f"job-{i:06d}", "runware", "m", 0.1) for i in range(jobs))
        wal = out / f"{JOURNAL_NAME}-wal"
        durable: list[float] = []

        def timed_fact(commit: Callable[[], None]) -> None:
            before = wal.stat().st_size
            started = time.perf_counter()
            commit()
            took = time.perf_counter() - started
            durable.append(took)
            (grew if wal.stat().st_size > before else wrapped).append(took)

        for i in range(jobs):
            job = f"job-{i:06d}"
            timed_fact(functools.partial(journal.record_intent, job, 1, UUID))
            timed_fact(functools.partial(journal.record_submitted, job, f"p-{job}"))
            journal.record_outputs(job, [f"https://cdn.example/{job}.mp4"], [len(OUTPUT)])
            path = save_output(out, job)
            journal.record_file(job, 0, str(path), len(OUTPUT), 8.0, last=True, sha256="0" * 64)
        journal.close()
    return statistics.median(durable)


def fdatasync_floor(jobs: int, pages: int) -> float:
    """The median write + fdatasync of ``pages`` pages in place, twice per job."""
    size = pages * 4096 + 24 * pages  # a page and its WAL frame header each
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp)
        fd = os.open(out / "log", os.O_RDWR | os.O_CREAT, 0o644)
        slots = 64
        os.write(fd, b"\0" * size * slots)  # allocated and written once: no growth
        os.fsync(fd)
        record = os.urandom(size)
        took: list[float] = []
        try:
            for i in range(jobs):
                for half in (0, 1):
                    started = time.perf_counter()
                    os.pwrite(fd, record, size * ((2 * i + half) % slots))
                    os.fdatasync(fd)
                    took.append(time.perf_counter() - started)
                save_output(out, f"job-{i:06d}")
        finally:
            os.close(fd)
    return statistics.median(took)


def save_output(out: Path, job: str) -> Path:
    path = out / f"{job}.mp4"
    part = out / f".{job}.mp4.part"
    part.write_bytes(OUTPUT)
    os.replace(part, path)
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--jobs", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    print(f"{args.jobs} jobs' facts (2 fsync'd money facts each), {args.rounds} paired round(s)")
    grew: list[float] = []
    wrapped: list[float] = []
    ours, floor = paired(
        args.rounds,
        lambda: journal_facts(args.jobs, grew, wrapped),
        lambda: fdatasync_floor(args.jobs, pages=4),  # a money fact dirties 4 pages
    )
    ms = 1e3
    print(f"  money fact commit: median {statistics.median(ours) * ms:.3f} ms per round median")
    print(
        f"  write + fdatasync of its pages in place: median {statistics.median(floor) * ms:.3f} ms"
    )
    print(
        f"  while the WAL grew: {len(grew)} commits, median {statistics.median(grew) * ms:.3f} ms;"
        f" after it wrapped: {len(wrapped)}, median {statistics.median(wrapped) * ms:.3f} ms"
    )
    ratios = Ratios.of("money fact commit / fdatasync floor", ours, floor, GOAL)
    print(ratios.line())
    print("all goals met" if ratios.met else "NOT all goals met")


if __name__ == "__main__":
    main()

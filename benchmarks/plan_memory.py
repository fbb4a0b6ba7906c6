"""Peak memory of `lipflow plan --format json` and `--out` at 100,000 jobs, against `--no-requests`.

Each measurement is a fresh `lipflow plan` process (its stdout to /dev/null) whose peak resident
memory is read from the kernel when it is reaped (``os.wait4``: that child's own ru_maxrss).
Rounds are paired: ``--no-requests`` (the text summary, which never builds the JSON) is the
baseline, and both JSON forms must stay within 1.5x of it, which they can only do by writing the
plan job by job instead of holding the document (2.24 GB before).

    python benchmarks/plan_memory.py [--jobs 100000] [--rounds 3]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
from pathlib import Path

from _rounds import Goal, Ratios, paired, spread
from plan_scale import matrix_recipe


def peak_rss(args: list[str]) -> float:
    """Peak resident memory, in bytes, of one fresh ``lipflow`` process running ``args``."""
    with open(os.devnull, "wb") as sink:
        child = subprocess.Popen(
            [sys.executable, "-m", "lipflow", *args], stdout=sink, stderr=subprocess.PIPE
        )
        assert child.stderr is not None
        errors = child.stderr.read()
        _, status, usage = os.wait4(child.pid, 0)
        child.returncode = os.waitstatus_to_exitcode(status)
    if child.returncode != 0:
        raise SystemExit(f"lipflow {' '.join(args)} failed: {errors.decode()[-2000:]}")
    return usage.ru_maxrss * 1024.0  # kilobytes on Linux


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        recipe = Path(tmp) / "big.yaml"
        recipe.write_text(matrix_recipe(args.jobs), encoding="utf-8")
        common = ["plan", str(recipe), "--max-jobs", str(max(args.jobs, 1))]
        baseline = [*common, "--no-requests"]
        forms = {
            "--format json": [*common, "--format", "json"],
            "--out PLAN.json": [*common, "--no-requests", "--out", str(Path(tmp) / "plan.json")],
        }
        print(f"jobs: {args.jobs:,}; each measurement is a fresh process\n")
        results = []
        for name, form in forms.items():
            ours, theirs = paired(
                args.rounds, lambda form=form: peak_rss(form), lambda: peak_rss(baseline)
            )
            print(f"plan {name}:".ljust(30) + spread(ours, "MB", 1e-6))
            print("plan --no-requests:".ljust(30) + spread(theirs, "MB", 1e-6))
            results.append(
                Ratios.of(f"peak RSS {name} / --no-requests", ours, theirs, Goal(1.5, "at_most"))
            )
        print()
        for ratio in results:
            print(ratio.line())


if __name__ == "__main__":
    main()

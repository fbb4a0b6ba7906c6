"""How fast `plan` is at scale, against the cost of schema validation alone.

Plans a 10,000-job matrix recipe (100 languages x 100 voices... as TTS lip syncs) and, in the
same run, times a bare loop validating the same 10,000 compiled submit requests with a
precompiled jsonschema validator: the floor no planner can beat. Prints jobs per second, the
ratio plan time / bare validation time, peak memory of planning, and `lipflow --version`
start-up time.

Targets on the 2-core reference machine: ratio <= 1.5, 10,000 jobs in <= 2 s, peak <= 300 MB,
start-up <= 0.3 s.

    python benchmarks/plan_scale.py [--jobs 10000]
"""

from __future__ import annotations

import argparse
import gc
import json
import statistics
import subprocess
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path


def matrix_recipe(jobs: int) -> str:
    side = max(1, int(jobs**0.5))
    langs = [f"l{i:03d}" for i in range(side)]
    texts = [f"t{i:03d}" for i in range(jobs // side)]
    return json.dumps(
        {
            "version": 1,
            "name": "plan-scale",
            "inputs": {"clip": {"video": "https://example.com/clip.mp4", "duration": 12}},
            "steps": {
                "dub": {
                    "use": "runware/pixverse-lipsync",
                    "matrix": {"lang": langs, "text": texts},
                    "lipsync": {
                        "video": "clip",
                        "tts": {
                            "text": "Line {{ matrix.text }} in {{ matrix.lang }}",
                            "voice": "Sophia",
                        },
                    },
                }
            },
        }
    )


def best_of(runs: int, func):  # type: ignore[no-untyped-def]
    """Best wall time of ``runs`` calls. The cyclic GC is paused for both sides alike: the
    planner pauses it itself, and the baseline gets the same advantage so the ratio is fair."""
    times = []
    result = None
    for _ in range(runs):
        gc.collect()
        gc.disable()
        start = time.perf_counter()
        result = func()
        times.append(time.perf_counter() - start)
        gc.enable()
    return min(times), result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()

    from jsonschema import Draft202012Validator  # noqa: F401  (warm the import outside timings)

    from lipflow import schemas
    from lipflow.jobs import resolve
    from lipflow.plan import plan_recipe
    from lipflow.recipe import parse_recipe

    text = matrix_recipe(args.jobs)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "scale.yaml"
        path.write_text(text, encoding="utf-8")

        def plan_once():  # type: ignore[no-untyped-def]
            recipe, problems = parse_recipe(path.read_text(encoding="utf-8"), str(path))
            assert recipe is not None, problems
            return plan_recipe(recipe, env={})

        plan_once()  # warm caches (compiled validators, catalog) as a long-lived process would
        plan_time, plan = best_of(args.runs, plan_once)
        assert plan.ok, [p.format() for p in plan.problems[:3]]
        jobs = len(plan.jobs)

        bodies = [resolve(pj.requests[0].json[0]) for pj in plan.jobs]
        validator = schemas.validator_for("runware/videoInference.pixverse-lipsync-1.json")

        def bare() -> int:
            return sum(1 for body in bodies for _ in validator.iter_errors(body))

        bare_time, errors = best_of(args.runs, bare)
        assert errors == 0

        tracemalloc.start()
        plan_once()
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()

    startups = []
    for _ in range(7):
        start = time.perf_counter()
        subprocess.run(
            [sys.executable, "-m", "lipflow", "--version"], check=True, capture_output=True
        )
        startups.append(time.perf_counter() - start)

    print(f"jobs planned:                 {jobs:,}")
    print(
        f"plan time (best of {args.runs}):        {plan_time:.3f} s  ({jobs / plan_time:,.0f} jobs/s)   target <= 2 s"
    )
    print(f"bare validation (baseline):   {bare_time:.3f} s  ({jobs / bare_time:,.0f} requests/s)")
    print(f"ratio plan / bare validation: {plan_time / bare_time:.2f}   target <= 1.5")
    print(f"peak memory while planning:   {peak / 1e6:.1f} MB (tracemalloc)   target <= 300 MB")
    print(
        f"`lipflow --version` start-up: {statistics.median(startups):.3f} s median of 7   target <= 0.3 s"
    )


if __name__ == "__main__":
    main()

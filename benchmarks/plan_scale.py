"""How fast `plan` is at scale, against jsonschema-rs validating the same bodies (the floor).

Plans a matrix recipe of N TTS lip syncs (N languages x texts, Runware pixverse-lipsync) through
the CLI's planning path (parse, plan, every request checked against its schema) in this process,
and in the same round validates the N compiled submit bodies with a bare jsonschema-rs validator
(the provider's documents in its registry): no planner can beat that. Rounds are paired, their
order alternating; the ratio plan / floor is reported as min / median / max.

Then, once each: 100,000 jobs planned in this process (goal under 4 s), and ``lipflow plan
--format json`` of the 10,000-job recipe in a fresh subprocess, which is what users run (start-up,
catalog, YAML and the JSON written included).

    python benchmarks/plan_scale.py [--jobs 10000] [--big 100000] [--rounds 5]
"""

from __future__ import annotations

import argparse
import gc
import json
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from _rounds import Goal, Ratios, paired, spread

SUBMIT_SCHEMA = "runware/videoInference.pixverse-lipsync-1.json"


def matrix_recipe(jobs: int) -> str:
    """A recipe of ``jobs`` TTS lip syncs: a matrix of languages x texts (close to a square)."""
    side = max(1, int(jobs**0.5))
    langs = [f"l{i:03d}" for i in range(side)]
    texts = [f"t{i:04d}" for i in range(jobs // side)]
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


def planner(path: Path, max_jobs: int) -> Callable[[], Any]:
    """The CLI's planning path for the recipe at ``path``: parse it, plan it."""
    from lipflow.plan import plan_recipe
    from lipflow.recipe import parse_recipe

    def plan_once() -> Any:
        recipe, problems = parse_recipe(path.read_text(encoding="utf-8"), str(path))
        assert recipe is not None, problems
        plan = plan_recipe(recipe, env={}, max_jobs=max_jobs)
        assert plan.ok, [p.format() for p in plan.problems[:3]]
        return plan

    return plan_once


def floor_validator() -> Any:
    """A bare jsonschema-rs validator of the submit schema, its cross-file refs in a registry."""
    import jsonschema_rs

    from lipflow.providers import registry

    folder = registry.get("runware").schemas_dir
    docs = [json.loads(p.read_text(encoding="utf-8")) for p in sorted(folder.rglob("*.json"))]
    resources = [(d["$id"], d) for d in docs if isinstance(d.get("$id"), str)]
    schema = json.loads((folder / SUBMIT_SCHEMA.split("/", 1)[1]).read_text(encoding="utf-8"))
    return jsonschema_rs.Draft202012Validator(
        schema, registry=jsonschema_rs.Registry(resources, draft=jsonschema_rs.Draft202012)
    )


def seconds_of(action: Callable[[], object]) -> float:
    """Wall time of one call, the cyclic GC collected before and paused during (the planner
    pauses it itself; the floor gets the same)."""
    gc.collect()
    gc.disable()
    try:
        start = time.perf_counter()
        action()
        return time.perf_counter() - start
    finally:
        gc.enable()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=10_000)
    parser.add_argument("--big", type=int, default=100_000, help="the one large plan (0: skip)")
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()

    from lipflow.jobs import resolve

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "scale.yaml"
        path.write_text(matrix_recipe(args.jobs), encoding="utf-8")
        plan_once = planner(path, max(args.jobs, 10_000))
        plan = plan_once()  # warm: compiled validators, catalog, as a long-lived process
        bodies = [resolve(pj.requests[0].json[0]) for pj in plan.jobs]
        jobs = len(bodies)
        del plan
        validator = floor_validator()
        assert all(validator.is_valid(b) for b in bodies)

        def floor() -> None:
            for body in bodies:
                validator.is_valid(body)

        # The floor takes a few hundredths of a second, so one scheduler hiccup on a shared
        # machine would double it: each round keeps the best of three passes.
        ours, theirs = paired(
            args.rounds,
            lambda: seconds_of(plan_once),
            lambda: min(seconds_of(floor) for _ in range(3)),
        )
        print(f"jobs planned per round:            {jobs:,}")
        print(f"plan (parse + plan + checks):      {spread(ours)}")
        print(f"jsonschema-rs on the same bodies:  {spread(theirs)}")
        print(Ratios.of("plan / jsonschema-rs floor", ours, theirs, Goal(30, "at_most")).line())

        started = time.perf_counter()
        done = subprocess.run(
            [sys.executable, "-m", "lipflow", "plan", str(path), "--format", "json"],
            capture_output=True,
            check=True,
        )
        took = time.perf_counter() - started
        print(
            f"`lipflow plan --format json` ({jobs:,} jobs, fresh process): {took:.2f} s, "
            f"{len(done.stdout) / 1e6:.1f} MB of JSON"
        )

        if args.big:
            big = Path(tmp) / "big.yaml"
            big.write_text(matrix_recipe(args.big), encoding="utf-8")
            plan_big = planner(big, args.big)
            count: list[int] = []
            took = seconds_of(lambda: count.append(len(plan_big().jobs)))
            goal = "met" if took < 4 else "NOT met"
            print(
                f"{count[0]:,} jobs planned in one process: {took:.2f} s "
                f"({took / count[0] * 1e6:.0f} us/job; {sum(ours) / len(ours) / jobs * 1e6:.0f} "
                f"us/job at {jobs:,}); goal < 4 s: {goal}"
            )


if __name__ == "__main__":
    main()

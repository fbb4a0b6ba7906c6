"""Wiring the parts a command needs, from what the command line parsed.

A command only parses; these functions turn its settings into the objects the library runs on
(a plan, run settings with keys and URLs), and each check that belongs between parse and run
(a saved plan still matching its recipe, nothing unreadable) happens here.
"""

from __future__ import annotations

import json
from collections.abc import Mapping

from lipflow.errors import InputError, PlanError, UsageError
from lipflow.jobs import Plan
from lipflow.plan.limits import MAX_JOBS_CEILING

__all__ = ["MAX_PLAN_BYTES", "build_plan", "load_saved_plan"]

# The largest saved plan read: a plan file holds about 2.7 kB a job; 16 kB a job at the most
# jobs a plan may hold leaves room for long texts and lines.
MAX_PLAN_BYTES = MAX_JOBS_CEILING * 16_384


def load_saved_plan(path: str) -> Plan:
    """A saved plan, refused if it has errors or its recipe changed since (digest differs)."""
    from lipflow.recipe import load_recipe
    from lipflow.recipe.source import read_text

    text = read_text(path, max_bytes=MAX_PLAN_BYTES, kind="saved plan")
    try:
        raw = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InputError(f"cannot read the plan: {exc}", path=path) from None
    except RecursionError:
        raise InputError(
            "not a lipflow plan file: nested about 1,000 levels deep", path=path
        ) from None
    if not isinstance(raw, dict):
        raise InputError("not a lipflow plan file", path=path)
    plan = Plan.from_json(raw)
    if not plan.ok:
        raise UsageError("the saved plan has errors; fix the recipe and plan it again")
    current = load_recipe(plan.recipe_file).digest
    if current != plan.recipe_digest:
        raise UsageError(
            f"{path}: the recipe {plan.recipe_file} changed since this plan was made "
            f"(digest {plan.recipe_digest[:12]} then, {current[:12]} now); "
            f"plan it again with `lipflow plan {plan.recipe_file} --out {path}`"
        )
    return plan


def build_plan(
    source: str, env: Mapping[str, str] | None = None, *, max_jobs: int | None = None
) -> Plan:
    """The plan to run: a saved plan (``*.json``) checked against its recipe, or a recipe planned
    now (against the ``LIPFLOW_*_URL`` variables in ``env``, at most ``max_jobs`` jobs)."""
    if source.endswith(".json"):
        return load_saved_plan(source)
    from lipflow.plan import plan_file
    from lipflow.plan.expansion import DEFAULT_MAX_JOBS

    plan = plan_file(source, env=env, max_jobs=max_jobs or DEFAULT_MAX_JOBS)
    if not plan.ok:
        raise PlanError(
            f"{source}: the plan has errors; see `lipflow plan {source}`", plan.problems
        )
    return plan

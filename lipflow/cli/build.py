"""Wiring the parts a command needs, from what the command line parsed.

A command only parses; these functions turn its settings into the objects the library runs on
(a plan, run settings with keys and URLs), and each check that belongs between parse and run
(a saved plan still matching its recipe, nothing unreadable) happens here.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import shlex
import stat
from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Any

from lipflow.errors import InputError, PlanError, RecipeError
from lipflow.jobs import Plan
from lipflow.plan.limits import MAX_JOBS_CEILING
from lipflow.problems import PathPart, format_path

if TYPE_CHECKING:
    from lipflow.plan.saved import Misfit

__all__ = [
    "MAX_PLAN_BYTES",
    "build_plan",
    "load_saved_plan",
    "read_as_a_recipe",
    "saved_plan_given",
]

# The largest saved plan read: a plan file holds about 2.7 kB a job; 16 kB a job at the most
# jobs a plan may hold leaves room for long texts and lines.
MAX_PLAN_BYTES = MAX_JOBS_CEILING * 16_384


def load_saved_plan(path: str, env: Mapping[str, str] | None = None) -> Plan:
    """The plan saved at ``path``, as its recipe plans now: refused if it has errors, if its
    recipe changed since (digest differs), or if it holds anything the recipe does not plan now
    (the file was edited, or an input file changed). What runs is what was reviewed, and what
    runs was planned, checked and priced by lipflow, not read back from a file."""
    from lipflow.plan import plan_file
    from lipflow.plan.saved import UNREADABLE, first_misfit, read_back, unreadable_entry
    from lipflow.recipe.source import json_of, read_text

    text = read_text(path, max_bytes=MAX_PLAN_BYTES, kind="saved plan")
    raw = json_of(text, path=path, kind="saved plan")
    misfit = first_misfit(raw)
    if misfit:
        raise _placed(path, text, misfit[0], _not_a_plan(*misfit))
    try:
        saved = read_back(raw)
    except UNREADABLE:
        at, why = unreadable_entry(raw)
        raise _placed(path, text, at, _not_a_plan(at, why)) from None
    if not saved.ok:
        at, said = _first_error(raw)
        raise _placed(
            path,
            text,
            at,
            f"{format_path(at)}: the saved plan has errors ({_quoted(said)}); fix the recipe and "
            "plan it again",
        )
    again = f"plan it again with `lipflow plan {saved.recipe_file} --out {path}`"
    plan = plan_file(saved.recipe_file, env=env, max_jobs=MAX_JOBS_CEILING)
    if plan.recipe_digest != saved.recipe_digest:
        raise _placed(
            path,
            text,
            ("recipe", "digest"),
            f"$.recipe.digest: the recipe {saved.recipe_file} changed since this plan was "
            f"made (digest {saved.recipe_digest[:12]} then, {plan.recipe_digest[:12]} now); {again}",
        )
    if not plan.ok:
        raise PlanError(f"{saved.recipe_file}: the plan has errors now; {again}", plan.problems)
    differs = _first_difference(saved, plan)
    if differs:
        raise _placed(
            path,
            text,
            differs[0],
            f"{format_path(differs[0])}: {differs[1]}, which is not what {saved.recipe_file} "
            f"plans now (the plan file was edited, or an input file changed since); {again}",
        )
    return plan


@contextlib.contextmanager
def read_as_a_recipe(path: str, command: str) -> Iterator[None]:
    """Around ``command`` reading ``path`` as a recipe: a plan saved by ``lipflow plan --out``
    fails as one, and is then told for what it is (:func:`saved_plan_given`)."""
    try:
        yield
    except (RecipeError, InputError) as exc:
        raise (saved_plan_given(path, command) or exc) from None


def saved_plan_given(path: str, command: str) -> InputError | None:
    """The error for a plan saved by ``lipflow plan --out`` given to ``command`` (validate,
    plan), which reads a recipe: what the file is and what to do with it, placed at its
    ``"lipflow_plan": 1``; None when ``path`` holds no saved plan. Called once reading it as a
    recipe failed (a plan never is one), so a recipe is never read twice."""
    from lipflow.plan.saved import MARK_BYTES, is_saved_plan, marked_as_plan
    from lipflow.plan.saved import printable_recipe_file as recipe_file_of
    from lipflow.recipe.source import json_of, read_text

    try:
        # O_NONBLOCK: a named pipe given must not wait for a writer; only a regular file is read.
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
        with open(fd, "rb") as fh:
            head = fh.read(MARK_BYTES) if stat.S_ISREG(os.fstat(fd).st_mode) else b""
    except OSError:
        return None
    if not marked_as_plan(head):
        return None
    try:
        text = read_text(path, max_bytes=MAX_PLAN_BYTES, kind="saved plan")
        raw = json_of(text, path=path, kind="saved plan")
    except InputError:
        return None  # marked, yet no plan lipflow can read: the recipe's errors stand
    if not is_saved_plan(raw):
        return None
    recipe = recipe_file_of(raw)
    instead = (
        f"`{shlex.join(('lipflow', command, recipe))}`"
        if recipe
        else "the recipe its $.recipe.file names"
    )
    return _placed(
        path,
        text,
        ("lipflow_plan",),
        f'this is a plan saved by `lipflow plan --out` ("lipflow_plan": 1), not a recipe: run '
        f"it with `{shlex.join(('lipflow', 'run', path))}`, or {command} the recipe it was "
        f"made from: {instead}",
    )


def _not_a_plan(at: tuple[PathPart, ...], wrong: str) -> str:
    return (
        f"not a lipflow plan file as `lipflow plan --out` writes one: {format_path(at)} {wrong}; "
        "plan the recipe again"
    )


def _placed(path: str, text: str, at: tuple[PathPart, ...], message: str) -> InputError:
    """An error about the plan file ``text`` at the JSON path ``at``, placed at its line and
    column (where a field is missing, at the object it belongs in)."""
    from lipflow.recipe.source import json_position

    line, column = json_position(text, at) or json_position(text, at[:-1]) or (None, None)
    return InputError(message, path=path, line=line, column=column)


def _first_error(raw: Mapping[str, Any]) -> tuple[tuple[PathPart, ...], str]:
    """Where a saved plan's first error is (a problem is one unless it says it is a warning),
    and its message."""
    for part in ("warnings", "errors"):
        for i, problem in enumerate(raw.get(part) or ()):
            if problem.get("severity", "error") == "error":
                return (part, i), problem["message"]
    return (), ""


def _first_difference(saved: Plan, plan: Plan) -> Misfit | None:
    """Where ``saved`` asks for something ``plan`` does not (its JSON path, and how): its name,
    its budget, or a job (every field of it: what it asks the provider to do, its inputs by
    content, its key)."""
    if saved.recipe_name != plan.recipe_name:
        return ("recipe", "name"), f"the run is named {_quoted(saved.recipe_name)}"
    if saved.budget != plan.budget:
        return ("budget_usd",), f"the budget is {_quoted(saved.budget)}"
    for i, (was, now) in enumerate(zip(saved.jobs, plan.jobs, strict=False)):
        if was.job.id != now.job.id:
            where = f"is where {_quoted(now.job.id)} is planned"
            return ("jobs", i, "id"), f"job {_quoted(was.job.id)} {where}"
        if was.job != now.job:
            fields = [f.name for f in dataclasses.fields(now.job)]
            changed = [f for f in fields if getattr(was.job, f) != getattr(now.job, f)]
            return ("jobs", i, changed[0]), (
                f"job {_quoted(was.job.id)} is changed ({', '.join(changed)})"
            )
    if len(saved.jobs) != len(plan.jobs):
        extra = len(saved.jobs) > len(plan.jobs)
        job = (saved.jobs if extra else plan.jobs)[min(len(saved.jobs), len(plan.jobs))].job
        at: tuple[PathPart, ...] = ("jobs", len(plan.jobs)) if extra else ("jobs",)
        return at, f"job {_quoted(job.id)} is {'extra' if extra else 'missing'}"
    return None


def _quoted(value: object) -> str:
    """A value from a saved plan as a message quotes it: its repr (which escapes what a
    terminal would act on), cut at 200 characters, so a forged 10 MB job id is not printed."""
    shown = repr(value)
    return shown if len(shown) <= 200 else f"{shown[:200]}... ({len(shown):,} characters)"


def build_plan(
    source: str, env: Mapping[str, str] | None = None, *, max_jobs: int | None = None
) -> Plan:
    """The plan to run: a saved plan (``*.json``) checked against its recipe, or a recipe planned
    now (against the ``LIPFLOW_*_URL`` variables in ``env``, at most ``max_jobs`` jobs)."""
    if source.endswith(".json"):
        return load_saved_plan(source, env)
    from lipflow.plan import plan_file
    from lipflow.plan.expansion import DEFAULT_MAX_JOBS

    plan = plan_file(source, env=env, max_jobs=max_jobs or DEFAULT_MAX_JOBS)
    if not plan.ok:
        raise PlanError(
            f"{source}: the plan has errors; see `lipflow plan {source}`", plan.problems
        )
    return plan

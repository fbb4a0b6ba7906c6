"""Expansion: a step's matrix as combinations (as GitHub Actions defines them), its fan-out over
upstream jobs, and the job ids that name each combination."""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

from lipflow.jobs import PlannedJob, format_job_id
from lipflow.plan.context import PlanContext
from lipflow.plan.limits import DEFAULT_MAX_JOBS, MAX_JOBS_CEILING
from lipflow.problems import PathPart
from lipflow.recipe import STEP_REF_PREFIX, Step

__all__ = [
    "DEFAULT_MAX_JOBS",
    "MAX_JOBS_CEILING",
    "expand_matrix",
    "expand_with_origins",
    "fan_out_size",
    "format_job_id",
    "matrix_size",
    "repeated_values",
    "upstream_sets",
    "without_repeats",
]


def matrix_size(matrix: Mapping[str, Any] | None) -> tuple[int, list[int]]:
    """At most how many combinations ``matrix`` makes, and its axes' lengths, without making them."""
    if not matrix:
        return 1, []
    axes = [
        len(v) if isinstance(v, list) else 1
        for k, v in matrix.items()
        if k not in ("include", "exclude")
    ]
    include = matrix.get("include")
    product = math.prod(axes) if axes else 0  # include alone: its entries, no empty combination
    return product + (len(include) if isinstance(include, list) else 0), axes


def repeated_values(matrix: Mapping[str, Any] | None) -> list[tuple[str, tuple[PathPart, ...]]]:
    """Each matrix value that makes the same job id as an earlier one of its key (``[A, B, A]``,
    ``[1, "1"]``): what to say and the value's path under the matrix. Two jobs of one id would
    be priced as two and then collide in the run, which keeps outputs by job id."""
    found: list[tuple[str, tuple[PathPart, ...]]] = []
    for axis, values in (matrix or {}).items():
        if axis in ("include", "exclude") or not isinstance(values, list):
            continue
        first: dict[str, int] = {}
        for i, value in enumerate(values):
            written = f"{value}"
            j = first.setdefault(written, i)
            if j == i:
                continue
            earlier = values[j]
            if type(earlier) is type(value) and earlier == value:
                said = f"{axis} {value!r} is listed twice; each matrix value makes one job"
            else:
                said = (
                    f"{axis} {value!r} and {axis}[{j}] {earlier!r} differ, but both make the "
                    f"job id part '{axis}={written}', so two jobs would share one id; make each "
                    "value read differently"
                )
            found.append((said, (axis, i)))
    return found


def without_repeats(
    matrix: Mapping[str, Any] | None, repeats: list[tuple[str, tuple[PathPart, ...]]]
) -> Mapping[str, Any] | None:
    """``matrix`` without the ``repeats`` :func:`repeated_values` found (each one reported)."""
    if not repeats or matrix is None:
        return matrix
    dropped: dict[str, set[int]] = {}
    for _, (axis, i) in repeats:
        dropped.setdefault(str(axis), set()).add(int(i))
    return {
        k: [x for i, x in enumerate(v) if i not in dropped[k]] if k in dropped else v
        for k, v in matrix.items()
    }


def expand_with_origins(
    matrix: Mapping[str, Any] | None,
) -> list[tuple[dict[str, Any], int | None]]:
    """The matrix's combinations, by GitHub Actions' documented rules (product, exclude, include:
    https://docs.github.com/en/actions/using-jobs/using-a-matrix-for-your-jobs#expanding-or-adding-matrix-configurations).

    An include entry is added to every original combination none of whose matrix values it
    would change (one naming no matrix key is added to all of them), else it is a combination
    of its own; without matrix keys every entry is one, so ``include`` alone makes exactly its
    entries, each a paid job, and no empty combination besides. With each combination, the index of
    the include entry it is (None for one of the product's)."""
    if not matrix:
        return [({}, None)]
    axes = {k: v for k, v in matrix.items() if k not in ("include", "exclude")}
    combos = (
        [dict(zip(axes, values, strict=True)) for values in itertools.product(*axes.values())]
        if axes
        else []
    )

    def matches(combo: Mapping[str, Any], pattern: Mapping[str, Any]) -> bool:
        return all(combo.get(k) == v for k, v in pattern.items())

    combos = [c for c in combos if not any(matches(c, ex) for ex in matrix.get("exclude", ()))]
    originals = len(combos)  # an include's own combination is never extended by a later one
    added: list[int] = []  # the include entry each combination past the originals is
    for n, extra in enumerate(matrix.get("include", ())):
        original = {k: v for k, v in extra.items() if k in axes}
        targets = [c for c in combos[:originals] if matches(c, original)]
        if targets:
            for c in targets:
                c.update(extra)
        else:
            combos.append(dict(extra))
            added.append(n)
    return [(c, None) for c in combos[:originals]] + [
        (c, i) for c, i in zip(combos[originals:], added, strict=True)
    ]


def expand_matrix(matrix: Mapping[str, Any] | None) -> list[dict[str, Any]]:
    """The matrix's combinations, as GitHub Actions defines them (see :func:`expand_with_origins`)."""
    return [combo for combo, _ in expand_with_origins(matrix)]


def _groups(ctx: PlanContext, spec: Mapping[str, Any]) -> list[list[PlannedJob]]:
    referenced = sorted(
        {
            v[len(STEP_REF_PREFIX) :].split(".", 1)[0]
            for v in spec.values()
            if isinstance(v, str) and v.startswith(STEP_REF_PREFIX)
        }
    )
    return [ctx.jobs_by_step.get(s, []) for s in referenced if s in ctx.recipe.steps]


def fan_out_size(ctx: PlanContext, spec: Mapping[str, Any]) -> int:
    """How many jobs one combination of a step makes: one per set of upstream jobs."""
    return math.prod(len(group) for group in _groups(ctx, spec))


def upstream_sets(
    ctx: PlanContext, step: Step, spec: Mapping[str, Any]
) -> Iterable[dict[str, PlannedJob]]:
    """One mapping step -> upstream job per job to make: a step fans out over upstream jobs."""
    for value in spec.values():
        if isinstance(value, str) and value.startswith(STEP_REF_PREFIX):
            return _fanned(ctx, spec)
    return [{}]  # no value names a step's output: no upstream (what _groups would find, sooner)


def _fanned(ctx: PlanContext, spec: Mapping[str, Any]) -> Iterator[dict[str, PlannedJob]]:
    for combo in itertools.product(*_groups(ctx, spec)):
        yield {pj.job.step: pj for pj in combo}

"""Lipflow's own rules on a recipe's names: steps it needs, inputs and segment lists it names,
dependency cycles, and the order steps run in; and on its segment lists' time ranges."""

from __future__ import annotations

from collections.abc import Collection, Mapping
from typing import Any

from lipflow.problems import PathPart, Problem, Severity, did_you_mean
from lipflow.recipe.model import STEP_REF_PREFIX, Recipe, Step
from lipflow.recipe.source import SourceMap

__all__ = [
    "SEGMENT_RANGE_CODES",
    "check_references",
    "dependency_order",
    "reference_problem",
    "segment_range_problems",
]


def check_references(recipe: Recipe, *, set_aside: Collection[str] = ()) -> list[Problem]:
    """Unknown steps in needs, unknown inputs/segments, and needs cycles, with did-you-mean.

    ``set_aside`` names steps left out for errors already reported: needing them is no new
    problem."""
    problems: list[Problem] = []
    step_ids = [*recipe.steps, *set_aside]
    for step in recipe.steps.values():
        for i, need in enumerate(step.needs):
            if need in set_aside:
                continue
            if need not in recipe.steps:
                explicit = need in (recipe.data["steps"][step.id].get("needs") or ())
                path: tuple[PathPart, ...] = (
                    (*step.recipe_path, "needs", i) if explicit else step.recipe_path
                )
                problems.append(
                    Problem(
                        message=f"step {step.id!r} needs unknown step {need!r}; "
                        f"steps are: {', '.join(step_ids)}",
                        path=path,
                        location=recipe.locate(path),
                        suggestion=did_you_mean(need, step_ids),
                        code="unknown-step",
                    )
                )
            elif need == step.id:
                problems.append(
                    Problem(
                        message=f"step {step.id!r} needs itself",
                        path=step.recipe_path,
                        location=recipe.locate(step.recipe_path, key=True),
                        code="cycle",
                    )
                )
        problems.extend(_check_static_refs(recipe, step))
    problems.extend(_unused_segments(recipe))
    if not any(p.code in ("unknown-step", "cycle") for p in problems):
        problems.extend(_cycles(recipe))
    return problems


def _unused_segments(recipe: Recipe) -> list[Problem]:
    """A warning for segment lists no step uses: usually a typo'd or forgotten step."""
    named = [step.spec.get("segments") for step in recipe.steps.values()]
    if any(isinstance(name, str) and "{" in name for name in named):
        return []  # a templated name may pick any of them
    return [
        Problem(
            message=f"segments {name!r} are defined but no step uses them",
            path=("segments", name),
            location=recipe.locate(("segments", name), key=True),
            severity=Severity.WARNING,
            code="unused",
        )
        for name in recipe.segments
        if name not in named
    ]


# What a segment list's time ranges must be, and the page that says so (sync. lipsync-2, the
# one model that takes segments: segments.endTime "Must be greater than startTime",
# audioStartTime/audioEndTime a range within the source audio, segments of one video).
SEGMENTS_SOURCE = (
    "https://runware.ai/docs/models/sync-lipsync-2#request-providersettings-sync-segments"
)
# The provider checks' codes for the same rules: said here, once, at the range, for every step
# (a step set aside for another error included), so a job's request check does not say them.
SEGMENT_RANGE_CODES = frozenset({"segment-order", "segment-overlap", "audio-range"})


def segment_range_problems(segments: Mapping[str, Any], smap: SourceMap) -> list[Problem]:
    """Each range of each segment list ends after it starts (its audio slice too), and no two
    ranges of a list drive the same moment of the video: placed on the range at fault. Checked
    on the recipe as written, so a step set aside for another error does not hide them."""
    problems: list[Problem] = []

    def problem(path: tuple[PathPart, ...], message: str, code: str) -> None:
        problems.append(
            Problem(
                message=message,
                path=path,
                location=smap.locate(path),
                code=code,
                source=SEGMENTS_SOURCE,
            )
        )

    for name, seglist in segments.items():
        ranges = seglist.get("ranges") if isinstance(seglist, dict) else None
        timed: list[tuple[float, float, int]] = []
        for i, rng in enumerate(ranges if isinstance(ranges, list) else ()):
            at: tuple[PathPart, ...] = ("segments", name, "ranges", i)
            for first, last, code in (
                ("start", "end", "segment-order"),
                ("audio_start", "audio_end", "audio-range"),
            ):
                start, end = _seconds(rng.get(first)), _seconds(rng.get(last))
                if start is not None and end is not None and end <= start:
                    problem(
                        (*at, last),
                        f"{last} {end:g} s must be after {first} {start:g} s",
                        code,
                    )
            start, end = _seconds(rng.get("start")), _seconds(rng.get("end"))
            if start is not None and end is not None and end > start:
                timed.append((start, end, i))
        reach: tuple[float, float, int] | None = None  # the range reaching furthest so far
        for start, end, i in sorted(timed):
            if reach is not None and start < reach[1]:
                problem(
                    ("segments", name, "ranges", i, "start"),
                    f"this range ({start:g} s to {end:g} s) overlaps range {reach[2]} "
                    f"({reach[0]:g} s to {reach[1]:g} s) of the same video; start it at "
                    f"{reach[1]:g} s or later",
                    "segment-overlap",
                )
            if reach is None or end > reach[1]:
                reach = (start, end, i)
    return problems


def _seconds(value: object) -> float | None:
    """A time as written, when it is a number (a template is checked once rendered)."""
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def _check_static_refs(recipe: Recipe, step: Step) -> list[Problem]:
    problems: list[Problem] = []
    for key in ("video", "audio", "image", "last_image", "lines"):
        ref = step.spec.get(key)
        if not isinstance(ref, str) or "{" in ref or ref.startswith(STEP_REF_PREFIX):
            continue
        if ref not in recipe.inputs:
            problems.append(
                reference_problem(recipe, key, ref, (*step.recipe_path, step.action, key))
            )
    seg = step.spec.get("segments")
    if isinstance(seg, str) and "{" not in seg and seg not in recipe.segments:
        path = (*step.recipe_path, step.action, "segments")
        problems.append(reference_problem(recipe, "segments", seg, path))
    return problems


def reference_problem(
    recipe: Recipe, kind: str, ref: object, path: tuple[PathPart, ...]
) -> Problem:
    """A reference to an input (``kind`` video, audio, image...) or a segment list the recipe
    does not define; checked here for names as written and by the planner after templating."""
    if kind == "segments":
        known = list(recipe.segments)
        message = f"segments {ref!r} are not defined under 'segments'; defined: "
        code = "unknown-segments"
    else:
        known = list(recipe.inputs)
        message = f"{kind} {ref!r} is not an input of this recipe; inputs are: "
        code = "unknown-input"
    return Problem(
        message=message + (", ".join(known) or "(none)"),
        path=path,
        location=recipe.locate(path),
        suggestion=did_you_mean(ref, known),
        code=code,
    )


def _cycles(recipe: Recipe) -> list[Problem]:
    """One problem per dependency cycle, naming the steps around it."""
    state: dict[str, int] = {}
    stack: list[str] = []
    problems: list[Problem] = []

    def visit(node: str) -> None:
        state[node] = 1
        stack.append(node)
        for nxt in recipe.steps[node].needs:
            if state.get(nxt) == 1:
                cycle = [*stack[stack.index(nxt) :], nxt]
                path = recipe.steps[node].recipe_path
                problems.append(
                    Problem(
                        message="steps depend on each other in a cycle: " + " -> ".join(cycle),
                        path=path,
                        location=recipe.locate(path, key=True),
                        code="cycle",
                    )
                )
            elif nxt not in state and nxt in recipe.steps:  # unknown needs are said elsewhere
                visit(nxt)
        stack.pop()
        state[node] = 2

    for step_id in recipe.steps:
        if step_id not in state:
            visit(step_id)
    return problems


def dependency_order(recipe: Recipe) -> list[Step]:
    """Steps so that every step comes after the steps it needs (recipe order otherwise)."""
    done: dict[str, Step] = {}
    placing: set[str] = set()

    def place(step: Step) -> None:
        # Unknown needs and cycles are reported by check_references; they only must not stop
        # the order of the rest (a partly broken recipe is still planned).
        if step.id in done or step.id in placing:
            return
        placing.add(step.id)
        for need in step.needs:
            if need in recipe.steps:
                place(recipe.steps[need])
        done[step.id] = step

    for step in recipe.steps.values():
        place(step)
    return list(done.values())

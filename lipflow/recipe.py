"""Recipes: YAML files naming inputs, segments and steps, loaded with every value's position.

``load_recipe`` reads and checks a recipe against ``schemas/recipe.schema.json`` and lipflow's
own rules (references, ``needs`` cycles), collecting every problem with its file:line:column.
Templates and matrices are left as written: the planner expands them.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from lipflow import _yaml, schemas
from lipflow.errors import RecipeError
from lipflow.problems import Location, PathPart, Problem, Severity, did_you_mean, has_errors

__all__ = [
    "MAX_RECIPE_BYTES",
    "Input",
    "Recipe",
    "Step",
    "load_recipe",
    "parse_recipe",
]

MAX_RECIPE_BYTES = 2_000_000
MEDIA_KINDS = ("video", "audio", "image")
STEP_REF_PREFIX = "steps."


@dataclass(frozen=True, slots=True, kw_only=True)
class Input:
    """A named input: media (URL, local file, provider media id) or text."""

    name: str
    kind: str  # video | audio | image | text
    source: str | None = None  # URL or local path as written
    media_id: str | int | None = None
    provider: str | None = None  # provider holding media_id
    text: str | None = None
    duration: float | None = None
    size_bytes: int | None = None
    base_dir: str = "."

    @property
    def is_url(self) -> bool:
        return self.source is not None and self.source.startswith(("http://", "https://"))

    @property
    def is_file(self) -> bool:
        return self.source is not None and not self.is_url

    @property
    def path(self) -> str | None:
        """The local file, resolved against the recipe's folder."""
        if not self.is_file:
            return None
        assert self.source is not None
        return os.path.normpath(os.path.join(self.base_dir, os.path.expanduser(self.source)))


@dataclass(frozen=True, slots=True, kw_only=True)
class Step:
    id: str
    action: str  # lipsync | generate
    spec: Mapping[str, Any]  # the action's mapping as written (may hold templates)
    use: str | None = None
    provider: str | None = None
    needs: tuple[str, ...] = ()
    matrix: Mapping[str, Any] | None = None
    options: Mapping[str, Any] = field(default_factory=dict)

    @property
    def recipe_path(self) -> tuple[PathPart, ...]:
        return ("steps", self.id)


@dataclass(frozen=True, slots=True, kw_only=True)
class Recipe:
    file: str
    digest: str  # sha256 of the text: a saved plan refuses to run against a changed recipe
    data: Mapping[str, Any]
    source_map: _yaml.SourceMap
    name: str
    budget: float | None
    vars: Mapping[str, Any]
    inputs: Mapping[str, Input]
    segments: Mapping[str, Mapping[str, Any]]
    steps: Mapping[str, Step]  # in dependency order
    warnings: tuple[Problem, ...] = ()  # found while loading; the plan reports them with its own

    def locate(self, path: tuple[PathPart, ...], *, key: bool = False) -> Location:
        return self.source_map.locate(path, key=key)

    @property
    def base_dir(self) -> str:
        return os.path.dirname(os.path.abspath(self.file))


def load_recipe(path: str) -> Recipe:
    """Read, parse and check a recipe file; raise RecipeError with every problem found."""
    text = _yaml.read_text(path, max_bytes=MAX_RECIPE_BYTES)
    recipe, problems = parse_recipe(text, path)
    if recipe is None or has_errors(problems):
        raise RecipeError(f"{path}: recipe is not valid", problems)
    return recipe


def parse_recipe(text: str, file: str) -> tuple[Recipe | None, list[Problem]]:
    """The recipe in ``text`` (named ``file`` in messages) and every problem found in it."""
    doc, problems = _yaml.parse_yaml(text, file)
    if doc is None:
        return None, problems
    data, smap = doc.data, doc.source_map
    if not isinstance(data, dict):
        kind = type(data).__name__ if data is not None else "null"
        return None, [
            *problems,
            Problem(
                message=f"a recipe is a mapping (version, inputs, steps, ...), not a {kind}",
                location=smap.locate(()),
                code="not-a-mapping",
            ),
        ]
    for problem in schemas.validate("recipe.schema.json", data):
        key = problem.code == "unknown-property"
        problems.append(problem.at(smap.locate(problem.path, key=key)))
    if has_errors(problems):
        return None, problems
    recipe = _build(data, smap, file, hashlib.sha256(text.encode("utf-8")).hexdigest())
    problems.extend(_check_references(recipe))
    recipe = replace(recipe, warnings=tuple(p for p in problems if not p.is_error))
    return recipe, problems


def _build(data: dict[str, Any], smap: _yaml.SourceMap, file: str, digest: str) -> Recipe:
    base_dir = os.path.dirname(os.path.abspath(file))
    inputs = {name: _input(name, raw, base_dir) for name, raw in (data.get("inputs") or {}).items()}
    steps: dict[str, Step] = {}
    for step_id, raw in data["steps"].items():
        action = "lipsync" if "lipsync" in raw else "generate"
        refs = set(_step_refs(raw[action]))
        steps[step_id] = Step(
            id=step_id,
            action=action,
            spec=raw[action],
            use=raw.get("use"),
            provider=raw.get("provider"),
            needs=tuple(dict.fromkeys([*raw.get("needs", ()), *sorted(refs)])),
            matrix=raw.get("matrix"),
            options=raw.get("options") or {},
        )
    return Recipe(
        file=file,
        digest=digest,
        data=data,
        source_map=smap,
        name=data.get("name") or os.path.splitext(os.path.basename(file))[0],
        budget=data.get("budget"),
        vars=data.get("vars") or {},
        inputs=inputs,
        segments=data.get("segments") or {},
        steps=steps,
    )


def _input(name: str, raw: Mapping[str, Any], base_dir: str) -> Input:
    if "text" in raw:
        return Input(name=name, kind="text", text=raw["text"], base_dir=base_dir)
    kind = next(k for k in MEDIA_KINDS if k in raw)
    source = raw[kind]
    common: dict[str, Any] = {
        "name": name,
        "kind": kind,
        "duration": raw.get("duration"),
        "size_bytes": raw.get("size_bytes"),
        "base_dir": base_dir,
    }
    if isinstance(source, dict):
        return Input(media_id=source["media_id"], provider=source["provider"], **common)
    return Input(source=source, **common)


def _step_refs(spec: Any) -> Iterator[str]:
    """Steps whose outputs a step's spec names as ``steps.NAME`` (not inside templates)."""
    if isinstance(spec, str) and spec.startswith(STEP_REF_PREFIX) and "{" not in spec:
        yield spec[len(STEP_REF_PREFIX) :].split(".", 1)[0]
    elif isinstance(spec, dict):
        for value in spec.values():
            yield from _step_refs(value)
    elif isinstance(spec, list):
        for value in spec:
            yield from _step_refs(value)


def _check_references(recipe: Recipe) -> list[Problem]:
    """Unknown steps in needs, unknown inputs/segments, and needs cycles, with did-you-mean."""
    problems: list[Problem] = []
    step_ids = list(recipe.steps)
    for step in recipe.steps.values():
        for i, need in enumerate(step.needs):
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
    if not problems:
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


def _check_static_refs(recipe: Recipe, step: Step) -> list[Problem]:
    problems: list[Problem] = []
    for key in ("video", "audio", "image", "last_image"):
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
            elif nxt not in state:
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

    def place(step: Step) -> None:
        if step.id in done:
            return
        for need in step.needs:
            place(recipe.steps[need])
        done[step.id] = step

    for step in recipe.steps.values():
        place(step)
    return list(done.values())

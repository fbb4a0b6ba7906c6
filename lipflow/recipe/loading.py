"""Reading a recipe: YAML with positions, the recipe schema, then lipflow's own reference rules.

``load_recipe`` reads and checks a recipe, collecting every problem with its file:line:column.
Templates and matrices are left as written: the planner expands them.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterator, Mapping
from dataclasses import replace
from typing import Any

from lipflow import schemas
from lipflow.errors import RecipeError
from lipflow.problems import Problem, has_errors
from lipflow.recipe.matrix import matrix_name_problems
from lipflow.recipe.model import MEDIA_KINDS, STEP_REF_PREFIX, Input, Recipe, Step
from lipflow.recipe.references import check_references, segment_range_problems
from lipflow.recipe.source import SourceMap, parse_yaml, read_text

__all__ = ["MAX_NAME_CHARS", "MAX_RECIPE_BYTES", "is_plain_name", "load_recipe", "parse_recipe"]

# The largest recipe file read: a recipe is a small text file; 2 MB is thousands of steps.
MAX_RECIPE_BYTES = 2_000_000
MAX_NAME_CHARS = 100


def is_plain_name(name: object) -> bool:
    """Whether ``name`` is one plain file name: ``lipflow run`` writes to ``runs/NAME``, so a name
    with a separator, ``..``, a leading dot or a control character could write elsewhere."""
    return (
        isinstance(name, str)
        and 0 < len(name) <= MAX_NAME_CHARS
        and not name.startswith((".", "~", "-"))
        and not any(c in "/\\:" or ord(c) < 32 or ord(c) == 127 for c in name)
    )


def load_recipe(path: str, *, partial: bool = False) -> Recipe:
    """Read, parse and check a recipe file; raise RecipeError with every problem found.

    With ``partial`` a recipe whose errors leave the rest plannable (a broken step, a bad
    reference or name) is returned with them in ``problems``, so the planner can add the
    job-level problems of the sound parts: every problem in one pass.
    """
    text = read_text(path, max_bytes=MAX_RECIPE_BYTES)
    recipe, problems = parse_recipe(text, path)
    if recipe is None or (has_errors(problems) and not partial):
        raise RecipeError(f"{path}: recipe is not valid", problems)
    return recipe


# Top-level keys whose invalid value does not stop the rest of a recipe from being planned.
_SET_ASIDE_KEYS = frozenset({"name", "description", "budget"})


def _set_aside(data: dict[str, Any], problems: list[Problem]) -> dict[str, Any] | None:
    """``data`` without the steps and optional keys schema errors were found in, so the rest
    can still be checked; None when an error is anywhere else (the recipe cannot be built)."""
    broken_steps: set[str] = set()
    dropped: set[str] = set()
    for p in problems:
        if not p.is_error:
            continue
        if len(p.path) >= 2 and p.path[0] == "steps" and isinstance(p.path[1], str):
            broken_steps.add(p.path[1])
        elif len(p.path) >= 1 and p.path[0] in _SET_ASIDE_KEYS:
            dropped.add(str(p.path[0]))
        else:
            return None
    steps = data.get("steps")
    if not isinstance(steps, dict) or not set(steps) - broken_steps:
        return None
    kept = {k: v for k, v in data.items() if k not in dropped}
    kept["steps"] = {k: v for k, v in steps.items() if k not in broken_steps}
    return kept


def parse_recipe(text: str, file: str) -> tuple[Recipe | None, list[Problem]]:
    """The recipe in ``text`` (named ``file`` in messages) and every problem found in it."""
    doc, problems = parse_yaml(text, file)
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
    said = {p.path for p in problems}  # a value the loader set aside is not worded twice
    for problem in schemas.validate("recipe.schema.json", data):
        if problem.path in said:
            continue
        key = problem.code == "unknown-property"
        if not key:
            problem = smap.explained(problem)
        problems.append(problem.at(smap.locate(problem.path, key=key)))
    name = data.get("name")
    if name is not None and isinstance(name, str) and not is_plain_name(name):
        problems.append(
            Problem(
                message=f"name {name!r} is not a plain file name (runs are written to "
                f"runs/NAME): at most {MAX_NAME_CHARS} characters, no '/', '\\', ':' or "
                "control characters, not starting with '.', '~' or '-'",
                path=("name",),
                location=smap.locate(("name",)),
                code="name",
            )
        )
    problems.extend(matrix_name_problems(data, smap))
    sound = _set_aside(data, problems) if has_errors(problems) else data
    segments = data.get("segments")
    if isinstance(segments, dict) and not any(p.path[:1] == ("segments",) for p in problems):
        problems.extend(segment_range_problems(segments, smap))  # they set nothing aside
    if sound is None:
        return None, problems
    recipe = _build(sound, smap, file, hashlib.sha256(text.encode("utf-8")).hexdigest())
    problems.extend(check_references(recipe, set_aside=set(data["steps"]) - set(sound["steps"])))
    recipe = replace(
        recipe,
        data=data,  # as written: the planner tells steps set aside from unknown ones by it
        warnings=tuple(p for p in problems if not p.is_error),
        problems=tuple(problems),
    )
    return recipe, problems


def _build(data: dict[str, Any], smap: SourceMap, file: str, digest: str) -> Recipe:
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
            cut=raw.get("cut"),
            fit=raw.get("fit"),
            take=raw.get("take", 1),
        )
    return Recipe(
        file=file,
        digest=digest,
        data=data,
        source_map=smap,
        name=data["name"]
        if is_plain_name(data.get("name"))
        else os.path.splitext(os.path.basename(file))[0],
        budget=data.get("budget"),
        vars=data.get("vars") or {},
        inputs=inputs,
        segments=data.get("segments") or {},
        steps=steps,
        voices=data.get("voices") or {},
        fit=data.get("fit") or {},
    )


def _input(name: str, raw: Mapping[str, Any], base_dir: str) -> Input:
    if "text" in raw:
        return Input(name=name, kind="text", text=raw["text"], base_dir=base_dir)
    if "lines" in raw:
        return Input(
            name=name,
            kind="lines",
            source=raw["lines"],
            language=raw.get("language"),
            base_dir=base_dir,
        )
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

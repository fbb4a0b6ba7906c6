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
from lipflow.recipe.model import MEDIA_KINDS, STEP_REF_PREFIX, Input, Recipe, Step
from lipflow.recipe.references import check_references
from lipflow.recipe.source import SourceMap, parse_yaml, read_text

__all__ = ["MAX_RECIPE_BYTES", "load_recipe", "parse_recipe"]

MAX_RECIPE_BYTES = 2_000_000


def load_recipe(path: str) -> Recipe:
    """Read, parse and check a recipe file; raise RecipeError with every problem found."""
    text = read_text(path, max_bytes=MAX_RECIPE_BYTES)
    recipe, problems = parse_recipe(text, path)
    if recipe is None or has_errors(problems):
        raise RecipeError(f"{path}: recipe is not valid", problems)
    return recipe


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
    for problem in schemas.validate("recipe.schema.json", data):
        key = problem.code == "unknown-property"
        problems.append(problem.at(smap.locate(problem.path, key=key)))
    if has_errors(problems):
        return None, problems
    recipe = _build(data, smap, file, hashlib.sha256(text.encode("utf-8")).hexdigest())
    problems.extend(check_references(recipe))
    recipe = replace(recipe, warnings=tuple(p for p in problems if not p.is_error))
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
            take=raw.get("take", 1),
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

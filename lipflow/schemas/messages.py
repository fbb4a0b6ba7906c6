"""jsonschema's errors as lipflow's problems: sentences that say what is allowed and suggest.

jsonschema's own messages ("is not valid under any of the given schemas") are turned into
sentences naming the field, the allowed values or range, and the nearest valid value. Every rule
carries a ``$comment`` naming its doc, and that citation becomes :attr:`Problem.source`.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from lipflow.problems import PathPart, Problem, did_you_mean
from lipflow.schemas.loading import compiled

if TYPE_CHECKING:  # imported by the validator only when a body is not surely valid
    from jsonschema import ValidationError
    from referencing import Registry

__all__ = ["json_type", "nearest_size", "prefixed", "validate"]


def prefixed(problems: Sequence[Problem], prefix: tuple[PathPart, ...]) -> list[Problem]:
    """``problems`` with their paths nested under ``prefix`` (an array index, an envelope key)."""
    return [p.at(None, prefix=prefix) for p in problems]


def validate(schema: str, body: object, *, model: str | None = None) -> list[Problem]:
    """Every way ``body`` breaks one schema (an ``$id`` or a name), as Problems in path order."""
    found = compiled(schema)
    if found.surely_valid(body):
        return []
    problems: list[Problem] = []
    seen: set[tuple[tuple[PathPart, ...], str]] = set()
    for error in found.validator.iter_errors(body):
        for problem in _translate(error, model, found.root, found.registry):
            key = (problem.path, problem.message)
            if key not in seen:
                seen.add(key)
                problems.append(problem)
    problems.sort(key=lambda p: tuple(str(part) for part in p.path))
    return problems


def json_type(value: object) -> str:
    """How JSON names the type of ``value``: "an integer", "an object"..."""
    names = {
        bool: "a boolean",
        int: "an integer",
        float: "a number",
        str: "a string",
        list: "an array",
        dict: "an object",
        type(None): "null",
    }
    return names.get(type(value), type(value).__name__)


def _show(value: object) -> str:
    return repr(value) if isinstance(value, str) else json.dumps(value)


def _choices(values: Sequence[object]) -> str:
    return ", ".join(str(v) if isinstance(v, str) else json.dumps(v) for v in values)


def _source(schema: object) -> str | None:
    return schema.get("$comment") if isinstance(schema, dict) else None


def _names(path: Sequence[PathPart]) -> str:
    return ".".join(str(p) for p in path if isinstance(p, str)) or "the body"


def _nearest_comment(
    root: Mapping[str, Any], schema_path: Sequence[Any], registry: Registry[Any]
) -> str | None:
    """The ``$comment`` closest to a failing keyword along its schema path, through ``$ref``s:
    a rule inside an ``if``/``then`` cites the comment of the block that holds it."""
    resolver = registry.resolver(base_uri=str(root.get("$id", "")))
    node: Any = root
    comment = _source(node)
    for key in schema_path:
        if key == "$ref" and isinstance(node, dict):
            resolved = resolver.lookup(node["$ref"])
            node, resolver = resolved.contents, resolved.resolver
        else:
            try:
                node = node[key]
            except (KeyError, IndexError, TypeError):
                break
        comment = _source(node) or comment
    return comment


def _translate(
    error: ValidationError, model: str | None, root: Mapping[str, Any], registry: Registry[Any]
) -> list[Problem]:
    """One jsonschema error as lipflow problems: a sentence, the allowed values, a suggestion."""
    path = tuple(error.absolute_path)
    schema = error.schema if isinstance(error.schema, dict) else {}
    source = _source(schema) or _nearest_comment(
        root, list(error.absolute_schema_path)[:-1], registry
    )
    value = error.instance
    rule = str(error.validator)
    expected = error.validator_value

    def problem(
        message: str,
        *,
        at: tuple[PathPart, ...] = path,
        code: str = rule,
        suggestion: str | None = None,
    ) -> Problem:
        return Problem(message=message, path=at, code=code, suggestion=suggestion, source=source)

    if rule == "required":
        missing = [name for name in expected if isinstance(value, dict) and name not in value]
        return [problem(f"{name!r} is required", at=(*path, name)) for name in missing]
    if rule == "dependentRequired":
        return [
            problem(
                f"{need!r} is required when {key!r} is set: they must be used together",
                at=(*path, need),
                code="together",
            )
            for key, needs in expected.items()
            if isinstance(value, dict) and key in value
            for need in needs
            if need not in value
        ]
    if rule == "additionalProperties":
        allowed = list(schema.get("properties", {}))
        where = schema.get("title") or _names(path)
        extras = [k for k in value if k not in allowed] if isinstance(value, dict) else []
        return [
            problem(
                f"{name!r} is not a documented property of {where}; allowed: "
                f"{', '.join(allowed) or 'none'}",
                at=(*path, name),
                code="unknown-property",
                suggestion=did_you_mean(name, allowed),
            )
            for name in extras
        ]
    if rule == "enum":
        return [_enum_problem(value, expected, schema, path, source)]
    if rule == "const":
        return [problem(f"{_show(value)} is not allowed here; it must be {_show(expected)}")]
    if rule == "type":
        kinds = expected if isinstance(expected, list) else [expected]
        wanted = " or ".join(json_type(_SAMPLES[k]) for k in kinds if k in _SAMPLES)
        return [problem(f"{_show(value)} is {json_type(value)}; expected {wanted}")]
    if rule in _RANGE_RULES:
        return [problem(f"{_show(value)} is out of range: {_range_text(schema)}", code="range")]
    if rule in ("minLength", "maxLength"):
        return [
            problem(
                f"the text is {len(value)} characters long; {_length_text(schema)}", code="length"
            )
        ]
    if rule in ("minItems", "maxItems"):
        return [problem(f"{len(value)} items given; {_items_text(schema)}", code="items")]
    if rule == "multipleOf":
        return [
            problem(
                f"{_show(value)} is not in steps of {expected}: use at most "
                f"{_decimals(expected)} decimal places",
                code="step",
            )
        ]
    if rule == "pattern":
        what = schema.get("description") or f"text matching {expected}"
        return [problem(f"{_show(value)} is not {what}", code="format")]
    if rule == "not":
        return [_not_problem(expected, schema, path, source)]
    if rule in ("oneOf", "anyOf"):
        return [_either_problem(error, schema, path, source, model, registry)]
    return [problem(error.message)]


_SAMPLES: dict[str, object] = {
    "string": "",
    "integer": 0,
    "number": 0.5,
    "boolean": True,
    "array": [],
    "object": {},
    "null": None,
}
_RANGE_RULES = ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum")


def _range_text(schema: Mapping[str, Any]) -> str:
    low, high = schema.get("minimum"), schema.get("maximum")
    if "exclusiveMinimum" in schema:
        return f"it must be greater than {schema['exclusiveMinimum']}"
    if "exclusiveMaximum" in schema:
        return f"it must be less than {schema['exclusiveMaximum']}"
    if low is not None and high is not None:
        return f"allowed: {low} to {high}"
    return f"the minimum is {low}" if low is not None else f"the maximum is {high}"


def _length_text(schema: Mapping[str, Any]) -> str:
    low, high = schema.get("minLength"), schema.get("maxLength")
    if low is not None and high is not None:
        return f"allowed: {low} to {high} characters"
    return f"at least {low} allowed" if low is not None else f"at most {high} allowed"


def _items_text(schema: Mapping[str, Any]) -> str:
    low, high = schema.get("minItems"), schema.get("maxItems")
    if low is not None and low == high:
        return f"exactly {low} allowed"
    if low is not None and high is not None:
        return f"allowed: {low} to {high} items"
    return f"at least {low} needed" if low is not None else f"at most {high} allowed"


def _decimals(step: object) -> int:
    exponent = Decimal(str(step)).normalize().as_tuple().exponent
    return max(0, -exponent) if isinstance(exponent, int) else 0


def _enum_problem(
    value: object,
    allowed: Sequence[object],
    schema: Mapping[str, Any],
    path: tuple[PathPart, ...],
    source: str | None,
) -> Problem:
    noun = schema.get("title") or "values"
    message = f"{_show(value)} is not one of the allowed {noun} ({_choices(allowed)})"
    suggestion = did_you_mean(value, allowed) if isinstance(value, str) else None
    return Problem(message=message, path=path, code="enum", suggestion=suggestion, source=source)


def _not_problem(
    negated: object, schema: Mapping[str, Any], path: tuple[PathPart, ...], source: str | None
) -> Problem:
    if isinstance(negated, dict) and list(negated.get("required", [])) and len(negated) <= 2:
        names = [repr(n) for n in negated["required"]]
        return Problem(
            message=f"set either {' or '.join(names)}, not both",
            path=path,
            code="either-or",
            source=_source(negated) or source,
        )
    field = path[-1] if path else "this value"
    why = schema.get("description") or "it is not documented for this model"
    moved = re.match(r"use '([^']+)'", why)
    return Problem(
        message=f"{str(field)!r} is not accepted here: {why}",
        path=path,
        code="not-allowed",
        suggestion=moved.group(1) if moved else None,
        source=source,
    )


def _branch_label(branch: Mapping[str, Any]) -> str:
    if "title" in branch:
        return str(branch["title"])
    return " + ".join(repr(n) for n in branch.get("required", [])) or "another form"


def _either_problem(
    error: ValidationError,
    schema: Mapping[str, Any],
    path: tuple[PathPart, ...],
    source: str | None,
    model: str | None,
    registry: Registry[Any],
) -> Problem:
    branches: list[Mapping[str, Any]] = list(error.validator_value)
    if branches and all(_is_pair(b) for b in branches):
        return _size_problem(error.instance, branches, path, source, model)
    if all("type" in b for b in branches):
        # The branch of the value's own type says best what is wrong with it ("not WxH").
        same_type = [e for e in error.context if e.validator != "type"]
        if same_type:
            best = min(same_type, key=lambda e: len(e.relative_schema_path))
            return _translate(best, model, schema, registry)[0]
        what = schema.get("description") or " or ".join(
            dict.fromkeys(str(b["type"]) for b in branches)
        )
        return Problem(
            message=f"{_show(error.instance)} is not {what}", path=path, code="type", source=source
        )
    labels = (", " if len(branches) > 2 else " or ").join(_branch_label(b) for b in branches)
    if error.validator == "oneOf" and not error.context:
        singles = [b["required"][0] for b in branches if len(b.get("required", ())) == 1]
        if len(branches) > 2 and len(singles) == len(branches) and isinstance(error.instance, dict):
            found = [name for name in singles if name in error.instance]
            return Problem(
                message=f"set only one of {', '.join(map(repr, singles))}; found {', '.join(map(repr, found))}",
                path=path,
                code="either-or",
                source=source,
            )
        return Problem(
            message=f"set either {labels}, not both", path=path, code="either-or", source=source
        )
    quantity = "one" if error.validator == "oneOf" else "at least one"
    return Problem(
        message=f"set {quantity} of {labels}", path=path, code="either-or", source=source
    )


def _is_pair(branch: Mapping[str, Any]) -> bool:
    props = branch.get("properties", {})
    return (
        set(branch) == {"properties"}
        and set(props) == {"width", "height"}
        and all("const" in p for p in props.values())
    )


def _size_problem(
    instance: object,
    branches: Sequence[Mapping[str, Any]],
    path: tuple[PathPart, ...],
    source: str | None,
    model: str | None,
) -> Problem:
    pairs = [
        (b["properties"]["width"]["const"], b["properties"]["height"]["const"]) for b in branches
    ]
    body = instance if isinstance(instance, dict) else {}
    width, height = body.get("width"), body.get("height")
    listing = ", ".join(f"{w}x{h}" for w, h in pairs)
    if not (isinstance(width, int) and isinstance(height, int)):
        return Problem(
            message=f"width x height must be one of: {listing}",
            path=path,
            code="size",
            source=source,
        )
    if width not in {w for w, _ in pairs}:
        name, field = "width", width
    elif height not in {h for _, h in pairs}:
        name, field = "height", height
    else:
        name, field = "width", None
    why = f"{field} is not in its table" if field is not None else "that pair is not in its table"
    nearest = nearest_size(width, height, pairs)
    who = model or "this model"
    return Problem(
        message=f"{width}x{height} is not a size {who} allows ({why}); allowed: {listing}",
        path=(*path, name),
        code="size",
        suggestion=f"{nearest[0]}x{nearest[1]}" if nearest else None,
        source=source,
    )


def nearest_size(
    width: int, height: int, pairs: Sequence[tuple[int, int]]
) -> tuple[int, int] | None:
    """The allowed pair closest to ``width x height`` with the same orientation (landscape,
    portrait or square), so the suggestion keeps the shot's shape."""

    def orientation(w: int, h: int) -> int:
        return (w > h) - (w < h)

    same = [p for p in pairs if orientation(*p) == orientation(width, height)] or list(pairs)
    if not same:
        return None
    return min(same, key=lambda p: ((p[0] - width) ** 2 + (p[1] - height) ** 2, p))

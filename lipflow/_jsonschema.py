"""Turn jsonschema's errors into Problems a person can act on.

jsonschema reports "is not valid under any of the given schemas" for an either/or rule and
"Additional properties are not allowed" for a typo; users need "set either X or Y" and "did you
mean 'motionMode'?". This module is the one place that translation happens.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from lipflow.problems import Problem, did_you_mean

__all__ = ["schema_problems"]


def _allowed(values: Iterable[Any], limit: int = 25) -> str:
    items = [repr(v) if not isinstance(v, str) else v for v in values]
    shown = ", ".join(items[:limit])
    return shown + (f", ... ({len(items)} in all)" if len(items) > limit else "")


def _describe(error: Any) -> tuple[str, str | None, str]:
    """(message, suggestion, code) for one jsonschema ValidationError."""
    kw, value, schema = error.validator, error.instance, error.schema
    arg = error.validator_value
    if kw == "additionalProperties" and isinstance(value, dict):
        known = list(schema.get("properties", {}))
        extra = [k for k in value if k not in known]
        key = extra[0] if extra else "?"
        hint = did_you_mean(key, known)
        allowed = f"; allowed keys: {', '.join(known)}" if known else ""
        return f"unknown key {key!r}{allowed}", hint, "unknown-key"
    if kw == "enum":
        return (
            f"{value!r} is not one of the allowed values ({_allowed(arg)})",
            did_you_mean(value, arg),
            "enum",
        )
    if kw == "const":
        return f"{value!r} must be {arg!r}", None, "const"
    if kw == "required":
        missing = next((k for k in arg if k not in (value or {})), "?")
        return f"{missing!r} is required", None, "required"
    if kw == "type":
        wanted = " or ".join(arg) if isinstance(arg, list) else arg
        return f"{value!r} is not of type {wanted}", None, "type"
    if kw in ("oneOf", "anyOf") and isinstance(value, dict):
        options = [s.get("required", []) for s in arg if isinstance(s, dict)]
        if options and all(len(o) == 1 for o in options):
            names = [o[0] for o in options]
            present = [n for n in names if n in value]
            if present:
                return (
                    f"set only one of {', '.join(names)}; found {', '.join(present)}",
                    None,
                    "either-or",
                )
            return f"set one of {', '.join(names)}", None, "either-or"
    if kw in ("oneOf", "anyOf") and error.context:
        best = min(error.context, key=lambda e: len(list(e.relative_path)))
        return _describe(best)
    if kw == "pattern":
        return f"{value!r} does not match the expected form {arg!r}", None, "pattern"
    if kw in ("minimum", "exclusiveMinimum", "maximum", "exclusiveMaximum"):
        words = {
            "minimum": "at least",
            "exclusiveMinimum": "greater than",
            "maximum": "at most",
            "exclusiveMaximum": "less than",
        }
        return f"{value!r} must be {words[kw]} {arg}", None, "range"
    if kw in ("minLength", "maxLength", "minItems", "maxItems", "minProperties"):
        return error.message, None, "size"
    return error.message, None, kw or "invalid"


def schema_problems(validator: Any, instance: Any) -> list[Problem]:
    """Every way ``instance`` breaks the validator's schema, as Problems with JSON paths."""
    problems = []
    for error in sorted(
        validator.iter_errors(instance), key=lambda e: list(map(str, e.absolute_path))
    ):
        message, suggestion, code = _describe(error)
        path = tuple(error.absolute_path)
        if code == "unknown-key" and isinstance(error.instance, dict):
            known = error.schema.get("properties", {})
            extra = next((k for k in error.instance if k not in known), None)
            if extra is not None:
                path = (*path, extra)
        problems.append(
            Problem(
                message=message,
                path=path,
                suggestion=suggestion,
                code=code,
                source=error.schema.get("$comment") if isinstance(error.schema, dict) else None,
            )
        )
    return problems

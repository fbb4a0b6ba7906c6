"""Jinja2 templating for recipes, sandboxed, with undefined names as errors.

A recipe string holding ``{{ ... }}`` or ``{% ... %}`` is a template rendered once per job with
``matrix``, ``vars`` and ``inputs`` in scope. A string that is exactly one ``{{ expression }}``
keeps the expression's type, so ``duration: "{{ matrix.seconds }}"`` stays a number. Templates
are compiled once per distinct source: a 10,000-job matrix renders, it does not re-parse.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from jinja2 import StrictUndefined, TemplateError, Undefined
from jinja2.sandbox import SandboxedEnvironment

__all__ = ["TemplateProblem", "Templater", "is_template"]

_SINGLE_EXPRESSION = re.compile(r"^\{\{(?P<expr>(?:(?!\}\}|\{\{).)*)\}\}$", re.S)
# "{{ matrix.voice }}"-style holes: a dotted path of names and nothing else.
_PATH_HOLE = re.compile(r"\{\{\s*([A-Za-z_]\w*(?:\.[A-Za-z_]\w*)*)\s*\}\}")


class _NotSimple(Exception):
    """The fast path cannot answer exactly as Jinja2 would; Jinja2 will."""


def _path_template(source: str) -> list[str] | None:
    """Literals and dotted paths alternating, when ``source`` is only text and ``{{ a.b }}`` holes."""
    if "{%" in source or "{#" in source:
        return None
    parts = _PATH_HOLE.split(source)
    if any("{{" in lit or "}}" in lit for lit in parts[::2]):
        return None
    return parts


def _lookup(context: Mapping[str, Any], dotted: str) -> Any:
    """``a.b.c`` through plain dicts, exactly as Jinja2 would resolve it, or _NotSimple."""
    first, *rest = dotted.split(".")
    if first not in context:
        raise _NotSimple
    node = context[first]
    for name in rest:
        # Jinja2 tries attributes before items: a key named like a dict method is left to it.
        if type(node) is not dict or name not in node or hasattr(dict, name):
            raise _NotSimple
        node = node[name]
    return node


def is_template(value: object) -> bool:
    return isinstance(value, str) and ("{{" in value or "{%" in value)


class TemplateProblem(Exception):
    """A template failed to compile or render; ``path`` is where in the rendered value."""

    def __init__(self, message: str, path: tuple[str | int, ...]) -> None:
        super().__init__(message)
        self.message = message
        self.path = path


def _render_paths(parts: list[str], context: Mapping[str, Any]) -> Any:
    if len(parts) == 3 and not parts[0] and not parts[2]:
        return _lookup(context, parts[1])  # one whole hole keeps its type
    out = []
    for i, part in enumerate(parts):
        out.append(str(_lookup(context, part)) if i % 2 else part)
    return "".join(out)


class Templater:
    """Renders recipe values; one instance per plan so its compiled-template cache is shared.

    Holes that are plain dotted names (``{{ matrix.voice }}``, the common case in a large matrix)
    are looked up directly, giving what Jinja2 gives at a fraction of its per-render set-up cost;
    everything else (filters, indexing, blocks) and every error goes through the sandbox.
    """

    def __init__(self) -> None:
        self._env = SandboxedEnvironment(undefined=StrictUndefined, autoescape=False)
        self._paths: dict[str, list[str] | None] = {}
        self._compiled: dict[str, tuple[str, Any]] = {}

    def _jinja(self, source: str) -> tuple[str, Any]:
        compiled = self._compiled.get(source)
        if compiled is None:
            match = _SINGLE_EXPRESSION.match(source.strip())
            if match:
                expr = self._env.compile_expression(match["expr"].strip(), undefined_to_none=False)
                compiled = ("expr", expr)
            else:
                compiled = ("text", self._env.from_string(source))
            self._compiled[source] = compiled
        return compiled

    def _render_string(self, source: str, context: Mapping[str, Any]) -> Any:
        if source not in self._paths:
            self._paths[source] = _path_template(source)
        parts = self._paths[source]
        if parts is not None:
            try:
                return _render_paths(parts, context)
            except _NotSimple:
                pass
        kind, compiled = self._jinja(source)
        if kind == "text":
            return compiled.render(**context)
        result = compiled(**context)
        if isinstance(result, Undefined):
            str(result)  # a StrictUndefined raises its "is undefined" error when used
        return result

    def render(
        self, value: Any, context: Mapping[str, Any], path: tuple[str | int, ...] = ()
    ) -> Any:
        """``value`` with every template in it rendered; raises TemplateProblem with its path."""
        if isinstance(value, str):
            if "{{" not in value and "{%" not in value:
                return value
            try:
                return self._render_string(value, context)
            except TemplateError as exc:
                raise TemplateProblem(f"template {value!r}: {exc.message or exc}", path) from exc
            except (TypeError, ValueError, ArithmeticError, LookupError) as exc:
                raise TemplateProblem(f"template {value!r}: {exc}", path) from exc
        if isinstance(value, dict):
            return {k: self.render(v, context, (*path, k)) for k, v in value.items()}
        if isinstance(value, list):
            return [self.render(v, context, (*path, i)) for i, v in enumerate(value)]
        return value

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

from jinja2 import StrictUndefined, TemplateError
from jinja2.sandbox import SandboxedEnvironment

__all__ = ["TemplateProblem", "Templater", "is_template"]

_SINGLE_EXPRESSION = re.compile(r"^\{\{(?P<expr>(?:(?!\}\}|\{\{).)*)\}\}$", re.S)


def is_template(value: object) -> bool:
    return isinstance(value, str) and ("{{" in value or "{%" in value)


class TemplateProblem(Exception):
    """A template failed to compile or render; ``path`` is where in the rendered value."""

    def __init__(self, message: str, path: tuple[str | int, ...]) -> None:
        super().__init__(message)
        self.message = message
        self.path = path


class Templater:
    """Renders recipe values; one instance per plan so its compiled-template cache is shared."""

    def __init__(self) -> None:
        self._env = SandboxedEnvironment(undefined=StrictUndefined, autoescape=False)
        self._cache: dict[str, Any] = {}

    def _compiled(self, source: str) -> Any:
        compiled = self._cache.get(source)
        if compiled is None:
            match = _SINGLE_EXPRESSION.match(source.strip())
            if match:
                compiled = (
                    "expr",
                    self._env.compile_expression(match["expr"].strip(), undefined_to_none=False),
                )
            else:
                compiled = ("text", self._env.from_string(source))
            self._cache[source] = compiled
        return compiled

    def render(
        self, value: Any, context: Mapping[str, Any], path: tuple[str | int, ...] = ()
    ) -> Any:
        """``value`` with every template in it rendered; raises TemplateProblem with its path."""
        if isinstance(value, str):
            if "{{" not in value and "{%" not in value:
                return value
            try:
                kind, compiled = self._compiled(value)
                if kind == "expr":
                    result = compiled(**context)
                    # StrictUndefined only raises when used; an expression yielding it is undefined.
                    str(result) if result.__class__.__name__ == "StrictUndefined" else None
                    return result
                return compiled.render(**context)
            except TemplateError as exc:
                raise TemplateProblem(f"template {value!r}: {exc.message or exc}", path) from exc
            except (TypeError, ValueError, ArithmeticError, LookupError) as exc:
                raise TemplateProblem(f"template {value!r}: {exc}", path) from exc
        if isinstance(value, dict):
            return {k: self.render(v, context, (*path, k)) for k, v in value.items()}
        if isinstance(value, list):
            return [self.render(v, context, (*path, i)) for i, v in enumerate(value)]
        return value

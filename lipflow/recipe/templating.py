"""Jinja2 templating for recipes, sandboxed, with undefined names as errors.

A recipe string holding ``{{ ... }}`` or ``{% ... %}`` is a template rendered once per job with
``matrix``, ``vars`` and ``inputs`` in scope. A string that is exactly one ``{{ expression }}``
keeps the expression's type, so ``duration: "{{ matrix.seconds }}"`` stays a number. Templates
are compiled once per distinct source: a 10,000-job matrix renders, it does not re-parse.

Rendering is bounded: a template's text may reach :data:`MAX_TEMPLATE_CHARS` and take
:data:`MAX_TEMPLATE_SECONDS`; operators and calls whose result would pass the size bound
(``'a' * 10**9``, ``9 ** 9 ** 9``, ``'x' | center(10**9)``) are refused before they run, so a
hostile recipe costs neither gigabytes nor minutes. Sizes are weighed through nested lists and
mappings (:func:`_weight`), since a list holding one long string many times costs all of them once
it is joined, printed or written as JSON.

Templates cannot change what they are given (an immutable sandbox: ``vars.l.append(...)`` is
refused), so no job's values depend on the order jobs are rendered in. A whole expression's value
is turned into plain JSON data (:func:`_plain`): an iterator or a tuple becomes a list, and a value
JSON cannot hold (bytes, a set, a namespace) is a problem at its field, not an error at output.
"""

from __future__ import annotations

import functools
import math
import re
import signal
import threading
import time
from collections.abc import (
    Callable,
    ItemsView,
    Iterable,
    Iterator,
    KeysView,
    Mapping,
    Sequence,
    ValuesView,
)
from contextlib import contextmanager
from typing import Any

from jinja2 import Environment, StrictUndefined, TemplateError, Undefined, nodes
from jinja2.compiler import CodeGenerator, Frame
from jinja2.exceptions import SecurityError
from jinja2.nodes import EvalContext
from jinja2.runtime import Context
from jinja2.sandbox import ImmutableSandboxedEnvironment, modifies_known_mutable

from lipflow.problems import did_you_mean
from lipflow.recipe.source import lone_surrogate

__all__ = [
    "MAX_TEMPLATE_CHARS",
    "MAX_TEMPLATE_SECONDS",
    "TemplateProblem",
    "TemplateProblems",
    "Templater",
    "has_templates",
    "is_template",
]

# Every provider field a template fills is at most a few thousand characters (prompts: 2,048).
MAX_TEMPLATE_CHARS = 100_000
# Python ints print with at most 4,300 digits by default; a bigger one is no recipe value.
_MAX_INT_BITS = 14_300
# Wall time one render may take (measured on the main thread, where a timer signal can stop a
# loop; elsewhere the size bounds still hold).
MAX_TEMPLATE_SECONDS = 2.0
# What the operations of one render may make in all (characters or items): a list of 1,000
# fresh 99,999-character strings is refused at the hundredth, not once 100 MB exist.
_MAX_WORK = 100 * MAX_TEMPLATE_CHARS
# The largest value a filter other than tojson, string or pprint is given (a long list in vars).
_MAX_INPUT = 10 * MAX_TEMPLATE_CHARS
# A whole expression's value nests no deeper than a recipe may (see source.MAX_DEPTH).
_MAX_VALUE_DEPTH = 64

_SINGLE_EXPRESSION = re.compile(r"^\{\{(?P<expr>(?:(?!\}\}|\{\{).)*)\}\}$", re.S)
# "{{ matrix.voice }}"-style holes: a dotted path of names and nothing else.
_PATH_HOLE = re.compile(r"\{\{\s*([A-Za-z_]\w*(?:\.[A-Za-z_]\w*)*)\s*\}\}")


class _NotSimple(Exception):
    """The fast path cannot answer exactly as Jinja2 would; Jinja2 will."""


def _path_template(source: str) -> list[str | tuple[str, ...]] | None:
    """Literals and dotted paths (split into names) alternating, when ``source`` is only text and
    ``{{ a.b }}`` holes whose names Jinja2 would look up as plain keys."""
    if "{%" in source or "{#" in source:
        return None
    parts: list[str | tuple[str, ...]] = list(_PATH_HOLE.split(source))
    if any("{{" in lit or "}}" in lit for lit in parts[::2]):
        return None
    for i in range(1, len(parts), 2):
        names = tuple(str(parts[i]).split("."))
        # Jinja2 tries attributes before items: a key named like a dict method is left to it.
        if any(hasattr(dict, name) for name in names[1:]):
            return None
        parts[i] = names
    return parts


def _lookup(context: Mapping[str, Any], names: tuple[str, ...]) -> Any:
    """``a.b.c`` through plain dicts, exactly as Jinja2 would resolve it, or _NotSimple."""
    first = names[0]
    if first not in context:
        raise _NotSimple
    node = context[first]
    for name in names[1:]:
        if type(node) is not dict or name not in node:
            raise _NotSimple
        node = node[name]
    return node


def is_template(value: object) -> bool:
    return isinstance(value, str) and ("{{" in value or "{%" in value)


class _TooBig(Exception):
    """A value a template was about to make passes the bounds."""


_CONTAINERS = (list, tuple, set, frozenset, dict, KeysView, ValuesView, ItemsView)
_SIZED = (str, bytes, range, *_CONTAINERS)


def _size(value: Any) -> int:
    if isinstance(value, _SIZED):
        return len(value)
    return 0


def _weight(value: Any, limit: int = MAX_TEMPLATE_CHARS) -> int:
    """Characters and items in ``value`` through nested lists, tuples and mappings (an int by its
    digits), counted until past ``limit``: at least what printing it or writing it as JSON makes.
    ``['x' * 99999] * 99999`` is one list of 99,999 items but weighs ten billion."""
    total = 0
    stack = [value]
    while stack and total <= limit:
        item = stack.pop()
        if isinstance(item, str | bytes | range):
            total += len(item)
        elif isinstance(item, int):
            total += 1 + item.bit_length() // 3
        elif isinstance(item, _CONTAINERS):
            total += len(item)
            if total <= limit:
                stack.extend(item.items() if isinstance(item, dict) else item)
    return total


def _check_size(value: Any, what: str) -> Any:
    if _weight(value) > MAX_TEMPLATE_CHARS:
        raise _TooBig(f"{what} would be longer than {MAX_TEMPLATE_CHARS:,} characters or items")
    if isinstance(value, int) and value.bit_length() > _MAX_INT_BITS:
        raise _TooBig(f"{what} would be a number of more than 4,300 digits")
    _spend(0 if isinstance(value, range) else _size(value))  # a range is not built
    return value


_work = threading.local()


def _spend(amount: int) -> None:
    """Count what one render's operations make; past :data:`_MAX_WORK` the render stops."""
    spent = getattr(_work, "spent", 0) + amount
    _work.spent = spent
    if spent > _MAX_WORK:
        raise _TooBig(
            f"its operations would make more than {_MAX_WORK:,} characters or items in all"
        )


def _bounded_list(items: Iterable[Any], what: str, *, apart: int = 0) -> list[Any]:
    """An iterator's items as a list, stopped once they weigh past the size bound; ``apart``:
    the characters a join puts between two of them (a long separator stops it within a few
    items, before a slow iterator has been read on for seconds)."""
    out: list[Any] = []
    total = -apart
    for item in items:
        total += 1 + _weight(item) + apart
        if total > MAX_TEMPLATE_CHARS:
            if apart:
                raise _TooBig(f"{what} would make more than {MAX_TEMPLATE_CHARS:,} characters")
            raise _TooBig(f"{what} would take more than {MAX_TEMPLATE_CHARS:,} characters or items")
        out.append(item)
    return out


def _guard_join(items: Any, sep: Any, what: str) -> None:
    """Joining ``items`` with ``sep`` is refused when the text would pass the bound; checked
    before ``str.join``, which no timer can stop, builds it."""
    count = _size(items) if isinstance(items, _SIZED) else 1
    sep_len = len(sep) if isinstance(sep, str) else 0
    if _weight(items) + sep_len * max(count - 1, 0) > MAX_TEMPLATE_CHARS:
        raise _TooBig(f"{what} would make more than {MAX_TEMPLATE_CHARS:,} characters")


def _guard_args(args: tuple[Any, ...], kwargs: Mapping[str, Any], what: str) -> None:
    """Widths and counts past the size bound (``center(10**9)``) are refused before the call."""
    for arg in (*args, *kwargs.values()):
        if isinstance(arg, int) and not isinstance(arg, bool) and arg > MAX_TEMPLATE_CHARS:
            raise _TooBig(f"{what}: {arg:,} is past the bound of {MAX_TEMPLATE_CHARS:,}")


def _guard_format(fmt: Any, what: str) -> None:
    """A format string whose widths pass the bound (``'%999999999d'``) is refused."""
    if isinstance(fmt, str):
        for width in re.findall(r"\d+", fmt):
            if len(width) > 6 or int(width) > MAX_TEMPLATE_CHARS:
                raise _TooBig(f"{what}: a width of {width} is past the bound")


def _estimate_replace(obj: Any, args: tuple[Any, ...]) -> None:
    if len(args) >= 2 and isinstance(obj, str) and isinstance(args[0], str):
        new = args[1]
        grows = obj.count(args[0]) * len(new) if args[0] else (len(obj) + 1) * len(new)
        if isinstance(new, str) and len(obj) + grows > MAX_TEMPLATE_CHARS:
            raise _TooBig(f"replace would make more than {MAX_TEMPLATE_CHARS:,} characters")


def _bounded_binop(operator: str, left: Any, right: Any) -> None:
    """Refuse an operation whose result would pass the bounds, before computing it."""
    if operator == "**" and isinstance(left, int) and isinstance(right, int) and right > 0:
        if abs(left) > 1 and right * abs(left).bit_length() > _MAX_INT_BITS + right:
            raise _TooBig(f"{left} ** {right} would be a number of more than 4,300 digits")
    elif operator == "*":
        for seq, n in ((left, right), (right, left)):
            if _size(seq) and isinstance(n, int) and _weight(seq) * n > MAX_TEMPLATE_CHARS:
                raise _TooBig(
                    f"repeating {_weight(seq):,} characters or items {n:,} times would pass "
                    f"the bound of {MAX_TEMPLATE_CHARS:,}"
                )
        if (
            isinstance(left, int)
            and isinstance(right, int)
            and left.bit_length() + right.bit_length() > _MAX_INT_BITS
        ):
            raise _TooBig("the product would be a number of more than 4,300 digits")
    elif operator == "+" and _weight(left) + _weight(right) > MAX_TEMPLATE_CHARS:
        raise _TooBig(f"the sum would be longer than {MAX_TEMPLATE_CHARS:,} characters or items")
    elif operator == "%" and isinstance(left, str):
        _guard_format(left, "string formatting")
        if len(left) + left.count("%") * _weight(right) > MAX_TEMPLATE_CHARS:
            raise _TooBig(f"formatting would make more than {MAX_TEMPLATE_CHARS:,} characters")


class _BoundedCodeGenerator(CodeGenerator):
    """Jinja2's compiler, except that ``a ~ b`` goes through :func:`_bounded_concat`: the
    sandbox does not intercept it, and ``{% set s = s ~ s %}`` doubles a text per line."""

    def visit_Concat(self, node: nodes.Concat, frame: Frame) -> None:
        self.write("environment.bounded_concat((")
        for arg in node.nodes:
            self.visit(arg, frame)
            self.write(", ")
        self.write("))")


def _bounded_concat(values: tuple[Any, ...]) -> str:
    if sum(_weight(v) for v in values) > MAX_TEMPLATE_CHARS:
        raise _TooBig(f"joining with ~ would make more than {MAX_TEMPLATE_CHARS:,} characters")
    text = "".join([str(v) for v in values])
    _check_size(text, "~")
    return text


def _finalize(value: Any) -> Any:
    """What ``{{ x }}`` prints in a text is weighed before ``str()`` makes it."""
    if _weight(value) > MAX_TEMPLATE_CHARS:
        raise _TooBig(f"the output would be longer than {MAX_TEMPLATE_CHARS:,} characters")
    return value


class _BoundedEnvironment(ImmutableSandboxedEnvironment):
    """The immutable sandbox, with operators, calls and filters held to the size bounds."""

    intercepted_binops = frozenset({"*", "**", "+", "%"})
    code_generator_class = _BoundedCodeGenerator

    def __init__(self) -> None:
        super().__init__(undefined=StrictUndefined, autoescape=False, finalize=_finalize)
        self.filters = {name: _bounded_filter(name, f) for name, f in self.filters.items()}
        self.bounded_concat = _bounded_concat

    def unsafe_undefined(self, obj: Any, attribute: str) -> Undefined:
        """A method that would change a value names why: every job sees the same ``vars``."""
        if modifies_known_mutable(obj, attribute):
            return self.undefined(
                f"{attribute!r} would change a {type(obj).__name__}; a template cannot change "
                "vars, matrix or inputs (every job must see the same values): build a new "
                "value instead",
                name=attribute,
                obj=obj,
                exc=SecurityError,
            )
        return super().unsafe_undefined(obj, attribute)

    def call_binop(self, context: Context, operator: str, left: Any, right: Any) -> Any:
        _bounded_binop(operator, left, right)
        return _check_size(super().call_binop(context, operator, left, right), operator)

    def call(__self, __context: Context, __obj: Any, *args: Any, **kwargs: Any) -> Any:
        name = getattr(__obj, "__name__", "a call")
        # The sandbox wraps str.format; the string it formats is the wrapped method's owner.
        owner = getattr(getattr(__obj, "__wrapped__", __obj), "__self__", None)
        apart = len(owner) if name == "join" and isinstance(owner, str) else 0
        args = tuple(
            _bounded_list(a, name, apart=apart) if isinstance(a, Iterator) else a for a in args
        )
        _guard_args(args, kwargs, name)
        if name == "replace":
            _estimate_replace(owner, args)
        elif name in ("format", "format_map"):
            _guard_format(owner, name)
        elif name == "join" and isinstance(owner, str) and args:
            _guard_join(args[0], owner, "join")
        elif (
            name == "expandtabs"
            and isinstance(owner, str)
            and args
            and isinstance(args[0], int)
            and owner.count("\t") * args[0] > MAX_TEMPLATE_CHARS
        ):
            raise _TooBig(f"expandtabs would make more than {MAX_TEMPLATE_CHARS:,} characters")
        return _check_size(super().call(__context, __obj, *args, **kwargs), name)


def _bounded_filter(name: str, func: Callable[..., Any]) -> Callable[..., Any]:
    """``func`` with its inputs and output held to the bounds; an iterator it is given is read
    (bounded) into a list first, and the filters whose output multiplies their inputs (join,
    indent, wordwrap, replace) are refused before they build it."""

    @functools.wraps(func)
    def bounded(*args: Any, **kwargs: Any) -> Any:
        values = [a for a in args if not isinstance(a, Context | EvalContext | Environment)]
        separator = kwargs.get("d", values[1] if len(values) > 1 else "")
        apart = len(separator) if name == "join" and isinstance(separator, str) else 0
        args = tuple(
            _bounded_list(a, f"filter {name}", apart=apart) if isinstance(a, Iterator) else a
            for a in args
        )
        values = [a for a in args if not isinstance(a, Context | EvalContext | Environment)]
        _guard_args(tuple(values[1:]), kwargs, f"filter {name}")
        value = values[0] if values else None
        more = dict(zip(("a1", "a2", "a3", "a4"), values[1:], strict=False))
        if name == "replace" and values:
            _estimate_replace(str(value), tuple(values[1:]))
        elif name == "format" and values:
            _guard_format(value, "filter format")
        elif name == "join":
            _guard_join(value, kwargs.get("d", more.get("a1", "")), "filter join")
        elif name == "indent" and isinstance(value, str):
            width = kwargs.get("width", more.get("a1", 4))
            pad = len(width) if isinstance(width, str) else width if isinstance(width, int) else 0
            if len(value) + (value.count("\n") + 1) * pad > MAX_TEMPLATE_CHARS:
                raise _TooBig(f"indent would make more than {MAX_TEMPLATE_CHARS:,} characters")
        elif name == "wordwrap" and isinstance(value, str):
            width = kwargs.get("width", more.get("a1", 79))
            wrap = kwargs.get("wrapstring", values[3] if len(values) > 3 else None)
            lines = value.count("\n") + 1
            if isinstance(width, int):
                lines += len(value) // max(width, 1)
            if len(value) + lines * len(wrap or "\n") > MAX_TEMPLATE_CHARS:
                raise _TooBig(f"wordwrap would make more than {MAX_TEMPLATE_CHARS:,} characters")
        elif name == "sum":
            start = kwargs.get("start", values[2] if len(values) > 2 else 0)
            if not isinstance(start, int | float):
                raise _TooBig("filter sum adds numbers; join texts with | join")
        elif _weight(value, _MAX_INPUT) > (
            MAX_TEMPLATE_CHARS if name in ("tojson", "string", "pprint") else _MAX_INPUT
        ):
            raise _TooBig(
                f"filter {name}: its input is too long to print or to write as JSON within the "
                f"bound of {MAX_TEMPLATE_CHARS:,} characters"
                if name in ("tojson", "string", "pprint")
                else f"filter {name}: its input is longer than {_MAX_INPUT:,} characters or items"
            )
        return _check_size(func(*args, **kwargs), f"filter {name}")

    return bounded


class _TookTooLong(Exception):
    pass


@contextmanager
def _deadline(seconds: float) -> Iterator[None]:
    """Stop a render that runs past ``seconds`` (a loop in a loop in a loop)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def expired(signum: int, frame: object) -> None:
        raise _TookTooLong

    previous = signal.signal(signal.SIGALRM, expired)
    started = time.monotonic()
    outer, interval = signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
        if outer:  # someone else's timer (a test timeout, the host program's) runs on
            left = outer - (time.monotonic() - started)
            signal.setitimer(signal.ITIMER_REAL, max(left, 1e-6), interval)


class TemplateProblem(Exception):
    """A template failed to compile or render; ``path`` is where in the rendered value, and
    ``suggestion`` the name meant when a misspelt one is plain."""

    def __init__(
        self, message: str, path: tuple[str | int, ...], suggestion: str | None = None
    ) -> None:
        super().__init__(message)
        self.message = message
        self.path = path
        self.suggestion = suggestion
        self.each: tuple[TemplateProblem, ...] = (self,)


class TemplateProblems(TemplateProblem):
    """Every template that failed in one value (each option, each field), in the value's order:
    raised as the first, with ``each`` holding them all, so that all are said at once."""

    def __init__(self, problems: Sequence[TemplateProblem]) -> None:
        first = problems[0]
        super().__init__(first.message, first.path, first.suggestion)
        self.each = tuple(problems)


def _each_rendered(
    parts: Iterable[tuple[Any, Callable[[Mapping[str, Any]], Any]]], context: Mapping[str, Any]
) -> list[tuple[Any, Any]]:
    """Each ``(key, render)`` part rendered; every part's problem is kept, not just the first:
    :class:`TemplateProblems` when any failed."""
    out: list[tuple[Any, Any]] = []
    failed: list[TemplateProblem] = []
    for key, render in parts:
        try:
            out.append((key, render(context)))
        except TemplateProblem as exc:
            failed.extend(exc.each)
    if failed:
        raise TemplateProblems(failed)
    return out


_UNDEFINED_NAME = re.compile(r"^'(?P<name>\w+)' is undefined$")
_NO_ATTRIBUTE = re.compile(r"has no attribute '(?P<name>\w+)'$")
_NO_FILTER_OR_TEST = re.compile(r"^No (?P<kind>filter|test) named '(?P<name>\w+)'")


def _meant(message: str, source: str, context: Mapping[str, Any], env: Environment) -> str | None:
    """The name a Jinja2 error's unknown name was likely meant to be: a variable in scope
    (``varz`` -> ``vars``), a key beside it (``vars.lien`` -> ``vars.line``), a filter or a test
    (``uper`` -> ``upper``); None when nothing is near."""
    found = _UNDEFINED_NAME.match(message)
    if found:
        return did_you_mean(found["name"], [*context, *env.globals])
    found = _NO_FILTER_OR_TEST.match(message)
    if found:
        known = env.filters if found["kind"] == "filter" else env.tests
        return did_you_mean(found["name"], list(known))
    found = _NO_ATTRIBUTE.search(message)
    if not found:
        return None
    # The dotted path written before the name (``vars.lien``): the keys beside it are the choices.
    name = found["name"]
    for written in re.finditer(r"([A-Za-z_][\w.]*)\." + name + r"\b", source):
        node: Any = context
        parents = written[1].split(".")
        for part in parents:
            node = node.get(part) if isinstance(node, Mapping) else None
        if isinstance(node, Mapping):
            near = did_you_mean(name, [k for k in node if isinstance(k, str)])
            return None if near is None else f"{written[1]}.{near}"
    return None


def _render_paths(parts: list[str | tuple[str, ...]], context: Mapping[str, Any]) -> Any:
    if len(parts) == 3 and not parts[0] and not parts[2]:
        return _lookup(context, parts[1])  # type: ignore[arg-type]  # one whole hole keeps its type
    return "".join([part if type(part) is str else str(_lookup(context, part)) for part in parts])  # type: ignore[arg-type]


class Templater:
    """Renders recipe values; one instance per plan so its compiled-template cache is shared.

    Holes that are plain dotted names (``{{ matrix.voice }}``, the common case in a large matrix)
    are looked up directly, giving what Jinja2 gives at a fraction of its per-render set-up cost;
    everything else (filters, indexing, blocks) and every error goes through the sandbox.
    """

    def __init__(self) -> None:
        self._env = _BoundedEnvironment()
        self._paths: dict[str, list[str | tuple[str, ...]] | None] = {}
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
        _work.spent = 0
        with _deadline(MAX_TEMPLATE_SECONDS):
            if kind == "text":
                return _bounded_text(compiled.generate(**context))
            # Read inside the deadline: an iterator's items are computed as they are read.
            return _plain(compiled(**context))

    def render(
        self, value: Any, context: Mapping[str, Any], path: tuple[str | int, ...] = ()
    ) -> Any:
        """``value`` with every template in it rendered; raises TemplateProblem with its path."""
        if isinstance(value, str):
            if "{{" not in value and "{%" not in value:
                return value
            return self._render_template(value, context, path)
        if isinstance(value, dict | list):
            return self.renderer(value, path)(context)
        return value

    def shared_renderer(
        self, value: Any, path: tuple[str | int, ...] = ()
    ) -> Callable[[Mapping[str, Any]], Any]:
        """:meth:`renderer` of ``value``, except that a value with no template in it is
        rendered once and that one copy returned to every caller, who must not change it."""
        if has_templates(value):
            return self.renderer(value, path)
        rendered = self.render(value, {})
        return lambda context: rendered

    def renderer(
        self, value: Any, path: tuple[str | int, ...] = ()
    ) -> Callable[[Mapping[str, Any]], Any]:
        """:meth:`render` of ``value`` prepared once, for rendering it with many contexts (one per
        job of a matrix): the walk that finds the templates is done here, not per job. Mappings
        and lists are built anew on each call, as :meth:`render` builds them."""
        if isinstance(value, str) and ("{{" in value or "{%" in value):
            return self._string_renderer(value, path)
        if isinstance(value, dict):
            items = [(k, self.renderer(v, (*path, k))) for k, v in value.items()]
            return lambda context: dict(_each_rendered(items, context))
        if isinstance(value, list):
            parts = list(enumerate(self.renderer(v, (*path, i)) for i, v in enumerate(value)))
            return lambda context: [item for _, item in _each_rendered(parts, context)]
        return lambda context: value

    def _string_renderer(
        self, value: str, path: tuple[str | int, ...]
    ) -> Callable[[Mapping[str, Any]], Any]:
        """:meth:`_render_template` of ``value``; a text of plain ``{{ a.b }}`` holes is tried
        by :func:`_render_paths` directly (what :meth:`_render_string` tries first, without its
        two calls per render), and anything that cannot answer, or any error, is left to it."""
        slow = functools.partial(self._render_template, value, path=path)
        if value not in self._paths:
            self._paths[value] = _path_template(value)
        holes = self._paths[value]
        if holes is None:
            return slow
        if len(holes) == 3 and not holes[0] and not holes[2]:

            def whole(context: Mapping[str, Any]) -> Any:
                try:
                    return _render_paths(holes, context)
                except Exception:
                    return slow(context)

            return whole  # one whole hole keeps its value's type
        # _render_paths's text as one format: each literal as written, each hole's str().
        form = "%s".join([str(part).replace("%", "%%") for part in holes[::2]])
        paths = [(names[0], names[1:]) for names in holes[1::2] if type(names) is tuple]

        def fast(context: Mapping[str, Any]) -> Any:
            try:
                found = []
                for first, rest in paths:
                    node = context[first]
                    for name in rest:
                        if type(node) is not dict:
                            raise _NotSimple
                        node = node[name]
                    found.append(node)
                return form % tuple(found)
            except Exception:
                return slow(context)

        return fast

    def _render_template(
        self, value: str, context: Mapping[str, Any], path: tuple[str | int, ...]
    ) -> Any:
        try:
            return self._render_string(value, context)
        except TemplateError as exc:
            said = str(exc.message or exc).rstrip(".")
            raise TemplateProblem(
                f"template {_short(value)}: {said}", path, _meant(said, value, context, self._env)
            ) from exc
        except _TooBig as exc:
            raise TemplateProblem(f"template {_short(value)}: {exc}", path) from None
        except _TookTooLong:
            raise TemplateProblem(
                f"template {_short(value)}: took longer than {MAX_TEMPLATE_SECONDS:g} s "
                "to render; a recipe value is a small computation",
                path,
            ) from None
        except _NotJson as exc:
            raise TemplateProblem(f"template {_short(value)} {exc}", path) from None
        except MemoryError:
            raise TemplateProblem(
                f"template {_short(value)}: too large: rendering it ran out of memory", path
            ) from None
        except (TypeError, ValueError, ArithmeticError, LookupError, RecursionError) as exc:
            raise TemplateProblem(f"template {_short(value)}: {exc}", path) from exc


class _NotJson(Exception):
    """A whole expression's value that no JSON document can hold."""


_JSON_KINDS = "text, a number, true or false, null, a list, or a mapping with text keys"


def _plain(value: Any) -> Any:
    """A whole expression's value as plain JSON data: lists from tuples, ranges and iterators
    (``| reverse``, ``| map``, ``| batch``), ``str``, ``int`` and ``float`` from their subclasses;
    anything JSON cannot hold is :class:`_NotJson`, saying what it is. The size bound is kept as
    it is built (an iterator's items are made as they are read) and a value holding itself is
    refused, so writing the plan as JSON cannot fail later."""
    left = MAX_TEMPLATE_CHARS
    holding: set[int] = set()

    def spend(amount: int) -> None:
        nonlocal left
        left -= amount
        if left < 0:
            raise _TooBig(
                f"the value would be larger than {MAX_TEMPLATE_CHARS:,} characters or items"
            )

    def walk(item: Any, depth: int) -> Any:
        if item is None or isinstance(item, bool):
            return item
        if isinstance(item, int):
            if item.bit_length() > _MAX_INT_BITS:
                raise _TooBig("the value would be a number of more than 4,300 digits")
            return int(item)
        if isinstance(item, float):
            if not math.isfinite(item):
                raise _NotJson(f"gives {item}, a number JSON cannot hold; write a finite one")
            return float(item)
        if isinstance(item, str):
            spend(len(item))
            found = lone_surrogate(item)
            if found:
                raise _NotJson(f"gives text that contains {found}")
            return str(item)
        if isinstance(item, Undefined):
            str(item)  # a StrictUndefined raises its "is undefined" error when used
        if depth > _MAX_VALUE_DEPTH:
            raise _NotJson(f"gives a value nested more than {_MAX_VALUE_DEPTH} levels deep")
        if id(item) in holding:
            raise _NotJson(f"gives {_kind(item)} that holds itself, which JSON cannot write")
        if isinstance(item, dict):
            holding.add(id(item))
            out: dict[str, Any] = {}
            for key, val in item.items():
                if not isinstance(key, str):
                    raise _NotJson(
                        f"gives a mapping with the key {key!r} ({_kind(key)}); a JSON mapping's "
                        "keys are text"
                    )
                spend(1 + len(key))
                out[str(key)] = walk(val, depth + 1)
            holding.discard(id(item))
            return out
        if isinstance(item, set | frozenset):
            raise _NotJson(
                f"gives {_kind(item)}, which has no order and which JSON cannot hold; "
                "use | sort for a list"
            )
        if isinstance(item, list | tuple | range | Iterator | KeysView | ValuesView | ItemsView):
            holding.add(id(item))
            items = []
            for element in item:
                spend(1)
                items.append(walk(element, depth + 1))
            holding.discard(id(item))
            return items
        hint = "; call it with ()" if callable(item) else ""
        raise _NotJson(f"gives {_kind(item)}, not a value JSON can hold ({_JSON_KINDS}){hint}")

    return walk(value, 0)


def _kind(value: Any) -> str:
    """What ``value`` is, as a message says it: "a tuple", "bytes (use .decode())"."""
    if isinstance(value, bytes):
        return "bytes (use .decode())"
    name = type(value).__name__
    return f"an {name}" if name[:1].lower() in "aeiou" else f"a {name}"


def has_templates(value: Any) -> bool:
    """Whether any string in ``value`` (nested mappings and lists) is a template."""
    if isinstance(value, str):
        return "{{" in value or "{%" in value
    if isinstance(value, dict):
        return any(has_templates(v) for v in value.values())
    if isinstance(value, list):
        return any(has_templates(v) for v in value)
    return False


def _bounded_text(chunks: Iterator[str]) -> str:
    """A text template's output, stopped as soon as it passes the size bound."""
    out: list[str] = []
    total = 0
    for chunk in chunks:
        total += len(chunk)
        if total > MAX_TEMPLATE_CHARS:
            raise _TooBig(f"the output would be longer than {MAX_TEMPLATE_CHARS:,} characters")
        out.append(chunk)
    text = "".join(out)
    found = lone_surrogate(text)
    if found:  # '\\udfff'.encode().decode('unicode-escape') makes one
        raise _NotJson(f"gives text that contains {found}")
    return text


def _short(source: str) -> str:
    """A template as quoted in a message: long ones cut, so the message stays readable."""
    return repr(source) if len(source) <= 200 else repr(source[:200]) + "..."

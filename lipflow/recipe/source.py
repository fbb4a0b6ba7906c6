"""YAML loading that remembers where every value came from, and refuses hostile documents.

PyYAML's node graph carries line and column marks; we construct plain Python values from it
ourselves so each value's JSON path maps back to its place in the file. Duplicate keys (which
PyYAML silently overwrites) are errors, and alias expansion is bounded against "billion laughs".
The same text checks (size, encoding) and a bounded JSON reader serve the other documents a user
hands lipflow: a subtitle file, a request body, a saved plan.
"""

from __future__ import annotations

import codecs
import datetime as _dt
import json
import math
import os
import re
import unicodedata
from dataclasses import dataclass, field, replace
from typing import Any

import yaml

from lipflow.errors import InputError
from lipflow.media import not_regular
from lipflow.problems import Location, PathPart, Problem

__all__ = [
    "MAX_DEPTH",
    "MAX_NODES",
    "SourceMap",
    "YamlDocument",
    "control_character",
    "json_of",
    "json_position",
    "lone_surrogate",
    "parse_yaml",
    "read_text",
    "text_of",
    "typing_hint",
    "unprintable_character",
]

# A recipe that expands past this many values is an alias bomb or a mistake, not a recipe.
MAX_NODES = 200_000
# A recipe is about six levels deep (steps > step > lipsync > tts > text); options a few more.
# Deeper nesting is refused before PyYAML's recursive composer or our builder can overflow.
MAX_DEPTH = 64


class _BoundedLoader(yaml.SafeLoader):
    """PyYAML's safe loader, refusing nesting deeper than MAX_DEPTH and more than MAX_NODES
    values at the node that passes the bound: composing stops there, not after the whole file."""

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self._depth = 0
        self.composed = 0

    def compose_node(self, parent: yaml.Node | None, index: Any) -> yaml.Node | None:
        self._depth += 1
        try:
            if self._depth > MAX_DEPTH:
                raise _TooDeep(self.peek_event().start_mark)  # type: ignore[no-untyped-call]
            if not self.check_event(yaml.AliasEvent):
                self.composed += 1
                if self.composed > MAX_NODES:
                    mark = self.peek_event().start_mark  # type: ignore[no-untyped-call]
                    raise _TooLarge(mark.line, mark.column, expanded=False)
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1


def _checked_by_libyaml(text: str) -> bool:
    """Whether libyaml's event parser read all of ``text`` within MAX_DEPTH and MAX_NODES;
    False when PyYAML has no libyaml or libyaml cannot read the text, which is then left to
    :class:`_BoundedLoader` (it words the errors). A document past a bound raises
    :class:`_TooDeep` or :class:`_TooLarge` at the value that passes it, as the loader would:
    counting in C refuses a 600,000-value list in a second, not after half a minute."""
    try:
        from yaml._yaml import CParser
    except ImportError:
        return False
    try:
        parser = CParser(text)
    except UnicodeError:  # a lone surrogate: the loader says where
        return False
    values = depth = 0
    try:
        while parser.check_event():
            event = parser.get_event()
            if isinstance(event, yaml.NodeEvent):
                if depth >= MAX_DEPTH:  # the loader counts a value one deeper than its parent
                    raise _TooDeep(event.start_mark)
                if not isinstance(event, yaml.AliasEvent):
                    values += 1
                    if values > MAX_NODES:
                        mark: Any = event.start_mark
                        raise _TooLarge(mark.line, mark.column, expanded=False)
                if isinstance(event, yaml.CollectionStartEvent):
                    depth += 1
            elif isinstance(event, yaml.CollectionEndEvent):
                depth -= 1
    except yaml.YAMLError:
        return False
    finally:
        parser.dispose()
    return True


def _loader_and_node(text: str) -> tuple[yaml.SafeLoader, yaml.Node | None]:
    """The loader that composed ``text``, and its one document's node: libyaml's composer
    (some 30x faster than PyYAML's own on a recipe) once libyaml has read the text within the
    bounds, else :class:`_BoundedLoader`, whose errors say what is wrong and where."""
    if _checked_by_libyaml(text):
        fast: yaml.SafeLoader = yaml.CSafeLoader(text)  # type: ignore[assignment]
        try:
            return fast, fast.get_single_node()
        except yaml.YAMLError:  # not expected after the read above; the loader will say
            fast.dispose()
    loader = _BoundedLoader(text)
    try:
        return loader, loader.get_single_node()
    except BaseException:
        loader.dispose()
        raise


class _TooDeep(Exception):
    def __init__(self, mark: Any) -> None:  # PyYAML's Mark or libyaml's
        self.mark = mark


@dataclass(slots=True)
class SourceMap:
    """JSON path -> (line, column) of the value there, and of its key when it has one."""

    file: str
    values: dict[tuple[PathPart, ...], tuple[int, int]] = field(default_factory=dict)
    keys: dict[tuple[PathPart, ...], tuple[int, int]] = field(default_factory=dict)
    # Plain scalars YAML 1.1 types otherwise than they read (``no`` is false, ``1e9`` is text):
    # why, and the fix, for a problem at that value to say.
    surprises: dict[tuple[PathPart, ...], str] = field(default_factory=dict)

    def explained(self, problem: Problem) -> Problem:
        """``problem``, saying why its value has its type when YAML 1.1 typed it otherwise
        than it reads (once: a problem already saying so is returned as it is)."""
        hint = self.surprises.get(problem.path)
        if hint is None or hint in problem.message:
            return problem
        return replace(problem, message=f"{problem.message}; {hint}")

    def locate(self, path: tuple[PathPart, ...], *, key: bool = False) -> Location:
        """The place of ``path``, or of its nearest ancestor that exists in the file."""
        probe = tuple(path)
        while True:
            table = self.keys if key and probe in self.keys else self.values
            if probe in table:
                line, column = table[probe]
                return Location(self.file, line, column)
            if not probe:
                return Location(self.file, 1, 1)
            probe = probe[:-1]


@dataclass(frozen=True, slots=True)
class YamlDocument:
    data: Any
    source_map: SourceMap


class _Builder:
    def __init__(self, loader: yaml.SafeLoader, source_map: SourceMap) -> None:
        self.loader = loader
        self.map = source_map
        self.count = 0
        self.problems: list[Problem] = []

    def build(self, node: yaml.Node, path: tuple[PathPart, ...]) -> Any:
        self.count += 1
        if self.count > MAX_NODES:
            raise _TooLarge(node.start_mark.line, node.start_mark.column, expanded=True)
        if len(path) > MAX_DEPTH:  # aliases inside aliases can nest past what was composed
            raise _TooDeep(node.start_mark)
        self.map.values[path] = (node.start_mark.line + 1, node.start_mark.column + 1)
        if isinstance(node, yaml.MappingNode):
            written = {id(k) for k, _ in node.value if k.tag != "tag:yaml.org,2002:merge"}
            self.loader.flatten_mapping(node)  # resolves YAML merge keys ('<<')
            out: dict[Any, Any] = {}
            # Keys a merge ('<<: *base') gave: a key written here overrides them, as YAML's
            # merge means (the merged pairs come first); two written alike are a duplicate.
            merged: set[str] = set()
            for key_node, value_node in node.value:
                key = self._construct(key_node, path)
                if key is _UNREADABLE:
                    continue
                if not isinstance(key, str | int | float | bool) or key is None:
                    self._problem(key_node, "a mapping key must be a plain scalar", path)
                    continue
                if isinstance(key, str):
                    key = joined_surrogates(key)
                    if self._surrogate(key_node, key, path, "the key"):
                        continue
                key = str(key) if not isinstance(key, str) else key
                child = (*path, key)
                if key in out and key not in merged:
                    first = self.map.keys.get(child, (0, 0))[0]
                    self._problem(
                        key_node,
                        f"duplicate key {key!r} (first defined on line {first}); "
                        "YAML would silently keep only the last one",
                        child,
                        code="duplicate-key",
                    )
                    continue
                self.map.keys[child] = (
                    key_node.start_mark.line + 1,
                    key_node.start_mark.column + 1,
                )
                out[key] = self.build(value_node, child)
                if id(key_node) in written:
                    merged.discard(key)
                else:
                    merged.add(key)
            return out
        if isinstance(node, yaml.SequenceNode):
            return [self.build(item, (*path, i)) for i, item in enumerate(node.value)]
        value = self._construct(node, path)
        if value is _UNREADABLE:
            return None
        # Not quoted: PyYAML's style for a plain scalar is None, libyaml's "".
        plain = isinstance(node, yaml.ScalarNode) and not node.style
        hint = typing_hint(node.value, value) if plain else None
        if hint is not None:
            self.map.surprises[path] = hint
        if isinstance(value, str):
            value = joined_surrogates(value)
            if self._surrogate(node, value, path, "the text"):
                return None
        if isinstance(value, _dt.date | _dt.datetime):
            return node.value  # dates stay text: recipes are JSON-shaped
        if isinstance(value, bytes):
            self._problem(node, "binary (!!binary) values are not allowed in a recipe", path)
            return None
        if isinstance(value, float) and not math.isfinite(value):
            self._problem(
                node,
                f"{node.value} is not a number a recipe can use: write a finite one",
                path,
                code="not-finite",
            )
            return None
        return value

    def _construct(self, node: yaml.Node, path: tuple[PathPart, ...]) -> Any:
        """PyYAML's value of a scalar ``node``, or :data:`_UNREADABLE` with a problem at it
        in plain words where PyYAML would raise (an unknown ``!tag``, a 5,000-digit integer)."""
        try:
            return self.loader.construct_object(node, deep=True)
        except yaml.constructor.ConstructorError as exc:
            if node.tag.startswith("!") and not node.tag.startswith("!!"):
                message = (
                    f"the tag {node.tag} is not one a recipe can use: recipes are plain YAML "
                    "(text, numbers, true/false, null, lists and mappings); remove the tag"
                )
            else:
                message = f"YAML: {exc.problem or exc}"
            self._problem(node, message, path)
        except ValueError:
            if node.tag != "tag:yaml.org,2002:int":
                raise
            digits = sum(c.isdigit() for c in str(node.value))
            self._problem(
                node,
                f"an integer of {digits:,} digits; a number holds at most {_MAX_DIGITS:,} digits",
                path,
            )
        return _UNREADABLE

    def _surrogate(self, node: yaml.Node, text: str, path: tuple[PathPart, ...], what: str) -> bool:
        """Whether ``text`` holds a lone surrogate (a ``"\\udfff"`` escape), reported here: no
        output (UTF-8 text, JSON, a request) can hold one, so printing it would fail later."""
        found = lone_surrogate(text)
        if found:
            self._problem(node, f"{what} contains {found}", path, code="encoding")
        return bool(found)

    def _problem(
        self, node: yaml.Node, message: str, path: tuple[PathPart, ...], code: str = "yaml"
    ) -> None:
        loc = Location(self.map.file, node.start_mark.line + 1, node.start_mark.column + 1)
        self.problems.append(Problem(message=message, path=path, location=loc, code=code))


_SURROGATE = re.compile("[\ud800-\udfff]")
# YAML 1.1 (PyYAML's) reads an exponent as a number only after a decimal point and with a sign:
# 1.0e+9, not 1e9 or 1.0e9 (JSON's and YAML 1.2's numbers).
_EXPONENT_AS_TEXT = re.compile(r"([-+]?(?:[0-9]+\.?[0-9]*|\.[0-9]+))[eE]([-+]?)([0-9]+)")


def typing_hint(written: str, value: object) -> str | None:
    """Why a plain scalar has the type it has, when YAML 1.1 types it otherwise than it reads
    (``no``, ``on``: booleans; ``1e9``: text), with the fix; None when it reads as it is."""
    if isinstance(value, bool) and written.lower() not in ("true", "false"):
        return (
            f"YAML reads {written} as {str(value).lower()} (yes, no, on and off are booleans): "
            f'quote it ("{written}") for text'
        )
    exponent = _EXPONENT_AS_TEXT.fullmatch(written) if isinstance(value, str) else None
    if exponent is None:
        return None
    mantissa, sign, digits = exponent.groups()
    if "." not in mantissa:
        mantissa += ".0"
    number = f"{mantissa}e{sign or '+'}{digits}"
    whole = float(number)
    exact = f" or {int(whole)}" if whole.is_integer() and abs(whole) < 1e18 else ""
    return (
        f"YAML reads {written} as text (its exponent needs a decimal point before and a sign): "
        f"write {number}{exact} for the number"
    )


def joined_surrogates(text: str) -> str:
    """``text`` with each escaped surrogate pair as the one character it stands for: JSON
    writes a character past U+FFFF as two escapes ("\\ud83d\\ude00"), PyYAML reads them as two
    halves, and YAML written by ``json.dumps`` is a recipe like any other. Lone ones stay."""
    if _SURROGATE.search(text) is None:
        return text
    return text.encode("utf-16-le", "surrogatepass").decode("utf-16-le", "surrogatepass")


def lone_surrogate(text: str) -> str | None:
    """The words for a lone surrogate in ``text`` ("a lone surrogate \\udfff, which is ..."), or
    None when there is none."""
    found = _SURROGATE.search(text)
    if found is None:
        return None
    return (
        f"a lone surrogate \\u{ord(found.group()):04x}, which is not a character; UTF-8 "
        "cannot hold it"
    )


# Control characters (C0 but tab, line feed and carriage return; DEL; C1): no voice speaks one,
# and a request carrying one to a provider's text-to-speech or prompt is at best ignored.
_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
_C0_NAMES = [
    "NUL",
    "SOH",
    "STX",
    "ETX",
    "EOT",
    "ENQ",
    "ACK",
    "BEL",
    "BS",
    "HT",
    "LF",
    "VT",
    "FF",
    "CR",
    "SO",
    "SI",
    "DLE",
    "DC1",
    "DC2",
    "DC3",
    "DC4",
    "NAK",
    "SYN",
    "ETB",
    "CAN",
    "EM",
    "SUB",
    "ESC",
    "FS",
    "GS",
    "RS",
    "US",
]


def control_character(text: str) -> tuple[int, str] | None:
    """Where the first control character in ``text`` is (from 0) and its name ("U+0007 (BEL)"),
    or None when there is none."""
    found = _CONTROL.search(text)
    if found is None:
        return None
    code = ord(found.group())
    name = f" ({_C0_NAMES[code]})" if code < 32 else " (DEL)" if code == 127 else ""
    return found.start(), f"U+{code:04X}{name}"


# What a terminal acts on or hides rather than prints: controls (a carriage return too, which
# moves back over the line), format characters (bidi overrides such as U+202E, zero-width ones).
# A tab and a line feed are printed as space and a new line: a text holds them.
_UNPRINTABLE_CATEGORIES = frozenset({"Cc", "Cf", "Cs"})
_PRINTED_CONTROLS = frozenset("\t\n")


def unprintable_character(text: str) -> tuple[int, str] | None:
    """Where the first character in ``text`` a terminal would act on or hide rather than print
    is (from 0) and its name ("U+001B (ESC)", "U+202E (RIGHT-TO-LEFT OVERRIDE)"), or None."""
    if text.isprintable():  # every character but these categories, separators and tab, LF
        return None
    for at, char in enumerate(text):
        if char in _PRINTED_CONTROLS:
            continue
        if unicodedata.category(char) in _UNPRINTABLE_CATEGORIES:
            code = ord(char)
            name = (
                _C0_NAMES[code]
                if code < 32
                else "DEL"
                if code == 127
                else unicodedata.name(char, "")
            )
            return at, f"U+{code:04X}" + (f" ({name})" if name else "")
    return None


_UNREADABLE = object()  # a value _Builder._construct reported as a problem


class _TooLarge(Exception):
    """More than MAX_NODES values: written in the file, or ``expanded`` from its aliases."""

    def __init__(self, line: int, column: int, *, expanded: bool) -> None:
        self.line, self.column = line, column  # from 0, as YAML's marks
        self.expanded = expanded


def parse_yaml(text: str, file: str) -> tuple[YamlDocument | None, list[Problem]]:
    """Parse one YAML document; syntax errors come back as problems with their position."""
    source_map = SourceMap(file)
    try:
        loader, node = _loader_and_node(text)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        loc = Location(file, mark.line + 1, mark.column + 1) if mark else Location(file)
        what = " ".join(s for s in (exc.context, exc.problem) if s)
        return None, [Problem(message=f"YAML syntax: {what}", location=loc, code="yaml")]
    except yaml.reader.ReaderError as exc:
        return None, [_reader_problem(exc, text, file)]
    except _TooDeep as exc:
        return None, [_too_deep(exc, file)]
    except _TooLarge as exc:
        return None, [_too_large(exc, file)]
    except yaml.YAMLError as exc:
        return None, [Problem(message=f"YAML: {exc}", location=Location(file), code="yaml")]
    try:
        if node is None:
            return None, [Problem(message="the file is empty", location=Location(file, 1, 1))]
        builder = _Builder(loader, source_map)
        try:
            data = builder.build(node, ())
        except _TooLarge as exc:
            return None, [_too_large(exc, file)]
        except _TooDeep as exc:
            return None, [_too_deep(exc, file)]
        except (yaml.YAMLError, RecursionError, ValueError, TypeError) as exc:
            return None, [Problem(message=f"YAML: {exc}", location=Location(file), code="yaml")]
        return YamlDocument(data, source_map), builder.problems
    finally:
        loader.dispose()


def _too_large(exc: _TooLarge, file: str) -> Problem:
    if exc.expanded:
        what = f"expands to more than {MAX_NODES:,} values (aliases nested too deep?)"
    else:
        what = (
            f"holds more than {MAX_NODES:,} keys and values, the bound passed here; a recipe "
            "holds a few hundred"
        )
    return Problem(
        message=f"the document {what}",
        location=Location(file, exc.line + 1, exc.column + 1),
        code="yaml-too-large",
    )


def _too_deep(exc: _TooDeep, file: str) -> Problem:
    return Problem(
        message=f"values are nested more than {MAX_DEPTH} levels deep; a recipe needs about six",
        location=Location(file, exc.mark.line + 1, exc.mark.column + 1),
        code="yaml-too-deep",
    )


def _reader_problem(exc: yaml.reader.ReaderError, text: str, file: str) -> Problem:
    """A character YAML does not allow (control characters), placed at its line and column."""
    before = text[: exc.position]
    line = before.count("\n") + 1
    column = exc.position - (before.rfind("\n") + 1) + 1
    char = exc.character if isinstance(exc.character, str) else chr(exc.character)
    return Problem(
        message=f"character {char!r} (U+{ord(char):04X}) is not allowed in YAML text",
        location=Location(file, line, column),
        code="yaml",
    )


def read_text(path: str, *, max_bytes: int, kind: str = "recipe") -> str:
    """A text file's text (``kind`` names what it should be in messages: a recipe, a subtitle
    file), or an InputError that says why it is not one (missing, binary, huge). UTF-8, with or
    without a byte-order mark, or UTF-16 with one (as Windows tools save subtitles)."""
    try:
        # O_NONBLOCK: opening a named pipe must not wait for a writer; it is refused below.
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
        with open(fd, "rb") as fh:
            what = not_regular(os.fstat(fd).st_mode)
            if what:
                raise InputError(f"is {what}, not a {kind} file", path=path)
            raw = fh.read(max_bytes + 1)
    except FileNotFoundError:
        raise InputError("no such file", path=path) from None
    except IsADirectoryError:
        raise InputError(f"is a directory, not a {kind} file", path=path) from None
    except OSError as exc:
        raise InputError(f"cannot read: {exc.strerror}", path=path) from None
    return text_of(raw, path=path, max_bytes=max_bytes, kind=kind)


def text_of(raw: bytes, *, path: str, max_bytes: int, kind: str) -> str:
    """:func:`read_text`'s checks on bytes read elsewhere (standard input): at most
    ``max_bytes``, no NUL, UTF-8 or UTF-16 with its byte-order mark."""
    if len(raw) > max_bytes:
        raise InputError(
            f"file is larger than {max_bytes // 1_000_000} MB; a {kind} is a small text file",
            path=path,
        )
    encoding = "utf-16" if raw[:2] in (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE) else "utf-8-sig"
    if encoding != "utf-16" and b"\x00" in raw:
        raise InputError(f"file is binary (contains NUL bytes), not a {kind} file", path=path)
    try:
        text = raw.decode(encoding)
    except UnicodeDecodeError as exc:
        if encoding == "utf-16":
            raise InputError(
                f"file is not UTF-16 text (invalid byte at offset {exc.start})", path=path
            ) from None
        raise _not_utf8(raw, exc.start, path) from None
    if "\x00" in text:
        raise InputError(f"file holds NUL characters, not a {kind} file", path=path)
    return text


def _not_utf8(raw: bytes, start: int, path: str) -> InputError:
    """Where a file stops being UTF-8 (line and column of its first bad byte) and what it most
    likely is: text an older Windows tool saved as Windows-1252 (``ñ`` is the byte 0xF1)."""
    line_start = raw.rfind(b"\n", 0, start) + 1
    line = raw.count(b"\n", 0, start) + 1
    column = len(raw[line_start:start].decode("utf-8", errors="replace")) + 1
    byte = raw[start]
    try:
        raw.decode("cp1252")
        meant = bytes([byte]).decode("cp1252")
        hint = (
            f"it reads as Windows-1252 text (0x{byte:02X} is {meant!r} there): save it as "
            "UTF-8 (in most editors: Save As, encoding UTF-8) and plan again"
        )
    except UnicodeDecodeError:
        hint = "save it as UTF-8 (in most editors: Save As, encoding UTF-8) and plan again"
    return InputError(
        f"file is not UTF-8 text: byte 0x{byte:02X} at line {line}, column {column} is not "
        f"UTF-8; {hint}",
        path=path,
        line=line,
        column=column,
    )


def json_of(text: str, *, path: str, kind: str) -> Any:
    """The JSON document in ``text`` (a ``kind``: a request body, a saved plan), or an
    InputError placed where it stops being JSON (``file:line:column: error: ...``, as every
    error at a place in a file is), or saying that it nests deeper than any ``kind`` (Python's
    parser gives up about 1,000 levels down)."""
    try:
        return json.loads(text, parse_int=_bounded_int)
    except _LongInt as exc:
        line, column = _place_of_number(text, exc.digits)
        raise InputError(
            f"not JSON lipflow can read: an integer of {len(exc.digits.lstrip('-')):,} digits; "
            f"a number holds at most {_MAX_DIGITS:,} digits",
            path=path,
            line=line,
            column=column,
        ) from None
    except json.JSONDecodeError as exc:
        raise InputError(
            f"not JSON: {exc.msg}", path=path, line=exc.lineno, column=exc.colno
        ) from None
    except RecursionError:
        raise InputError(
            f"not JSON lipflow can read: nested about 1,000 levels deep (a {kind} is a few "
            "levels deep)",
            path=path,
        ) from None


# Python reads an integer of at most 4,300 digits from text (sys.get_int_max_str_digits()).
_MAX_DIGITS = 4300


class _LongInt(Exception):
    def __init__(self, digits: str) -> None:
        self.digits = digits


def _bounded_int(digits: str) -> int:
    """A JSON integer; one too long for Python to read is :class:`_LongInt`, so its place can
    be told (Python's own ValueError names neither)."""
    if len(digits) > _MAX_DIGITS + 1:  # + 1: a minus sign
        raise _LongInt(digits)
    try:
        return int(digits)
    except ValueError:
        raise _LongInt(digits) from None


def _place_of_number(text: str, digits: str) -> tuple[int, int]:
    """Line and column (from 1) where the number ``digits`` is written in ``text``."""
    found = re.search(r"(?<![\d.\w])" + re.escape(digits) + r"(?![\d.eE])", text)
    at = found.start() if found else max(text.find(digits), 0)
    line = text.count("\n", 0, at) + 1
    return line, at - (text.rfind("\n", 0, at) + 1) + 1


_JSON_VALUE = json.JSONDecoder(parse_int=_bounded_int)
_JSON_SPACE = re.compile(r"[ \t\n\r]*")


def json_position(text: str, path: tuple[PathPart, ...]) -> tuple[int, int] | None:
    """Line and column (from 1) where the value at ``path`` is written in the JSON ``text``
    (for a duplicate key, its last, the one a reader keeps), or None where ``path`` does not
    reach (a key missing): json.loads tells a value, never where it was read."""
    at = _past_space(text, 0)
    for part in path:
        found = None
        opening, closing = ("{", "}") if isinstance(part, str) else ("[", "]")
        if text[at : at + 1] != opening:
            return None
        at, index = at + 1, 0
        while text[(at := _past_space(text, at)) : at + 1] not in (closing, ""):
            if opening == "{":
                key, at = json.decoder.scanstring(text, at + 1)  # type: ignore[attr-defined]
                at = _past_space(text, _past_space(text, at) + 1)  # past the ':'
                found = at if key == part else found
            else:
                found = at if index == part else found
                index += 1
            at = _past_space(text, _JSON_VALUE.raw_decode(text, at)[1])
            at += text[at : at + 1] == ","
        if found is None:
            return None
        at = found
    line = text.count("\n", 0, at) + 1
    return line, at - (text.rfind("\n", 0, at) + 1) + 1


def _past_space(text: str, at: int) -> int:
    space = _JSON_SPACE.match(text, at)
    return space.end() if space else at

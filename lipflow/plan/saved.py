"""What a saved plan file (``lipflow plan --out``) must hold before lipflow reads it back: a
plan file is user input that may have been edited or forged, so each field lipflow reads or
prints is checked for its type first, and the names it prints (the recipe's file and name, job
ids, steps, providers, models, needs) for characters a terminal acts on instead of printing (an
ESC sequence, a carriage return, a bidi override), as a recipe's matrix is. The first field
that is not as ``lipflow plan`` writes it is told by its JSON path and what it should be."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Mapping
from typing import Any

from lipflow.errors import UsageError
from lipflow.jobs import PlannedJob, PlannedLine, StepChoice
from lipflow.problems import PathPart
from lipflow.recipe.source import unprintable_character

__all__ = [
    "MARK_BYTES",
    "UNREADABLE",
    "Misfit",
    "first_misfit",
    "is_saved_plan",
    "marked_as_plan",
    "printable_recipe_file",
    "unreadable_entry",
]

# (where in the plan, what is expected there and is not)
Misfit = tuple[tuple[PathPart, ...], str]
_Check = Callable[[Any], str | None]  # what is wrong with a value, or None

_DIGEST = re.compile(r"[0-9a-f]{64}")
# What a plan file begins with: `lipflow plan --out` writes "lipflow_plan": 1 as its first field.
_MARK = re.compile(rb'"lipflow_plan"\s*:\s*1(?![\d.eE])')
# How much of a file is looked at for that mark: a plan's first line or two.
MARK_BYTES = 4096
_PATH_MAX = 4096  # the longest path a system opens; a longer "file" names none


def marked_as_plan(head: bytes) -> bool:
    """Whether the first :data:`MARK_BYTES` of a file hold a saved plan's mark, so a file given
    where a recipe is read (any size: a video given by mistake too) is read as a plan only
    then."""
    return _MARK.search(head[:MARK_BYTES]) is not None


def is_saved_plan(raw: Any) -> bool:
    """Whether the JSON ``raw`` is a plan as ``lipflow plan --out`` saves one."""
    return isinstance(raw, Mapping) and raw.get("lipflow_plan") == 1


def printable_recipe_file(raw: Mapping[str, Any]) -> str | None:
    """The recipe file a saved plan ``raw`` was planned from, when it names one lipflow may
    print (a string, no character a terminal acts on); None when it does not."""
    recipe = raw.get("recipe")
    file = recipe.get("file") if isinstance(recipe, Mapping) else None
    plain = isinstance(file, str) and 0 < len(file) <= _PATH_MAX and _name(file) is None
    return file if plain else None


def first_misfit(raw: Any) -> Misfit | None:
    """The first place in a saved plan's JSON ``raw`` that is not as ``lipflow plan --out``
    writes it, or None."""
    return next(_misfits(raw), None)


def unreadable_entry(raw: Mapping[str, Any]) -> Misfit:
    """The first job, choice or line of a plan ``raw`` (one :func:`first_misfit` passes) that
    lipflow cannot read back, and why, in the words of the error reading it gave; the plan
    itself where none is (the error was elsewhere)."""
    readers: tuple[tuple[str, Callable[[Any], object]], ...] = (
        ("jobs", PlannedJob.from_json),
        ("choices", StepChoice.from_json),
        ("lines", PlannedLine.from_json),
    )
    for part, read in readers:
        for i, entry in enumerate(raw.get(part) or ()):
            try:
                read(entry)
            except UNREADABLE as exc:
                return (part, i), _why(exc)
    return (), "cannot be read back"


# What reading a plan's entry raises when the entry is not as `lipflow plan --out` writes it.
UNREADABLE = (KeyError, IndexError, TypeError, ValueError, AttributeError, UsageError)


def _why(exc: Exception) -> str:
    if isinstance(exc, KeyError):
        return f"has no field {exc.args[0]!r}"
    said = exc.message if isinstance(exc, UsageError) else str(exc)
    shown = repr(said)[1:-1]  # what a terminal would act on, escaped
    return f"cannot be read back ({shown[:200]}{'...' if len(shown) > 200 else ''})"


def _misfits(raw: Any) -> Iterator[Misfit]:
    if not isinstance(raw, Mapping):
        yield (), _expected("a JSON object (a plan as `lipflow plan --out` writes it)", raw)
        return
    if raw.get("lipflow_plan") != 1:
        yield ("lipflow_plan",), "should be 1 (a plan as `lipflow plan --out` writes it)"
    yield from _fields(raw, (), _PLAN)
    recipe = raw.get("recipe")
    if isinstance(recipe, Mapping):
        yield from _fields(recipe, ("recipe",), _RECIPE)
    for at, job in _entries(raw, "jobs"):
        yield from _fields(job, at, _JOB)
        for role, media in job["media"].items():  # an object: the misfits before are none
            yield from _fields(media, (*at, "media", role), _MEDIA)
        yield from _items(job.get("needs"), (*at, "needs"), _name)
    yield from _duplicate_job_ids(raw.get("jobs"))
    for part, fields in (("choices", _CHOICE), ("warnings", _PROBLEM), ("errors", _PROBLEM)):
        for at, entry in _entries(raw, part):
            yield from _fields(entry, at, fields)


def _fields(raw: Any, at: tuple[PathPart, ...], fields: Mapping[str, _Check]) -> Iterator[Misfit]:
    if not isinstance(raw, Mapping):
        yield at, _expected("a JSON object", raw)
        return
    for name, check in fields.items():
        wrong = check(raw.get(name)) if name in raw else _required(check)
        if wrong:
            yield (*at, name), wrong


def _entries(raw: Mapping[str, Any], part: str) -> Iterator[tuple[tuple[PathPart, ...], Any]]:
    """Each entry of the list ``raw[part]`` that is an object, with its path (one that is not
    an object is a misfit _fields tells)."""
    entries = raw.get(part)
    for i, entry in enumerate(entries if isinstance(entries, list) else ()):
        yield (part, i), entry
        if not isinstance(entry, Mapping):
            return


def _items(values: Any, at: tuple[PathPart, ...], check: _Check) -> Iterator[Misfit]:
    for i, value in enumerate(values if isinstance(values, list) else ()):
        wrong = check(value)
        if wrong:
            yield (*at, i), wrong


def _duplicate_job_ids(jobs: Any) -> Iterator[Misfit]:
    first: dict[str, int] = {}
    for i, job in enumerate(jobs if isinstance(jobs, list) else ()):
        job_id = job.get("id") if isinstance(job, Mapping) else None
        if isinstance(job_id, str) and first.setdefault(job_id, i) != i:
            yield ("jobs", i, "id"), f"is the id of $.jobs[{first[job_id]}] too: job ids are unique"


def _required(check: _Check) -> str | None:
    wrong = check(None)
    return None if wrong is None else "is missing; it " + wrong.removesuffix(", not null")


def _expected(what: str, value: Any) -> str:
    return f"should be {what}, not {_json_type(value)}"


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    kinds = ((str, "a string"), (int | float, "a number"), (list, "a list"), (Mapping, "an object"))
    return next(kind for types, kind in kinds if isinstance(value, types))


def _name(value: Any) -> str | None:
    """A name lipflow prints (a job id, a file): a string a terminal prints as written."""
    if not isinstance(value, str):
        return _expected("a string", value)
    found = unprintable_character(value)
    if found is None:
        return None
    at, char = found
    return (
        f"holds the character {char} at character {at + 1}: lipflow prints it, so it holds no "
        "control or invisible formatting character (a tab or a line break is fine)"
    )


def _text(value: Any) -> str | None:
    return None if isinstance(value, str) else _expected("a string", value)


def _digest(value: Any) -> str | None:
    if isinstance(value, str) and _DIGEST.fullmatch(value):
        return None
    return "should be the recipe's SHA-256 digest, 64 hexadecimal digits (0-9, a-f)"


def _object(value: Any) -> str | None:
    return None if isinstance(value, Mapping) else _expected("an object", value)


def _list(value: Any) -> str | None:
    return None if isinstance(value, list) else _expected("a list", value)


def _optional(check: _Check) -> _Check:
    return lambda value: None if value is None else check(value)


def _budget(value: Any) -> str | None:
    number = isinstance(value, int | float) and not isinstance(value, bool)
    return None if value is None or number else _expected("a number of US dollars or null", value)


def _media_value(value: Any) -> str | None:
    plain = isinstance(value, str | int) and not isinstance(value, bool)
    return None if plain else _expected("a string (a URL, a file, a media id) or a number", value)


def _severity(value: Any) -> str | None:
    return None if value in (None, "error", "warning") else 'should be "error" or "warning"'


_PLAN: Mapping[str, _Check] = {
    "recipe": _object,
    "budget_usd": _budget,
    "jobs": _list,
    "base_urls": _optional(_object),
    "choices": _optional(_list),
    "warnings": _optional(_list),
    "errors": _optional(_list),
    "lines": _optional(_list),
}
_RECIPE: Mapping[str, _Check] = {"file": _name, "digest": _digest, "name": _optional(_name)}
_JOB: Mapping[str, _Check] = {
    **{name: _name for name in ("id", "step", "action", "provider", "model", "model_id")},
    "task_uuid": _optional(_text),
    "media": _object,
    "params": _optional(_object),
    "options": _optional(_object),
    "needs": _list,
    "matrix": _optional(_object),
    "piece": _optional(_object),
    "key": _optional(_text),
    "requests": _optional(_list),
    "cost": _optional(_object),
}
_MEDIA: Mapping[str, _Check] = {
    "name": _text,
    "kind": _text,
    "origin": _text,
    "value": _media_value,
}
_CHOICE: Mapping[str, _Check] = {"step": _text, "model": _text, "reason": _text}
_PROBLEM: Mapping[str, _Check] = {"message": _text, "severity": _severity}

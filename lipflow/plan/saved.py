"""What a saved plan file (``lipflow plan --out``) must hold before lipflow reads it back: a
plan file is user input that may have been edited or forged, so each field lipflow reads or
prints is checked for its type first, an object read into one of lipflow's records (a job, a
media input, a piece, parameters) for fields it has not (named, with the nearest it has), and the
names it prints (the recipe's file and name, job ids, steps, providers, models, needs) for
characters a terminal acts on instead of printing (an ESC sequence, a carriage return, a bidi
override), as a recipe's matrix is. The first field that is not as ``lipflow plan`` writes it is
told by its JSON path and what it should be.

What lipflow reads back is what it compares with the recipe's plan now (the recipe, the run's
name and budget, every job's fields) and the plan's errors. The rest (:data:`FOR_REVIEW`, and
:data:`JOB_FOR_REVIEW` in each job: costs, totals, request bodies, base URLs, model choices,
dubbed lines) is what ``lipflow plan`` showed for review: the run plans, prices and builds its
requests again, so it is never read, an edit there changes nothing, and it is not checked."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import MISSING, fields
from typing import Any, NamedTuple

from lipflow.errors import UsageError
from lipflow.jobs import (
    PIECE_OLDER_CUTS,
    GenerateParams,
    Job,
    LipsyncParams,
    MediaRef,
    Piece,
    Plan,
    Segment,
    Speech,
)
from lipflow.problems import PathPart, did_you_mean
from lipflow.recipe.source import unprintable_character

__all__ = [
    "FOR_REVIEW",
    "JOB_FOR_REVIEW",
    "MARK_BYTES",
    "UNREADABLE",
    "Misfit",
    "first_misfit",
    "is_saved_plan",
    "marked_as_plan",
    "printable_recipe_file",
    "read_back",
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


# A saved plan's fields lipflow never reads back, at the top and in each job: what `lipflow plan`
# showed for review (the run plans, prices and builds its requests again).
FOR_REVIEW = frozenset(
    {
        "base_urls",
        "choices",
        "lines",
        "total_usd",
        "total_usd_low",
        "total_usd_high",
        "unpriced_jobs",
        "totals",
    }
)
JOB_FOR_REVIEW = frozenset({"requests", "cost"})


def read_back(raw: Mapping[str, Any]) -> Plan:
    """The plan a saved plan ``raw`` (one :func:`first_misfit` passes) asks for, read without
    what it holds for review only (:data:`FOR_REVIEW`, :data:`JOB_FOR_REVIEW`); raises one of
    :data:`UNREADABLE`."""
    jobs = [{k: v for k, v in job.items() if k not in JOB_FOR_REVIEW} for job in raw["jobs"]]
    return Plan.from_json({k: v for k, v in raw.items() if k not in FOR_REVIEW} | {"jobs": jobs})


def unreadable_entry(raw: Mapping[str, Any]) -> Misfit:
    """The first job of a plan ``raw`` (one :func:`first_misfit` passes) that lipflow cannot
    read back, and why, in the words of the error reading it gave; the plan itself where none
    is (the error was elsewhere). The checks before leave none that lipflow knows of: this
    places one they miss."""
    for i, entry in enumerate(raw.get("jobs") or ()):
        try:
            Job.from_json(entry)
        except UNREADABLE as exc:
            return ("jobs", i), _why(exc)
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
        yield from _record(job, at, _JOB)
        for role, media in job["media"].items():  # an object: the misfits before are none
            yield from _record(media, (*at, "media", role), _MEDIA)
        yield from _items(job.get("needs"), (*at, "needs"), _name)
        yield from _params(job, at)
        if job.get("piece") is not None:
            yield from _record(job["piece"], (*at, "piece"), _PIECE)
    yield from _duplicate_job_ids(raw.get("jobs"))
    for part in ("warnings", "errors"):
        for at, entry in _entries(raw, part):
            yield from _fields(entry, at, _PROBLEM)


class _Record(NamedTuple):
    """An object lipflow reads into one of its records by keyword: any other field is none of
    its, one without a default is required."""

    what: str  # as a message names it: "a media input"
    known: tuple[str, ...]
    required: frozenset[str]
    checks: Mapping[str, _Check]


def _record_of(
    cls: type,
    what: str,
    checks: Mapping[str, _Check] | None = None,
    for_review: frozenset[str] = frozenset(),
) -> _Record:
    """The record ``cls`` as a saved plan holds it, with the fields it holds beside the record's
    own ``for_review`` only (never read back, so any value passes)."""
    known = (*(f.name for f in fields(cls)), *sorted(for_review))
    required = frozenset(
        f.name for f in fields(cls) if f.default is MISSING and f.default_factory is MISSING
    )
    return _Record(what, known, required, checks or {})


def _record(raw: Any, at: tuple[PathPart, ...], record: _Record) -> Iterator[Misfit]:
    if not isinstance(raw, Mapping):
        yield at, _expected("a JSON object", raw)
        return
    for name in raw:
        if name not in record.known:
            yield _unknown_field(name, at, record)
    for name in record.known:
        if name in record.checks:
            yield from _fields(raw, at, {name: record.checks[name]})
        elif name in record.required and name not in raw:
            yield (*at, name), f"is missing: {record.what} has it"


def _unknown_field(name: str, at: tuple[PathPart, ...], record: _Record) -> Misfit:
    fields_are = f"(its fields: {', '.join(record.known)})"
    if len(name) > 200:  # a forged name is not printed whole: its object is said instead
        return (
            at,
            f"holds a field named in {len(name):,} characters, none of {record.what}'s {fields_are}",
        )
    hint = did_you_mean(name, record.known)
    return (*at, name), (
        f"is not a field of {record.what}{f', did you mean {hint!r}?' if hint else ''} {fields_are}"
    )


def _params(job: Mapping[str, Any], at: tuple[PathPart, ...]) -> Iterator[Misfit]:
    """A job's parameters, as lipflow reads them for its action (jobs.params_from_json)."""
    params, at = job.get("params") or {}, (*at, "params")
    if job["action"] != "lipsync":
        yield from _record(params, at, _GENERATE)
        return
    yield from _record(params, at, _LIPSYNC)
    if params.get("tts") is not None:
        yield from _record(params["tts"], (*at, "tts"), _SPEECH)
    for i, segment in enumerate(params.get("segments") or ()):
        yield from _record(segment, (*at, "segments", i), _SEGMENT)


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
    "warnings": _optional(_list),
    "errors": _optional(_list),
}
_RECIPE: Mapping[str, _Check] = {"file": _name, "digest": _digest, "name": _optional(_name)}
_JOB = _record_of(
    Job,
    "a job",
    {
        **{name: _name for name in ("id", "step", "action", "provider", "model", "model_id")},
        "task_uuid": _optional(_text),
        "media": _object,
        "params": _optional(_object),
        "options": _optional(_object),
        "needs": _list,
        "matrix": _optional(_object),
        "piece": _optional(_object),
        "key": _optional(_text),
    },
    for_review=JOB_FOR_REVIEW,
)
_MEDIA = _record_of(
    MediaRef,
    "a media input",
    {"name": _text, "kind": _text, "origin": _text, "value": _media_value},
)
_PIECE = _record_of(
    Piece,
    "a piece of a split lip sync",
    {"size": _list, **{name: _optional(_list) for name in PIECE_OLDER_CUTS}},
)
_LIPSYNC = _record_of(
    LipsyncParams,
    "a lip sync's parameters",
    {"tts": _optional(_object), "segments": _optional(_list)},
)
_SPEECH = _record_of(Speech, "a text to speech")
_SEGMENT = _record_of(Segment, "a segment")
_GENERATE = _record_of(GenerateParams, "a video generation's parameters")
_PROBLEM: Mapping[str, _Check] = {
    "message": _text,
    "severity": _severity,
    "context": _optional(_object),
}

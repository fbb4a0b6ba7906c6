"""What a step's matrix may name: its keys and values make its jobs' ids (``dub[lang=fr]``),
which every progress line, report and error prints, so none may hold a character a terminal
acts on instead of printing (an ESC sequence rewriting the screen, a carriage return writing over
the line, a bidi override reordering it): such a recipe is refused at the key or value, as a
control character in a text is. A tab or a line break, which a text may hold, is printed."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from lipflow.problems import PathPart, Problem
from lipflow.recipe.source import SourceMap, unprintable_character

__all__ = ["matrix_name_problems"]


def matrix_name_problems(data: Mapping[str, Any], smap: SourceMap) -> list[Problem]:
    """A problem at every matrix key and text value (of an axis or an ``include`` entry) that
    holds an unprintable character, naming the character, never showing it."""
    steps = data.get("steps")
    if not isinstance(steps, Mapping):
        return []
    problems = []
    for step_id, spec in steps.items():
        matrix = spec.get("matrix") if isinstance(spec, Mapping) else None
        if not isinstance(matrix, Mapping):
            continue
        for path, text, is_key in _names(matrix, ("steps", step_id, "matrix")):
            found = unprintable_character(text)
            if found is None:
                continue
            at, name = found
            what = "matrix key" if is_key else "matrix value"
            problems.append(
                Problem(
                    message=f"the {what} holds the character {name} at character {at + 1}: "
                    f"matrix keys and values name the step's jobs ({step_id}[key=value]), "
                    "which lipflow prints, so they hold no control or invisible formatting "
                    "character (a tab or a line break is fine); remove it",
                    path=path,
                    location=smap.locate(path, key=is_key),
                    code="unprintable-job-id",
                )
            )
    return problems


def _names(
    matrix: Mapping[str, Any], base: tuple[PathPart, ...]
) -> Iterator[tuple[tuple[PathPart, ...], str, bool]]:
    """Each text in ``matrix`` that goes into a job id: (its path, the text, whether a key)."""
    for axis, values in matrix.items():
        if axis == "exclude":
            continue  # it removes combinations, names none
        if axis == "include":
            entries = values if isinstance(values, list) else []
            for i, entry in enumerate(entries):
                if isinstance(entry, Mapping):
                    yield from _entry(entry, (*base, "include", i))
            continue
        yield (*base, axis), str(axis), True
        for i, value in enumerate(values if isinstance(values, list) else []):
            if isinstance(value, str):
                yield (*base, axis, i), value, False


def _entry(
    entry: Mapping[str, Any], base: tuple[PathPart, ...]
) -> Iterator[tuple[tuple[PathPart, ...], str, bool]]:
    for key, value in entry.items():
        yield (*base, key), str(key), True
        if isinstance(value, str):
            yield (*base, key), value, False

"""Problems are data: every check returns them, reporters render them.

A :class:`Problem` says where (file, line, column of the recipe text, and the JSON path inside
the object checked), what is wrong, what is allowed, and the nearest valid value when there is
one. Checks collect problems instead of raising, so one ``validate`` shows everything.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from enum import Enum
from typing import Any

from lipflow.errors import UsageError

__all__ = [
    "UNREADABLE",
    "Location",
    "Problem",
    "Severity",
    "did_you_mean",
    "exit_code_of",
    "format_path",
    "has_errors",
    "unknown_name",
]

PathPart = str | int


class Severity(str, Enum):
    ERROR = "error"
    WARNING = "warning"


@dataclass(frozen=True, slots=True)
class Location:
    """A place in a source text; line and column are 1-based, as editors show them."""

    file: str
    line: int | None = None
    column: int | None = None

    def __str__(self) -> str:
        parts = [self.file]
        if self.line is not None:
            parts.append(str(self.line))
            if self.column is not None:
                parts.append(str(self.column))
        return ":".join(parts)


@dataclass(frozen=True, slots=True, kw_only=True)
class Problem:
    """One thing wrong (or worth a warning) with a recipe, a job or a provider request."""

    message: str
    path: tuple[PathPart, ...] = ()
    severity: Severity = Severity.ERROR
    code: str = "invalid"
    location: Location | None = None
    suggestion: str | None = None
    source: str | None = None  # the doc a rule comes from, e.g. its URL with the section anchor
    context: tuple[tuple[str, str], ...] = field(default=())  # e.g. (("job", "dub[lang=es]"),)

    @property
    def is_error(self) -> bool:
        return self.severity is Severity.ERROR

    @property
    def json_path(self) -> str:
        return format_path(self.path)

    @property
    def field_name(self) -> str | None:
        """The last named key on the path: what a user calls 'the field'."""
        for part in reversed(self.path):
            if isinstance(part, str):
                return part
        return None

    def at(self, location: Location | None, *, prefix: Sequence[PathPart] = ()) -> Problem:
        """The same problem placed in a recipe file, its path nested under ``prefix``."""
        return replace(self, location=location or self.location, path=(*prefix, *self.path))

    def with_context(self, **items: str) -> Problem:
        return replace(self, context=(*self.context, *items.items()))

    def format(self) -> str:
        where = f"{self.location}: " if self.location else ""
        ctx = "".join(f" [{k} {v}]" for k, v in self.context)
        path = f" at {self.json_path}" if self.path else ""
        hint = f"; did you mean {self.suggestion!r}?" if self.suggestion else ""
        return f"{where}{self.severity.value}{ctx}{path}: {self.message}{hint}"

    def to_json(self) -> dict[str, Any]:
        loc = self.location
        return {
            "severity": self.severity.value,
            "code": self.code,
            "message": self.message,
            "path": self.json_path,
            "field": self.field_name,
            "file": loc.file if loc else None,
            "line": loc.line if loc else None,
            "column": loc.column if loc else None,
            "suggestion": self.suggestion,
            "source": self.source,
            "context": dict(self.context),
        }


def format_path(path: Iterable[PathPart]) -> str:
    """``('providerSettings', 'sync', 'segments', 0, 'endTime')`` → ``$.providerSettings.sync.segments[0].endTime``."""
    out = "$"
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        elif part.isidentifier():
            out += f".{part}"
        else:
            out += f"[{part!r}]"
    return out


def did_you_mean(value: object, choices: Iterable[object], *, cutoff: float = 0.6) -> str | None:
    """The nearest valid choice to a wrong value, compared case-insensitively, or None."""
    if not isinstance(value, str | int | float):
        return None
    options = [c for c in choices if isinstance(c, str | int | float)]
    by_folded = {str(c).casefold(): c for c in options}
    wanted = str(value).casefold()
    if wanted in by_folded:
        return str(by_folded[wanted])
    if wanted.isdigit():
        return None  # ids that are numbers are near each other by accident ("15" is not "5")
    # A prefix is a strong hint ("crane_u" -> "crane_up"), stronger than edit distance.
    prefixed = [c for c in by_folded if len(wanted) >= 3 and c.startswith(wanted)]
    if len(prefixed) == 1:
        return str(by_folded[prefixed[0]])
    import difflib  # only for a wrong value: a valid recipe's check never loads it

    close = difflib.get_close_matches(wanted, list(by_folded), n=1, cutoff=cutoff)
    return str(by_folded[close[0]]) if close else None


def has_errors(problems: Iterable[Problem]) -> bool:
    return any(p.is_error for p in problems)


# The code of a problem that is a file lipflow cannot read (missing, binary, not UTF-8, too
# large): the CLI exits 2 for it, as for any unreadable input, not 1 as for an invalid recipe.
UNREADABLE = "unreadable"


def exit_code_of(problems: Iterable[Problem]) -> int:
    """0 without errors, 2 when one is a file that cannot be read, else 1 (README's table)."""
    errors = [p for p in problems if p.is_error]
    if not errors:
        return 0
    return 2 if any(p.code == UNREADABLE for p in errors) else 1


def unknown_name(kind: str, value: str, choices: Iterable[str]) -> UsageError:
    """The error for a name lipflow does not know: the valid ones, and the nearest of them."""
    known = list(choices)
    hint = did_you_mean(value, known)
    return UsageError(
        f"unknown {kind} {value!r}; known: {', '.join(map(str, known))}"
        + (f"; did you mean {hint!r}?" if hint else "")
    )

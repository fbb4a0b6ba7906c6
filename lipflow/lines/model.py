"""A line to dub: a time range of the video, the words spoken in it, and who speaks them."""

from __future__ import annotations

import itertools
from dataclasses import dataclass

from lipflow.problems import Location, Problem, Severity

__all__ = [
    "Line",
    "LinesFile",
    "overlap_problems",
    "stamp_range_problem",
    "timing_problem",
    "unspeakable",
]


@dataclass(frozen=True, slots=True, kw_only=True)
class Line:
    """One cue of a subtitle file or one row of a script, with its place in that file."""

    number: int  # 1-based position among the file's lines (the cue number a producer sees)
    start: float  # seconds into the video
    end: float
    text: str  # what is spoken, without a speaker prefix
    location: Location  # es.srt:42 (the cue's timing line) or lines.csv:17:3
    speaker: str | None = None
    voice: str | None = None  # a voice named by the line itself (a script's voice column)

    @property
    def slot(self) -> float:
        """The seconds the line has in the video."""
        return round(self.end - self.start, 3)


@dataclass(frozen=True, slots=True, kw_only=True)
class LinesFile:
    """Every line read from one file, and every problem found reading it."""

    path: str  # as shown in messages
    lines: tuple[Line, ...]
    problems: tuple[Problem, ...] = ()

    @property
    def speakers(self) -> list[str]:
        """The speakers named in the file, in order of first appearance."""
        return list(dict.fromkeys(line.speaker for line in self.lines if line.speaker))


def overlap_problems(lines: tuple[Line, ...]) -> list[Problem]:
    """A line that starts before the one before it (in time) ends: one mouth, one line at a time."""
    problems = []
    ordered = sorted(lines, key=lambda line: (line.start, line.number))
    for before, line in itertools.pairwise(ordered):
        if line.start < before.end - 1e-6:
            problems.append(
                Problem(
                    message=f"line starts at {line.start:.3f} s, before the line at "
                    f"{before.location} ends ({before.end:.3f} s); the lines of one video "
                    "must not overlap",
                    location=line.location,
                    code="lines-overlap",
                )
            )
    return problems


def unspeakable(
    what: str,
    start: float,
    end: float,
    words: str,
    where: Location,
    *,
    end_at: Location | None = None,
) -> Problem | None:
    """Why a subtitle's ``what`` (a cue, a line) is no line to dub, or None: it ends when or before
    it starts (an error at ``end_at``, else ``where``), or it has no words (a warning: it is
    left out, as a cue that only times a pause is)."""
    if end <= start:
        return Problem(
            message=f"{what} ends at {end:.3f} s, not after its start {start:.3f} s",
            location=end_at or where,
            code="lines-timing",
        )
    if not words:
        return Problem(
            message=f"{what} has no text; nothing to dub, it is left out",
            location=where,
            severity=Severity.WARNING,
            code="lines-empty",
        )
    return None


def stamp_range_problem(stamp: str, minutes: int, seconds: int) -> str | None:
    """Why ``stamp`` is no time when its minutes or seconds are 60 or more (``00:61:99``), else
    None: read as written it would be another time (01:02:39), and the cue out of place."""
    named = (("minutes", minutes), ("seconds", seconds))
    out = [f"{name} ({value})" for name, value in named if value >= 60]
    if not out:
        return None
    return f"{stamp!r} is not a time: its {' and '.join(out)} are out of range: each runs 00-59"


def timing_problem(message: str, where: Location) -> Problem:
    """A cue's timing that is no time range (``message`` says why), at ``where``: an error,
    and the cue is left out (its text at some other time would be lip-synced out of place)."""
    return Problem(message=message, location=where, code="lines-timing")

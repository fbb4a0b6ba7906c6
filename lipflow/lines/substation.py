"""SubStation Alpha (``.ssa``) and Advanced SubStation Alpha (``.ass``) dialogue as lines.

Each ``Dialogue:`` line of the ``[Events]`` section is a line, at its line in the file; its
``Name`` field (the actor) is its speaker, and its text is read as a player shows it through
pysubs2's event model (override tags such as ``{\\i1}`` dropped, ``\\N`` a line break), drawings
(``{\\p1}m 0 0 l ...``) left out. ``Comment:`` lines are notes, not dialogue. The fields are read
line by line, not through pysubs2's file reader, which stops at the first timestamp it cannot
read and says nowhere where: here each bad line is a problem at its line and column, and left out.
The layout (``Marked`` or ``Layer``, Start, End, Style, Name, margins, Effect, Text) is the one
the format defines (https://github.com/libass/libass/wiki/ASS-File-Format-Guide).
"""

from __future__ import annotations

import re

from lipflow.lines.model import Line, LinesFile, stamp_range_problem, timing_problem, unspeakable
from lipflow.problems import Location, Problem

__all__ = ["parse_substation"]

_FIELDS = 10  # Layer/Marked, Start, End, Style, Name, MarginL, MarginR, MarginV, Effect, Text
_START, _END, _NAME = 1, 2, 4
_TIME = re.compile(r"^(\d+):(\d{1,2}):(\d{1,2})(?:[.,](\d{1,3}))?$")
# A drawing: from a {\p1} (any scale) to {\p0} or the end of the text. Its text is vector
# commands ("m 0 0 l 100 0"), not words.
_DRAWING = re.compile(r"\{[^}]*\\p[1-9][^}]*\}.*?(?:\{[^}]*\\p0[^}]*\}|$)", re.S)


def parse_substation(text: str, file: str) -> LinesFile:
    """The dialogue of an ASS or SSA text, each at its ``Dialogue:`` line."""
    from pysubs2 import SSAEvent  # here: a recipe without subtitle files never loads it

    problems: list[Problem] = []
    lines: list[Line] = []
    in_events = False
    dialogues = 0
    for number, raw in enumerate(text.lstrip("\ufeff").splitlines(), 1):
        stripped = raw.strip()
        if stripped.startswith("[") and stripped.endswith("]"):
            in_events = stripped.casefold() == "[events]"
            continue
        kind = stripped.split(":", 1)[0]
        if not in_events or kind != "Dialogue":
            continue  # a Comment: line is a note; the Format: line names the fixed layout
        dialogues += 1
        indent = len(raw) - len(raw.lstrip())
        body_at = indent + len("Dialogue:")
        fields = raw[body_at:].split(",", _FIELDS - 1)
        if len(fields) < _FIELDS:
            problems.append(
                timing_problem(
                    f"a Dialogue line has {len(fields)} fields, not {_FIELDS} (Layer, Start, "
                    "End, Style, Name, MarginL, MarginR, MarginV, Effect, Text); the line is "
                    "left out",
                    Location(file, number, 1),
                )
            )
            continue
        columns = [body_at + 1]
        for value in fields[:-1]:
            columns.append(columns[-1] + len(value) + 1)
        times: list[float] = []
        for at in (_START, _END):
            value = fields[at].strip()
            column = columns[at] + len(fields[at]) - len(fields[at].lstrip())
            seconds, why = _seconds(value)
            if why is not None:
                what = "start" if at == _START else "end"
                where = Location(file, number, column)
                problems.append(timing_problem(f"{what} {why}; the line is left out", where))
                break
            times.append(seconds)
        if len(times) < 2:
            continue
        where = Location(file, number, columns[-1])
        start, end = times
        words = " ".join(SSAEvent(text=_DRAWING.sub("", fields[-1])).plaintext.split())
        end_at = Location(file, number, columns[_END])
        refused = unspeakable("the line", start, end, words, where, end_at=end_at)
        if refused is not None:
            problems.append(refused)
            continue
        lines.append(
            Line(
                number=dialogues,
                start=start,
                end=end,
                text=words,
                location=where,
                speaker=fields[_NAME].strip() or None,
            )
        )
    if not dialogues and not problems:
        problems.append(
            Problem(
                message="no dialogue found (a SubStation line to dub is a 'Dialogue:' line "
                "under [Events])",
                location=Location(file, 1, 1),
                code="lines-empty",
            )
        )
    return LinesFile(path=file, lines=tuple(lines), problems=tuple(problems))


def _seconds(value: str) -> tuple[float, str | None]:
    """A SubStation time (``H:MM:SS.cc``) in seconds, or why it is none."""
    match = _TIME.match(value)
    if match is None:
        return 0.0, f"{value!r} is not a time (H:MM:SS.cc, e.g. 0:00:01.50)"
    hours, minutes, secs, frac = match.groups()
    why = stamp_range_problem(value, int(minutes), int(secs))
    if why is not None:
        return 0.0, why
    fraction = int(frac) / 10 ** len(frac) if frac else 0.0
    return int(hours) * 3600 + int(minutes) * 60 + int(secs) + fraction, None

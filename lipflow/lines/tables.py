"""Scripts as tables: CSV or TSV with a header row naming start, end, text and optionally speaker
and voice (common spellings accepted), times in seconds or as HH:MM:SS.mmm. Every problem is
placed at its row and column: ``lines.csv:17:3``."""

from __future__ import annotations

import csv
import re

from lipflow.lines.model import Line, LinesFile, stamp_range_problem
from lipflow.problems import Location, Problem, Severity, did_you_mean

__all__ = ["COLUMNS", "parse_table", "parse_time"]

# Each column lipflow reads, and the header spellings taken for it (compared case-insensitively,
# ignoring spaces, dashes, underscores and a unit in parentheses).
COLUMNS: dict[str, tuple[str, ...]] = {
    "start": ("start", "starttime", "begin", "in", "from", "timein", "tcin"),
    "end": ("end", "endtime", "stop", "out", "to", "timeout", "tcout"),
    "text": ("text", "line", "dialogue", "dialog", "translation", "subtitle", "script"),
    "speaker": ("speaker", "character", "who", "role", "name"),
    "voice": ("voice", "voiceid", "ttsvoice"),
}
REQUIRED = ("start", "end", "text")

_TIME = re.compile(r"^(?:(\d+):)?(\d{1,2}):(\d{1,2}(?:[.,]\d+)?)$")


def _key(header: str) -> str:
    header = re.sub(r"\(.*?\)", "", header.strip().lstrip("\ufeff"))
    return re.sub(r"[\s_\-.]", "", header).casefold()


def parse_time(value: str) -> float | None:
    """Seconds from ``12.5``, ``12,5``, ``00:00:12.500``, ``0:12,5`` or ``1:02:03.25``; None if
    it is none of these."""
    value = value.strip()
    try:
        seconds = float(value.replace(",", "."))
    except ValueError:
        match = _TIME.match(value)
        if not match:
            return None
        hours, minutes, secs = match.groups()
        if int(minutes) >= 60 or float(secs.replace(",", ".")) >= 60:
            return None
        seconds = int(hours or 0) * 3600 + int(minutes) * 60 + float(secs.replace(",", "."))
    if seconds != seconds or seconds in (float("inf"), float("-inf")):  # nan, inf
        return None
    return seconds


def parse_table(text: str, file: str, *, delimiter: str | None = None) -> LinesFile:
    """The rows of a CSV (``,`` or ``;``, sniffed) or TSV (``delimiter='\\t'``) script."""
    text = text.lstrip("\ufeff")
    if delimiter is None:
        first = text.split("\n", 1)[0]
        delimiter = max((",", ";", "\t"), key=first.count)
    reader = csv.reader(text.splitlines(keepends=True), delimiter=delimiter)
    problems: list[Problem] = []
    try:
        header = next(reader, None)
    except csv.Error as exc:
        return _failed(file, f"the header row is not {_kind(delimiter)}: {exc}")
    if not header or not any(h.strip() for h in header):
        return _failed(file, "no header row; the first row names the columns start, end, text")
    columns: dict[str, int] = {}
    for i, name in enumerate(header):
        key = _key(name)
        for column, spellings in COLUMNS.items():
            if key in spellings and column not in columns:
                columns[column] = i
    missing = [c for c in REQUIRED if c not in columns]
    if missing:
        found = ", ".join(repr(h) for h in header)
        for column in missing:
            near = did_you_mean(column, [h.strip() for h in header if _key(h) not in _TAKEN])
            problems.append(
                Problem(
                    message=f"no {column!r} column; the header has {found} "
                    f"(a {column} column may be called {', '.join(COLUMNS[column][:3])})",
                    location=Location(file, 1, 1),
                    suggestion=near,
                    code="lines-header",
                )
            )
        return LinesFile(path=file, lines=(), problems=tuple(problems))
    lines: list[Line] = []
    rows = 0
    try:
        for row in reader:
            row_no = reader.line_num
            if not any(cell.strip() for cell in row):
                continue
            rows += 1
            line = _row(row, row_no, file, columns, rows, problems)
            if line is not None:
                lines.append(line)
    except csv.Error as exc:
        problems.append(
            Problem(
                message=f"not {_kind(delimiter)}: {exc}",
                location=Location(file, reader.line_num),
                code="lines-table",
            )
        )
    if not lines and not problems:
        problems.append(
            Problem(
                message="no rows under the header",
                location=Location(file, 2, 1),
                code="lines-empty",
            )
        )
    return LinesFile(path=file, lines=tuple(lines), problems=tuple(problems))


_TAKEN = frozenset(s for spellings in COLUMNS.values() for s in spellings)


def _kind(delimiter: str) -> str:
    return "TSV" if delimiter == "\t" else "CSV"


def _failed(file: str, message: str) -> LinesFile:
    return LinesFile(
        path=file,
        lines=(),
        problems=(Problem(message=message, location=Location(file, 1, 1), code="lines-header"),),
    )


def _row(
    row: list[str],
    row_no: int,
    file: str,
    columns: dict[str, int],
    number: int,
    problems: list[Problem],
) -> Line | None:
    def cell(column: str) -> str:
        i = columns.get(column)
        return row[i].strip() if i is not None and i < len(row) else ""

    def at(column: str) -> Location:
        return Location(file, row_no, columns[column] + 1)

    before = len(problems)
    times: dict[str, float] = {}
    for column in ("start", "end"):
        raw = cell(column)
        seconds = parse_time(raw)
        if seconds is None or seconds < 0:
            why = f"{raw!r} is not a time: write seconds (12.5) or HH:MM:SS.mmm (00:00:12.500)"
            if clock := _TIME.match(raw):  # 00:61:99: a clock time, its minutes past 59
                secs = int(float(clock.group(3).replace(",", ".")))
                why = stamp_range_problem(raw, int(clock.group(2)), secs) or why
            problems.append(
                Problem(
                    message=f"{column} {why}",
                    location=at(column),
                    code="lines-time",
                )
            )
        else:
            times[column] = seconds
    if len(times) == 2 and times["end"] <= times["start"]:
        problems.append(
            Problem(
                message=f"end {times['end']:g} s is not after start {times['start']:g} s",
                location=at("end"),
                code="lines-time",
            )
        )
    text = " ".join(cell("text").split())
    if not text and len(problems) == before:
        problems.append(
            Problem(
                message="the text is empty; nothing to dub, the row is left out",
                location=at("text"),
                severity=Severity.WARNING,
                code="lines-empty",
            )
        )
        return None
    if len(problems) > before:
        return None
    return Line(
        number=number,
        start=times["start"],
        end=times["end"],
        text=text,
        location=Location(file, row_no, columns["text"] + 1),
        speaker=cell("speaker") or None,
        voice=cell("voice") or None,
    )

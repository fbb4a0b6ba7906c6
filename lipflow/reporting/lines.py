"""The lines of a dub as a producer reviews them before paying: one row per cue with who says
what in which voice, the slot, the speech's estimated length, whether it fits, and its cost.
As a text table, CSV (for a spreadsheet) or JSON; the plan's problems come with each, located."""

from __future__ import annotations

import csv
import io
import json
import os
from collections.abc import Callable, Sequence

from lipflow.jobs import Plan, PlannedLine, dollars
from lipflow.problems import Problem, unknown_name

__all__ = ["LINE_REPORTERS", "report_lines"]

CSV_COLUMNS = (
    "step",
    "cue",
    "location",
    "start",
    "end",
    "slot",
    "speaker",
    "voice",
    "text",
    "estimate_low",
    "estimate_high",
    "fit",
    "fit_note",
    "usd_low",
    "usd_high",
    "job",
)
_TEXT_WIDTH = 48
# A text cell a spreadsheet would read as a formula (OWASP "CSV Injection"): a subtitle is
# someone else's text, and =HYPERLINK(...) in a cue must stay text when the table is opened.
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def _cell(value: object) -> object:
    """A CSV cell: text that starts like a formula gets a leading ``'`` (shown as text by
    Excel, LibreOffice and Sheets); numbers, even negative ones, are written as they are."""
    if isinstance(value, str) and value.startswith(_FORMULA_STARTS):
        return "'" + value
    return value


def _usd(low: float | None, high: float | None) -> str:
    if low is None or high is None:
        return "unpriced"
    if abs(high - low) < 5e-5:
        return dollars(low)
    return f"{dollars(low)}-{dollars(high)[1:]}"


def _short(text: str) -> str:
    return text if len(text) <= _TEXT_WIDTH else text[: _TEXT_WIDTH - 3] + "..."


def _text(plan: Plan, problems: Sequence[Problem]) -> str:
    header = ("cue", "where", "speaker", "voice", "slot", "estimate", "fit", "cost", "text")
    rows = [header]
    for line in plan.lines:
        rows.append(
            (
                str(line.cue),
                _where(line),
                line.speaker or "-",
                line.voice or "-",
                f"{line.slot:.1f} s",
                _estimate(line),
                line.fit_note,
                _usd(line.usd_low, line.usd_high),
                _short(line.text),
            )
        )
    widths = [max(len(row[i]) for row in rows) for i in range(len(header) - 1)]
    out = [f"Lines of {plan.recipe_file} ({len(plan.lines)} line(s))", ""]
    if not plan.lines and not problems:
        out.append("no step dubs from lines: a lip sync names an input of lines with `lines:`")
        return "\n".join(out)
    for row in rows:
        cells = [cell.ljust(widths[j]) for j, cell in enumerate(row[:-1])]
        out.append("  ".join([*cells, row[-1]]).rstrip())
    counts = {s: sum(line.fit == s for line in plan.lines) for s in ("fits", "handled", "misfit")}
    low = sum(line.usd_low or 0.0 for line in plan.lines)
    high = sum(line.usd_high or 0.0 for line in plan.lines)
    out.append("")
    out.append(
        f"{counts['fits']} fit, {counts['handled']} handled by the provider's mode, "
        f"{counts['misfit']} do not fit; lines cost {_usd(low, high)}"
    )
    if problems:
        out.append("")
        out.extend(p.format() for p in problems)
    return "\n".join(out)


def _where(line: PlannedLine) -> str:
    return os.path.basename(line.location)


def _estimate(line: PlannedLine) -> str:
    if abs(line.estimate_high - line.estimate_low) < 0.05:
        return f"{line.estimate_low:.1f} s"
    return f"{line.estimate_low:.1f}-{line.estimate_high:.1f} s"


def _csv(plan: Plan, problems: Sequence[Problem]) -> str:
    """One row per line, and a ``problems`` column with that line's located problems; every
    text cell goes through :func:`_cell`, so no line's text runs as a spreadsheet formula."""
    by_location: dict[str, list[str]] = {}
    for p in problems:
        if p.location is not None:
            by_location.setdefault(str(p.location), []).append(p.format())
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow([*CSV_COLUMNS, "problems"])
    for line in plan.lines:
        data = line.to_json()
        row = [data[c] if data[c] is not None else "" for c in CSV_COLUMNS]
        whole = [*row, " | ".join(by_location.pop(line.location, []))]
        writer.writerow([_cell(c) for c in whole])
    # Problems no line row holds (a cue left out, a recipe error) get rows of their own.
    for p in problems:
        if p.location is None or str(p.location) in by_location:
            cells = {"location": str(p.location or ""), "fit": p.severity.value}
            own = [*(cells.get(c, "") for c in CSV_COLUMNS), p.format()]
            writer.writerow([_cell(c) for c in own])
    return buf.getvalue().rstrip("\n")


def _json(plan: Plan, problems: Sequence[Problem]) -> str:
    return json.dumps(
        {
            "recipe": plan.recipe_file,
            "lines": [line.to_json() for line in plan.lines],
            "problems": [p.to_json() for p in problems],
        },
        indent=2,
        ensure_ascii=False,
    )


LINE_REPORTERS: dict[str, Callable[[Plan, Sequence[Problem]], str]] = {
    "text": _text,
    "csv": _csv,
    "json": _json,
}


def report_lines(fmt: str, plan: Plan) -> str:
    """The plan's line table in ``fmt`` (text, csv or json), with the plan's problems."""
    try:
        reporter = LINE_REPORTERS[fmt]
    except KeyError:
        raise unknown_name("format", fmt, LINE_REPORTERS) from None
    return reporter(plan, plan.problems)

"""Reading a lines file: the format from its name (or its first bytes), bounded in size."""

from __future__ import annotations

import os
from dataclasses import replace

from lipflow.lines.model import LinesFile, overlap_problems
from lipflow.lines.substation import parse_substation
from lipflow.lines.subtitles import parse_subtitles
from lipflow.lines.tables import parse_table
from lipflow.problems import Location, Problem
from lipflow.recipe.source import control_character, read_text

__all__ = ["FORMATS", "MAX_LINES_BYTES", "read_lines"]

# A subtitle file of a feature film is about 100 KB; ten times that is not a file of lines.
MAX_LINES_BYTES = 5_000_000

FORMATS = {
    ".srt": "srt",
    ".vtt": "vtt",
    ".ass": "ass",
    ".ssa": "ass",
    ".csv": "csv",
    ".tsv": "tsv",
    ".tab": "tsv",
}


def read_lines(path: str, *, shown_as: str | None = None) -> LinesFile:
    """The lines of the subtitle file or script at ``path`` (``shown_as`` names it in messages).

    Raises InputError when the file cannot be read as text; problems inside it (a broken cue, a
    bad time) come back in ``LinesFile.problems`` with their line and column.
    """
    text = read_text(path, max_bytes=MAX_LINES_BYTES, kind="subtitle or script")
    name = shown_as or path
    fmt = FORMATS.get(os.path.splitext(path)[1].lower()) or _sniff(text)
    if fmt in ("srt", "vtt"):
        parsed = parse_subtitles(text, name, fmt=fmt)
    elif fmt == "ass":
        parsed = parse_substation(text, name)
    else:
        parsed = parse_table(text, name, delimiter="\t" if fmt == "tsv" else None)
    controls = _control_characters(text, name)
    if controls:  # said here, at the file's line: its cues are left out, not said again
        parsed = replace(
            parsed, lines=tuple(ln for ln in parsed.lines if control_character(ln.text) is None)
        )
    found = (*controls, *overlap_problems(parsed.lines))
    return replace(parsed, problems=(*parsed.problems, *found)) if found else parsed


def _control_characters(text: str, name: str) -> list[Problem]:
    """A problem on each line holding a control character (a BEL pasted into a cue): it would
    reach the provider's text-to-speech in the line's text."""
    if control_character(text) is None:
        return []
    problems = []
    for number, line in enumerate(text.split("\n"), 1):
        found = control_character(line)
        if found is not None:
            at, char = found
            problems.append(
                Problem(
                    message=f"the line holds the control character {char}, which no voice "
                    "speaks: remove it",
                    location=Location(name, number, at + 1),
                    code="control-character",
                )
            )
    return problems


def _sniff(text: str) -> str:
    head = text.lstrip()
    if head.startswith("WEBVTT"):
        return "vtt"
    if head.startswith("[Script Info]"):
        return "ass"
    if "-->" in text[:5000]:
        return "srt"
    return "tsv" if "\t" in text.split("\n", 1)[0] else "csv"

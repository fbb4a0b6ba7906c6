"""SRT and WebVTT cues as lines, read leniently with pysubs2 (MIT, well kept): a byte-order mark,
``,`` or ``.`` before the milliseconds and missing cue numbers are all fine. What pysubs2 passes
over silently (a timing line it cannot read, an end before its start) is a located problem here.
"""

from __future__ import annotations

import re

from lipflow.lines.model import Line, LinesFile
from lipflow.problems import Location, Problem, Severity

__all__ = ["parse_subtitles"]

# Both formats' timestamps, hours optional, either decimal mark: what pysubs2 accepts, and the
# WebVTT short form (mm:ss.ttt) that its SRT reader would not.
_STAMP = re.compile(r"(?:(\d{1,4}):)?(\d{1,2}):(\d{1,2})[.,](\d{1,3})")
_ARROW = "-->"
_VTT_BLOCKS = ("NOTE", "STYLE", "REGION", "WEBVTT")
_VOICE_SPAN = re.compile(r"^\s*<v(?:\.[\w.-]+)?\s+([^>]+?)\s*>")


def parse_subtitles(text: str, file: str, *, fmt: str) -> LinesFile:
    """The cues of an SRT (``fmt='srt'``) or WebVTT (``'vtt'``) text, each at its timing line."""
    import pysubs2  # here: a recipe without subtitle files never loads it

    text = text.lstrip("\ufeff")
    problems: list[Problem] = []
    timing_lines: list[tuple[int, int]] = []  # (line number, cue number) of each readable cue
    cues = 0
    for number, raw in enumerate(text.splitlines(), 1):
        if _ARROW not in raw:
            continue
        cues += 1
        if _timing(raw) is None:
            problems.append(
                Problem(
                    message=f"cue timing {raw.strip()!r} is not START --> END, each a time "
                    "from 0 (e.g. 00:00:01,500 --> 00:00:03,000); the cue is left out",
                    location=Location(file, number, raw.index(_ARROW) + 1),
                    code="lines-timing",
                )
            )
            continue
        timing_lines.append((number, cues))
    try:
        subs = pysubs2.SSAFile.from_string(
            _normalised(text), format_="vtt" if fmt == "vtt" else "srt"
        )
    except (pysubs2.exceptions.Pysubs2Error, ValueError) as exc:
        problems.append(
            Problem(message=f"not a readable subtitle file: {exc}", location=Location(file, 1, 1))
        )
        return LinesFile(path=file, lines=(), problems=tuple(problems))
    lines: list[Line] = []
    for event, (line_no, cue) in zip(subs.events, timing_lines, strict=False):
        where = Location(file, line_no)
        words = " ".join(event.plaintext.split())
        if event.end <= event.start:
            problems.append(
                Problem(
                    message=f"cue ends at {event.end / 1000:.3f} s, not after its start "
                    f"{event.start / 1000:.3f} s",
                    location=where,
                    code="lines-timing",
                )
            )
            continue
        if not words:
            problems.append(
                Problem(
                    message="cue has no text; nothing to dub, it is left out",
                    location=where,
                    severity=Severity.WARNING,
                    code="lines-empty",
                )
            )
            continue
        lines.append(
            Line(
                number=cue,
                start=event.start / 1000,
                end=event.end / 1000,
                text=words,
                location=where,
            )
        )
    if not lines and not problems:
        problems.append(
            Problem(
                message=f"no cues found (an {fmt.upper()} cue is a START --> END line, then text)",
                location=Location(file, 1, 1),
                code="lines-empty",
            )
        )
    return LinesFile(path=file, lines=tuple(lines), problems=tuple(problems))


def _normalised(text: str) -> str:
    """Timing lines pysubs2 would read differently from us (short WebVTT stamps, cue settings)
    rewritten as full ``HH:MM:SS.mmm --> HH:MM:SS.mmm``; broken ones blanked so the two readers
    agree on which lines are cues."""
    out: list[str] = []
    in_block = False  # inside a WebVTT NOTE, STYLE or REGION block, or a cue left out
    for raw in text.splitlines():
        if not raw.strip():
            in_block = False
        elif (not out or not out[-1].strip()) and raw.split(" ", 1)[0] in _VTT_BLOCKS:
            in_block = True
        if in_block:
            out.append("")
            continue
        if _ARROW in raw:
            stamps = _timing(raw)
            if stamps is None:
                if len(out) >= 1 and (len(out) < 2 or not out[-2].strip()):
                    out[-1] = ""  # its number: not text of the cue before
                out.append("")
                in_block = True  # its text is left out with it
                continue
            a, b = (_full(s) for s in stamps)
            raw = f"{a} --> {b}"
            if len(out) >= 1 and out[-1].strip() and (len(out) < 2 or not out[-2].strip()):
                out[-1] = ""  # the cue's number or WebVTT identifier, not text of the cue before
        elif out and _ARROW in out[-1]:
            # A WebVTT voice span names the speaker: <v Ana>Hello -> [Ana]: Hello
            raw = _VOICE_SPAN.sub(r"[\1]: ", raw, count=1)
        out.append(raw)
    return "\n".join(out) + "\n"


def _timing(raw: str) -> list[tuple[str, ...]] | None:
    """The two timestamps of a timing line, or None when it has not exactly two, or one is
    negative (``-00:00:01,000``: read without its sign, it would be a time that is not there)."""
    found = list(_STAMP.finditer(raw))
    if len(found) != 2 or any(raw[: m.start()].rstrip().endswith("-") for m in found):
        return None
    return [m.groups("") for m in found]  # an hour left out is "", as findall gives it


def _full(stamp: tuple[str, ...]) -> str:
    h, m, s, frac = stamp
    return f"{int(h or 0):02d}:{int(m):02d}:{int(s):02d}.{frac.ljust(3, '0')}"

"""SRT and WebVTT cues as lines, read leniently with pysubs2 (MIT, well kept): a byte-order mark,
``,`` or ``.`` before the milliseconds and missing cue numbers are all fine. What pysubs2 passes
over silently (a timing line it cannot read, an end before its start) is a located problem here.
"""

from __future__ import annotations

import html
import re

from lipflow.lines.model import (
    Line,
    LinesFile,
    stamp_range_problem,
    timing_problem,
    unspeakable,
)
from lipflow.problems import Location, Problem

__all__ = ["parse_subtitles"]

# Both formats' timestamps, hours optional, either decimal mark: what pysubs2 accepts, and the
# WebVTT short form (mm:ss.ttt) that its SRT reader would not.
_STAMP = re.compile(r"(?:(\d{1,4}):)?(\d{1,2}):(\d{1,2})[.,](\d{1,3})")
_ARROW = "-->"
# What pysubs2 takes for a timing line: any line with exactly two of its format's timestamps,
# whatever lies between them (pysubs2.time.TIMESTAMP; WebVTTFormat.TIMESTAMP).
_PYSUBS2_STAMP = {
    "srt": re.compile(r"(\d{1,2}):(\d{1,2}):(\d{1,2})[.,](\d{1,3})"),
    "vtt": re.compile(r"(\d{0,4}:)?(\d{2}):(\d{2})\.(\d{2,3})"),
}
_VTT_BLOCKS = ("NOTE", "STYLE", "REGION", "WEBVTT")
_VOICE_SPAN = re.compile(r"<v(?:\.[\w.-]+)?[ \t]+([^>]+?)\s*>")
# WebVTT cue text markup: ruby text (a reading aid, not words to say) and every other tag,
# timestamp tags (<00:00:13.500>) included, which pysubs2 leaves in the text.
_VTT_RUBY_TEXT = re.compile(r"<rt(?:\.[\w.-]+)?>.*?(?:</rt>|$)")
_VTT_TAG = re.compile(r"<[^>]*>")
_BIDI_MARKS = str.maketrans("", "", "\u200e\u200f")  # &lrm; &rlm;: direction, not words
# pysubs2 reads cue text as SubStation text, dropping "{...}" as an override tag. In WebVTT
# braces are plain text (FFmpeg's WebVTT decoder escapes them), so they pass pysubs2 as
# stand-ins. SRT is left to pysubs2: FFmpeg hands its braces to libass as tags.
_LITERAL = {"{": "\ue000", "}": "\ue001"}
_HIDDEN = str.maketrans(_LITERAL)
_SHOWN = str.maketrans({v: k for k, v in _LITERAL.items()})


def parse_subtitles(text: str, file: str, *, fmt: str) -> LinesFile:
    """The cues of an SRT (``fmt='srt'``) or WebVTT (``'vtt'``) text, each at its timing line."""
    import pysubs2  # here: a recipe without subtitle files never loads it

    text = text.lstrip("\ufeff")
    problems: list[Problem] = []
    timing_lines: list[tuple[int, int]] = []  # (line number, cue number) of each readable cue
    cues = 0
    timings: list[tuple[int, int]] = []  # (start, end) in ms of each readable cue
    stamp = _PYSUBS2_STAMP["vtt" if fmt == "vtt" else "srt"]
    for number, raw in enumerate(text.splitlines(), 1):
        if not _is_timing_line(raw, stamp):
            continue
        cues += 1
        out_of_range = _out_of_range(raw)
        if out_of_range is not None:
            column, why = out_of_range
            where = Location(file, number, column)
            problems.append(timing_problem(f"cue timing {why}; the cue is left out", where))
            continue
        stamps = _timing(raw)
        if stamps is None or _ARROW not in raw:
            column = raw.index(_ARROW) + 1 if _ARROW in raw else _separator_column(raw)
            problems.append(
                timing_problem(
                    f"cue timing {raw.strip()!r} is not START --> END, each a time from 0 "
                    "(e.g. 00:00:01,500 --> 00:00:03,000); the cue is left out",
                    Location(file, number, column),
                )
            )
            continue
        timing_lines.append((number, cues))
        timings.append((_ms(stamps[0]), _ms(stamps[1])))
    normalised, voices = _normalised(text, stamp, vtt=fmt == "vtt")
    try:
        subs = pysubs2.SSAFile.from_string(normalised, format_="vtt" if fmt == "vtt" else "srt")
    except (pysubs2.exceptions.Pysubs2Error, ValueError) as exc:
        problems.append(
            Problem(message=f"not a readable subtitle file: {exc}", location=Location(file, 1, 1))
        )
        return LinesFile(path=file, lines=(), problems=tuple(problems))
    lines: list[Line] = []
    read = [(event.start, event.end) for event in subs.events]
    if read != timings:
        # The two readers disagree on which lines are cues: pairing them would put a cue's
        # text at another's line and time, or drop one. Refuse, where they part.
        at = next(
            (i for i, (a, b) in enumerate(zip(read, timings, strict=False)) if a != b), len(timings)
        )
        line_no = timing_lines[min(at, len(timing_lines) - 1)][0] if timing_lines else 1
        problems.append(
            Problem(
                message=f"the subtitle reader found {len(read)} cue(s) here and lipflow "
                f"{len(timings)}; they part at cue {at + 1}: check the timing lines around here",
                location=Location(file, line_no, 1),
                code="lines-timing",
            )
        )
        return LinesFile(path=file, lines=(), problems=tuple(problems))
    for event, (line_no, cue) in zip(subs.events, timing_lines, strict=True):
        where = Location(file, line_no)
        plain = event.plaintext
        if fmt == "vtt":  # WebVTT cue text is HTML-escaped: "&amp;" is "&", "&lt;" is "<"
            plain = html.unescape(plain.translate(_SHOWN)).translate(_BIDI_MARKS)
        words = " ".join(plain.split())
        names = list(dict.fromkeys(name for name, _ in voices.get(line_no, ())))
        if len(names) > 1:
            second = next(at for name, at in voices[line_no] if name != names[0])
            problems.append(
                Problem(
                    message=f"cue {cue} has {len(names)} speakers ({', '.join(names)}); one "
                    "cue is spoken in one voice: split it into one cue per speaker",
                    location=Location(file, *second),
                    code="lines-speakers",
                )
            )
            continue
        refused = unspeakable("cue", event.start / 1000, event.end / 1000, words, where)
        if refused is not None:
            problems.append(refused)
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


def _normalised(
    text: str, stamp: re.Pattern[str], *, vtt: bool
) -> tuple[str, dict[int, list[tuple[str, tuple[int, int]]]]]:
    """Timing lines pysubs2 would read differently from us (short WebVTT stamps, cue settings)
    rewritten as full ``HH:MM:SS.mmm --> HH:MM:SS.mmm``; broken ones blanked so the two readers
    agree on which lines are cues. A cue's voice span (``<v Ana>``) becomes its ``[Ana]:``
    prefix; WebVTT tags are dropped. Also returns, by timing line, each cue's voice spans
    (name, (line, column)): a cue with two speakers cannot be spoken in one voice."""
    out: list[str] = []
    voices: dict[int, list[tuple[str, tuple[int, int]]]] = {}
    cue_at: int | None = None  # the timing line of the cue whose text this is
    first_text: dict[int, int] = {}  # timing line -> index in out of the cue's first text line
    in_block = False  # inside a WebVTT NOTE, STYLE or REGION block, or a cue left out
    for number, raw in enumerate(text.splitlines(), 1):
        if not raw.strip():
            in_block = False
            cue_at = None
        elif (not out or not out[-1].strip()) and raw.split(" ", 1)[0] in _VTT_BLOCKS:
            in_block = True
        if in_block:
            out.append("")
            continue
        if _is_timing_line(raw, stamp):
            stamps = _timing(raw) if _ARROW in raw else None
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
            cue_at = number
        elif cue_at is not None:
            for span in _VOICE_SPAN.finditer(raw):
                voices.setdefault(cue_at, []).append(
                    (span.group(1).strip(), (number, span.start() + 1))
                )
            raw = _VOICE_SPAN.sub("", raw)
            if vtt:
                raw = _VTT_TAG.sub("", _VTT_RUBY_TEXT.sub("", raw)).translate(_HIDDEN)
            first_text.setdefault(cue_at, len(out))
        out.append(raw)
    for at, spans in voices.items():
        # A WebVTT voice span names the speaker: <v Ana>Hello -> [Ana]: Hello
        if len({name for name, _ in spans}) == 1 and at in first_text:
            out[first_text[at]] = f"[{spans[0][0]}]: {out[first_text[at]].lstrip()}"
    return "\n".join(out) + "\n", voices


def _is_timing_line(raw: str, stamp: re.Pattern[str]) -> bool:
    """A line one of the two readers takes for a cue's timing: lipflow by its arrow, pysubs2 by
    its two timestamps (``00:00:04,000 -> 00:00:06,000`` is one to pysubs2 alone)."""
    return _ARROW in raw or len(stamp.findall(raw)) == 2


def _separator_column(raw: str) -> int:
    """The column of what stands between a timing line's two timestamps (``->`` in ``00:00:04,000
    -> 00:00:06,000``), where the arrow should be."""
    first = _STAMP.search(raw)
    if first is None:
        return 1
    rest = raw[first.end() :]
    return first.end() + len(rest) - len(rest.lstrip()) + 1


def _ms(stamp: tuple[str, ...]) -> int:
    h, m, s, frac = stamp
    return ((int(h or 0) * 60 + int(m)) * 60 + int(s)) * 1000 + int(frac.ljust(3, "0"))


def _out_of_range(raw: str) -> tuple[int, str] | None:
    """The column of a timing line's first timestamp whose minutes or seconds are past 59
    (``00:61:99,000``), and why it is no time; None when there is none."""
    for match in _STAMP.finditer(raw):
        why = stamp_range_problem(match.group(0), int(match.group(2)), int(match.group(3)))
        if why is not None:
            return match.start() + 1, why
    return None


def _timing(raw: str) -> list[tuple[str, ...]] | None:
    """The two timestamps of a timing line, or None when it has not exactly two, one is
    negative (``-00:00:01,000``: read without its sign, it would be a time that is not there),
    or one's minutes or seconds are past 59 (read as written, it would be another time)."""
    found = list(_STAMP.finditer(raw))
    if len(found) != 2 or any(raw[: m.start()].rstrip().endswith("-") for m in found):
        return None
    if _out_of_range(raw) is not None:
        return None
    return [m.groups("") for m in found]  # an hour left out is "", as findall gives it


def _full(stamp: tuple[str, ...]) -> str:
    h, m, s, frac = stamp
    return f"{int(h or 0):02d}:{int(m):02d}:{int(s):02d}.{frac.ljust(3, '0')}"

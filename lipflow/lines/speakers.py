"""Who speaks each line, and in which voice.

A speaker comes from a script's speaker column, or from a prefix of the cue's text (a WebVTT
voice span ``<v Ana>`` is read as ``[Ana]:``; a cue with two speakers' spans is an error), which is
then removed from what is spoken: ``[SPEAKER_01]: ...`` (a diarization label, always taken) or
``Name: ...`` (taken when the name is in the recipe's ``voices:`` table or starts two or more
lines, so a line that merely begins "Look: ..." is not mistaken for a speaker).
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Collection, Mapping
from dataclasses import replace

from lipflow.lines.model import Line, LinesFile
from lipflow.problems import Problem, Severity, did_you_mean

__all__ = ["assign_voices", "split_speakers"]

_BRACKETED = re.compile(r"^\[([^\[\]]{1,40})\]\s*:?\s*(.*)$", re.S)
_NAMED = re.compile(r"^([^\W\d_][\w.'-]*(?: [^\W\d_][\w.'-]*){0,2})\s*:\s+(\S.*)$", re.S)


def split_speakers(lines: LinesFile, known: Collection[str] = ()) -> LinesFile:
    """``lines`` with speakers taken from text prefixes where no column named one."""
    named = Counter(
        m.group(1) for line in lines.lines if not line.speaker and (m := _NAMED.match(line.text))
    )
    out = []
    left_out: list[Problem] = []
    for line in lines.lines:
        if line.speaker:
            out.append(line)
            continue
        bracketed = _BRACKETED.match(line.text)
        if bracketed and bracketed.group(2).strip():
            out.append(replace(line, speaker=bracketed.group(1).strip(), text=bracketed.group(2)))
            continue
        if bracketed:  # "[SPEAKER_01]:" or "[music]" alone: a label, not words to speak
            left_out.append(
                Problem(
                    message=f"line {line.number} is only a label ({line.text.strip()!r}); "
                    "nothing to dub, it is left out",
                    location=line.location,
                    severity=Severity.WARNING,
                    code="lines-empty",
                )
            )
            continue
        match = _NAMED.match(line.text)
        if match and (match.group(1) in known or named[match.group(1)] >= 2):
            out.append(replace(line, speaker=match.group(1), text=match.group(2)))
            continue
        out.append(line)
    return replace(lines, lines=tuple(out), problems=(*lines.problems, *left_out))


def assign_voices(
    lines: LinesFile, voices: Mapping[str, str], default: str | None
) -> tuple[dict[int, str | None], list[Problem]]:
    """Each line's voice (by line number): its own voice column, else its speaker's voice in the
    ``voices`` table, else ``default`` (the step's ``tts.voice``; None: the provider's default).

    A speaker the table does not map is an error placed at its first line, listing the speakers
    found, since dubbing a named speaker in some default voice is never what was meant."""
    chosen: dict[int, str | None] = {}
    unmapped: dict[str, Line] = {}
    for line in lines.lines:
        if line.voice:
            chosen[line.number] = line.voice
        elif line.speaker:
            voice = voices.get(line.speaker)
            if voice is None:
                unmapped.setdefault(line.speaker, line)
            chosen[line.number] = voice
        else:
            chosen[line.number] = default
    found = ", ".join(lines.speakers)
    problems = [
        Problem(
            message=f"speaker {speaker!r} has no voice: map it under voices: "
            f"(speakers found: {found}; mapped: {', '.join(voices) or 'none'})",
            location=first.location,
            suggestion=did_you_mean(speaker, list(voices)),
            code="unmapped-speaker",
        )
        for speaker, first in unmapped.items()
    ]
    return chosen, problems

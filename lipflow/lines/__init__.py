"""Lines to dub: subtitle files and scripts read into timed, located lines, their speakers mapped
to voices, their spoken length estimated by script, and their fit in their time slot judged.

``read_lines`` reads an SRT, WebVTT, CSV or TSV file; every line keeps where it came from, so a
problem is reported as ``es.srt:42`` (the cue) or ``lines.csv:17:3`` (row and column).
"""

from __future__ import annotations

from lipflow.lines.fit import FitPolicy, FitVerdict, judge_fit
from lipflow.lines.model import Line, LinesFile
from lipflow.lines.reading import MAX_LINES_BYTES, read_lines
from lipflow.lines.speakers import assign_voices, split_speakers
from lipflow.lines.speech import SpeechEstimate, estimate_speech

__all__ = [
    "MAX_LINES_BYTES",
    "FitPolicy",
    "FitVerdict",
    "Line",
    "LinesFile",
    "SpeechEstimate",
    "assign_voices",
    "estimate_speech",
    "judge_fit",
    "read_lines",
    "split_speakers",
]

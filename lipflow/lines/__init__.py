"""Lines to dub: subtitle files and scripts read into timed, located lines, their speakers mapped
to voices, their spoken length estimated by script, and their fit in their time slot judged.

``read_lines`` reads an SRT, WebVTT, SubStation (ASS/SSA), CSV or TSV file; every line keeps where it came from, so a
problem is reported as ``es.srt:42`` (the cue) or ``lines.csv:17:3`` (row and column).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from lipflow._lazy import lazy_exports

# Loaded on first use: a plan without lines (most) imports the speech estimate and the fit
# policy it prices with, not the subtitle and table readers (csv) or the line model behind them.
_EXPORTS = {
    "MAX_LINES_BYTES": "lipflow.lines.reading",
    "FitPolicy": "lipflow.lines.fit",
    "FitVerdict": "lipflow.lines.fit",
    "Line": "lipflow.lines.model",
    "LinesFile": "lipflow.lines.model",
    "SpeechEstimate": "lipflow.lines.speech",
    "assign_voices": "lipflow.lines.speakers",
    "estimate_speech": "lipflow.lines.speech",
    "judge_fit": "lipflow.lines.fit",
    "read_lines": "lipflow.lines.reading",
    "split_speakers": "lipflow.lines.speakers",
}

__all__ = sorted(_EXPORTS)

if TYPE_CHECKING:  # explicit re-exports, for type checkers
    from lipflow.lines.fit import FitPolicy as FitPolicy
    from lipflow.lines.fit import FitVerdict as FitVerdict
    from lipflow.lines.fit import judge_fit as judge_fit
    from lipflow.lines.model import Line as Line
    from lipflow.lines.model import LinesFile as LinesFile
    from lipflow.lines.reading import MAX_LINES_BYTES as MAX_LINES_BYTES
    from lipflow.lines.reading import read_lines as read_lines
    from lipflow.lines.speakers import assign_voices as assign_voices
    from lipflow.lines.speakers import split_speakers as split_speakers
    from lipflow.lines.speech import SpeechEstimate as SpeechEstimate
    from lipflow.lines.speech import estimate_speech as estimate_speech

__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)

"""Real-length media: a lip sync too long (or too large) for a model, as pieces within its limits.

The flow, each step its own module::

    loudness   the driving audio's short-window energy (PyAV decode, RMS in dBFS)
    cuts       pauses in it, and the cuts: in pauses, every piece within the limit
    pieces     the model's limits (from the catalog) -> piece ranges, sizes, how each is cut
    keyframes  cutting a piece: stream copy on keyframes, re-encode otherwise; audio as WAV
    assembly   the finished pieces fitted to their planned lengths, joined, and verified
    synthesis  made-to-measure media: speech with known pauses, videos, lip-sync outputs

The planner uses ``plan_split`` to turn one job into pieces; the runner cuts them
(``cut_video``/``cut_audio``) and joins the results (``assemble``). ``assemble`` and ``verify``
work on any pieces with known time ranges, so other flows (subtitle-driven dubbing) can reuse them.
"""

from __future__ import annotations

from lipflow.longmedia.assembly import Assembled, AssemblyPiece, assemble, verify
from lipflow.longmedia.cuts import Cut, CutError, CutPolicy, Pause, find_pauses, plan_cuts
from lipflow.longmedia.keyframes import cut_audio, cut_method, cut_video
from lipflow.longmedia.loudness import Loudness, loudness_of
from lipflow.longmedia.pieces import (
    AudioFacts,
    PiecePlan,
    SplitPlan,
    SplitProblem,
    VideoFacts,
    audio_facts,
    plan_split,
    video_facts,
)
from lipflow.longmedia.synthesis import lipsync_output, speech_like, talking_video

__all__ = [
    "Assembled",
    "AssemblyPiece",
    "AudioFacts",
    "Cut",
    "CutError",
    "CutPolicy",
    "Loudness",
    "Pause",
    "PiecePlan",
    "SplitPlan",
    "SplitProblem",
    "VideoFacts",
    "assemble",
    "audio_facts",
    "cut_audio",
    "cut_method",
    "cut_video",
    "find_pauses",
    "lipsync_output",
    "loudness_of",
    "plan_cuts",
    "plan_split",
    "speech_like",
    "talking_video",
    "verify",
    "video_facts",
]

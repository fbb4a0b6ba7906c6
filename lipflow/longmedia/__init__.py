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

from typing import TYPE_CHECKING

from lipflow._lazy import lazy_exports

# Names load on first use: the planner needs the piece arithmetic, not numpy or FFmpeg.
_EXPORTS = {
    "Assembled": "lipflow.longmedia.assembly",
    "AssemblyPiece": "lipflow.longmedia.assembly",
    "AudioFacts": "lipflow.longmedia.pieces",
    "Cut": "lipflow.longmedia.cuts",
    "CutError": "lipflow.longmedia.cuts",
    "CutPolicy": "lipflow.longmedia.cuts",
    "Loudness": "lipflow.longmedia.loudness",
    "Pause": "lipflow.longmedia.cuts",
    "PiecePlan": "lipflow.longmedia.pieces",
    "SplitPlan": "lipflow.longmedia.pieces",
    "SplitProblem": "lipflow.longmedia.pieces",
    "VideoFacts": "lipflow.longmedia.pieces",
    "assemble": "lipflow.longmedia.assembly",
    "audio_facts": "lipflow.longmedia.pieces",
    "cut_audio": "lipflow.longmedia.keyframes",
    "cut_method": "lipflow.longmedia.keyframes",
    "cut_video": "lipflow.longmedia.keyframes",
    "find_pauses": "lipflow.longmedia.cuts",
    "lipsync_output": "lipflow.longmedia.synthesis",
    "loudness_before_sound_counted_from_first_frame": "lipflow.longmedia.loudness",
    "loudness_of": "lipflow.longmedia.loudness",
    "plan_cuts": "lipflow.longmedia.cuts",
    "plan_split": "lipflow.longmedia.pieces",
    "speech_like": "lipflow.longmedia.synthesis",
    "talking_video": "lipflow.longmedia.synthesis",
    "verify": "lipflow.longmedia.assembly",
    "video_facts": "lipflow.longmedia.pieces",
}

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
    "loudness_before_sound_counted_from_first_frame",
    "loudness_of",
    "plan_cuts",
    "plan_split",
    "speech_like",
    "talking_video",
    "verify",
    "video_facts",
]

if TYPE_CHECKING:
    from lipflow.longmedia.assembly import Assembled as Assembled
    from lipflow.longmedia.assembly import AssemblyPiece as AssemblyPiece
    from lipflow.longmedia.assembly import assemble as assemble
    from lipflow.longmedia.assembly import verify as verify
    from lipflow.longmedia.cuts import Cut as Cut
    from lipflow.longmedia.cuts import CutError as CutError
    from lipflow.longmedia.cuts import CutPolicy as CutPolicy
    from lipflow.longmedia.cuts import Pause as Pause
    from lipflow.longmedia.cuts import find_pauses as find_pauses
    from lipflow.longmedia.cuts import plan_cuts as plan_cuts
    from lipflow.longmedia.keyframes import cut_audio as cut_audio
    from lipflow.longmedia.keyframes import cut_method as cut_method
    from lipflow.longmedia.keyframes import cut_video as cut_video
    from lipflow.longmedia.loudness import Loudness as Loudness
    from lipflow.longmedia.loudness import (
        loudness_before_sound_counted_from_first_frame as loudness_before_sound_counted_from_first_frame,
    )
    from lipflow.longmedia.loudness import loudness_of as loudness_of
    from lipflow.longmedia.pieces import AudioFacts as AudioFacts
    from lipflow.longmedia.pieces import PiecePlan as PiecePlan
    from lipflow.longmedia.pieces import SplitPlan as SplitPlan
    from lipflow.longmedia.pieces import SplitProblem as SplitProblem
    from lipflow.longmedia.pieces import VideoFacts as VideoFacts
    from lipflow.longmedia.pieces import audio_facts as audio_facts
    from lipflow.longmedia.pieces import plan_split as plan_split
    from lipflow.longmedia.pieces import video_facts as video_facts
    from lipflow.longmedia.synthesis import lipsync_output as lipsync_output
    from lipflow.longmedia.synthesis import speech_like as speech_like
    from lipflow.longmedia.synthesis import talking_video as talking_video

__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)

"""Whether a line's speech fits its slot in the video, judged before anything is paid for.

Speech that runs past its slot is cut off or spills over the next line; speech far shorter than
its slot leaves the mouth still while the face should talk. Both are what viewers read as bad
lip sync. A line fits when its estimated range comes within ``tolerance`` seconds of the slot;
otherwise a provider mode that reconciles the lengths (sync's ``syncMode: remap`` time-stretches
the audio to the video, ``silence`` plays the rest of the video silent, documented at
https://runware.ai/docs/models/sync-lipsync-2#request-providersettings-sync-syncmode) handles
it, or it does not fit, by so many seconds.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

__all__ = ["DEFAULT_TOLERANCE", "FitPolicy", "FitVerdict", "judge_fit"]

DEFAULT_TOLERANCE = 0.5  # seconds: about two syllables, the most a viewer forgives at a cut


@dataclass(frozen=True, slots=True, kw_only=True)
class FitPolicy:
    """The recipe's ``fit:``: how far speech may miss its slot, and what a miss is."""

    tolerance: float = DEFAULT_TOLERANCE
    on_misfit: Literal["warn", "error"] = "warn"


@dataclass(frozen=True, slots=True, kw_only=True)
class FitVerdict:
    """``fits``, ``handled`` (by a provider mode) or ``misfit``, with what it means."""

    status: Literal["fits", "handled", "misfit"]
    by: float  # seconds outside the tolerated window (0 when it fits)
    note: str

    @property
    def label(self) -> str:
        if self.status == "fits":
            return "fits"
        if self.status == "handled":
            return f"handled: {self.note}"
        return self.note


def judge_fit(
    slot: float, low: float, high: float, policy: FitPolicy, *, sync_mode: str | None = None
) -> FitVerdict:
    """The verdict for speech lasting ``low``-``high`` seconds in a ``slot``-second range.

    ``sync_mode`` is the provider's documented length-matching mode when the job has one (sync's
    ``syncMode``, default ``bounce``); None when the provider documents none (PixVerse lip sync).
    """
    tol = policy.tolerance
    long_by = round(low - (slot + tol), 2)
    short_by = round((slot - tol) - high, 2)
    if long_by <= 0 and short_by <= 0:
        return FitVerdict(status="fits", by=0.0, note="fits")
    if sync_mode == "remap":
        return FitVerdict(
            status="handled", by=0.0, note="syncMode remap time-stretches the speech to the slot"
        )
    if short_by > 0 and sync_mode == "silence":
        return FitVerdict(
            status="handled", by=0.0, note="syncMode silence plays the rest of the slot silent"
        )
    if long_by > 0:
        return FitVerdict(
            status="misfit",
            by=long_by,
            note=f"too long by {long_by:.1f} s (speech {low:.1f}-{high:.1f} s, slot {slot:.1f} s)",
        )
    return FitVerdict(
        status="misfit",
        by=short_by,
        note=f"too short by {short_by:.1f} s (speech {low:.1f}-{high:.1f} s, slot {slot:.1f} s)",
    )

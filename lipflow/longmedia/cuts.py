"""Where to cut a long lip sync: in the pauses of the driving audio, never inside speech when a
pause lies within the limit.

A piece cut inside a spoken phrase drifts out of sync at its edges, so cuts go in pauses: runs of
windows quieter than ``silence_db`` lasting at least ``min_pause`` seconds. Cuts are chosen
greedily from the start so that every piece is at most ``max_seconds`` long, each at the middle
of the longest pause in the later half of the allowed window (else anywhere in it), on a keyframe
when one lies in that pause (then the video piece is a lossless stream copy). With no pause in
reach, the cut goes to the least-loud window and the plan says so. Explicit cut times (``at``)
are honoured and checked.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass

from lipflow.longmedia.loudness import Loudness

__all__ = [
    "DEFAULT_MIN_PAUSE",
    "DEFAULT_SILENCE_DB",
    "MIN_PIECE_SECONDS",
    "Cut",
    "CutError",
    "CutPolicy",
    "Pause",
    "find_pauses",
    "plan_cuts",
]

DEFAULT_SILENCE_DB = -40.0
DEFAULT_MIN_PAUSE = 0.3
# A pause is entered by at least this much on each side of a cut, so a cut's frame rounding and
# the provider's own resampling cannot clip the edge of a word.
_MARGIN = 0.04
# No piece is shorter than this: each piece is a paid job, and a piece of a few hundredths of a
# second (the rest of a pause just cut in, or a tail past the limit) may hold no video frame at
# all, failing after its siblings were bought.
MIN_PIECE_SECONDS = 1.0


@dataclass(frozen=True, slots=True, kw_only=True)
class CutPolicy:
    """How a step wants its input cut: the recipe's ``cut:`` mapping, defaults filled in."""

    max_seconds: float | None = None  # at most the model's limit; None: the model's limit
    min_pause: float = DEFAULT_MIN_PAUSE
    silence_db: float = DEFAULT_SILENCE_DB
    at: tuple[float, ...] = ()  # explicit cut times, seconds from the start


@dataclass(frozen=True, slots=True)
class Pause:
    """A run of quiet windows: ``[start, end)`` seconds."""

    start: float
    end: float

    @property
    def length(self) -> float:
        return self.end - self.start


@dataclass(frozen=True, slots=True, kw_only=True)
class Cut:
    """One cut: its time, why it is there, and whether it falls in a pause."""

    time: float
    reason: str
    in_pause: bool
    on_keyframe: bool = False


class CutError(ValueError):
    """Explicit cut times that cannot be honoured: the message says which and why."""


def find_pauses(loudness: Loudness, *, silence_db: float, min_pause: float) -> list[Pause]:
    """Runs of windows below ``silence_db`` lasting at least ``min_pause`` seconds."""
    import numpy as np

    quiet = np.concatenate(([False], loudness.db < silence_db, [False]))
    edges = np.flatnonzero(np.diff(quiet.astype(np.int8)))
    pauses = []
    for lo, hi in zip(edges[::2], edges[1::2], strict=True):
        start, end = loudness.time_of(int(lo)), min(loudness.time_of(int(hi)), loudness.duration_s)
        if end - start >= min_pause - 1e-9:
            pauses.append(Pause(start, end))
    return pauses


def plan_cuts(
    loudness: Loudness,
    duration: float,
    policy: CutPolicy,
    max_seconds: float,
    *,
    keyframes: Sequence[float] = (),
) -> list[Cut]:
    """The cuts that make every piece of ``duration`` at most ``max_seconds`` long.

    ``max_seconds`` is the strictest of the model's limits and the policy's own; explicit
    ``policy.at`` times are used as given (a CutError says why they cannot be).
    """
    pauses = find_pauses(loudness, silence_db=policy.silence_db, min_pause=policy.min_pause)
    if policy.at:
        return _explicit(loudness, duration, policy, max_seconds, pauses)
    cuts: list[Cut] = []
    pos = 0.0
    while duration - pos > max_seconds + 1e-9:
        # The cut leaves the rest at least a piece long (a cut at the limit may leave 0.01 s).
        hi = min(pos + max_seconds, duration - MIN_PIECE_SECONDS)
        cut = _next_cut(loudness, pauses, keyframes, pos, hi, policy)
        cuts.append(cut)
        pos = cut.time
    return cuts


def _next_cut(
    loudness: Loudness,
    pauses: Sequence[Pause],
    keyframes: Sequence[float],
    lo: float,
    hi: float,
    policy: CutPolicy,
) -> Cut:
    """The best cut in ``(lo, hi]``: a pause's middle, later half of the window first, and at
    least a piece after ``lo`` (the rest of the pause the last cut went in is no new place)."""
    import numpy as np

    half = lo + (hi - lo) / 2
    for floor in (half, min(lo + MIN_PIECE_SECONDS, half)):
        reachable = [
            (p, Pause(max(p.start, floor), min(p.end, hi)))
            for p in pauses
            if p.end > floor + 2 * _MARGIN and p.start < hi - 2 * _MARGIN
        ]
        if reachable:
            pause, best = max(reachable, key=lambda r: (round(r[1].length, 3), r[1].start))
            mid = (best.start + best.end) / 2
            inside = [
                k for k in keyframes if best.start + _MARGIN <= k <= best.end - _MARGIN and k > lo
            ]
            # The pause as measured, not the part of it within reach: that part may be shorter
            # than min_pause, and is no shorter pause.
            where = f"in a {pause.length:.2f} s pause ({pause.start:.2f}-{pause.end:.2f} s)"
            if inside:
                key = min(inside, key=lambda k: abs(k - mid))
                return Cut(
                    time=round(key, 3),
                    reason=f"{where}, on a keyframe",
                    in_pause=True,
                    on_keyframe=True,
                )
            return Cut(time=round(mid, 3), reason=where, in_pause=True)
    # No pause within the limit: the least-loud window of the later half (else of all of it).
    window = loudness.window(half, hi)
    start = half
    if not len(window):
        window, start = loudness.window(lo, hi), lo
    if not len(window):
        return Cut(
            time=round(hi, 3),
            reason=f"no audio to measure before {hi:.2f} s: cut at the limit",
            in_pause=False,
        )
    i = int(np.argmin(window))
    t = min(hi, start + (i + 0.5) * loudness.window_s)
    return Cut(
        time=round(t, 3),
        reason=(
            f"no pause of {policy.min_pause:g} s below {policy.silence_db:g} dBFS within "
            f"{hi - lo:g} s: cut at the least-loud point ({float(window[i]):.0f} dBFS)"
        ),
        in_pause=False,
    )


def _explicit(
    loudness: Loudness,
    duration: float,
    policy: CutPolicy,
    max_seconds: float,
    pauses: Sequence[Pause],
) -> list[Cut]:
    times = list(policy.at)
    for a, b in itertools.pairwise(times):
        if b <= a:
            raise CutError(f"cut times must increase: {b:g} s comes after {a:g} s")
    for t in times:
        if not 0 < t < duration:
            raise CutError(f"cut time {t:g} s is outside the input (0-{duration:g} s)")
    bounds = [0.0, *times, duration]
    for i, (a, b) in enumerate(itertools.pairwise(bounds), 1):
        if b - a > max_seconds + 1e-9:
            raise CutError(
                f"piece {i} ({a:g}-{b:g} s) is {b - a:g} s long; at most {max_seconds:g} s "
                "is allowed: add a cut time inside it"
            )
        if b - a < MIN_PIECE_SECONDS - 1e-9:
            raise CutError(
                f"piece {i} ({a:g}-{b:g} s) is {b - a:g} s long; each piece is a paid job of "
                f"at least {MIN_PIECE_SECONDS:g} s: remove or move a cut time"
            )
    cuts = []
    for t in times:
        pause = next((p for p in pauses if p.start <= t <= p.end), None)
        if pause is not None:
            reason = f"set in the recipe (cut.at), in a pause ({pause.start:.2f}-{pause.end:.2f} s)"
        else:
            reason = f"set in the recipe (cut.at), inside sound at {loudness.level_at(t):.0f} dBFS"
        cuts.append(Cut(time=float(t), reason=reason, in_pause=pause is not None))
    return cuts

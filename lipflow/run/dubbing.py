"""Joining a dub made line by line: each line's lip-synced piece put back at its time in the
video, the video between lines kept as it was, into one output.

A plan dubbed from lines with text-to-speech has one job per line, each on its own piece of the
video (``Plan.lines`` says which job speaks which time range). Once every job of a dub is done,
the stretches between lines are cut from the source video (their sound cut apart, as
clips are cut video-only) and all pieces are joined with
:func:`lipflow.longmedia.assemble`, which fits each piece to its planned length (a provider's
output is rarely exactly as long as its slot) and verifies the result: one video as long as the
source, audio present, every join at its line's start.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from lipflow.identity import file_digest
from lipflow.jobs import LINE, Job, Plan, format_job_id
from lipflow.media import piece_range, probe

if TYPE_CHECKING:
    from lipflow.longmedia import Assembled

__all__ = ["DubJoin", "dub_joins", "join_dub"]

# How between-lines clips are cut: upright, times from the first frame (older clips were not).
_CUT = ";upright;from-first-frame"


@dataclass(frozen=True, slots=True, kw_only=True)
class DubJoin:
    """The per-line jobs of one dub and the source video they are joined back into."""

    name: str  # the dub's job id without its line, e.g. "dub[lang=es]"
    video: str  # the source video file
    lines: tuple[tuple[float, float, str], ...]  # (start, end, job id), in time order


def dub_joins(plan: Plan) -> list[DubJoin]:
    """The dubs of ``plan`` made of per-line jobs (a dub of sync segments is one job: no join)."""
    jobs = {pj.job.id: pj.job for pj in plan.jobs}
    groups: dict[str, list[tuple[float, float, str]]] = {}
    videos: dict[str, str] = {}
    for line in plan.lines:
        job = jobs.get(line.job)
        video = job.media.get("video") if job is not None else None
        if job is None or video is None or LINE not in job.matrix:
            continue
        source, span = piece_range(str(video.value))
        if span is None:
            continue
        name = _dub_name(job)
        groups.setdefault(name, []).append((line.start, line.end, job.id))
        videos[name] = source
    return [
        DubJoin(name=name, video=videos[name], lines=tuple(sorted(lines)))
        for name, lines in groups.items()
    ]


def _dub_name(job: Job) -> str:
    return format_job_id(job.step, {k: v for k, v in job.matrix.items() if k != LINE})


def join_dub(dub: DubJoin, outputs: Mapping[str, str], dest: Path) -> Assembled:
    """Join ``dub`` from each line job's output file (``outputs``: job id -> path) into
    ``dest``, the stretches between lines cut from the source beside it (``NAME.pieces/``).
    Raises AssemblyFailed or InputError when a piece cannot be cut or joined."""
    from lipflow.longmedia import AssemblyPiece, assemble, cut_audio, cut_video, video_facts

    facts = video_facts(dub.video)
    has_audio = probe(dub.video).has_audio
    pieces_dir = dest.with_suffix(".pieces")
    pieces_dir.mkdir(parents=True, exist_ok=True)
    pieces = []
    for i, (start, end, job_id) in enumerate(
        _timeline(dub.lines, facts.duration_s, float(1 / facts.fps))
    ):
        if job_id is not None:
            pieces.append(AssemblyPiece(outputs[job_id], start, end))
            continue
        # Named by what it is cut from: a clip cut for other timings or another take of the
        # source is never joined in (one of 0.4 s filled a gap of 1.8 s with frozen frames).
        # _CUT names how: clips cut before rotation and start times were honoured are not reused.
        made_of = hashlib.sha256(f"{file_digest(dub.video)}#t={start:.3f},{end:.3f}{_CUT}".encode())
        gap = pieces_dir / f"between-{i:03d}-{made_of.hexdigest()[:16]}.mp4"
        if not gap.exists():  # cut once; written under a temporary name, then renamed
            cut_video(dub.video, gap, start, end, copy=False)
        # The clip is video only: the source's sound between lines is cut apart, sample-exact,
        # so the dub is not silent outside its lines (a source without sound stays silent).
        sound = gap.with_suffix(".wav") if has_audio else None
        if sound is not None and not sound.exists():
            cut_audio(dub.video, sound, start, end)
        pieces.append(AssemblyPiece(str(gap), start, end, audio=str(sound) if sound else None))
    return assemble(pieces, dest, fps=facts.fps, size=(facts.width, facts.height))


def _timeline(
    lines: Sequence[tuple[float, float, str]], duration: float, frame: float
) -> list[tuple[float, float, str | None]]:
    """The whole video as spans: each line's, and the source's between them (None). A stretch
    shorter than a frame is given to the line before it (or after, at the start)."""
    spans: list[tuple[float, float, str | None]] = []
    t = 0.0
    for start, end, job_id in lines:
        end = min(end, duration)
        if start - t >= frame:
            spans.append((t, start, None))
        elif spans:
            prev_start, _, prev_job = spans[-1]
            spans[-1] = (prev_start, start, prev_job)
        else:
            start = t
        spans.append((start, end, job_id))
        t = end
    if duration - t >= frame:
        spans.append((t, duration, None))
    elif spans:
        prev_start, _, prev_job = spans[-1]
        spans[-1] = (prev_start, duration, prev_job)
    return spans

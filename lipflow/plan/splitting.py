"""Long lip syncs in the plan: whether a job runs whole or as pieces on a model, and the pieces.

A lip sync driven by a local audio file, on a local video, that breaks one of the model's
documented limits (duration, bytes, resolution), or whose step sets ``cut:``, becomes pieces
(:func:`lipflow.longmedia.plan_split`): one job per piece, each within every limit, with its
time range, why its cut is where it is, its size and its own cost. The runner cuts the pieces
from the sources before uploading them and joins the outputs when all are done.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import Any

from lipflow.catalog import ModelEntry
from lipflow.errors import LipflowError
from lipflow.filenames import path_component
from lipflow.identity import piece_digest
from lipflow.jobs import Cost, LipsyncParams, MediaRef, Params, Piece
from lipflow.longmedia import (
    AudioFacts,
    CutPolicy,
    Loudness,
    PiecePlan,
    SplitPlan,
    SplitProblem,
    VideoFacts,
    audio_facts,
    loudness_before_sound_counted_from_first_frame,
    plan_split,
    video_facts,
)
from lipflow.longmedia.cuts import DEFAULT_MIN_PAUSE, DEFAULT_SILENCE_DB
from lipflow.longmedia.pieces import over_limits
from lipflow.plan.estimate import job_cost
from lipflow.recipe import Step

__all__ = ["PIECES_DIR", "Splitter", "cut_policy", "piece_job_id", "piece_media", "piece_of"]

# Where a run keeps the cut pieces of a job, under its out directory: ``pieces/<job>/01.video.mp4``.
PIECES_DIR = "pieces"


def cut_policy(step: Step) -> CutPolicy:
    """The step's ``cut:`` mapping (already schema-checked) as a policy, defaults filled in."""
    raw: Mapping[str, Any] = step.cut or {}
    return CutPolicy(
        max_seconds=raw.get("max_seconds"),
        min_pause=float(raw.get("min_pause", DEFAULT_MIN_PAUSE)),
        silence_db=float(raw.get("silence_db", DEFAULT_SILENCE_DB)),
        at=tuple(float(t) for t in raw.get("at") or ()),
    )


class Splitter:
    """Splits found once per step, model and inputs; media facts read once per file."""

    def __init__(self, *, enabled: bool) -> None:
        self.enabled = enabled  # False when the planner may not read media files
        self._facts: dict[tuple[str, str], VideoFacts | AudioFacts | LipflowError] = {}
        self._splits: dict[tuple[Any, ...], SplitPlan | SplitProblem | None] = {}

    def _fact(self, kind: str, path: str) -> VideoFacts | AudioFacts | LipflowError:
        key = (kind, path)
        if key not in self._facts:
            try:
                self._facts[key] = video_facts(path) if kind == "video" else audio_facts(path)
            except LipflowError as exc:
                self._facts[key] = exc
        return self._facts[key]

    def split(
        self, step: Step, entry: ModelEntry, media: Mapping[str, MediaRef], params: Params
    ) -> SplitPlan | SplitProblem | None:
        """The pieces this job needs on ``entry``; None if it runs whole; the problem if it must
        be split but cannot be (the limit and the fix)."""
        if not self.enabled or step.action != "lipsync" or not isinstance(params, LipsyncParams):
            return None
        video, audio = media.get("video"), media.get("audio")
        if params.tts or params.segments or video is None or audio is None:
            return None
        if video.origin != "file" or audio.origin != "file":
            return None
        key = (step.id, entry.id, video.value, audio.value)
        if key not in self._splits:
            self._splits[key] = self._split(step, entry, str(video.value), str(audio.value))
        return self._splits[key]

    def _split(
        self, step: Step, entry: ModelEntry, video_path: str, audio_path: str
    ) -> SplitPlan | SplitProblem | None:
        vf, af = self._fact("video", video_path), self._fact("audio", audio_path)
        if isinstance(vf, LipflowError) or isinstance(af, LipflowError):
            return None  # the input's own problem is reported where it is probed
        assert isinstance(vf, VideoFacts) and isinstance(af, AudioFacts)
        over = over_limits(entry.limits, vf, af)
        if step.cut is None and not over:
            return None
        try:
            split = plan_split(entry.limits, vf, af, cut_policy(step), fit=step.fit)
        except SplitProblem as exc:
            return SplitProblem(f"{entry.id}: {exc}", setting=exc.setting)
        heard_before = loudness_before_sound_counted_from_first_frame(audio_path)
        if heard_before is not None:
            # Sound that leads the picture was counted from its first sample until lipflow
            # counted it from the first frame: the pieces bought then were cut elsewhere.
            split = replace(
                split, earlier=_planned_otherwise(step, entry, split, vf, af, heard_before)
            )
        if vf.origin:
            # Before that, keyframe times were read from the video's raw timestamps: a cut's
            # method (and where a cut in a pause fell on a keyframe) was planned otherwise.
            raw = replace(vf, keyframes=tuple(k + vf.origin for k in vf.keyframes))
            split = replace(
                split,
                on_raw_timestamps=_planned_otherwise(step, entry, split, raw, af, heard_before),
            )
        if vf.turn:
            # And before that, a turned phone video was read as stored (its stored size, no
            # turn) and cut sideways: its pieces' method and size, and where a cut in a pause
            # fell on a keyframe, were planned otherwise (times on raw timestamps then too).
            across = vf.turn in (90, 270)
            stored = replace(
                vf,
                width=vf.height if across else vf.width,
                height=vf.width if across else vf.height,
                turn=0,
                keyframes=tuple(k + vf.origin for k in vf.keyframes),
            )
            split = replace(
                split,
                sideways=_planned_otherwise(step, entry, split, stored, af, heard_before),
            )
        # A cut policy that leaves an input within the limits whole: it runs as one plain job.
        return None if len(split.pieces) == 1 and not over else split

    def cost(
        self,
        step: Step,
        entry: ModelEntry,
        *,
        media: Mapping[str, MediaRef],
        params: Params,
        job_id: str,
    ) -> tuple[int, Cost] | str | None:
        """What the job costs in pieces on ``entry`` (their count and summed cost), a message if
        it cannot be split to fit, or None if it runs whole."""
        split = self.split(step, entry, media, params)
        if split is None or isinstance(split, SplitProblem):
            return None if split is None else str(split)
        usd: float | None = 0.0
        for piece in split.pieces:
            cut = piece_of(split, piece, job_id, media)
            cost, _, _ = job_cost(entry, piece_media(media, piece, job_id, cut), params)
            usd = None if usd is None or cost.usd is None else usd + cost.usd
        total = Cost(usd=usd, basis=f"{len(split.pieces)} pieces, each priced on its own")
        return len(split.pieces), total


def _planned_otherwise(
    step: Step,
    entry: ModelEntry,
    split: SplitPlan,
    video: VideoFacts,
    audio: AudioFacts,
    heard: Loudness | None,
) -> tuple[PiecePlan, ...]:
    """The pieces an older lipflow planned for ``split``'s job, which read ``video``'s facts so
    and heard its sound so (None: as this lipflow does); none if they are ``split``'s own."""
    measured = {} if heard is None else {"loudness": lambda _: heard}
    try:
        then = plan_split(entry.limits, video, audio, cut_policy(step), fit=step.fit, **measured)
    except SplitProblem:
        return ()
    return () if then.pieces == split.pieces else then.pieces


def piece_job_id(job_id: str, piece: PiecePlan) -> str:
    """``dub`` -> ``dub[piece=2]``; ``dub[lang=es]`` -> ``dub[lang=es,piece=2]``."""
    if job_id.endswith("]"):
        return f"{job_id[:-1]},piece={piece.index}]"
    return f"{job_id}[piece={piece.index}]"


def piece_media(
    media: Mapping[str, MediaRef], piece: PiecePlan, group: str, cut: Piece
) -> dict[str, MediaRef]:
    """The job's media with the video and audio replaced by the piece's: files the runner cuts
    under ``pieces/<group>/`` (relative to the out directory) before uploading them, named by
    what they are cut from (``01-<digest>.video.mp4``): the runner reuses a file it finds, so
    a piece re-split or a source re-recorded must not find the old one."""
    folder = f"{PIECES_DIR}/{path_component(group)}/{piece.index:02d}-{piece_digest(cut)[:16]}"
    out = dict(media)
    out["video"] = replace(
        media["video"],
        value=f"{folder}.video.mp4",
        duration=round(piece.seconds, 3),
        size_bytes=piece.video_bytes,
        width=piece.size[0],
        height=piece.size[1],
    )
    out["audio"] = replace(
        media["audio"],
        value=f"{folder}.audio.wav",
        duration=round(piece.seconds, 3),
        size_bytes=piece.audio_bytes,
    )
    return out


def piece_of(
    split: SplitPlan, piece: PiecePlan, group: str, media: Mapping[str, MediaRef]
) -> Piece:
    """The plan's record of one piece, carried by its job."""
    return Piece(
        group=group,
        index=piece.index,
        count=piece.count,
        start=piece.start,
        end=piece.end,
        why=piece.why,
        video_method=piece.video_method,
        video_bytes=piece.video_bytes,
        audio_bytes=piece.audio_bytes,
        size=piece.size,
        video=str(media["video"].value),
        audio=str(media["audio"].value),
        fps=str(split.fps),
        earlier_cut=_cut_then(split.earlier, piece),
        cut_on_raw_timestamps=_cut_then(split.on_raw_timestamps, piece),
        cut_sideways=_sized_cut_then(split.sideways, piece),
    )


def _cut_then(then: Sequence[PiecePlan], piece: PiecePlan) -> tuple[float, float, str] | None:
    """``piece``'s (start, end, video_method) among the pieces ``then`` an older lipflow planned,
    if they differ from its own now."""
    older = _then(then, piece)
    cut = None if older is None else (older.start, older.end, older.video_method)
    return None if cut == (piece.start, piece.end, piece.video_method) else cut


def _sized_cut_then(
    then: Sequence[PiecePlan], piece: PiecePlan
) -> tuple[float, float, str, int, int] | None:
    """:func:`_cut_then` with the piece's size then, if any of them differ from its own now."""
    older = _then(then, piece)
    if older is None or (older.start, older.end, older.video_method, older.size) == (
        piece.start,
        piece.end,
        piece.video_method,
        piece.size,
    ):
        return None
    return (older.start, older.end, older.video_method, *older.size)


def _then(then: Sequence[PiecePlan], piece: PiecePlan) -> PiecePlan | None:
    """The piece of ``then`` (an older lipflow's pieces) at ``piece``'s index, if any."""
    return next((older for older in then if older.index == piece.index), None)

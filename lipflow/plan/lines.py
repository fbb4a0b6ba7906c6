"""Planning a lip sync from lines (subtitles or a script): each line a time range of the video.

Spoken by text-to-speech, each line is one job on its own piece of the video (cut locally at run
time, joined back into one video afterwards). Driven by an audio track recorded to the lines'
timing, the lines become sync segments of one job where a model offers segments, else one job per
piece of video and audio. Either way each line's fit in its slot is judged here, before paying.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from lipflow.catalog import ModelEntry
from lipflow.errors import InputError
from lipflow.jobs import LINE, MediaRef, PlannedJob, PlannedLine, Segment, line_stamp
from lipflow.lines.fit import DEFAULT_TOLERANCE, FitPolicy, judge_fit
from lipflow.lines.speech import estimate_speech
from lipflow.media import piece_of
from lipflow.plan.context import PlanContext
from lipflow.plan.expansion import format_job_id
from lipflow.pricing import charge
from lipflow.problems import UNREADABLE, Location, PathPart, Problem, Severity, has_errors
from lipflow.recipe import Step, reference_problem

if TYPE_CHECKING:
    from lipflow.lines.model import Line, LinesFile

__all__ = ["LineJob", "LinesPlanning", "sync_mode_of"]


@dataclass(frozen=True, slots=True, kw_only=True)
class LineJob:
    """What one job of a lines step is made of: its spec, its lines, and how media is cut."""

    key: Mapping[str, Any]  # added to the job id, e.g. {"line": "00:00:08.000"} (its start)
    spec: dict[str, Any]  # the step's spec for this job, as Parameters.build reads it
    lines: tuple[Line, ...]
    piece: Line | None  # the line whose time range the job's media is cut to (None: segments)
    voices: Mapping[int, str | None]


class LinesPlanning:
    """Reads each lines input once, and turns a lines step into its jobs and review rows."""

    def __init__(self, ctx: PlanContext) -> None:
        self.ctx = ctx
        self._files: dict[str, LinesFile | None] = {}
        # job id -> where its spoken text and its voice were written, for the provider's checks
        self._sources: dict[str, tuple[Location, tuple[PathPart, ...] | Location | None]] = {}
        fit = ctx.recipe.fit
        self.policy = FitPolicy(
            tolerance=float(fit.get("tolerance", DEFAULT_TOLERANCE)),
            on_misfit="error" if fit.get("on_misfit") == "error" else "warn",
        )

    def read(
        self, ref: Any, path: tuple[PathPart, ...], job_id: str
    ) -> tuple[str, LinesFile] | None:
        """The lines input ``ref`` names, read, with speakers split off; problems reported once."""
        recipe = self.ctx.recipe
        inp = recipe.inputs.get(ref) if isinstance(ref, str) else None
        if inp is None:
            self.ctx.problems.append(
                reference_problem(recipe, "lines", ref, path).with_context(job=job_id)
            )
            return None
        if inp.kind != "lines":
            self.ctx.problem(
                f"input {ref!r} is {inp.kind}, but lines (a subtitle file or script) are wanted here",
                path,
                job=job_id,
            )
            return None
        if inp.name not in self._files:
            self._files[inp.name] = self._read(inp.name)
        lines = self._files[inp.name]
        return None if lines is None else (inp.name, lines)

    def _read(self, name: str) -> LinesFile | None:
        inp = self.ctx.recipe.inputs[name]
        where = ("inputs", name, "lines")
        if inp.is_url or inp.path is None:
            self.ctx.problem(
                f"input {name!r}: lines are read from a local file, not {inp.source!r}", where
            )
            return None
        shown = _shown_path(self.ctx.recipe.file, inp.source or "")
        from lipflow.lines.reading import read_lines  # the readers load for a recipe with lines
        from lipflow.lines.speakers import split_speakers

        try:
            lines = read_lines(inp.path, shown_as=shown)
        except InputError as exc:
            if exc.line is None:  # the file as a whole (missing, binary): where the recipe names it
                self.ctx.problem(f"input {name!r}: {shown}: {exc.message}", where, code=UNREADABLE)
            else:
                self.ctx.problems.append(
                    Problem(
                        message=exc.message,
                        location=Location(shown, exc.line, exc.column),
                        code=UNREADABLE,
                        context=(("input", name),),
                    )
                )
            return None
        lines = split_speakers(lines, self.ctx.recipe.voices)
        self.ctx.problems.extend(p.with_context(input=name) for p in lines.problems)
        if not lines.lines:
            if not has_errors(lines.problems):  # every line left out, each with its warning
                left_out = sum(1 for p in lines.problems if p.code == "lines-empty")
                self.ctx.problems.append(
                    Problem(
                        message=f"nothing to dub: all {left_out} of its line(s) are empty or a "
                        "label alone (each left out, see the warnings); write the words to "
                        "speak under the cues",
                        location=Location(shown, 1, 1),
                        code="lines-nothing-to-dub",
                        context=(("input", name),),
                    )
                )
            return None
        return lines

    def job_count(self, step: Step, spec: Mapping[str, Any], lines: LinesFile) -> int:
        """How many jobs :meth:`jobs` makes of ``lines``, without making them (for --max-jobs)."""
        if spec.get("audio") is not None and self._segments_possible(step):
            return 1
        return len(lines.lines)

    def jobs(
        self,
        step: Step,
        spec: Mapping[str, Any],
        name: str,
        lines: LinesFile,
        values: Mapping[str, Any],
    ) -> Iterator[LineJob]:
        """The jobs of a lines step for one matrix combination: one per line, or one segmented."""
        from lipflow.lines.speakers import assign_voices

        voices: Mapping[int, str | None] = {}
        if spec.get("audio") is None:  # a recorded dub has its voices already
            default = spec.get("voice") if isinstance(spec.get("voice"), str) else None
            voices, problems = assign_voices(lines, self.ctx.recipe.voices, default)
            job_id = format_job_id(step.id, values)
            self.ctx.problems.extend(p.with_context(job=job_id) for p in problems)
            if problems:
                return
        base = {k: v for k, v in spec.items() if k not in ("lines", "voice")}
        language = self.ctx.recipe.inputs[name].language
        if spec.get("audio") is not None and self._segments_possible(step):
            yield LineJob(key={}, spec=base, lines=lines.lines, piece=None, voices=voices)
            return
        for line in lines.lines:
            line_spec = dict(base)
            if spec.get("audio") is None:
                voice = voices[line.number]
                tts: dict[str, Any] = {"text": line.text, "language": language}
                if voice is not None:
                    tts["voice"] = voice
                line_spec["tts"] = tts
            key = {LINE: line_stamp(line.start)}  # what the line is, not where it is in its file
            self._sources[format_job_id(step.id, {**values, **key})] = (
                line.location,
                self._voice_source(step, line),
            )
            yield LineJob(key=key, spec=line_spec, lines=(line,), piece=line, voices=voices)

    def _voice_source(self, step: Step, line: Line) -> tuple[PathPart, ...] | Location | None:
        if line.voice:
            return line.location
        if line.speaker and line.speaker in self.ctx.recipe.voices:
            return ("voices", line.speaker)
        return (*step.recipe_path, step.action, "voice")

    def relocate(self, first: int) -> None:
        """Place the provider's verdicts on a line's text or voice (problems from ``first`` on)
        where they were written: the cue in the lines file, the ``voices:`` entry."""
        problems = self.ctx.problems
        for i in range(first, len(problems)):
            p = problems[i]
            source = self._sources.get(dict(p.context).get("job", ""))
            if source is None or p.path[-2:-1] != ("tts",):
                continue
            where = source[0] if p.path[-1] == "text" else source[1]
            if isinstance(where, Location):
                problems[i] = replace(p, location=where, path=())
            elif where is not None:
                problems[i] = replace(p, location=self.ctx.recipe.locate(where), path=where)

    def _segments_possible(self, step: Step) -> bool:
        """Whether a model this step may use offers segments (else lines become pieces)."""
        return any(
            "lipsync.segments" in m.capabilities
            and (step.use is None or m.id == step.use)
            and (step.provider is None or m.provider == step.provider)
            for m in self.ctx.catalog.models
        )

    def cut(
        self, line_job: LineJob, media: dict[str, MediaRef], job_id: str, path: tuple[PathPart, ...]
    ) -> LineJob | None:
        """Point the job's media at its piece (or its segments at the audio); None on a problem.

        A line running past the end of its video (or audio) is the job it was (its media the
        cue's range, cut to what the file has), but its slot, where it is judged and joined, ends
        with the file: there is nothing to lip-sync after it. A warning says so at the cue."""
        piece = line_job.piece
        if piece is None:
            audio = media.pop("audio")
            for i in range(len(line_job.lines)):
                media[f"segments.{i}.audio"] = audio
            return line_job
        end = piece.end
        for role in ("video", "audio"):
            ref = media.get(role)
            if ref is None:
                continue
            if ref.origin != "file":
                self.ctx.problem(
                    f"{role} {ref.name!r} must be a local file to dub it line by line: "
                    "each line's piece is cut from it before upload",
                    (*path, role),
                    job=job_id,
                )
                return None
            seconds = piece.slot
            if ref.duration is not None:
                seconds = round(min(piece.end, ref.duration) - piece.start, 3)
                if seconds <= 0:
                    self.ctx.problems.append(
                        Problem(
                            message=f"line {piece.number} starts at {piece.start:g} s, but "
                            f"{role} {ref.name!r} ends at {ref.duration:g} s",
                            location=piece.location,
                            code="line-outside-media",
                            context=(("job", job_id),),
                        )
                    )
                    return None
                if ref.duration < end:
                    end = ref.duration
                    self.ctx.problems.append(
                        Problem(
                            message=f"line {piece.number} ends at {piece.end:g} s, but {role} "
                            f"{ref.name!r} ends at {ref.duration:g} s: it is judged and dubbed in "
                            f"the {seconds:g} s the {role} has (shorten the cue to end there)",
                            location=piece.location,
                            severity=Severity.WARNING,
                            code="line-past-media",
                            context=(("job", job_id),),
                        )
                    )
            size = None
            if ref.size_bytes is not None and ref.duration:
                size = round(ref.size_bytes * seconds / ref.duration)
            media[role] = replace(
                ref,
                value=piece_of(str(ref.value), piece.start, piece.end),
                duration=seconds,
                size_bytes=size,
            )
        if end == piece.end:
            return line_job
        clipped = replace(piece, end=end)
        return replace(line_job, lines=(clipped,), piece=clipped)

    def segments(self, line_job: LineJob) -> tuple[Segment, ...]:
        """The lines as sync segments: each plays the audio track at its own time."""
        return tuple(
            Segment(start=line.start, end=line.end, audio_start=line.start, audio_end=line.end)
            for line in line_job.lines
        )

    def review(
        self,
        step: Step,
        name: str,
        line_job: LineJob,
        pj: PlannedJob,
        entry: ModelEntry,
        audio: MediaRef | None,
    ) -> list[PlannedLine]:
        """Each line of a job as a review row, its fit judged; misfits become problems."""
        rows = []
        sync_mode = (
            sync_mode_of(pj.job.options) if "lipsync.segments" in entry.capabilities else None
        )
        language = self.ctx.recipe.inputs[name].language
        for line in line_job.lines:
            if audio is None:
                speech = estimate_speech(line.text, language=language)
                low, high, basis = speech.low, speech.high, speech.basis
            else:
                available = line.slot
                if audio.duration is not None:
                    available = max(0.0, min(line.end, audio.duration) - line.start)
                low = high = round(available, 2)
                basis = f"the audio {audio.name!r} from {line.start:g} s to {line.end:g} s"
            verdict = judge_fit(line.slot, low, high, self.policy, sync_mode=sync_mode)
            if line_job.piece is None:
                share = charge(entry.id, audio_seconds=line.slot).usd if entry.price else None
                usd, usd_low, usd_high = share, share, share
            else:
                usd, usd_low, usd_high = pj.cost.usd, pj.usd_low, pj.usd_high
            rows.append(
                PlannedLine(
                    step=step.id,
                    job=pj.job.id,
                    lines=name,
                    cue=line.number,
                    location=str(line.location),
                    start=line.start,
                    end=line.end,
                    speaker=line.speaker,
                    voice=line_job.voices.get(line.number) if audio is None else None,
                    text=line.text,
                    estimate_low=low,
                    estimate_high=high,
                    estimate_basis=basis,
                    fit=verdict.status,
                    fit_note=verdict.label,
                    usd=usd,
                    usd_low=usd_low,
                    usd_high=usd_high,
                )
            )
            if verdict.status == "misfit":
                self.ctx.problems.append(
                    Problem(
                        message=f"line {line.number} does not fit its slot: {verdict.note}"
                        + (
                            "; shorten the line, widen its slot, or raise fit.tolerance"
                            if verdict.by > 0
                            else ""
                        ),
                        location=line.location,
                        severity=Severity.ERROR
                        if self.policy.on_misfit == "error"
                        else Severity.WARNING,
                        code="line-fit",
                        context=(("job", pj.job.id),),
                    )
                )
        return rows


def sync_mode_of(options: Mapping[str, Any]) -> str:
    """The job's ``providerSettings.sync.syncMode``, or its documented default ``bounce``
    (https://runware.ai/docs/models/sync-lipsync-2#request-providersettings-sync-syncmode)."""
    settings = options.get("providerSettings")
    sync = settings.get("sync") if isinstance(settings, Mapping) else None
    mode = sync.get("syncMode") if isinstance(sync, Mapping) else None
    return mode if isinstance(mode, str) else "bounce"


def _shown_path(recipe_file: str, source: str) -> str:
    """A lines file as messages name it: beside the recipe, as the user would open it."""
    import os

    if os.path.isabs(source):
        return source
    return os.path.normpath(os.path.join(os.path.dirname(recipe_file), source))

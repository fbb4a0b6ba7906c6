"""The vocabulary of plans: jobs, their typed parameters and media, the requests they send,
what they cost, and the :class:`Plan` that ``plan`` writes and ``run`` reads.

These are plain frozen values shared by the planner (which builds them), the provider clients
(which turn them into request bodies) and the runner (which executes them), so neither layer
imports the other. A value that only exists at run time (an uploaded file's media id, an
upstream job's video URL) is a :class:`Deferred`: shown by name in a plan, validated through a
typed example, resolved by the runner.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from typing import Any, Protocol

from lipflow.errors import UsageError
from lipflow.problems import Location, Problem, Severity, has_errors

__all__ = [
    "LINE",
    "PIECE_OLDER_CUTS",
    "Cost",
    "Deferred",
    "GenerateParams",
    "Job",
    "LipsyncParams",
    "MediaRef",
    "Params",
    "Piece",
    "Plan",
    "PlannedJob",
    "PlannedLine",
    "PlannedRequest",
    "RequestSource",
    "Segment",
    "Speech",
    "StepChoice",
    "dollars",
    "format_job_id",
    "has_deferred",
    "line_stamp",
    "resolve",
    "to_display",
    "usd_rounded",
]


@dataclass(frozen=True, slots=True)
class Deferred:
    """A request value known only at run time, e.g. ``upload.presenter.mediaUUID``."""

    ref: str
    example: Any  # a value of the right type, so a plan's requests can be schema-checked

    def __str__(self) -> str:
        return "${" + self.ref + "}"


@dataclass(frozen=True, slots=True, kw_only=True)
class MediaRef:
    """One media input of a job and where it comes from."""

    name: str  # recipe input name, or "steps.STEP" for an upstream output
    kind: str  # video | audio | image
    origin: str  # url | file | media_id | step
    value: str | int  # the URL, the absolute file path, the media id, or the upstream job id
    provider: str | None = None  # the provider holding a media id
    duration: float | None = None
    size_bytes: int | None = None
    width: int | None = None  # frame size of a probed video or image: documented limits use it
    height: int | None = None
    format: str | None = None  # a probed image's format (png, jpeg, webp)

    def to_json(self) -> dict[str, Any]:
        out = {
            "name": self.name,
            "kind": self.kind,
            "origin": self.origin,
            "value": self.value,
            "provider": self.provider,
            "duration": self.duration,
            "size_bytes": self.size_bytes,
            "width": self.width,
            "height": self.height,
            "format": self.format,
        }
        if self.width is not None:
            out["width"], out["height"] = self.width, self.height
        return out

    @classmethod
    def from_json(cls, raw: Mapping[str, Any]) -> MediaRef:
        return cls(**raw)


@dataclass(frozen=True, slots=True, kw_only=True)
class Speech:
    """Text the provider's text-to-speech speaks, in a named voice (or its default)."""

    text: Any
    voice: Any = None
    language: str | None = None  # the text's language when known (lines), for length estimates

    def to_json(self) -> dict[str, Any]:
        out = (
            {"text": self.text} if self.voice is None else {"text": self.text, "voice": self.voice}
        )
        if self.language is not None:
            out["language"] = self.language
        return out


@dataclass(frozen=True, slots=True, kw_only=True)
class Segment:
    """A time range of the video, driven by its own audio (or a slice of it)."""

    start: Any
    end: Any
    audio_start: Any = None
    audio_end: Any = None
    text: Any = None

    def to_json(self) -> dict[str, Any]:
        return {
            "start": self.start,
            "end": self.end,
            "audio_start": self.audio_start,
            "audio_end": self.audio_end,
            "text": self.text,
        }


@dataclass(frozen=True, slots=True, kw_only=True)
class LipsyncParams:
    """What a lip sync asks for beyond its media: text-to-speech, or segments."""

    tts: Speech | None = None
    segments: tuple[Segment, ...] | None = None

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        if self.tts is not None:
            out["tts"] = self.tts.to_json()
        if self.segments is not None:
            out["segments"] = [s.to_json() for s in self.segments]
        return out

    @classmethod
    def from_json(cls, raw: Mapping[str, Any]) -> LipsyncParams:
        tts, segments = raw.get("tts"), raw.get("segments")
        return cls(
            tts=None
            if tts is None
            else Speech(text=tts.get("text"), voice=tts.get("voice"), language=tts.get("language")),
            segments=None if segments is None else tuple(Segment(**s) for s in segments),
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class GenerateParams:
    """What a video generation asks for. Values are as the recipe gave them (after templating):
    the provider's request schema says what each may be. Unset fields stay None."""

    style: Any = None
    effect: Any = None
    camera: Any = None
    motion: Any = None
    prompt: Any = None
    negative_prompt: Any = None
    sound: Any = None
    duration: Any = None
    fps: Any = None
    width: Any = None
    height: Any = None

    def to_json(self) -> dict[str, Any]:
        return {f: v for f in _GENERATE_FIELDS if (v := getattr(self, f)) is not None}

    @classmethod
    def from_json(cls, raw: Mapping[str, Any]) -> GenerateParams:
        unknown = set(raw) - set(_GENERATE_FIELDS)
        if unknown:
            raise UsageError(
                f"unknown generate parameters in the plan: {', '.join(sorted(unknown))}"
            )
        return cls(**raw)


_GENERATE_FIELDS = tuple(f.name for f in fields(GenerateParams))
Params = LipsyncParams | GenerateParams


def params_from_json(action: str, raw: Mapping[str, Any]) -> Params:
    return LipsyncParams.from_json(raw) if action == "lipsync" else GenerateParams.from_json(raw)


@dataclass(frozen=True, slots=True, kw_only=True)
class Piece:
    """One piece of a lip sync split to fit its model's limits (:mod:`lipflow.longmedia`).

    The runner cuts ``[start, end)`` of the ``video`` and ``audio`` source files into the piece's
    media before uploading them, and once every piece of ``group`` is done joins their outputs
    into one, in ``index`` order.
    """

    group: str  # the id of the whole job the pieces stand for
    index: int  # from 1
    count: int
    start: float
    end: float
    why: str  # why the cut at ``start`` is there
    video_method: str  # "stream copy" or "re-encode: <reason>"
    video_bytes: int  # estimated
    audio_bytes: int  # exact (PCM WAV)
    size: tuple[int, int]  # the piece's frame size
    video: str  # the source files
    audio: str
    fps: str  # the source's frame rate, "30000/1001" or "25"
    # (start, end, video_method) a lipflow that counted a video's own sound from its first
    # sample, not its first frame, gave this piece (it found the pauses, so the cuts, elsewhere):
    # the piece it bought then is this one (lipflow.run.upgrades). None when they are the same.
    earlier_cut: tuple[float, float, str] | None = None
    # The same, given by a lipflow that read the keyframe times of a video whose first frame is
    # not at 0 from its raw timestamps (it planned each cut's method, or a cut on a keyframe,
    # otherwise). None when they are the same.
    cut_on_raw_timestamps: tuple[float, float, str] | None = None
    # The same with the piece's size then, (start, end, video_method, width, height), given by a
    # lipflow before turned phone videos were cut upright: it read such a video as stored (its
    # stored size, no turn; keyframe times from raw timestamps) and cut its pieces sideways.
    cut_sideways: tuple[float, float, str, int, int] | None = None

    def to_json(self) -> dict[str, Any]:
        out = {f.name: getattr(self, f.name) for f in fields(self)} | {"size": list(self.size)}
        for name in PIECE_OLDER_CUTS:
            if out[name] is None:
                del out[name]  # a plan saved by a lipflow without it reads the same
            else:
                out[name] = list(out[name])
        return out

    @classmethod
    def from_json(cls, raw: Mapping[str, Any]) -> Piece:
        older = {
            name: None if raw.get(name) is None else tuple(raw[name]) for name in PIECE_OLDER_CUTS
        }
        return cls(**{**raw, "size": tuple(raw["size"]), **older})


# The fields of a piece that say where an older lipflow cut it (in plan JSON only when set).
PIECE_OLDER_CUTS = ("earlier_cut", "cut_on_raw_timestamps", "cut_sideways")


# The matrix key of a job that dubs one line of a subtitle file or script, its value the line's
# start in the video (``dub[line=00:00:08.000]``): the lines of one video never overlap, so the
# start names the line, and inserting or deleting another line renames no job (its number would).
LINE = "line"


def format_job_id(step: str, values: Mapping[str, Any]) -> str:
    """``step[key=value,...]``: a job's id from its step and matrix values."""
    if not values:
        return step
    return f"{step}[{','.join([f'{k}={v}' for k, v in values.items()])}]"


def line_stamp(seconds: float) -> str:
    """A line's start as its job id names it: ``HH:MM:SS.mmm``, as a subtitle editor shows it."""
    hours, rest = divmod(round(seconds * 1000), 3_600_000)
    minutes, rest = divmod(rest, 60_000)
    return f"{hours:02d}:{minutes:02d}:{rest // 1000:02d}.{rest % 1000:03d}"


@dataclass(frozen=True, slots=True, kw_only=True)
class Job:
    """One provider job: a step for one matrix combination, with its model chosen."""

    id: str
    step: str
    action: str  # lipsync | generate
    provider: str
    model: str  # the provider's model name, e.g. "sync:lipsync-2@1"
    model_id: str  # the catalog id, e.g. "runware/sync-lipsync-2"
    task_uuid: str  # Runware's idempotency key; deterministic per recipe and job
    media: Mapping[str, MediaRef] = field(default_factory=dict)  # role -> media
    params: Params = field(default_factory=LipsyncParams)
    options: Mapping[str, Any] = field(default_factory=dict)
    needs: tuple[str, ...] = ()  # upstream job ids
    matrix: Mapping[str, Any] = field(default_factory=dict)
    piece: Piece | None = None  # set when the job is one piece of a split lip sync
    key: str = ""  # what the provider is asked to do, hashed: see lipflow.identity

    @property
    def output_kind(self) -> str:
        return "video"

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "step": self.step,
            "action": self.action,
            "provider": self.provider,
            "model": self.model,
            "model_id": self.model_id,
            "task_uuid": self.task_uuid,
            "media": {role: ref.to_json() for role, ref in self.media.items()},
            "params": self.params.to_json(),
            "options": dict(self.options),
            "needs": list(self.needs),
            "matrix": dict(self.matrix),
            **({} if self.piece is None else {"piece": self.piece.to_json()}),
            "key": self.key,
        }

    @classmethod
    def from_json(cls, raw: Mapping[str, Any]) -> Job:
        data = dict(raw)
        data["media"] = {role: MediaRef.from_json(m) for role, m in raw["media"].items()}
        data["needs"] = tuple(raw["needs"])
        data["params"] = params_from_json(raw["action"], raw.get("params") or {})
        data["piece"] = None if raw.get("piece") is None else Piece.from_json(raw["piece"])
        return cls(**{k: v for k, v in data.items() if k in _JOB_FIELDS})


_JOB_FIELDS = frozenset(f.name for f in fields(Job))


@dataclass(frozen=True, slots=True, kw_only=True)
class PlannedRequest:
    """One HTTP request a job will send, as a plan shows it (keys redacted)."""

    purpose: str  # e.g. "upload video 'presenter'", "submit", "poll until done"
    method: str
    url: str
    endpoint: str | None  # the API path the provider schemas know it by (None: Runware task)
    headers: Mapping[str, str] = field(default_factory=dict)
    json: Any = None
    form: Mapping[str, Any] | None = (
        None  # multipart fields; a file as {filename, content_type, size}
    )
    content: str | None = None  # a raw body, described
    repeat: bool = False  # sent again until the job is done
    validate: bool = True  # checked against the provider's request schema
    upload_of: tuple[str, str] | None = (
        None  # (origin, file/URL/job): one upload per run serves all
    )
    reused_from: str | None = None  # the job whose identical upload this one reuses: not sent

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "purpose": self.purpose,
            "method": self.method,
            "url": self.url,
            "headers": dict(self.headers),
        }
        if self.json is not None:
            out["json"] = to_display(self.json)
        if self.form is not None:
            out["form"] = to_display(self.form)
        if self.content is not None:
            out["content"] = self.content
        if self.repeat:
            out["repeat"] = "until the job is done"
        if self.reused_from is not None:
            out["reused_from"] = self.reused_from
        return out

    @classmethod
    def from_json(cls, raw: Mapping[str, Any]) -> PlannedRequest:
        """A request as a saved plan shows it: run-time values stay as their ``${ref}`` text."""
        return cls(
            purpose=raw["purpose"],
            method=raw["method"],
            url=raw["url"],
            endpoint=None,
            headers=dict(raw.get("headers") or {}),
            json=raw.get("json"),
            form=raw.get("form"),
            content=raw.get("content"),
            repeat="repeat" in raw,
            validate=False,
            reused_from=raw.get("reused_from"),
        )


def to_display(value: Any) -> Any:
    """``value`` with every Deferred shown as ``${ref}``."""
    if isinstance(value, Deferred):
        return str(value)
    if isinstance(value, dict):
        return {k: to_display(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [to_display(v) for v in value]
    return value


def has_deferred(value: Any) -> bool:
    """Whether ``value`` holds a Deferred anywhere (cheaper than resolving when it does not)."""
    # One explicit stack, exact type tests: this runs on every planned request.
    stack = [value]
    while stack:
        item = stack.pop()
        kind = type(item)
        if kind is dict:
            stack.extend(item.values())
        elif kind is list or kind is tuple:
            stack.extend(item)
        elif kind is Deferred:
            return True
    return False


def resolve(value: Any, lookup: Mapping[str, Any] | None = None) -> Any:
    """``value`` with Deferreds replaced: by ``lookup[ref]``, or by their typed example."""
    # Exact type tests: this runs once per planned request, 10,000 times for a large matrix.
    kind = type(value)
    if kind is dict:
        return {k: resolve(v, lookup) for k, v in value.items()}
    if kind is list or kind is tuple:
        return [resolve(v, lookup) for v in value]
    if kind is Deferred:
        return value.example if lookup is None else lookup[value.ref]
    return value


# ---------------------------------------------------------------------------------- costs


# The smallest amount a plan shows and records: a millionth of a dollar.
_USD_PLACES = 6


def usd_rounded(usd: float) -> float:
    """``usd`` to the millionth of a dollar, but a positive amount stays positive: a job that
    is paid for is never recorded as free (a 0.0000001 s audio at $0.0136/s)."""
    rounded = round(usd, _USD_PLACES)
    return 10.0**-_USD_PLACES if rounded == 0 and usd > 0 else rounded


def dollars(usd: float, *, grouped: bool = False) -> str:
    """``$0.0136`` (``grouped``: thousands separated); a positive amount under what four
    decimals show is ``<$0.0001``, never ``$0.0000``."""
    if 0 < usd < 0.00005:
        return "<$0.0001"
    return f"${usd:,.4f}" if grouped else f"${usd:.4f}"


@dataclass(frozen=True, slots=True, kw_only=True)
class Cost:
    """A cost with its derivation. ``usd`` None means the docs give no price for this work."""

    usd: float | None
    credits: int | None = None
    basis: str
    source: str | None = None
    as_of: str | None = None
    assumptions: tuple[str, ...] = ()

    @property
    def priced(self) -> bool:
        return self.usd is not None

    def to_json(self) -> dict[str, Any]:
        return {
            "usd": None if self.usd is None else usd_rounded(self.usd),
            "credits": self.credits,
            "basis": self.basis,
            "source": self.source,
            "as_of": self.as_of,
            "assumptions": list(self.assumptions),
        }

    @classmethod
    def from_json(cls, raw: Mapping[str, Any]) -> Cost:
        return cls(
            usd=raw.get("usd"),
            credits=raw.get("credits"),
            basis=raw.get("basis") or "",
            source=raw.get("source"),
            as_of=raw.get("as_of"),
            assumptions=tuple(raw.get("assumptions") or ()),
        )


# ---------------------------------------------------------------------------------- the plan


class RequestSource(Protocol):
    """What makes a planned job's requests when they are asked for (one per step, shared)."""

    def requests_of(self, job: Job) -> tuple[PlannedRequest, ...]: ...


@dataclass(frozen=True, slots=True, kw_only=True)
class PlannedJob:
    """A job with its cost, and its requests: held (a saved plan's), or made from the job by a
    source shared by the step's jobs whenever they are shown. The planner checks every request
    as it plans; the runner builds its own, so a plan of 100,000 jobs need not hold 200,000
    request bodies."""

    job: Job
    made_by: tuple[PlannedRequest, ...] | RequestSource
    cost: Cost
    usd_low: float | None
    usd_high: float | None
    output_duration: float | None = None

    @property
    def requests(self) -> tuple[PlannedRequest, ...]:
        made_by = self.made_by
        return made_by if type(made_by) is tuple else made_by.requests_of(self.job)  # type: ignore[union-attr]

    def to_json(self) -> dict[str, Any]:
        out = self.job.to_json()
        out["requests"] = [r.to_json() for r in self.requests]
        out["cost"] = {**self.cost.to_json(), "usd_low": self.usd_low, "usd_high": self.usd_high}
        return out

    @classmethod
    def from_json(cls, raw: Mapping[str, Any]) -> PlannedJob:
        cost = raw.get("cost") or {}
        return cls(
            job=Job.from_json(raw),
            made_by=tuple(PlannedRequest.from_json(r) for r in raw.get("requests") or ()),
            cost=Cost.from_json(cost),
            usd_low=cost.get("usd_low"),
            usd_high=cost.get("usd_high"),
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class PlannedLine:
    """One line dubbed from subtitles or a script, as a producer reviews it before paying: its
    cue, who says what in which voice, its slot, the speech's estimated length, fit and cost."""

    step: str
    job: str  # the job that speaks it (one per line, or the segmented job holding it)
    lines: str  # the lines input
    cue: int
    location: str  # es.srt:42 or lines.csv:17:3
    start: float
    end: float
    speaker: str | None
    voice: str | None
    text: str
    estimate_low: float
    estimate_high: float
    estimate_basis: str
    fit: str  # fits | handled | misfit
    fit_note: str
    usd: float | None
    usd_low: float | None = None
    usd_high: float | None = None

    @property
    def slot(self) -> float:
        return round(self.end - self.start, 3)

    def to_json(self) -> dict[str, Any]:
        out = {f: getattr(self, f) for f in _LINE_FIELDS}
        for key in ("usd", "usd_low", "usd_high"):
            if out[key] is not None:
                out[key] = usd_rounded(out[key])
        out["slot"] = self.slot
        return out

    @classmethod
    def from_json(cls, raw: Mapping[str, Any]) -> PlannedLine:
        return cls(**{k: v for k, v in raw.items() if k in _LINE_FIELDS})


_LINE_FIELDS = tuple(f.name for f in fields(PlannedLine))


@dataclass(frozen=True, slots=True, kw_only=True)
class StepChoice:
    """Which model a step uses, why, and the alternatives rejected with their reasons."""

    step: str
    model_id: str
    reason: str
    rejected: tuple[tuple[str, str], ...] = ()

    def to_json(self) -> dict[str, Any]:
        return {
            "step": self.step,
            "model": self.model_id,
            "reason": self.reason,
            "rejected": [{"model": m, "why": why} for m, why in self.rejected],
        }

    @classmethod
    def from_json(cls, raw: Mapping[str, Any]) -> StepChoice:
        return cls(
            step=raw["step"],
            model_id=raw["model"],
            reason=raw["reason"],
            rejected=tuple((r["model"], r["why"]) for r in raw.get("rejected") or ()),
        )


def _problem_from_json(raw: Mapping[str, Any]) -> Problem:
    file = raw.get("file")
    return Problem(
        message=raw["message"],
        severity=Severity(raw.get("severity", "error")),
        code=raw.get("code") or "invalid",
        location=Location(file, raw.get("line"), raw.get("column")) if file else None,
        suggestion=raw.get("suggestion"),
        source=raw.get("source"),
        context=tuple((raw.get("context") or {}).items()),
    )


@dataclass(frozen=True, slots=True, kw_only=True)
class Plan:
    """Every job of a recipe with its requests, checks and cost: what ``lipflow plan`` shows and
    saves (``--out``) and what ``lipflow run`` executes."""

    recipe_file: str
    recipe_digest: str
    recipe_name: str
    budget: float | None
    jobs: tuple[PlannedJob, ...]
    choices: tuple[StepChoice, ...] = ()
    problems: tuple[Problem, ...] = ()
    base_urls: Mapping[str, str] = field(default_factory=dict)
    lines: tuple[PlannedLine, ...] = ()  # lines dubbed from subtitles or scripts, for review

    @property
    def ok(self) -> bool:
        return not has_errors(self.problems)

    @property
    def warnings(self) -> list[Problem]:
        return [p for p in self.problems if not p.is_error]

    def totals(self) -> dict[str, Any]:
        """Sums per step, per provider and overall; unpriced jobs are counted, not added as $0."""

        def bucket() -> dict[str, Any]:
            return {"usd": 0.0, "usd_low": 0.0, "usd_high": 0.0, "jobs": 0, "unpriced_jobs": 0}

        per_step: dict[str, dict[str, Any]] = {}
        per_provider: dict[str, dict[str, Any]] = {}
        overall = bucket()
        for pj in self.jobs:
            for agg in (
                per_step.setdefault(pj.job.step, bucket()),
                per_provider.setdefault(pj.job.provider, bucket()),
                overall,
            ):
                agg["jobs"] += 1
                if pj.cost.usd is None:
                    agg["unpriced_jobs"] += 1
                    continue
                agg["usd"] += pj.cost.usd
                agg["usd_low"] += pj.usd_low if pj.usd_low is not None else pj.cost.usd
                agg["usd_high"] += pj.usd_high if pj.usd_high is not None else pj.cost.usd
        for agg in (*per_step.values(), *per_provider.values(), overall):
            for key in ("usd", "usd_low", "usd_high"):
                agg[key] = usd_rounded(agg[key])
        return {"per_step": per_step, "per_provider": per_provider, "overall": overall}

    @property
    def total_usd(self) -> float:
        return float(self.totals()["overall"]["usd"])

    def to_json(self) -> dict[str, Any]:
        return self.json_document([pj.to_json() for pj in self.jobs])

    def json_document(self, jobs: object) -> dict[str, Any]:
        """The plan as JSON with ``jobs`` in its place: the list itself, or a stand-in for a
        writer that encodes the jobs one at a time (:func:`lipflow.reporting.plans.write_json`)."""
        totals = self.totals()
        return {
            "lipflow_plan": 1,
            "recipe": {
                "file": self.recipe_file,
                "digest": self.recipe_digest,
                "name": self.recipe_name,
            },
            "budget_usd": self.budget,
            "base_urls": dict(self.base_urls),
            "choices": [c.to_json() for c in self.choices],
            "jobs": jobs,
            "total_usd": totals["overall"]["usd"],
            "total_usd_low": totals["overall"]["usd_low"],
            "total_usd_high": totals["overall"]["usd_high"],
            "unpriced_jobs": totals["overall"]["unpriced_jobs"],
            "totals": totals,
            "warnings": [p.to_json() for p in self.warnings],
            "errors": [p.to_json() for p in self.problems if p.is_error],
            **({"lines": [line.to_json() for line in self.lines]} if self.lines else {}),
        }

    @classmethod
    def from_json(cls, raw: Mapping[str, Any]) -> Plan:
        """A plan saved by ``lipflow plan --out`` (``lipflow_plan: 1``); a UsageError if not one."""
        if raw.get("lipflow_plan") != 1 or not isinstance(raw.get("jobs"), list):
            raise UsageError('not a lipflow plan file (no "lipflow_plan": 1 with jobs)')
        recipe = raw["recipe"]
        problems = [*(raw.get("warnings") or ()), *(raw.get("errors") or ())]
        return cls(
            recipe_file=recipe["file"],
            recipe_digest=recipe["digest"],
            recipe_name=recipe.get("name") or "",
            budget=raw.get("budget_usd"),
            jobs=tuple(PlannedJob.from_json(j) for j in raw["jobs"]),
            choices=tuple(StepChoice.from_json(c) for c in raw.get("choices") or ()),
            problems=tuple(_problem_from_json(p) for p in problems),
            base_urls=dict(raw.get("base_urls") or {}),
            lines=tuple(PlannedLine.from_json(line) for line in raw.get("lines") or ()),
        )

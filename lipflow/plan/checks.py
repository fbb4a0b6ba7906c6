"""Checks placed on recipe lines: every compiled request against its provider's schema (through
the provider's checks), media against the model's documented limits, text-to-speech length.

A problem found in a request is put back on the recipe line the field came from (the provider
client's ``origins``), or on the step's ``options``. The same problem for many jobs is said once.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import replace
from operator import attrgetter
from typing import Any

from lipflow.catalog import ModelEntry, load_catalog
from lipflow.errors import UsageError
from lipflow.jobs import Job, LipsyncParams, MediaRef, Params, PlannedRequest, has_deferred, resolve
from lipflow.plan.context import PlanContext
from lipflow.problems import PathPart, Problem
from lipflow.providers import registry
from lipflow.providers.base import ProviderChecks, ProviderClient
from lipflow.recipe import SEGMENT_RANGE_CODES, Step
from lipflow.schemas.leaves import LeafChecks
from lipflow.schemas.loading import hold_plain, release_plain

__all__ = [
    "BodyTemplate",
    "RequestChecks",
    "check_media",
    "check_tts_text",
    "media_problems",
    "merge_repeats",
    "recipe_path",
]


class RequestChecks:
    """The checks of each job's requests and media; media limits are checked once per input."""

    def __init__(self, ctx: PlanContext) -> None:
        self.ctx = ctx
        self._media_checked: dict[tuple[str, str, int], tuple[MediaRef, list[Problem]]] = {}
        self._tts_max: dict[str, Any] = {}
        self._checks: dict[str, ProviderChecks] = {}

    def _provider_checks(self, provider: str) -> ProviderChecks:
        """What :func:`lipflow.schemas.check_request` asks, found once per provider."""
        found = self._checks.get(provider)
        if found is None:
            found = self._checks[provider] = registry.get(provider).checks
        return found

    def _media_problems(self, model_id: str, role: str, ref: MediaRef) -> list[Problem]:
        """Media limits, checked once per model and input however many jobs share them."""
        # By the ref's identity (the jobs of one input share one ref), which the entry keeps
        # alive: hashing a ref's ten fields for every job cost more than the rest of this.
        key = (model_id, role, id(ref))
        found = self._media_checked.get(key)
        if found is None:
            found = self._media_checked[key] = (ref, media_problems(model_id, role, ref))
        return found[1]

    def _tts_may_be_long(self, model_id: str, text: object) -> bool:
        """Whether ``text`` could pass the model's documented length (the catalog is read once
        per model; :func:`check_tts_text` decides and words it)."""
        if model_id not in self._tts_max:
            self._tts_max[model_id] = (_limits(model_id, "tts_text") or {}).get("max_chars")
        most = self._tts_max[model_id]
        return most is not None and isinstance(text, str) and len(text) > most

    def check_job(
        self,
        step: Step,
        entry: ModelEntry,
        job: Job,
        requests: Iterable[PlannedRequest],
        origins: Mapping[tuple[str, ...], tuple[str, ...]],
    ) -> bool:
        """Every check of one job: its requests (those to be validated), its media and its
        text-to-speech length. True when its requests had no problem."""
        found: list[tuple[Problem, tuple[PathPart, ...]]] = []
        for req in requests:
            if not req.validate:
                continue
            body = req.json if req.json is not None else req.form
            # Plain JSON has no Deferred in it: one walk tells both (a Deferred is not plain).
            plain = hold_plain(body)
            try:
                if not plain and has_deferred(body):
                    body = resolve(body)
                problems = self._provider_checks(entry.provider).check_request(
                    body, endpoint=req.endpoint, method=req.method
                )
            finally:
                release_plain()
            for problem in problems:
                if problem.code in SEGMENT_RANGE_CODES and step.spec.get("segments") is not None:
                    continue  # the recipe's check said it at the range, for every step
                path = problem.path[1:] if isinstance(body, list) else problem.path
                found.append((problem, recipe_path(step, path, origins)))
        clean = not found
        for role, ref in job.media.items():
            for problem in self._media_problems(entry.id, role, ref):
                where = (
                    ("inputs", ref.name)
                    if ref.name in self.ctx.recipe.inputs
                    else (*step.recipe_path, step.action, role.split(".")[0])
                )
                found.append((problem, where))
        tts = job.params.tts if isinstance(job.params, LipsyncParams) else None
        if tts and self._tts_may_be_long(entry.id, tts.text):
            text_at = (*step.recipe_path, step.action, "tts", "text")
            for problem in check_tts_text(entry.id, tts.text):
                # A provider schema's length rule is the same limit, from the same page, at the
                # same place: one problem for it, the one that says what to do.
                page = _page(problem.source)
                found = [
                    (said, where)
                    for said, where in found
                    if where != text_at or said.code != "length" or _page(said.source) != page
                ]
                found.append((problem, text_at))
        for problem, where in found:
            self.ctx.problems.append(
                Problem(
                    message=problem.message
                    if not problem.path
                    else f"{entry.provider} request {problem.json_path}: {problem.message}",
                    path=where,
                    location=self.ctx.recipe.locate(where),
                    severity=problem.severity,
                    code=problem.code,
                    suggestion=problem.suggestion,
                    source=problem.source,
                    context=(("job", job.id),),
                )
            )
        return clean


class BodyTemplate:
    """A step's job whose requests were checked whole and found clean, standing for the step's
    other jobs that differ from it only in the values its provider places as they are in its
    submit body (:meth:`~lipflow.providers.base.ProviderClient.submit_leaves`): such a job's
    requests are the template's but for those leaves, so checking the leaves decides them
    (:func:`lipflow.schemas.leaves.independent_leaves` says when)."""

    __slots__ = ("fields", "job", "leaves", "values")

    def __init__(self, job: Job, fields: tuple[str, ...], leaves: LeafChecks) -> None:
        self.job, self.fields, self.leaves = job, fields, leaves
        self.values = tuple(_LEAF_VALUES[f] for f in fields)

    @classmethod
    def of(
        cls,
        job: Job,
        requests: Sequence[PlannedRequest],
        client: ProviderClient,
        checks: ProviderChecks,
    ) -> BodyTemplate | None:
        """The template ``job`` (its ``requests`` just checked clean) makes, or None when its
        provider declares no leaves for it, it uploads a file (later jobs' uploads are found
        by the upload bookkeeping, not here), or its schema does not leave them independent."""
        # A provider written before these seams has neither: its bodies are checked whole.
        declare = getattr(client, "submit_leaves", None)
        declared = declare(job) if declare is not None else None
        checked = [r for r in requests if r.validate]
        if (
            not declared
            or not set(declared) <= set(_LEAF_VALUES)
            or len(checked) != 1
            or checked[0].purpose != "submit"
            or any(r.upload_of is not None for r in requests)
        ):
            return None
        req = checked[0]
        body = req.json if req.json is not None else req.form
        if has_deferred(body):
            body = resolve(body)
        fields = tuple(declared)
        decide = getattr(checks, "leaf_checks", None)
        if decide is None:
            return None
        leaves = decide(
            body, tuple(declared[f] for f in fields), endpoint=req.endpoint, method=req.method
        )
        return None if leaves is None else cls(job, fields, leaves)

    def decides(self, job: Job) -> bool:
        """Whether ``job``'s requests are the template's but for the declared leaves, and their
        new values pass: then its requests are valid. False: check them whole."""
        t = self.job
        if (
            job.media is not t.media
            or job.options is not t.options
            or job.model != t.model
            or job.provider != t.provider
            or job.piece is not None
            or t.piece is not None
            or not _same_params(job.params, t.params, "tts.text" in self.fields)
        ):
            return False
        return self.leaves.accepts([value(job) for value in self.values])


def _same_params(a: Params, b: Params, text_varies: bool) -> bool:
    """Equal parameters, but for the text-to-speech text when it is a declared leaf (values
    compared with their types: ``True == 1`` in Python, not in JSON)."""
    if a is b:
        return True
    if (
        type(a) is not LipsyncParams
        or type(b) is not LipsyncParams
        or a.segments is not None
        or b.segments is not None
    ):
        return False
    s, t = a.tts, b.tts
    if s is None or t is None:
        return s is t
    return (  # the jobs a step builds alike share their voice and language objects
        (s.voice is t.voice or _same(s.voice, t.voice))
        and (s.language is t.language or _same(s.language, t.language))
        and (text_varies or _same(s.text, t.text))
    )


def _same(a: object, b: object) -> bool:
    return type(a) is type(b) and a == b


def _tts_text(job: Job) -> object:
    tts = job.params.tts if type(job.params) is LipsyncParams else None
    return None if tts is None else tts.text


# The values a provider may declare as leaves, and how a job gives each.
_LEAF_VALUES: dict[str, Callable[[Job], object]] = {
    "task_uuid": attrgetter("task_uuid"),
    "tts.text": _tts_text,
}


def recipe_path(
    step: Step,
    request_path: tuple[PathPart, ...],
    origins: Mapping[tuple[str, ...], tuple[str, ...]],
) -> tuple[PathPart, ...]:
    """Where in the recipe a request field came from: its template line, or the step's options."""
    names = tuple(p for p in request_path if isinstance(p, str))
    for n in range(len(names), 0, -1):
        origin = origins.get(names[:n])
        if origin is not None and origin[0] == step.action:
            return _segment_range(step, request_path, origin) or (*step.recipe_path, *origin)
    node: Any = step.options
    for part in names:
        if not isinstance(node, Mapping) or part not in node:
            break
        node = node[part]
    else:
        if names:
            return (*step.recipe_path, "options", *names)
    return (*step.recipe_path, step.action)


def _segment_range(
    step: Step, request_path: tuple[PathPart, ...], origin: tuple[str, ...]
) -> tuple[PathPart, ...] | None:
    """The range of the recipe's segment list a request's segment came from (the request's
    segments are the list's ranges, in order), or None when the field is no segment's."""
    name = step.spec.get("segments")
    index = next((p for p in request_path if isinstance(p, int)), None)
    if origin[1:2] != ("segments",) or not isinstance(name, str) or index is None:
        return None
    return ("segments", name, "ranges", index, *origin[2:])


def merge_repeats(problems: Iterable[Problem]) -> tuple[Problem, ...]:
    """One problem per place and message: an input too long for a model is said once, not per job."""
    merged: dict[tuple[Any, ...], tuple[Problem, int]] = {}
    for p in problems:
        key = (p.location, p.path, p.message, p.severity)
        first, count = merged.get(key, (p, 0))
        merged[key] = (first, count + 1)
    out = []
    for first, count in merged.values():
        if count > 1 and first.context:
            (name, value), *rest = first.context
            first = replace(first, context=((name, f"{value} and {count - 1} more"), *rest))
        out.append(first)
    return tuple(out)


def _seconds(value: float) -> str:
    return f"{value:g} s"


# ---------------------------------------------------------------------------- media limits


def _limits(model_id: str, role: str) -> Mapping[str, Any] | None:
    """The catalog's limits for one input role; an unknown model id is a usage error."""
    return load_catalog().model(model_id).limits.get(role)


def _megabytes(size: float) -> str:
    return f"{size / 1_000_000:g} MB"


def media_problems(model_id: str, role: str, ref: MediaRef) -> list[Problem]:
    """One input of a job (``role`` video, audio, image, last_image, segments.N.audio) held
    against every limit the model documents for its kind, frames included."""
    sides = [s for s in (ref.width, ref.height) if s]
    problems = check_media(
        model_id,
        ref.kind,
        seconds=ref.duration,
        size_bytes=ref.size_bytes,
        max_side_px=max(sides) if sides else None,
        min_side_px=min(sides) if sides else None,
        image_format=ref.format,
    )
    frames = (_limits(model_id, "image") or {}).get("frames")
    if role == "last_image" and frames is not None and "last" not in frames:
        problems.append(
            Problem(
                message=f"{model_id} takes no last frame image",
                code="media-frame",
                source=(_limits(model_id, "image") or {}).get("source"),
            )
        )
    return problems


def check_media(
    model_id: str,
    role: str,
    *,
    seconds: float | None,
    size_bytes: int | None,
    max_side_px: int | None = None,
    min_side_px: int | None = None,
    image_format: str | None = None,
) -> list[Problem]:
    """A video, audio or image input held against the model's documented limits (catalog
    ``limits``): length, bytes, longest and shortest side, image format.

    ``model_id`` is a catalog id (``runware/pixverse-lipsync``); unknown values are not checked.
    """
    if role not in ("video", "audio", "image"):
        raise UsageError(
            f"unknown media role {role!r}; known: video, audio, image (text: check_tts_text)"
        )
    limits = _limits(model_id, role)
    if not limits:
        return []
    source = limits.get("source")
    sides: Callable[[float], str] = lambda px: f"{px:g} px on its longest side"  # noqa: E731
    measured: Sequence[tuple[float | None, str, str, Callable[[float], str]]] = (
        (seconds, "max_seconds", "media-too-long", _seconds),
        (size_bytes, "max_bytes", "media-too-large", _megabytes),
        (max_side_px, "max_pixels", "media-too-wide", sides),
    )
    problems = []
    for value, key, code, show in measured:
        limit = limits.get(key)
        if value is not None and limit is not None and value > limit:
            problems.append(
                Problem(
                    message=(
                        f"the {role} is {show(value)}; {model_id} accepts at most {show(limit)}"
                    ),
                    code=code,
                    source=source,
                )
            )
    least = limits.get("min_pixels")
    if min_side_px is not None and least is not None and min_side_px < least:
        problems.append(
            Problem(
                message=f"the {role} is {min_side_px} px on its shortest side; {model_id} "
                f"needs at least {least} px on each side",
                code="media-too-small",
                source=source,
            )
        )
    formats = limits.get("formats")
    if image_format is not None and formats is not None and image_format not in formats:
        problems.append(
            Problem(
                message=f"the {role} is {image_format.upper()}; {model_id} takes "
                + ", ".join(f.upper() for f in formats),
                code="media-format",
                source=source,
            )
        )
    return problems


def _page(source: str | None) -> str | None:
    """The documentation page a rule's source cites: its URL, without the section's words."""
    return source.split(maxsplit=1)[0] if source else None


def check_tts_text(model_id: str, text: str) -> list[Problem]:
    """Text-to-speech text held against the model's documented length (Runware's speech.text: Max
    200; PixVerse's "TTS script ~200 characters", enforced as 200 as Runware does)."""
    limits = _limits(model_id, "tts_text")
    if (
        not isinstance(text, str)
        or not limits
        or limits.get("max_chars") is None
        or len(text) <= limits["max_chars"]
    ):
        return []
    return [
        Problem(
            message=(
                f"the text-to-speech text is {len(text)} characters; {model_id} takes at most "
                f"{limits['max_chars']}: split it across segments or shorten it"
            ),
            code="tts-too-long",
            source=limits.get("source"),
        )
    ]

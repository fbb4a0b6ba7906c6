"""Recipe -> jobs -> requests -> costs: the dry run behind ``validate``, ``plan`` and ``run``.

Pure but for one injected function, ``probe``, that reads local media files. For every step the
planner expands the matrix (and fans out over upstream jobs), renders templates, picks a model
(the one named, or the cheapest with every capability asked for, listing the alternatives it
rejected and why), builds each request exactly as the runner will send it, checks it against the
provider's schema, and prices it with every assumption said.
"""

from __future__ import annotations

import gc
import itertools
import os
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from typing import Any

from lipflow import checks, schemas
from lipflow.catalog import ModelEntry, load_catalog
from lipflow.environment import base_urls
from lipflow.errors import LipflowError
from lipflow.jobs import Job, MediaRef, PlannedRequest, has_deferred, resolve
from lipflow.pricing import Cost, charge, segments_audio_seconds
from lipflow.problems import PathPart, Problem, Severity, did_you_mean, has_errors
from lipflow.providers import registry
from lipflow.providers._common import stable_uuid4
from lipflow.recipe import (
    STEP_REF_PREFIX,
    Input,
    Recipe,
    Step,
    dependency_order,
    reference_problem,
)
from lipflow.templating import TemplateProblem, Templater

__all__ = [
    "Plan",
    "PlannedJob",
    "StepChoice",
    "expand_matrix",
    "plan_file",
    "plan_recipe",
]

Probe = Callable[[str], Any]  # path -> object with .duration_s and .size_bytes


@dataclass(frozen=True, slots=True, kw_only=True)
class PlannedJob:
    job: Job
    requests: tuple[PlannedRequest, ...]
    cost: Cost
    usd_low: float | None
    usd_high: float | None
    output_duration: float | None = None

    def to_json(self) -> dict[str, Any]:
        out = self.job.to_json()
        out["requests"] = [r.to_json() for r in self.requests]
        out["cost"] = {**self.cost.to_json(), "usd_low": self.usd_low, "usd_high": self.usd_high}
        return out


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


@dataclass(frozen=True, slots=True, kw_only=True)
class Plan:
    recipe_file: str
    recipe_digest: str
    recipe_name: str
    budget: float | None
    jobs: tuple[PlannedJob, ...]
    choices: tuple[StepChoice, ...]
    problems: tuple[Problem, ...]
    base_urls: Mapping[str, str] = field(default_factory=dict)

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
                agg[key] = round(agg[key], 6)
        return {"per_step": per_step, "per_provider": per_provider, "overall": overall}

    @property
    def total_usd(self) -> float:
        return float(self.totals()["overall"]["usd"])

    def to_json(self) -> dict[str, Any]:
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
            "jobs": [pj.to_json() for pj in self.jobs],
            "total_usd": totals["overall"]["usd"],
            "total_usd_low": totals["overall"]["usd_low"],
            "total_usd_high": totals["overall"]["usd_high"],
            "unpriced_jobs": totals["overall"]["unpriced_jobs"],
            "totals": totals,
            "warnings": [p.to_json() for p in self.warnings],
            "errors": [p.to_json() for p in self.problems if p.is_error],
        }


def expand_matrix(matrix: Mapping[str, Any] | None) -> list[dict[str, Any]]:
    """The matrix's combinations, as GitHub Actions defines them (product, exclude, include)."""
    if not matrix:
        return [{}]
    axes = {k: v for k, v in matrix.items() if k not in ("include", "exclude")}
    combos = [dict(zip(axes, values, strict=True)) for values in itertools.product(*axes.values())]

    def matches(combo: Mapping[str, Any], pattern: Mapping[str, Any]) -> bool:
        return all(combo.get(k) == v for k, v in pattern.items())

    combos = [c for c in combos if not any(matches(c, ex) for ex in matrix.get("exclude", ()))]
    for extra in matrix.get("include", ()):
        original = {k: v for k, v in extra.items() if k in axes}
        targets = [c for c in combos if original and matches(c, original)]
        if targets:
            for c in targets:
                c.update(extra)
        else:
            combos.append(dict(extra))
    return combos


def _job_id(step: str, values: Mapping[str, Any]) -> str:
    if not values:
        return step
    return f"{step}[{','.join(f'{k}={v}' for k, v in values.items())}]"


class _Planner:
    def __init__(self, recipe: Recipe, probe: Probe | None, env: Mapping[str, str]) -> None:
        self.recipe = recipe
        self.probe = probe
        self.catalog = load_catalog()
        self.urls = base_urls(env)
        self.templater = Templater()
        self.problems: list[Problem] = list(recipe.warnings)
        self.jobs_by_step: dict[str, list[PlannedJob]] = {}
        self.choices: list[StepChoice] = []
        self._probed: dict[str, Any] = {}
        self._media_checked: dict[tuple[Any, ...], list[Problem]] = {}
        self._input_refs: dict[tuple[str, str], MediaRef] = {}
        self._uploaded_by: dict[tuple[str, str, str], str] = {}
        self._input_context = {
            name: {"kind": i.kind, "text": i.text, "source": i.source, "duration": i.duration}
            for name, i in recipe.inputs.items()
        }

    # -- problems --------------------------------------------------------------------------
    def problem(
        self,
        message: str,
        path: tuple[PathPart, ...],
        *,
        code: str = "invalid",
        suggestion: str | None = None,
        severity: Severity = Severity.ERROR,
        job: str | None = None,
        source: str | None = None,
    ) -> None:
        context = (("job", job),) if job else ()
        self.problems.append(
            Problem(
                message=message,
                path=path,
                # A whole step or input is shown at its name; a value at the value itself.
                location=self.recipe.locate(path, key=len(path) <= 2),
                code=code,
                suggestion=suggestion,
                severity=severity,
                context=context,
                source=source,
            )
        )

    # -- media -----------------------------------------------------------------------------
    def _probe(self, inp: Input) -> tuple[float | None, int | None]:
        path = inp.path
        assert path is not None
        if path not in self._probed:
            info: Any = None
            if self.probe is not None:
                try:
                    info = self.probe(path)
                except LipflowError as exc:
                    info = exc
            self._probed[path] = info
        info = self._probed[path]
        if isinstance(info, LipflowError):
            self.problem(f"input {inp.name!r}: {info.message}", ("inputs", inp.name), code="media")
            return inp.duration, inp.size_bytes
        if info is None:
            return inp.duration, inp.size_bytes
        return (
            inp.duration if inp.duration is not None else info.duration_s,
            info.size_bytes,
        )

    def media_ref(
        self,
        ref: Any,
        kind: str,
        path: tuple[PathPart, ...],
        upstream: Mapping[str, PlannedJob],
        job_id: str,
    ) -> MediaRef | None:
        if not isinstance(ref, str):
            self.problem(f"{kind} must name an input or steps.STEP, not {ref!r}", path, job=job_id)
            return None
        if ref.startswith(STEP_REF_PREFIX):
            step_id = ref[len(STEP_REF_PREFIX) :].split(".", 1)[0]
            pj = upstream.get(step_id)
            if pj is None:
                self.problem(
                    f"{ref!r} names no step this step needs; steps: {', '.join(self.recipe.steps)}",
                    path,
                    suggestion=did_you_mean(step_id, list(self.recipe.steps)),
                    job=job_id,
                )
                return None
            return MediaRef(
                name=ref, kind="video", origin="step", value=pj.job.id, duration=pj.output_duration
            )
        cached = self._input_refs.get((ref, kind))
        if cached is not None:
            return cached
        inp = self.recipe.inputs.get(ref)
        if inp is None:
            self.problems.append(
                reference_problem(self.recipe, kind, ref, path).with_context(job=job_id)
            )
            return None
        if inp.kind != kind:
            self.problem(
                f"input {ref!r} is {inp.kind}, but {kind} is wanted here", path, job=job_id
            )
            return None
        duration, size = inp.duration, inp.size_bytes
        origin: str
        value: str | int
        if inp.media_id is not None:
            origin, value = "media_id", inp.media_id
        elif inp.source is not None and inp.is_url:
            origin, value = "url", inp.source
        else:
            assert inp.path is not None
            origin, value = "file", inp.path
            duration, size = self._probe(inp)
        media = MediaRef(
            name=ref,
            kind=kind,
            origin=origin,
            value=value,
            provider=inp.provider,
            duration=duration,
            size_bytes=size,
        )
        self._input_refs[(ref, kind)] = media  # the same for every job of every step
        return media

    # -- steps -----------------------------------------------------------------------------
    def plan(self) -> Plan:
        for step in dependency_order(self.recipe):
            self.plan_step(step)
        jobs = tuple(pj for step in self.recipe.steps for pj in self.jobs_by_step.get(step, ()))
        return Plan(
            recipe_file=self.recipe.file,
            recipe_digest=self.recipe.digest,
            recipe_name=self.recipe.name,
            budget=self.recipe.budget,
            jobs=jobs,
            choices=tuple(self.choices),
            problems=_merge_repeats(self.problems),
            base_urls=self.urls,
        )

    def plan_step(self, step: Step) -> None:
        combos = expand_matrix(step.matrix)
        planned: list[PlannedJob] = []
        choice: StepChoice | None = None
        entry: ModelEntry | None = None
        for combo in combos:
            context = {"matrix": combo, "vars": self.recipe.vars, "inputs": self._input_context}
            try:
                spec = self.templater.render(dict(step.spec), context)
                options = self.templater.render(dict(step.options), context)
            except TemplateProblem as exc:
                where = (*step.recipe_path, step.action, *exc.path)
                self.problem(
                    f"{exc.message} (matrix {_job_id('', combo)[1:-1]})" if combo else exc.message,
                    where,
                    code="template",
                )
                continue
            for upstream in self._upstream_sets(step, spec):
                values = {k: v for pj in upstream.values() for k, v in pj.job.matrix.items()}
                values.update(combo)
                job_id = _job_id(step.id, values)
                built = self.build_params(step, spec, upstream, job_id)
                if built is None:
                    continue
                media, params, wanted = built
                if entry is None:
                    choice = self.choose(step, wanted, media, params, job_id)
                    if choice is None:
                        return
                    self.choices.append(choice)
                    entry = self.catalog.model(choice.model_id)
                pj = self.make_job(step, entry, media, params, options, upstream, values, job_id)
                if pj is not None:
                    planned.append(pj)
        # Checked after all of the step's jobs are built: one tight validation loop is kinder to
        # the CPU's caches than validating between builds (about a tenth faster for 10,000 jobs).
        if entry is not None:
            origins = registry.get(entry.provider).client.origins
            for pj in planned:
                self.check_job(step, entry, pj.job, pj.requests, origins)
        self.jobs_by_step[step.id] = planned

    def _upstream_sets(
        self, step: Step, spec: Mapping[str, Any]
    ) -> Iterable[dict[str, PlannedJob]]:
        """One mapping step -> upstream job per job to make: a step fans out over upstream jobs."""
        referenced = sorted(
            {
                v[len(STEP_REF_PREFIX) :].split(".", 1)[0]
                for v in spec.values()
                if isinstance(v, str) and v.startswith(STEP_REF_PREFIX)
            }
        )
        groups = [self.jobs_by_step.get(s, []) for s in referenced if s in self.recipe.steps]
        for combo in itertools.product(*groups):
            yield {pj.job.step: pj for pj in combo}

    def build_params(
        self, step: Step, spec: Mapping[str, Any], upstream: Mapping[str, PlannedJob], job_id: str
    ) -> tuple[dict[str, MediaRef], dict[str, Any], frozenset[str]] | None:
        base = (*step.recipe_path, step.action)
        media: dict[str, MediaRef] = {}
        params: dict[str, Any] = {}
        wanted: set[str] = set()
        before = len(self.problems)

        def add(role: str, key: str, kind: str) -> None:
            if spec.get(key) is None:
                return
            ref = self.media_ref(spec[key], kind, (*base, key), upstream, job_id)
            if ref is not None:
                media[role] = ref

        if step.action == "lipsync":
            add("video", "video", "video")
            add("audio", "audio", "audio")
            if spec.get("audio") is not None:
                wanted.add("lipsync.audio")
            if spec.get("tts") is not None:
                wanted.add("lipsync.tts")
                params["tts"] = dict(spec["tts"])
            if spec.get("segments") is not None:
                wanted.add("lipsync.segments")
                params["segments"] = self._segments(
                    spec["segments"], (*base, "segments"), media, upstream, job_id
                )
            if spec.get("audio") is not None and spec.get("tts") is not None:
                self.problem(
                    "set either audio or tts, not both: a lip sync has one voice track",
                    base,
                    code="either-or",
                    job=job_id,
                )
            if not wanted:
                self.problem(
                    "a lip sync needs audio, tts or segments", base, code="required", job=job_id
                )
        else:
            wanted.add("video.text")
            add("image", "image", "image")
            add("last_image", "last_image", "image")
            if "image" in spec:
                wanted.add("video.image")
            for key, cap in (
                ("style", "video.style"),
                ("effect", "video.effect"),
                ("camera", "video.camera"),
                ("motion", "video.motion"),
            ):
                if spec.get(key) is not None:
                    wanted.add(cap)
                    params[key] = spec[key]
            for key in ("prompt", "negative_prompt", "sound"):
                if spec.get(key) is not None:
                    params[key] = spec[key]
            for key in ("duration", "fps"):
                if spec.get(key) is not None:
                    params[key] = _as_int(spec[key])
            if spec.get("size") is not None:
                size = spec["size"]
                if isinstance(size, str) and "x" in size:
                    w, _, h = size.partition("x")
                    params["width"], params["height"] = _as_int(w), _as_int(h)
                elif isinstance(size, dict):
                    params["width"], params["height"] = (
                        _as_int(size["width"]),
                        _as_int(size["height"]),
                    )
                else:
                    self.problem(f"size {size!r} is not WIDTHxHEIGHT", (*base, "size"), job=job_id)
        if len(self.problems) > before and has_errors(self.problems[before:]):
            return None
        return media, params, frozenset(wanted)

    def _segments(
        self,
        name: Any,
        path: tuple[PathPart, ...],
        media: dict[str, MediaRef],
        upstream: Mapping[str, PlannedJob],
        job_id: str,
    ) -> list[dict[str, Any]]:
        seglist = self.recipe.segments.get(name) if isinstance(name, str) else None
        if seglist is None:
            problem = reference_problem(self.recipe, "segments", name, path)
            self.problems.append(problem.with_context(job=job_id))
            return []
        out = []
        for i, rng in enumerate(seglist["ranges"]):
            rpath = ("segments", name, "ranges", i)
            seg = {k: rng.get(k) for k in ("start", "end", "audio_start", "audio_end", "text")}
            if rng.get("audio") is not None:
                ref = self.media_ref(rng["audio"], "audio", (*rpath, "audio"), upstream, job_id)
                if ref is not None:
                    media[f"segments.{i}.audio"] = ref
            out.append(seg)
        return out

    # -- model choice ----------------------------------------------------------------------
    def choose(
        self,
        step: Step,
        wanted: frozenset[str],
        media: Mapping[str, MediaRef],
        params: Mapping[str, Any],
        job_id: str,
    ) -> StepChoice | None:
        if any(seg.get("text") for seg in params.get("segments", ())):
            wanted = wanted | {"lipsync.tts"}
        asked = ", ".join(sorted(wanted))
        if step.use is not None:
            ids = [m.id for m in self.catalog.models]
            if step.use not in ids:
                self.problem(
                    f"unknown model {step.use!r}; models: {', '.join(ids)}",
                    (*step.recipe_path, "use"),
                    suggestion=did_you_mean(step.use, ids),
                    code="unknown-model",
                )
                return None
            entry = self.catalog.model(step.use)
            missing = sorted(wanted - entry.capabilities)
            if missing:
                having = [m.id for m in self.catalog.with_capabilities(wanted)]
                self.problem(
                    f"{entry.id} does not offer {', '.join(missing)}; "
                    + (
                        f"models that offer all of {asked}: {', '.join(having)}"
                        if having
                        else f"no model offers all of {asked}"
                    ),
                    (*step.recipe_path, "use"),
                    code="capability",
                )
                # Go on with the named model, so its request checks show every other problem too.
            return StepChoice(step=step.id, model_id=entry.id, reason="named in the recipe (use:)")

        rejected: list[tuple[str, str]] = []
        candidates: list[tuple[ModelEntry, Cost]] = []
        for entry in self.catalog.models:
            missing = sorted(wanted - entry.capabilities)
            if missing:
                if _action_of(entry) == step.action:
                    rejected.append((entry.id, f"does not offer {', '.join(missing)}"))
                continue
            if step.provider is not None and entry.provider != step.provider:
                rejected.append(
                    (entry.id, f"provider is {entry.provider}, the step asks for {step.provider}")
                )
                continue
            held = [
                r for r in media.values() if r.origin == "media_id" and r.provider != entry.provider
            ]
            if held:
                rejected.append(
                    (entry.id, f"input {held[0].name!r} is a media id stored at {held[0].provider}")
                )
                continue
            cost, _, _ = self.job_cost(entry, media, params)
            candidates.append((entry, cost))
        if not candidates:
            having = [m.id for m in self.catalog.with_capabilities(wanted)]
            singles = {
                cap: [m.id for m in self.catalog.with_capabilities(frozenset({cap}))]
                for cap in sorted(wanted)
            }
            detail = "; ".join(f"{cap}: {', '.join(ids) or 'none'}" for cap, ids in singles.items())
            self.problem(
                f"no model offers every capability step {step.id!r} asks for ({asked})"
                + (f"; with {step.provider}" if step.provider and having else "")
                + f". Models by capability: {detail}",
                step.recipe_path,
                code="capability",
                job=job_id,
            )
            return None
        candidates.sort(key=lambda c: (c[1].usd is None, c[1].usd or 0.0, c[0].id))
        best, best_cost = candidates[0]
        for entry, cost in candidates[1:]:
            if cost.usd is None:
                why = (
                    "the docs give no price for it"
                    if best_cost.usd is not None
                    else "tie: first in catalog order"
                )
            elif best_cost.usd is not None:
                why = f"costs ${cost.usd:.4f} per job vs ${best_cost.usd:.4f}"
            else:
                why = "not cheaper"
            rejected.append((entry.id, why))
        reason = (
            f"cheapest model offering {asked} (${best_cost.usd:.4f} for the first job)"
            if best_cost.usd is not None
            else f"offers {asked}; no candidate has a documented price"
        )
        return StepChoice(step=step.id, model_id=best.id, reason=reason, rejected=tuple(rejected))

    # -- cost ------------------------------------------------------------------------------
    def job_cost(
        self, entry: ModelEntry, media: Mapping[str, MediaRef], params: Mapping[str, Any]
    ) -> tuple[Cost, float | None, float | None]:
        """The job's cost and its low/high range, pricing unknown durations at the documented maximum."""
        if entry.price is None:
            return charge(entry.id), None, None
        tts = params.get("tts")
        if tts and entry.price.of == "audio":
            cost = charge(entry.id, tts_text=tts["text"])
            return cost, cost.usd, cost.usd
        segments = params.get("segments") or []
        role = "audio" if entry.price.of == "audio" else "video"
        if segments and role == "audio":
            seconds = segments_audio_seconds(
                (seg["start"], seg["end"], seg.get("audio_start"), seg.get("audio_end"))
                for seg in segments
            )
            cost = charge(entry.id, audio_seconds=seconds)
            note = "audio length is the sum of the segments' lengths"
            cost = replace(cost, assumptions=(*cost.assumptions, note))
            return cost, cost.usd, cost.usd
        ref = media.get(role)

        def priced(seconds: float) -> Cost:
            if role == "audio":
                return charge(entry.id, audio_seconds=seconds)
            return charge(entry.id, video_seconds=seconds)

        if ref is not None and ref.duration is not None:
            cost = priced(ref.duration)
            return cost, cost.usd, cost.usd
        limit = (entry.limits.get(role) or {}).get("max_seconds")
        name = ref.name if ref is not None else role
        if limit is None:
            cost = charge(entry.id)
            note = f"the {role} duration of {name!r} is unknown and {entry.title} documents no maximum; declare duration: on the input"
            return replace(cost, assumptions=(note,)), None, None
        high, low = priced(float(limit)), priced(1.0)
        note = (
            f"the {role} duration of {name!r} is unknown, so it is priced at the documented "
            f"maximum of {limit} s as an upper bound (declare duration: to narrow it)"
        )
        return replace(high, assumptions=(*high.assumptions, note)), low.usd, high.usd

    # -- jobs ------------------------------------------------------------------------------
    def make_job(
        self,
        step: Step,
        entry: ModelEntry,
        media: dict[str, MediaRef],
        params: dict[str, Any],
        options: dict[str, Any],
        upstream: Mapping[str, PlannedJob],
        values: Mapping[str, Any],
        job_id: str,
    ) -> PlannedJob | None:
        client = registry.get(entry.provider).client
        held = [
            r for r in media.values() if r.origin == "media_id" and r.provider != entry.provider
        ]
        for ref in held:
            self.problem(
                f"input {ref.name!r} is a media id stored at {ref.provider}, but this step runs on {entry.provider}",
                ("inputs", ref.name),
                job=job_id,
            )
        if held:
            return None
        job = Job(
            id=job_id,
            step=step.id,
            action=step.action,
            provider=entry.provider,
            model=entry.model,
            model_id=entry.id,
            task_uuid=stable_uuid4(self.recipe.digest, job_id),
            media=media,
            params=params,
            options=options,
            needs=tuple(pj.job.id for pj in upstream.values())
            + tuple(
                pj.job.id
                for need in step.needs
                if need not in upstream
                for pj in self.jobs_by_step.get(need, ())
            ),
            matrix=dict(values),
        )
        requests = self._share_uploads(job, client.plan_requests(job, self.urls[entry.provider]))
        cost, low, high = self.job_cost(entry, media, params)
        if step.action == "lipsync":
            tts = params.get("tts")
            audio = media.get("audio")
            out_duration = (
                audio.duration
                if audio is not None
                else (
                    len(tts["text"]) / self.catalog.tts_chars_per_second
                    if tts
                    else media["video"].duration
                )
            )
        else:
            out_duration = float(params.get("duration") or 5)
        return PlannedJob(
            job=job,
            requests=requests,
            cost=cost,
            usd_low=low,
            usd_high=high,
            output_duration=out_duration,
        )

    def _share_uploads(
        self, job: Job, requests: Iterable[PlannedRequest]
    ) -> tuple[PlannedRequest, ...]:
        """Mark uploads an earlier job already makes: the runner uploads each file once per
        provider and run, and later jobs reuse the result."""
        out = []
        for req in requests:
            if req.upload_of is not None:
                first = self._uploaded_by.setdefault((job.provider, *req.upload_of), job.id)
                if first != job.id:
                    req = replace(req, reused_from=first, validate=False)
            out.append(req)
        return tuple(out)

    def _media_problems(self, model_id: str, ref: MediaRef) -> list[Problem]:
        """Media limits, checked once per model and input however many jobs share them."""
        key = (model_id, ref.kind, ref.duration, ref.size_bytes)
        found = self._media_checked.get(key)
        if found is None:
            found = checks.check_media(
                model_id, ref.kind, seconds=ref.duration, size_bytes=ref.size_bytes
            )
            self._media_checked[key] = found
        return found

    def check_job(
        self,
        step: Step,
        entry: ModelEntry,
        job: Job,
        requests: Iterable[PlannedRequest],
        origins: Mapping[tuple[str, ...], tuple[str, ...]],
    ) -> None:
        found: list[tuple[Problem, tuple[PathPart, ...]]] = []
        for req in requests:
            if not req.validate:
                continue
            body = req.json if req.json is not None else req.form
            if has_deferred(body):
                body = resolve(body)
            for problem in schemas.check_request(
                entry.provider, body, endpoint=req.endpoint, method=req.method
            ):
                path = problem.path[1:] if isinstance(body, list) else problem.path
                found.append((problem, _recipe_path(step, path, origins)))
        for role, ref in job.media.items():
            for problem in self._media_problems(entry.id, ref):
                where = (
                    ("inputs", ref.name)
                    if ref.name in self.recipe.inputs
                    else (*step.recipe_path, step.action, role.split(".")[0])
                )
                found.append((problem, where))
        tts = job.params.get("tts")
        if tts:
            for problem in checks.check_tts_text(entry.id, tts["text"]):
                found.append((problem, (*step.recipe_path, step.action, "tts", "text")))
        for problem, where in found:
            self.problems.append(
                Problem(
                    message=problem.message
                    if not problem.path
                    else f"{entry.provider} request {problem.json_path}: {problem.message}",
                    path=where,
                    location=self.recipe.locate(where),
                    severity=problem.severity,
                    code=problem.code,
                    suggestion=problem.suggestion,
                    source=problem.source,
                    context=(("job", job.id),),
                )
            )


def _recipe_path(
    step: Step,
    request_path: tuple[PathPart, ...],
    origins: Mapping[tuple[str, ...], tuple[str, ...]],
) -> tuple[PathPart, ...]:
    """Where in the recipe a request field came from: its template line, or the step's options."""
    names = tuple(p for p in request_path if isinstance(p, str))
    for n in range(len(names), 0, -1):
        origin = origins.get(names[:n])
        if origin is not None and origin[0] == step.action:
            return (*step.recipe_path, *origin)
    node: Any = step.options
    for part in names:
        if not isinstance(node, Mapping) or part not in node:
            break
        node = node[part]
    else:
        if names:
            return (*step.recipe_path, "options", *names)
    return (*step.recipe_path, step.action)


def _merge_repeats(problems: Iterable[Problem]) -> tuple[Problem, ...]:
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


def _action_of(entry: ModelEntry) -> str:
    """The recipe action a model serves: lip-sync models for lipsync steps, the rest for generate."""
    return "lipsync" if any(c.startswith("lipsync.") for c in entry.capabilities) else "generate"


def _as_int(value: Any) -> Any:
    if isinstance(value, str) and value.strip().isdigit():
        return int(value)
    return value


def plan_file(path: str, *, env: Mapping[str, str] | None = None) -> Plan:
    """Load the recipe at ``path`` and plan it, probing its local media files."""
    from lipflow.media import probe
    from lipflow.recipe import load_recipe

    return plan_recipe(load_recipe(path), probe=probe, env=env)


def plan_recipe(
    recipe: Recipe, *, probe: Probe | None = None, env: Mapping[str, str] | None = None
) -> Plan:
    """Every job of ``recipe`` with its requests, checks and cost; problems are in ``plan.problems``."""
    with _cyclic_gc_paused():
        return _Planner(recipe, probe, os.environ if env is None else env).plan()


@contextmanager
def _cyclic_gc_paused() -> Iterator[None]:
    """Planning makes many small acyclic objects that all live on; the cyclic collector would
    rescan the growing plan again and again for nothing (about a tenth of a 10,000-job plan)."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()

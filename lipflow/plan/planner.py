"""Recipe -> jobs -> requests -> costs: the orchestration behind ``validate``, ``plan`` and ``run``.

Pure but for one injected function, ``probe``, that reads local media files. For every step, in
dependency order: expand the matrix and fan out over upstream jobs (:mod:`.expansion`), render
templates, build typed parameters (:mod:`.parameters`), pick a model (:mod:`.routing`), build
each request exactly as the runner will send it (the provider's client), check it
(:mod:`.checks`) and price it (:mod:`.estimate`).
"""

from __future__ import annotations

import gc
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import replace
from typing import Any

from lipflow.catalog import ModelEntry, load_catalog
from lipflow.jobs import Job, MediaRef, Params, Plan, PlannedJob, PlannedRequest, StepChoice
from lipflow.plan.checks import RequestChecks, merge_repeats
from lipflow.plan.context import PlanContext
from lipflow.plan.estimate import job_cost, output_duration
from lipflow.plan.expansion import expand_matrix, format_job_id, upstream_sets
from lipflow.plan.identity import job_key, take_uuid_parts
from lipflow.plan.parameters import Parameters, Probe
from lipflow.plan.routing import choose
from lipflow.providers import registry
from lipflow.providers._common import stable_uuid4
from lipflow.recipe import Recipe, Step, dependency_order, load_recipe
from lipflow.recipe.templating import TemplateProblem, Templater

__all__ = ["plan_file", "plan_recipe"]


class _Planner:
    def __init__(self, recipe: Recipe, probe: Probe | None, env: Mapping[str, str]) -> None:
        self.ctx = PlanContext(
            recipe=recipe, catalog=load_catalog(), problems=list(recipe.warnings)
        )
        self.urls = registry.base_urls(env)
        self.templater = Templater()
        self.parameters = Parameters(self.ctx, probe)
        self.checks = RequestChecks(self.ctx)
        self.choices: list[StepChoice] = []
        self._uploaded_by: dict[tuple[str, str, str], str] = {}
        self._input_context = {
            name: {"kind": i.kind, "text": i.text, "source": i.source, "duration": i.duration}
            for name, i in recipe.inputs.items()
        }

    def plan(self) -> Plan:
        for step in dependency_order(self.ctx.recipe):
            self.plan_step(step)
        jobs = tuple(
            pj for step in self.ctx.recipe.steps for pj in self.ctx.jobs_by_step.get(step, ())
        )
        return Plan(
            recipe_file=self.ctx.recipe.file,
            recipe_digest=self.ctx.recipe.digest,
            recipe_name=self.ctx.recipe.name,
            budget=self.ctx.recipe.budget,
            jobs=jobs,
            choices=tuple(self.choices),
            problems=merge_repeats(self.ctx.problems),
            base_urls=self.urls,
        )

    def plan_step(self, step: Step) -> None:
        combos = expand_matrix(step.matrix)
        planned: list[PlannedJob] = []
        choice: StepChoice | None = None
        entry: ModelEntry | None = None
        for combo in combos:
            context = {"matrix": combo, "vars": self.ctx.recipe.vars, "inputs": self._input_context}
            try:
                spec = self.templater.render(dict(step.spec), context)
                options = self.templater.render(dict(step.options), context)
            except TemplateProblem as exc:
                where = (*step.recipe_path, step.action, *exc.path)
                self.ctx.problem(
                    f"{exc.message} (matrix {format_job_id('', combo)[1:-1]})"
                    if combo
                    else exc.message,
                    where,
                    code="template",
                )
                continue
            for upstream in upstream_sets(self.ctx, step, spec):
                values = {k: v for pj in upstream.values() for k, v in pj.job.matrix.items()}
                values.update(combo)
                job_id = format_job_id(step.id, values)
                built = self.parameters.build(step, spec, upstream, job_id)
                if built is None:
                    continue
                media, params, wanted = built
                if entry is None:
                    choice = choose(self.ctx, step, wanted, media, params, job_id)
                    if choice is None:
                        return
                    self.choices.append(choice)
                    entry = self.ctx.catalog.model(choice.model_id)
                pj = self.make_job(step, entry, media, params, options, upstream, values, job_id)
                if pj is not None:
                    planned.append(pj)
        # Checked after all of the step's jobs are built: one tight validation loop is kinder to
        # the CPU's caches than validating between builds (about a tenth faster for 10,000 jobs).
        if entry is not None:
            origins = registry.get(entry.provider).client.origins
            for pj in planned:
                self.checks.check_job(step, entry, pj.job, pj.requests, origins)
        self.ctx.jobs_by_step[step.id] = planned

    def make_job(
        self,
        step: Step,
        entry: ModelEntry,
        media: dict[str, MediaRef],
        params: Params,
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
            self.ctx.problem(
                f"input {ref.name!r} is a media id stored at {ref.provider}, but this step runs on {entry.provider}",
                ("inputs", ref.name),
                job=job_id,
            )
        if held:
            return None
        draft = Job(
            id=job_id,
            step=step.id,
            action=step.action,
            provider=entry.provider,
            model=entry.model,
            model_id=entry.id,
            task_uuid="",
            media=media,
            params=params,
            options=options,
            needs=tuple(pj.job.id for pj in upstream.values())
            + tuple(
                pj.job.id
                for need in step.needs
                if need not in upstream
                for pj in self.ctx.jobs_by_step.get(need, ())
            ),
            matrix=dict(values),
        )
        upstream_keys = {pj.job.id: pj.job.key for pj in upstream.values()}
        key = job_key(draft, upstream_keys, take=step.take)
        job = replace(draft, key=key, task_uuid=stable_uuid4(*take_uuid_parts(key, "")))
        requests = self._share_uploads(job, client.plan_requests(job, self.urls[entry.provider]))
        cost, low, high = job_cost(entry, media, params)
        out_duration = output_duration(params, media, self.ctx.catalog)
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


def plan_file(path: str, *, env: Mapping[str, str] | None = None) -> Plan:
    """Load the recipe at ``path`` and plan it, probing its local media files."""
    from lipflow.media import probe

    return plan_recipe(load_recipe(path), probe=probe, env=env)


def plan_recipe(
    recipe: Recipe, *, probe: Probe | None = None, env: Mapping[str, str] | None = None
) -> Plan:
    """Every job of ``recipe`` with its requests, checks and cost; problems are in ``plan.problems``.

    ``env`` holds the ``LIPFLOW_*_URL`` variables to plan against (the CLI passes its environment);
    without it the plan shows the providers' real endpoints.
    """
    with _cyclic_gc_paused():
        return _Planner(recipe, probe, {} if env is None else env).plan()


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

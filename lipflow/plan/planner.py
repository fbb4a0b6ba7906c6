"""Recipe -> jobs -> requests -> costs: the orchestration behind ``validate``, ``plan`` and ``run``.

Pure but for one injected function, ``probe``, that reads local media files. For every step, in
dependency order: expand the matrix and fan out over upstream jobs (:mod:`.expansion`), render
templates, build typed parameters (:mod:`.parameters`), pick a model (:mod:`.routing`), build
each request exactly as the runner will send it (the provider's client), check it
(:mod:`.checks`) and price it (:mod:`.estimate`).
"""

from __future__ import annotations

import contextlib
import functools
import gc
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import replace
from typing import Any

from lipflow._memo import BoundedMemo
from lipflow.catalog import ModelEntry, load_catalog
from lipflow.identity import ContentKeys, take_uuid_parts
from lipflow.jobs import (
    Job,
    LipsyncParams,
    MediaRef,
    Params,
    Piece,
    Plan,
    PlannedJob,
    PlannedLine,
    PlannedRequest,
    Speech,
    StepChoice,
)
from lipflow.longmedia import SplitProblem
from lipflow.plan.checks import BodyTemplate, RequestChecks, merge_repeats
from lipflow.plan.context import PlanContext
from lipflow.plan.estimate import Costs
from lipflow.plan.expansion import (
    DEFAULT_MAX_JOBS,
    expand_with_origins,
    fan_out_size,
    format_job_id,
    matrix_size,
    repeated_values,
    upstream_sets,
    without_repeats,
)
from lipflow.plan.lines import LineJob, LinesPlanning
from lipflow.plan.parameters import Parameters, Probe
from lipflow.plan.routing import choose
from lipflow.plan.splitting import Splitter, piece_job_id, piece_media, piece_of
from lipflow.problems import PathPart
from lipflow.providers import registry
from lipflow.providers._common import stable_uuid4
from lipflow.providers.base import ProviderClient
from lipflow.recipe import STEP_REF_PREFIX, Recipe, Step, dependency_order, load_recipe
from lipflow.recipe.source import control_character
from lipflow.recipe.templating import TemplateProblem, Templater, has_templates

__all__ = ["plan_file", "plan_recipe"]


MAX_TEMPLATE_ERRORS = 10  # said per step, each at its value; the rest are counted


class _TemplateErrors:
    """A step's template errors as problems: the first :data:`MAX_TEMPLATE_ERRORS` each at its
    value (under the action or ``options``) with the name meant, then one problem at the step
    counting the rest, kept up to date as more are found (a step may stop planning early). The
    same error at the same value in several matrix cells (a typo every cell renders) is said
    once, with the first cell and how many more share it."""

    def __init__(self, ctx: PlanContext, step: Step) -> None:
        self.ctx, self.step = ctx, step
        self.shown = self.more = 0
        self._summary: int | None = None  # the counting problem's index in ctx.problems
        # (path, message) -> its problem's index in ctx.problems, its first cell, cells since
        self._said: dict[tuple[tuple[PathPart, ...], str], tuple[int, str, int]] = {}

    def say(self, problems: Sequence[TemplateProblem], combo: Mapping[str, Any]) -> None:
        cell = f"matrix {format_job_id('', combo)[1:-1]}" if combo else ""
        for problem in problems:
            path = (*self.step.recipe_path, *problem.path)
            said = self._said.get((path, problem.message))
            if said is not None:
                index, first, others = said
                self._said[(path, problem.message)] = (index, first, others + 1)
                message = f"{problem.message} ({first}; and {others + 1:,} more matrix cell(s))"
                self.ctx.problems[index] = replace(self.ctx.problems[index], message=message)
                continue
            if self.shown < MAX_TEMPLATE_ERRORS:
                self._said[(path, problem.message)] = (len(self.ctx.problems), cell, 0)
                self.ctx.problem(
                    f"{problem.message} ({cell})" if cell else problem.message,
                    path,
                    code="template",
                    suggestion=problem.suggestion,
                )
                self.shown += 1
                continue
            self.more += 1
            message = (
                f"and {self.more:,} more template error(s) in step {self.step.id} not shown "
                f"(the first {MAX_TEMPLATE_ERRORS} are): fix those and validate again"
            )
            if self._summary is None:
                self._summary = len(self.ctx.problems)
                self.ctx.problem(message, self.step.recipe_path, code="template")
            else:
                summary = self.ctx.problems[self._summary]
                self.ctx.problems[self._summary] = replace(summary, message=message)


class _Planner:
    def __init__(
        self, recipe: Recipe, probe: Probe | None, env: Mapping[str, str], max_jobs: int
    ) -> None:
        self.max_jobs = max_jobs
        self.set_aside = set(recipe.data.get("steps") or ()) - set(recipe.steps)
        self.planned_jobs = 0
        self.ctx = PlanContext(
            recipe=recipe,
            catalog=load_catalog(),
            problems=list(recipe.problems or recipe.warnings),
        )
        self.urls = registry.base_urls(env)
        self.templater = Templater()
        self.keys = ContentKeys()
        self.costs = Costs()
        self.parameters = Parameters(self.ctx, probe)
        self.checks = RequestChecks(self.ctx)
        self.splitter = Splitter(enabled=probe is not None)
        self.choices: list[StepChoice] = []
        self._uploaded_by: dict[tuple[str, str, str], str] = {}
        # Media dicts shared at once (jobs of per-job inputs share none).
        self._media: BoundedMemo[
            tuple[tuple[str, int], ...], tuple[tuple[MediaRef, ...], dict[str, MediaRef]]
        ] = BoundedMemo(1024)
        self._sources: dict[str, _Requests] = {}  # by provider, made once per plan
        # The last shared media dict that held no media id of another provider, and that
        # provider: a step's jobs of one input are checked once.
        self._media_fits: tuple[dict[str, MediaRef] | None, str] = (None, "")
        self.lines = LinesPlanning(self.ctx)
        self.lines_reviewed: list[PlannedLine] = []
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
            problems=merge_repeats(map(self.ctx.recipe.source_map.explained, self.ctx.problems)),
            base_urls=self.urls,
            lines=tuple(self.lines_reviewed),
        )

    def too_many(
        self, step: Step, jobs: int, why: str, where: tuple[PathPart, ...] | None = None
    ) -> bool:
        """Whether ``jobs`` more would pass --max-jobs; if so the step is refused, said once (at
        ``where``, else at the step's matrix)."""
        if self.planned_jobs + jobs <= self.max_jobs:
            return False
        before = f" after the {self.planned_jobs:,} of earlier steps" if self.planned_jobs else ""
        self.ctx.problem(
            f"step {step.id!r} would make {jobs:,} jobs ({why}){before}; a plan holds at most "
            f"{self.max_jobs:,}: narrow it, or raise the bound with --max-jobs",
            where
            if where is not None
            else (*step.recipe_path, "matrix")
            if step.matrix
            else step.recipe_path,
            code="too-many-jobs",
        )
        return True

    def plan_step(self, step: Step) -> None:
        with contextlib.suppress(_Refused):  # past --max-jobs (reported): the step makes none
            self._plan_step(step)

    def _plan_step(self, step: Step) -> None:
        for setting in ("cut", "fit"):
            if step.action != "lipsync" and getattr(step, setting) is not None:
                self.ctx.problem(
                    f"{setting} applies to lip-sync steps (cutting a long input into pieces); "
                    "a generate step makes its own video",
                    (*step.recipe_path, setting),
                    code="lipsync-only",
                )
        if self.set_aside.intersection(step.needs):
            return  # it needs a step set aside for its errors (reported): no inputs to plan
        repeats = repeated_values(step.matrix)
        for message, where in repeats:
            self.ctx.problem(message, (*step.recipe_path, "matrix", *where), code="matrix-repeat")
        matrix = without_repeats(step.matrix, repeats)
        size, axes = matrix_size(matrix)
        shape = " x ".join(map(str, axes)) if axes else f"{size:,} include entries"
        if self.too_many(step, size, f"a matrix of {shape}"):
            return
        combos = self._combinations(step, matrix)
        planned: list[PlannedJob] = []
        choice: StepChoice | None = None
        entry: ModelEntry | None = None
        fan_checked = False
        units, done = len(combos), 0  # jobs before lines and pieces: combinations x upstream sets

        def bound(each: int, what: str, where: tuple[PathPart, ...]) -> None:
            """Refuse the step before its ``each`` jobs of this unit (lines, pieces) are built,
            when they and as many for every later unit would pass --max-jobs."""
            left = units - done + 1
            why = f"{what}, one job each" if left == 1 else f"{left:,} x {what}, one job each"
            if each > 1 and self.too_many(step, len(planned) + each * left, why, where):
                raise _Refused

        render_spec = self.templater.renderer(dict(step.spec), (step.action,))
        # Jobs share their step's options when no template makes them differ (a job's values
        # are never changed once planned).
        render_options = self.templater.shared_renderer(dict(step.options), ("options",))
        render_text = self._text_only(step)
        like: tuple[dict[str, MediaRef], LipsyncParams] | None = None  # see _text_only
        template_errors = _TemplateErrors(self.ctx, step)
        for combo in combos:
            context = {"matrix": combo, "vars": self.ctx.recipe.vars, "inputs": self._input_context}
            if like is not None and entry is not None and render_text is not None:
                try:
                    text, options = render_text(context), render_options(context)
                except TemplateProblem:
                    text = None  # the whole spec is rendered below, which reports it
                # A text with a control character goes the whole way, which refuses it.
                if type(text) is str and control_character(text) is None:
                    media, same = like
                    tts = same.tts
                    assert tts is not None
                    said = LipsyncParams(
                        tts=Speech(text=text, voice=tts.voice, language=tts.language)
                    )
                    job_id = format_job_id(step.id, combo)
                    pj = self.make_job(step, entry, media, said, options, {}, combo, job_id)
                    if pj is not None:
                        planned.append(pj)
                    continue
            failed: list[TemplateProblem] = []
            try:
                spec = render_spec(context)
            except TemplateProblem as exc:
                failed.extend(exc.each)
            try:
                options = render_options(context)
            except TemplateProblem as exc:
                failed.extend(exc.each)
            if failed:
                template_errors.say(failed, combo)
                continue
            if not fan_checked:
                fan_checked = True
                fan = fan_out_size(self.ctx, spec)
                units = len(combos) * fan
                if fan > 1 and self.too_many(
                    step, len(combos) * fan, f"{len(combos):,} x {fan:,} upstream jobs"
                ):
                    return
            for upstream in upstream_sets(self.ctx, step, spec):
                done += 1
                if upstream:
                    values = {k: v for pj in upstream.values() for k, v in pj.job.matrix.items()}
                    values.update(combo)
                else:  # the combination is the job's matrix (never changed once planned)
                    values = combo
                for job_values, job_spec, line_job in self._jobs_of(step, spec, values, bound):
                    job_id = format_job_id(step.id, job_values)
                    before = len(self.ctx.problems)
                    built = self.parameters.build(step, job_spec, upstream, job_id)
                    if built is None:
                        continue
                    media, params, wanted = built
                    audio = media.get("audio")
                    if line_job is not None:
                        path = (*step.recipe_path, step.action)
                        line_job = self.lines.cut(line_job, media, job_id, path)
                        if line_job is None:
                            continue
                        if line_job.piece is None:
                            params = LipsyncParams(segments=self.lines.segments(line_job))
                            wanted = frozenset({"lipsync.segments"})
                    if entry is None:
                        choice = choose(
                            self.ctx,
                            step,
                            wanted,
                            media,
                            params,
                            job_id,
                            pieces=None  # a dub from lines is already one job per line
                            if line_job is not None
                            else functools.partial(
                                self.splitter.cost, step, media=media, params=params, job_id=job_id
                            ),
                        )
                        if choice is None:
                            return
                        self.choices.append(choice)
                        entry = self.ctx.catalog.model(choice.model_id)
                    if line_job is not None:
                        pj = self.make_job(
                            step, entry, media, params, options, upstream, job_values, job_id
                        )
                        if pj is not None:
                            planned.append(pj)
                            name = str(spec["lines"])
                            self.lines_reviewed.extend(
                                self.lines.review(step, name, line_job, pj, entry, audio)
                            )
                        continue
                    split = self.splitter.split(step, entry, media, params)
                    if isinstance(split, SplitProblem):
                        where = ("cut",) if split.setting == "cut" else (step.action, split.setting)
                        self.ctx.problem(
                            str(split), (*step.recipe_path, *where), code="media-limits", job=job_id
                        )
                        continue
                    if split is None:
                        pj = self.make_job(
                            step, entry, media, params, options, upstream, job_values, job_id
                        )
                        if pj is not None:
                            planned.append(pj)
                            if (
                                like is None
                                and render_text is not None
                                and not upstream
                                and len(self.ctx.problems) == before
                                and type(params) is LipsyncParams
                                and params.tts is not None
                                and type(params.tts.text) is str
                                and params.segments is None
                            ):
                                like = (media, params)
                        continue
                    bound(
                        len(split.pieces),
                        f"{len(split.pieces):,} pieces of a long input",
                        _cut_path(step),
                    )
                    for part in split.pieces:
                        cut = piece_of(split, part, job_id, media)
                        pj = self.make_job(
                            step,
                            entry,
                            piece_media(media, part, job_id, cut),
                            params,
                            options,
                            upstream,
                            job_values,
                            piece_job_id(job_id, part),
                            piece=cut,
                        )
                        if pj is not None:
                            planned.append(pj)
        planned = self._one_job_per_id(step, planned)
        # Checked after all of the step's jobs are built: one tight validation loop is kinder to
        # the CPU's caches than validating between builds (about a tenth faster for 10,000 jobs).
        if entry is not None:
            self._check(step, entry, planned)
        self.ctx.jobs_by_step[step.id] = planned
        self.planned_jobs += len(planned)

    def _combinations(self, step: Step, matrix: Mapping[str, Any] | None) -> list[dict[str, Any]]:
        """The step's matrix combinations, less an include entry that is an earlier combination
        again (reported at the entry): it would be priced as a second job of the same id."""
        combos: list[dict[str, Any]] = []
        seen: set[str] = set()
        for combo, entry in expand_with_origins(matrix):
            job_id = format_job_id(step.id, combo)
            if job_id in seen and entry is not None:
                self.ctx.problem(
                    f"include entry {entry} makes job {job_id!r}, which an earlier combination "
                    "already makes; each combination makes one job",
                    (*step.recipe_path, "matrix", "include", entry),
                    code="matrix-repeat",
                )
                continue
            seen.add(job_id)
            combos.append(combo)
        return combos

    def _one_job_per_id(self, step: Step, planned: list[PlannedJob]) -> list[PlannedJob]:
        """``planned`` with a job whose id an earlier job already has left out and reported:
        the run keeps each job's output by its id, and the plan would price it twice. Matrix
        values and include entries are checked where written; this catches every other way
        (a matrix key named like a lines or upstream key, say)."""
        seen: set[str] = set()
        kept: list[PlannedJob] = []
        for pj in planned:
            job_id = pj.job.id
            if job_id in seen:
                self.ctx.problem(
                    f"step {step.id!r} would make two jobs of one id (its matrix values, "
                    "lines, pieces and upstream jobs together name them alike; a run keeps "
                    "outputs by job id): rename the matrix key that repeats another's "
                    "(line, piece, an upstream step's matrix key)",
                    (*step.recipe_path, "matrix") if step.matrix else step.recipe_path,
                    code="duplicate-job",
                    job=job_id,
                )
                continue
            seen.add(job_id)
            kept.append(pj)
        return kept

    def _check(self, step: Step, entry: ModelEntry, planned: list[PlannedJob]) -> None:
        """Every job's requests, media and text checked, in plan order. The first job whose
        requests are clean becomes the step's template when its provider and schema allow
        (:class:`BodyTemplate`): a later job that differs from it only in the declared leaves
        has those checked, not its whole body rebuilt and walked."""
        client = registry.get(entry.provider).client
        origins = client.origins
        checked_from = len(self.ctx.problems)
        source = self._source(entry.provider)
        check = self.checks.check_job
        template: BodyTemplate | None = None
        looking = True
        for pj in planned:
            job = pj.job
            if template is not None and template.decides(job):
                check(step, entry, job, (), origins)
                continue
            requests = source.first_requests(job)
            if check(step, entry, job, requests, origins) and looking:
                looking = False  # one try per step: the first clean job is the template
                provider_checks = registry.get(entry.provider).checks
                template = BodyTemplate.of(job, requests, client, provider_checks)
        self.lines.relocate(checked_from)

    def _text_only(self, step: Step) -> Any:
        """A renderer of the step's text-to-speech text when nothing else in its spec is a
        template, or None.

        Then the step's jobs differ only in that text: every other value of the spec is the
        same, so :meth:`Parameters.build` finds the same media, the same voice and the same
        problems for each. Once one job of the step has been built the whole way without a
        problem (``like`` in :meth:`plan_step`), a later one whose text renders to a string is
        that job's media and parameters with its own text; anything else (a template error, a
        text that is not a string) goes the whole way, which reports it as before."""
        spec = step.spec
        tts = spec.get("tts")
        if (
            step.action != "lipsync"
            or spec.get("lines") is not None
            or not isinstance(tts, Mapping)
            or not isinstance(tts.get("text"), str)
            or has_templates({k: v for k, v in spec.items() if k != "tts"})
            or has_templates({k: v for k, v in tts.items() if k != "text"})
            or any(isinstance(v, str) and v.startswith(STEP_REF_PREFIX) for v in spec.values())
        ):
            return None
        return self.templater.renderer(tts["text"], (step.action, "tts", "text"))

    def _jobs_of(
        self, step: Step, spec: dict[str, Any], values: dict[str, Any], bound: _Bound
    ) -> Iterable[tuple[dict[str, Any], dict[str, Any], LineJob | None]]:
        """The jobs one matrix combination makes: itself, or for a lip sync from lines, one
        per line (or one holding every line as a segment)."""
        if step.action != "lipsync" or spec.get("lines") is None:
            return [(values, spec, None)]
        return self._line_jobs(step, spec, values, bound)

    def _line_jobs(
        self, step: Step, spec: dict[str, Any], values: dict[str, Any], bound: _Bound
    ) -> Iterator[tuple[dict[str, Any], dict[str, Any], LineJob | None]]:
        job_id = format_job_id(step.id, values)
        read = self.lines.read(spec["lines"], (*step.recipe_path, step.action, "lines"), job_id)
        if read is None:
            return
        name, lines = read
        count = self.lines.job_count(step, spec, lines)  # before any line's job is built
        bound(count, f"{count:,} lines of input {name!r}", ("inputs", name, "lines"))
        for line_job in self.lines.jobs(step, spec, name, lines, values):
            yield {**values, **line_job.key}, line_job.spec, line_job

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
        *,
        piece: Piece | None = None,
    ) -> PlannedJob | None:
        media = self._shared_media(media)
        if media is not self._media_fits[0] or entry.provider != self._media_fits[1]:
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
            self._media_fits = (media, entry.provider)  # held (never changed): its id stays its
        matrix = values
        key = self.keys.key(
            provider=entry.provider,
            model=entry.model,
            action=step.action,
            params=params,
            options=options,
            media=media,
            matrix=matrix,
            piece=piece,
            upstream_keys={pj.job.id: pj.job.key for pj in upstream.values()} if upstream else {},
            take=step.take,
        )
        job = Job(
            id=job_id,
            step=step.id,
            action=step.action,
            provider=entry.provider,
            model=entry.model,
            model_id=entry.id,
            task_uuid=stable_uuid4(*take_uuid_parts(key, "")),
            media=media,
            params=params,
            options=options,
            needs=self._needs(step, upstream),
            matrix=matrix,
            piece=piece,
            key=key,
        )
        cost, low, high, out_duration = self.costs.of(entry, media, params, options)
        return PlannedJob(
            job=job,
            made_by=self._source(entry.provider),
            cost=cost,
            usd_low=low,
            usd_high=high,
            output_duration=out_duration,
        )

    def _shared_media(self, media: dict[str, MediaRef]) -> dict[str, MediaRef]:
        """One media dict for the jobs whose inputs are the same (a planned job's values are
        never changed): 100,000 jobs of one input hold one dict, not 100,000."""
        if media is self._media_fits[0]:
            return media  # the last job's very dict (a step's jobs built alike share it)
        which = tuple([(role, id(ref)) for role, ref in media.items()])
        found = self._media.get(which)
        if found is not None:
            return found[1]
        self._media.put(which, (tuple(media.values()), media))  # the refs kept: ids stay theirs
        return media

    def _needs(self, step: Step, upstream: Mapping[str, PlannedJob]) -> tuple[str, ...]:
        """The ids of the jobs a job waits for: its upstream set, then every job of the other
        steps it needs."""
        if not step.needs:
            return tuple(pj.job.id for pj in upstream.values()) if upstream else ()
        return tuple(pj.job.id for pj in upstream.values()) + tuple(
            pj.job.id
            for need in step.needs
            if need not in upstream
            for pj in self.ctx.jobs_by_step.get(need, ())
        )

    def _source(self, provider: str) -> _Requests:
        """The maker of the requests of jobs on ``provider``, one per plan."""
        found = self._sources.get(provider)
        if found is None:
            client = registry.get(provider).client
            found = self._sources[provider] = _Requests(
                client, self.urls[provider], self._uploaded_by
            )
        return found


class _Refused(Exception):
    """A step past --max-jobs (reported): it makes no jobs."""


# bound(jobs of one unit, what they are, where to report): raises _Refused past --max-jobs
_Bound = Callable[[int, str, tuple[PathPart, ...]], None]


def _cut_path(step: Step) -> tuple[PathPart, ...]:
    """Where a step's pieces are decided: its ``cut.at`` or ``cut``, else the step (a long input
    cut to the model's limits by default)."""
    if step.cut is None:
        return step.recipe_path
    return (*step.recipe_path, "cut", "at") if "at" in step.cut else (*step.recipe_path, "cut")


class _Requests:
    """A planned job's requests as the runner will send them, made from the job whenever they
    are checked or shown (a plan holds no request bodies). Uploads an earlier job already makes
    are marked: the runner uploads each file once per provider and run, and later jobs reuse
    the result."""

    __slots__ = ("base_url", "client", "uploaded_by")

    def __init__(
        self, client: ProviderClient, base_url: str, uploaded_by: dict[tuple[str, str, str], str]
    ) -> None:
        self.client, self.base_url, self.uploaded_by = client, base_url, uploaded_by

    def first_requests(self, job: Job) -> tuple[PlannedRequest, ...]:
        """The job's requests as it is planned (jobs in plan order): an upload no earlier job
        makes is recorded as this job's."""
        return self._made(job, first=True)

    def requests_of(self, job: Job) -> tuple[PlannedRequest, ...]:
        return self._made(job, first=False)

    def _made(self, job: Job, *, first: bool) -> tuple[PlannedRequest, ...]:
        made = self.client.plan_requests(job, self.base_url)
        for i, req in enumerate(made):
            if req.upload_of is not None:
                key = (job.provider, *req.upload_of)
                by = (
                    self.uploaded_by.setdefault(key, job.id)
                    if first
                    else self.uploaded_by.get(key, job.id)
                )
                if by != job.id:
                    made[i] = replace(req, reused_from=by, validate=False)
        return tuple(made)


def plan_file(
    path: str, *, env: Mapping[str, str] | None = None, max_jobs: int = DEFAULT_MAX_JOBS
) -> Plan:
    """Load the recipe at ``path`` and plan it, probing its local media files."""
    from lipflow.media import probe_input

    recipe = load_recipe(path, partial=True)
    return plan_recipe(recipe, probe=probe_input, env=env, max_jobs=max_jobs)


def plan_recipe(
    recipe: Recipe,
    *,
    probe: Probe | None = None,
    env: Mapping[str, str] | None = None,
    max_jobs: int = DEFAULT_MAX_JOBS,
) -> Plan:
    """Every job of ``recipe`` with its requests, checks and cost; problems are in ``plan.problems``.

    ``env`` holds the ``LIPFLOW_*_URL`` variables to plan against (the CLI passes its environment);
    without it the plan shows the providers' real endpoints. A plan past ``max_jobs`` jobs is
    refused step by step with a problem that says how many the matrix or fan-out would make.
    """
    with _cyclic_gc_paused():
        return _Planner(recipe, probe, {} if env is None else env, max_jobs).plan()


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

"""The runner: a plan's jobs turned into media files on disk, resumably, never paying twice.

For each job, in dependency order and concurrently where independent, the runner uploads local
inputs the way the provider takes them, submits, polls with backoff, downloads every output
(temporary file, then atomic rename; size and type checked) and hands the output URL to the jobs
that need it. The provider modules build every request (the same functions the plan shows) and
classify every reply; the runner only drives those flows, waits, retries what is safe to retry
and writes each fact to the :mod:`~lipflow.journal` before taking the next network step.

What it does with each kind of failure (see :mod:`lipflow.providers._wire`):

================  ===========================================================================
not sent          connection refused: send again after a backoff
rejected          validation or auth error: the job fails at once; never retried in this run
capacity          429 / PixVerse 500044: nothing was created; wait (Retry-After) and send again
ambiguous submit  Runware: re-send with the same taskUUID (``conflictTaskUUID`` means it exists)
                  PixVerse, WaveSpeed: the job is marked ambiguous and left alone; only
                  ``resubmit_ambiguous`` (``--resubmit-ambiguous``) sends it again
poll / download   5xx, timeouts, dropped connections, garbled replies: retried with backoff
job failed        moderation, generation failure: the job fails, independent jobs go on
================  ===========================================================================

The HTTP client is injected (an ``httpx.AsyncClient``), and so are ``sleep`` and ``clock``, so a
test can run it over real sockets against the mock and a benchmark can simulate a long job.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import json
import os
import re
import time
import uuid
from collections.abc import Awaitable, Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, Protocol, TypeVar

import httpx

from lipflow.errors import (
    BudgetExceeded,
    InputError,
    JobFailed,
    LipflowError,
    OutputInvalid,
    ProviderAmbiguous,
    ProviderCapacity,
    ProviderError,
    ProviderRejected,
    ProviderUnavailable,
    UsageError,
)
from lipflow.jobs import Job, MediaRef, resolve
from lipflow.journal import JOURNAL_NAME, JobRecord, Journal, OutputRecord
from lipflow.providers import registry
from lipflow.providers._http import classify_transport
from lipflow.providers.base import Finished, Flow, ProviderClient, Submitted
from lipflow.secrets import Secrets

if TYPE_CHECKING:
    from lipflow.planner import Plan

__all__ = [
    "BudgetCheck",
    "JobReport",
    "RetryPolicy",
    "RunPlan",
    "RunReport",
    "RunSettings",
    "Runner",
    "Secrets",
    "build_plan",
    "execute",
    "load_saved_plan",
    "poll_delays",
    "provider_limits_from",
]

T = TypeVar("T")
Sleep = Callable[[float], Awaitable[None]]

_JOB_FIELDS = tuple(f.name for f in fields(Job))
_RUNNING_STATES = frozenset({"submitting", "submitted", "downloading"})
_VIDEO_EXTS = (".mp4", ".mov", ".webm")


# ---------------------------------------------------------------------------------- the plan


@dataclass(frozen=True, slots=True, kw_only=True)
class RunPlan:
    """What a run needs from a plan: its jobs, their estimates, the recipe they came from."""

    recipe_file: str
    recipe_digest: str
    recipe_name: str
    budget: float | None
    jobs: tuple[Job, ...]
    estimates: Mapping[str, float | None]  # job id -> estimated USD (None: unpriced)

    @classmethod
    def from_plan(cls, plan: Plan) -> RunPlan:
        return cls(
            recipe_file=plan.recipe_file,
            recipe_digest=plan.recipe_digest,
            recipe_name=plan.recipe_name,
            budget=plan.budget,
            jobs=tuple(pj.job for pj in plan.jobs),
            estimates={pj.job.id: pj.cost.usd for pj in plan.jobs},
        )

    @classmethod
    def from_json(cls, raw: Mapping[str, Any]) -> RunPlan:
        """A plan saved by ``lipflow plan --out`` (``lipflow_plan: 1``)."""
        if raw.get("lipflow_plan") != 1 or not isinstance(raw.get("jobs"), list):
            raise UsageError('not a lipflow plan file (no "lipflow_plan": 1 with jobs)')
        if raw.get("errors"):
            raise UsageError("the saved plan has errors; fix the recipe and plan it again")
        recipe = raw["recipe"]
        return cls(
            recipe_file=recipe["file"],
            recipe_digest=recipe["digest"],
            recipe_name=recipe.get("name") or "",
            budget=raw.get("budget_usd"),
            jobs=tuple(
                Job.from_json({k: j[k] for k in _JOB_FIELDS if k in j}) for j in raw["jobs"]
            ),
            estimates={j["id"]: (j.get("cost") or {}).get("usd") for j in raw["jobs"]},
        )

    def totals(self) -> dict[str, Any]:
        """Estimated USD per step and per provider, and the jobs the docs give no price for."""
        per_step: dict[str, float] = {}
        per_provider: dict[str, float] = {}
        unpriced: list[str] = []
        for job in self.jobs:
            usd = self.estimates.get(job.id)
            if usd is None:
                unpriced.append(job.id)
                continue
            per_step[job.step] = per_step.get(job.step, 0.0) + usd
            per_provider[job.provider] = per_provider.get(job.provider, 0.0) + usd
        return {
            "usd": round(sum(per_step.values()), 6),
            "per_step": {k: round(v, 6) for k, v in per_step.items()},
            "per_provider": {k: round(v, 6) for k, v in per_provider.items()},
            "unpriced": unpriced,
        }


def load_saved_plan(path: str) -> RunPlan:
    """A saved plan, refused if its recipe changed since it was planned (digest differs)."""
    from lipflow.recipe import load_recipe

    try:
        raw = json.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InputError("no such file", path=path) from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InputError(f"cannot read the plan: {exc}", path=path) from None
    if not isinstance(raw, dict):
        raise InputError("not a lipflow plan file", path=path)
    plan = RunPlan.from_json(raw)
    current = load_recipe(plan.recipe_file).digest
    if current != plan.recipe_digest:
        raise UsageError(
            f"{path}: the recipe {plan.recipe_file} changed since this plan was made "
            f"(digest {plan.recipe_digest[:12]} then, {current[:12]} now); "
            f"plan it again with `lipflow plan {plan.recipe_file} --out {path}`"
        )
    return plan


def build_plan(source: str) -> RunPlan:
    """The plan to run: a saved plan (``*.json``) checked against its recipe, or a recipe planned now."""
    if source.endswith(".json"):
        return load_saved_plan(source)
    from lipflow.errors import PlanError
    from lipflow.planner import plan_file

    plan = plan_file(source)
    if not plan.ok:
        raise PlanError(
            f"{source}: the plan has errors; see `lipflow plan {source}`", plan.problems
        )
    return RunPlan.from_plan(plan)


def provider_limits_from(values: Sequence[str]) -> dict[str, int]:
    """``["runware=4", ...]`` as ``{"runware": 4}``; a bad entry is a UsageError saying why."""
    limits: dict[str, int] = {}
    for value in values:
        name, sep, number = value.partition("=")
        if not sep or not number.strip().isdigit() or int(number) < 1:
            raise UsageError(
                f"--provider-concurrency {value!r}: write PROVIDER=N with N >= 1, e.g. runware=4"
            )
        registry.get(name.strip())  # an unknown name lists the known ones
        limits[name.strip()] = int(number)
    return limits


# ---------------------------------------------------------------------------------- settings


@dataclass(frozen=True, slots=True, kw_only=True)
class RetryPolicy:
    """How long to wait and how often to try again; the defaults suit the real providers."""

    backoff_first: float = 0.25  # seconds before the first retry of a transient failure
    backoff_cap: float = 10.0
    transient_tries: int = 6  # sends of one request before a transient failure sticks
    capacity_tries: int = 30  # sends refused for capacity before the job waits for a resume
    capacity_wait: float = 2.0  # when a capacity refusal names no Retry-After
    recover_tries: int = 6  # Runware: re-sends of an ambiguous submit with the same taskUUID
    poll_first: float = 0.0  # seconds after the submit before the first poll
    poll_next: float = 0.5
    poll_factor: float = 2.0
    poll_cap: float = 15.0
    poll_deadline: float = 4 * 3600.0  # give up polling (job stays submitted) after this long
    request_timeout: float = 60.0
    connect_timeout: float = 10.0

    def backoff(self, attempt: int) -> float:
        """The wait before retry ``attempt`` (1-based) of a transient failure."""
        return float(min(self.backoff_cap, self.backoff_first * 2 ** (attempt - 1)))


def poll_delays(policy: RetryPolicy) -> Iterator[float]:
    """Waits between polls: one right after the submit, then doubling to a cap.

    0, 0.5, 1, 2, 4, 8, 15, 15... polls a 60-second job 9 times, a 10-second job 6 times and a
    job that is done at once once, and never lets a finished job wait more than 15 s.
    """
    yield policy.poll_first
    delay = policy.poll_next
    while True:
        yield delay
        delay = min(policy.poll_cap, delay * policy.poll_factor)


@dataclass(frozen=True, slots=True, kw_only=True)
class RunSettings:
    """Everything a run is configured with; the CLI fills it, ``Runner`` executes it."""

    out_dir: Path
    base_urls: Mapping[str, str]
    keys: Mapping[str, str]
    concurrency: int = 8
    provider_concurrency: Mapping[str, int] = field(default_factory=dict)
    budget: float | None = None  # overrides the recipe's budget
    allow_unpriced: bool = False
    resume: bool = False  # insist on an existing journal
    resubmit_ambiguous: bool = False
    target: str = "live"  # "mock" for --mock; a journal is only resumed against the same target
    retry: RetryPolicy = field(default_factory=RetryPolicy)


# ---------------------------------------------------------------------------------- budget


@dataclass(frozen=True, slots=True, kw_only=True)
class BudgetCheck:
    """The plan's estimate against the budget, with the breakdown said when it is refused."""

    estimate_usd: float
    budget_usd: float | None
    per_step: Mapping[str, float]
    per_provider: Mapping[str, float]
    unpriced: tuple[str, ...]

    @classmethod
    def of(cls, plan: RunPlan, settings: RunSettings) -> BudgetCheck:
        """The plan's estimate against ``settings.budget``, else the recipe's budget."""
        totals = plan.totals()
        return cls(
            estimate_usd=totals["usd"],
            budget_usd=settings.budget if settings.budget is not None else plan.budget,
            per_step=totals["per_step"],
            per_provider=totals["per_provider"],
            unpriced=tuple(totals["unpriced"]),
        )

    def breakdown(self) -> str:
        lines = [f"  estimate ${self.estimate_usd:.4f}"]
        lines += [f"    step {k}: ${v:.4f}" for k, v in self.per_step.items()]
        lines += [f"    provider {k}: ${v:.4f}" for k, v in self.per_provider.items()]
        if self.unpriced:
            shown = ", ".join(self.unpriced[:5]) + (" ..." if len(self.unpriced) > 5 else "")
            lines.append(
                f"  unpriced: {len(self.unpriced)} job(s) the docs give no price for: {shown}"
            )
        return "\n".join(lines)

    def enforce(self, *, allow_unpriced: bool) -> None:
        if self.budget_usd is not None and self.estimate_usd > self.budget_usd + 1e-9:
            raise BudgetExceeded(
                f"the plan is estimated at ${self.estimate_usd:.4f}, over the budget of "
                f"${self.budget_usd:.2f}; nothing was submitted. Raise --budget or run fewer jobs.\n"
                + self.breakdown()
            )
        if self.unpriced and not allow_unpriced:
            raise BudgetExceeded(
                f"{len(self.unpriced)} job(s) have no documented price, so the budget cannot "
                "bound them; nothing was submitted. Pass --allow-unpriced to run them anyway.\n"
                + self.breakdown()
            )


# ---------------------------------------------------------------------------------- reports


@dataclass(frozen=True, slots=True, kw_only=True)
class JobReport:
    id: str
    step: str
    provider: str
    model: str
    state: str
    attempts: int
    task_uuid: str | None
    provider_job_id: str | None
    outputs: tuple[OutputRecord, ...]
    estimated_usd: float | None
    reported_usd: float | None
    reported_credits: int | None
    error_class: str | None
    error: str | None

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "step": self.step,
            "provider": self.provider,
            "model": self.model,
            "state": self.state,
            "attempts": self.attempts,
            "task_uuid": self.task_uuid,
            "provider_job_id": self.provider_job_id,
            "outputs": [o.to_json() for o in self.outputs],
            "estimated_usd": self.estimated_usd,
            "reported_usd": self.reported_usd,
            "reported_credits": self.reported_credits,
            "error": None
            if self.error_class is None and self.error is None
            else {"class": self.error_class, "message": self.error},
        }


@dataclass(frozen=True, slots=True, kw_only=True)
class RunReport:
    """The outcome of a run: every job's state, outputs, costs and error, and how to resume."""

    recipe: str
    out_dir: str
    journal: str
    jobs: tuple[JobReport, ...]
    elapsed_s: float
    interrupted: bool
    polls: int
    requests: int
    mock: bool = False

    @property
    def ok(self) -> bool:
        return all(j.state == "done" for j in self.jobs)

    def counts(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for j in self.jobs:
            out[j.state] = out.get(j.state, 0) + 1
        return out

    def resume_command(self) -> str:
        mock = " --mock" if self.mock else ""
        return f"lipflow run {self.recipe}{mock} --out {self.out_dir} --resume"

    def to_json(self) -> dict[str, Any]:
        estimated = [j.estimated_usd for j in self.jobs if j.estimated_usd is not None]
        reported = [j.reported_usd for j in self.jobs if j.reported_usd is not None]
        return {
            "lipflow_run": 1,
            "recipe": self.recipe,
            "out_dir": self.out_dir,
            "journal": self.journal,
            "ok": self.ok,
            "interrupted": self.interrupted,
            "counts": self.counts(),
            "elapsed_s": round(self.elapsed_s, 3),
            "estimated_usd": round(sum(estimated), 6),
            "reported_usd": round(sum(reported), 6) if reported else None,
            "polls": self.polls,
            "requests": self.requests,
            "resume": None if self.ok else self.resume_command(),
            "jobs": [j.to_json() for j in self.jobs],
        }

    def format_text(self) -> str:
        lines = []
        for j in self.jobs:
            cost = "" if j.estimated_usd is None else f" est ${j.estimated_usd:.4f}"
            if j.reported_usd is not None:
                cost += f", reported ${j.reported_usd:.4f}"
            where = ", ".join(o.path for o in j.outputs if o.path) or (j.provider_job_id or "")
            why = f": {j.error_class}: {j.error}" if j.state != "done" and j.error else ""
            lines.append(f"{j.state:<11} {j.id} [{j.provider}]{cost} {where}{why}".rstrip())
        counts = ", ".join(f"{n} {state}" for state, n in sorted(self.counts().items()))
        lines.append(
            f"{len(self.jobs)} job(s): {counts} in {self.elapsed_s:.1f} s; out dir {self.out_dir}"
        )
        if not self.ok:
            lines.append(f"resume with: {self.resume_command()}")
        return "\n".join(lines)


# ---------------------------------------------------------------------------------- progress


@dataclass(frozen=True, slots=True, kw_only=True)
class Snapshot:
    """Counts for a progress display."""

    total: int
    queued: int
    running: int
    done: int
    failed: int
    ambiguous: int
    elapsed_s: float
    spent_usd: float


class Observer(Protocol):
    """Receives every state change of a run (the progress display)."""

    def update(self, job_id: str, state: str, detail: str | None, snapshot: Snapshot) -> None: ...


# ---------------------------------------------------------------------------------- the runner


class Runner:
    """Runs a :class:`RunPlan` with the given settings over the given HTTP client."""

    def __init__(
        self,
        plan: RunPlan,
        settings: RunSettings,
        client: httpx.AsyncClient,
        *,
        observer: Observer | None = None,
        sleep: Sleep | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.plan = plan
        self.settings = settings
        self.client = client
        self.observer = observer
        self.secrets = Secrets(settings.keys)
        self._sleep = sleep or self._stoppable_sleep
        self._clock = clock
        self._stop = asyncio.Event()
        self.interrupted = False
        self.polls = 0
        self.requests = 0
        self._jobs = {job.id: job for job in plan.jobs}
        self._names = _output_names(plan.jobs)
        self._state: dict[str, str] = {}
        self._spent = 0.0
        self._started = clock()
        self._journal: Journal | None = None
        self._lock: IO[bytes] | None = None
        self._output_urls: dict[str, str] = {}
        self._finished: dict[str, asyncio.Future[bool]] = {}
        self._uploads: dict[tuple[str, str, str], asyncio.Future[Any]] = {}
        retry = settings.retry
        self._timeout = httpx.Timeout(retry.request_timeout, connect=retry.connect_timeout)

    # -- public ----------------------------------------------------------------------------
    @property
    def journal_path(self) -> Path:
        return self.settings.out_dir / JOURNAL_NAME

    def budget_check(self) -> BudgetCheck:
        """The plan's estimate against ``--budget`` (or the recipe's budget); see ``enforce``."""
        return BudgetCheck.of(self.plan, self.settings)

    def interrupt(self) -> None:
        """Stop submitting; jobs in flight settle (their journal rows are written) and return."""
        self.interrupted = True
        self._stop.set()

    async def run(self) -> RunReport:
        """Run every job that is not done yet; the report says how each one ended."""
        self.budget_check().enforce(allow_unpriced=self.settings.allow_unpriced)
        try:
            journal = self._open_journal()
        except BaseException:
            self._unlock()
            raise
        self._journal = journal
        try:
            records = journal.jobs()
            loop = asyncio.get_running_loop()
            uploaded = journal.all_uploads()
            for job_id, rec in records.items():
                if job_id in self._jobs:
                    self._remember_uploads(self._jobs[job_id], uploaded.get(job_id, {}), loop)
                    self._state[job_id] = rec.state
                    if rec.outputs:
                        self._output_urls[job_id] = rec.outputs[0].url
                    if rec.reported_usd is not None:
                        self._spent += rec.reported_usd
            self._finished = {job_id: loop.create_future() for job_id in self._jobs}
            provider_slots = {
                p: asyncio.Semaphore(n) for p, n in self.settings.provider_concurrency.items()
            }
            slots = asyncio.Semaphore(max(1, self.settings.concurrency))
            tasks = [
                asyncio.create_task(self._job(job, records[job.id], slots, provider_slots))
                for job in self.plan.jobs
            ]
            await asyncio.gather(*tasks)
            return self._report(journal)
        finally:
            journal.close()
            self._journal = None
            self._unlock()

    def _remember_uploads(
        self, job: Job, uploads: Mapping[str, Any], loop: asyncio.AbstractEventLoop
    ) -> None:
        """Uploads journaled by an earlier run serve every job of this run that needs the file."""
        for role, result in uploads.items():
            ref = job.media.get(role)
            if ref is not None:
                future: asyncio.Future[Any] = loop.create_future()
                future.set_result(result)
                self._uploads.setdefault(_upload_key(job, ref), future)

    def _unlock(self) -> None:
        if self._lock is not None:
            self._lock.close()
            self._lock = None

    # -- journal ---------------------------------------------------------------------------
    def _open_journal(self) -> Journal:
        out = self.settings.out_dir
        exists = (out / JOURNAL_NAME).exists()
        if self.settings.resume and not exists:
            raise UsageError(f"nothing to resume: {out} holds no run journal ({JOURNAL_NAME})")
        try:
            out.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise InputError(
                f"cannot create the out directory: {exc.strerror}", path=str(out)
            ) from None
        self._lock = _lock_out_dir(out)
        # A run killed mid-download leaves its temporary file; with the lock held, none is live.
        for stale in out.glob(".*.part"):
            stale.unlink(missing_ok=True)
        journal = Journal(out / JOURNAL_NAME)
        digest = journal.meta("recipe_digest")
        if digest is not None and digest != self.plan.recipe_digest:
            journal.close()
            raise UsageError(
                f"{out} holds a run of another version of the recipe (digest {digest[:12]}, "
                f"now {self.plan.recipe_digest[:12]}); its jobs may still be at the provider. "
                "Run into a new --out directory."
            )
        target = _target(self.settings)
        was = journal.meta("target")
        if was is not None and was != target:
            journal.close()
            raise UsageError(
                f"{out} holds a run against {was}, not {target}; its jobs live there. "
                "Run into a new --out directory."
            )
        if digest is None:
            journal.set_meta("recipe_digest", self.plan.recipe_digest)
            journal.set_meta("recipe_file", self.plan.recipe_file)
            journal.set_meta("target", target)
        journal.add_jobs(
            (job.id, job.provider, job.model, self.plan.estimates.get(job.id))
            for job in self.plan.jobs
        )
        return journal

    @property
    def _j(self) -> Journal:
        assert self._journal is not None
        return self._journal

    def _set(
        self,
        job_id: str,
        state: str,
        *,
        detail: str | None = None,
        error: ProviderError | LipflowError | None = None,
        error_class: str | None = None,
    ) -> None:
        message = (
            None if error is None else self.secrets.scrub(error.format().removeprefix("error: "))
        )
        self._j.set_state(
            job_id,
            state,
            detail=self.secrets.scrub(detail) if detail else None,
            error_class=error_class,
            error=message,
        )
        self._emit(job_id, state, message or detail)

    def _emit(self, job_id: str, state: str, detail: str | None) -> None:
        self._state[job_id] = state
        if self.observer is not None:
            self.observer.update(job_id, state, detail, self._snapshot())

    def _snapshot(self) -> Snapshot:
        states = list(self._state.values())
        return Snapshot(
            total=len(self._jobs),
            queued=sum(s == "pending" for s in states),
            running=sum(s in _RUNNING_STATES for s in states),
            done=sum(s == "done" for s in states),
            failed=sum(s in ("failed", "blocked") for s in states),
            ambiguous=sum(s == "ambiguous" for s in states),
            elapsed_s=self._clock() - self._started,
            spent_usd=self._spent,
        )

    # -- one job ---------------------------------------------------------------------------
    async def _job(
        self,
        job: Job,
        rec: JobRecord,
        slots: asyncio.Semaphore,
        provider_slots: Mapping[str, asyncio.Semaphore],
    ) -> None:
        ok = False
        try:
            ok = await self._job_inner(job, rec, slots, provider_slots)
        finally:
            future = self._finished[job.id]
            if not future.done():
                future.set_result(ok)

    async def _job_inner(
        self,
        job: Job,
        rec: JobRecord,
        slots: asyncio.Semaphore,
        provider_slots: Mapping[str, asyncio.Semaphore],
    ) -> bool:
        if rec.state == "done" and rec.outputs and all(o.intact() for o in rec.outputs):
            return True
        for need in job.needs:
            if need in self._finished and not await self._finished[need]:
                if self.interrupted:
                    return False
                self._set(
                    job.id,
                    "blocked",
                    detail=f"needs {need}, which did not finish",
                    error_class="blocked",
                )
                return False
        action = self._action(rec)
        if action == "leave":
            return False
        provider_slot = provider_slots.get(job.provider)
        if provider_slot is not None:
            async with provider_slot, slots:
                return await self._execute(job, rec, action)
        async with slots:
            return await self._execute(job, rec, action)

    def _action(self, rec: JobRecord) -> str:
        """What to do first for a job, from its journal state."""
        state = rec.state
        if state in ("done", "downloading"):
            return "download" if rec.outputs else "submit"
        if state == "submitted" and rec.provider_job_id:
            return "poll"
        if state in ("submitting", "ambiguous"):
            if registry.get(rec.provider).wire.idempotency.deduplicated:
                return "recover"  # the same key: the provider itself says whether it has the job
            if self.settings.resubmit_ambiguous:
                return "submit"
            if state == "submitting":
                self._set(
                    rec.id,
                    "ambiguous",
                    error_class="ambiguous",
                    detail="a submit was in flight when the last run stopped",
                )
            self._emit(rec.id, "ambiguous", rec.error)
            return "leave"
        return "submit"

    async def _execute(self, job: Job, rec: JobRecord, action: str) -> bool:
        if self._stop.is_set() and action in ("submit", "recover"):
            return False
        module = registry.get(job.provider).client
        provider_job_id = rec.provider_job_id
        if action in ("submit", "recover"):
            attempt = max(rec.attempt, 1) if action == "recover" else rec.attempt + 1
            values = await self._upload(job, module)
            if values is None:
                return False
            submitted = await self._submit(
                job, module, values, attempt, recovering=action == "recover"
            )
            if submitted is None:
                return False
            provider_job_id = submitted.provider_job_id
        urls: Sequence[str]
        sizes: Sequence[int | None]
        if action == "download":
            urls = [o.url for o in rec.outputs]
            sizes = [o.expected_size for o in rec.outputs]
        else:
            assert provider_job_id is not None
            finished = await self._poll(job, module, provider_job_id)
            if finished is None:
                return False
            urls, sizes = finished.outputs, finished.sizes
        return await self._download(job, urls, sizes)

    # -- steps -----------------------------------------------------------------------------
    async def _drive(self, flow: Flow[T], provider: str) -> T:
        """Send each request a flow yields, give it the response; httpx errors become lipflow's."""
        request = next(flow)
        try:
            while True:
                request.extensions["timeout"] = self._timeout.as_dict()
                self.requests += 1
                try:
                    response = await self.client.send(request)
                except httpx.HTTPError as exc:
                    raise classify_transport(exc, provider) from exc
                try:
                    request = flow.send(response)
                except StopIteration as stop:
                    return stop.value  # type: ignore[no-any-return]
        finally:
            flow.close()

    async def _retrying(
        self, job: Job, what: str, make: Callable[[], Flow[T]]
    ) -> T | ProviderError:
        """A flow that is safe to send again (upload, poll): retried on every transient failure."""
        retry = self.settings.retry
        transient = capacity = 0
        while True:
            try:
                return await self._drive(make(), job.provider)
            except (ProviderRejected, JobFailed) as exc:
                return exc
            except ProviderCapacity as exc:
                capacity += 1
                if capacity >= retry.capacity_tries:
                    return exc
                wait = exc.retry_after if exc.retry_after is not None else retry.capacity_wait
            except (ProviderAmbiguous, ProviderUnavailable) as exc:
                transient += 1
                if transient >= retry.transient_tries:
                    return exc
                wait = retry.backoff(transient)
            self._j.note(job.id, self.secrets.scrub(f"{what}: retrying in {wait:g} s"))
            await self._sleep(wait)
            if self._stop.is_set() and what != "poll":
                return ProviderUnavailable("interrupted before it was sent", provider=job.provider)

    async def _upload_once(
        self, key: tuple[str, str, str], upload: Callable[[], Awaitable[Any]]
    ) -> Any:
        """One upload per file (or URL) and provider in a run, however many jobs use it.

        The first job to need it uploads; the others wait for that result. A failed upload is
        forgotten, so the next job that needs the file tries again itself.
        """
        while True:
            pending = self._uploads.get(key)
            if pending is None:
                future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
                self._uploads[key] = future
                try:
                    result = await upload()
                except BaseException:
                    del self._uploads[key]
                    future.cancel()
                    raise
                if isinstance(result, LipflowError):
                    del self._uploads[key]
                future.set_result(result)
                return result
            try:
                result = await asyncio.shield(pending)
            except asyncio.CancelledError:
                if pending.cancelled():
                    continue  # the uploader was cancelled: try again ourselves
                raise
            if not isinstance(result, LipflowError):
                return result

    async def _upload(self, job: Job, module: ProviderClient) -> dict[str, Any] | None:
        """Upload what the provider needs uploaded; the submit's media values, or None (failed)."""
        lookup: dict[str, Any] = {}
        for need in job.needs:
            if need in self._output_urls:
                lookup[f"jobs.{need}.output_url"] = self._output_urls[need]
        done = self._j.uploads(job.id)
        key = self.secrets.key(job.provider)
        base = self.settings.base_urls[job.provider]
        for role, ref in job.media.items():
            if module.needs_upload(ref) and role not in done:
                url = lookup.get(f"jobs.{ref.value}.output_url") if ref.origin == "step" else None

                async def upload(
                    role: str = role, ref: MediaRef = ref, url: str | None = url
                ) -> Any:
                    data: bytes | None = None
                    if ref.origin == "file":
                        try:
                            data = await asyncio.to_thread(Path(str(ref.value)).read_bytes)
                        except OSError as exc:
                            return InputError(
                                f"cannot read input: {exc.strerror}", path=str(ref.value)
                            )
                    flow = functools.partial(
                        module.upload_flow,
                        job,
                        role,
                        ref,
                        data=data,
                        url=url,
                        base_url=base,
                        key=key,
                    )
                    return await self._retrying(job, f"upload {role}", flow)

                result = await self._upload_once(_upload_key(job, ref), upload)
                if isinstance(result, InputError):
                    self._set(job.id, "failed", error=result, error_class="input")
                    return None
                if isinstance(result, ProviderError):
                    if self._stop.is_set():
                        self._set(job.id, "pending", detail="interrupted before the submit")
                    else:
                        self._set(job.id, "failed", error=result, error_class=_error_class(result))
                    return None
                self._j.record_upload(job.id, role, result)
                done[role] = result
        for role, result in done.items():
            for name, value in result.items():
                lookup[f"uploads.{role}.{name}"] = value
        try:
            return resolve(module.deferred_values(job), lookup)  # type: ignore[no-any-return]
        except KeyError as exc:
            self._set(
                job.id,
                "blocked",
                error_class="blocked",
                detail=f"needs {exc.args[0]}, which is not known",
            )
            return None

    async def _submit(
        self,
        job: Job,
        module: ProviderClient,
        values: Mapping[str, Any],
        attempt: int,
        *,
        recovering: bool,
    ) -> Submitted | None:
        """Record the intent, send the submit once, and act on its class of failure."""
        retry = self.settings.retry
        deduplicated = registry.get(job.provider).wire.idempotency.deduplicated
        task_uuid = module.submit_key(job, attempt)
        if not recovering:
            self._j.record_intent(job.id, attempt, task_uuid)
            self._emit(job.id, "submitting", f"attempt {attempt}")
        key = self.secrets.key(job.provider)
        base = self.settings.base_urls[job.provider]
        transient = capacity = 0
        ambiguous: ProviderError | None = None
        while True:
            try:
                submitted: Submitted = await self._drive(
                    module.submit_flow(job, values, attempt=attempt, base_url=base, key=key),
                    job.provider,
                )
                break
            except ProviderRejected as exc:
                self._set(job.id, "failed", error=exc, error_class="rejected")
                return None
            except ProviderCapacity as exc:
                capacity += 1
                if capacity >= retry.capacity_tries:
                    self._set(job.id, "failed", error=exc, error_class="capacity")
                    return None
                wait = exc.retry_after if exc.retry_after is not None else retry.capacity_wait
            except ProviderUnavailable as exc:
                transient += 1
                if transient >= retry.transient_tries:
                    if ambiguous is not None:  # an earlier send may have landed
                        self._set(job.id, "ambiguous", error=ambiguous, error_class="ambiguous")
                    else:
                        self._set(job.id, "failed", error=exc, error_class="unavailable")
                    return None
                wait = retry.backoff(transient)
            except ProviderAmbiguous as exc:
                ambiguous = exc
                transient += 1
                if not deduplicated or transient >= retry.recover_tries:
                    self._set(job.id, "ambiguous", error=exc, error_class="ambiguous")
                    return None
                wait = retry.backoff(transient)
                self._j.note(
                    job.id,
                    self.secrets.scrub(
                        f"submit ambiguous ({exc.message}); re-sending with the same key"
                    ),
                )
            if self._stop.is_set() and ambiguous is None:
                self._set(job.id, "pending", detail="interrupted before the submit was sent")
                return None
            await self._sleep(wait)
        usd = submitted.reported_usd
        if usd is not None:
            self._spent += usd
        detail = f"provider job {submitted.provider_job_id}"
        if submitted.existed:
            detail += " (the provider already had this taskUUID)"
        self._j.record_submitted(
            job.id,
            submitted.provider_job_id,
            reported_usd=usd,
            reported_credits=submitted.reported_credits,
            detail=detail,
        )
        self._emit(job.id, "submitted", detail)
        return submitted

    async def _poll(
        self, job: Job, module: ProviderClient, provider_job_id: str
    ) -> Finished | None:
        """Poll until the job is done, failed, or polling gives up (the job stays submitted)."""
        retry = self.settings.retry
        key = self.secrets.key(job.provider)
        base = self.settings.base_urls[job.provider]
        started = self._clock()
        for delay in poll_delays(retry):
            if delay:
                await self._sleep(delay)
            if self._stop.is_set():
                return None
            self.polls += 1
            result: Finished | ProviderError = await self._retrying(
                job, "poll", lambda: module.poll_flow(job, provider_job_id, base_url=base, key=key)
            )
            if isinstance(result, JobFailed):
                self._set(job.id, "failed", error=result, error_class=result.reason)
                return None
            if isinstance(result, ProviderRejected):
                self._set(job.id, "failed", error=result, error_class="rejected")
                return None
            if isinstance(result, ProviderError):
                # Still at the provider: a later run polls it again; never re-submitted.
                self._set(job.id, "submitted", error=result, error_class=_error_class(result))
                return None
            if result.done:
                reported = result.reported_usd
                if reported is not None:
                    self._spent += reported
                self._j.record_outputs(job.id, result.outputs, result.sizes, reported_usd=reported)
                self._output_urls[job.id] = result.outputs[0]
                self._emit(job.id, "downloading", f"{len(result.outputs)} output(s)")
                return result
            if self._clock() - started > retry.poll_deadline:
                self._set(
                    job.id,
                    "submitted",
                    error_class="timeout",
                    detail=f"still running after {retry.poll_deadline:g} s; resume polls it again",
                )
                return None
        raise AssertionError("poll_delays never ends")

    async def _download(self, job: Job, urls: Sequence[str], sizes: Sequence[int | None]) -> bool:
        """Every output to ``<out>/<name>``: a temporary file first, checked, then renamed."""
        retry = self.settings.retry
        for idx, url in enumerate(urls):
            expected = sizes[idx] if idx < len(sizes) else None
            path = self.settings.out_dir / _file_name(self._names[job.id], idx, len(urls), url)
            for attempt in range(1, retry.transient_tries + 1):
                try:
                    size, duration = await self._fetch(job, url, path, expected)
                    break
                except ProviderError as exc:
                    if isinstance(exc, ProviderRejected) or attempt == retry.transient_tries:
                        self._set(job.id, "downloading", error=exc, error_class="download")
                        return False
                    await self._sleep(retry.backoff(attempt))
            self._j.record_file(job.id, idx, str(path), size, duration, last=idx == len(urls) - 1)
        self._emit(job.id, "done", f"{len(urls)} output(s) saved")
        return True

    async def _fetch(
        self, job: Job, url: str, path: Path, expected: int | None
    ) -> tuple[int, float | None]:
        from lipflow import media

        tmp = path.with_name(f".{path.name}.{os.getpid()}.{uuid.uuid4().hex[:8]}.part")
        request = self.client.build_request("GET", url, timeout=self._timeout)
        self.requests += 1
        try:
            try:
                response = await self.client.send(request, stream=True)
                try:
                    if response.status_code != 200:
                        raise _download_status(response, job.provider)
                    announced = response.headers.get("content-length")
                    size = 0
                    with open(tmp, "wb") as fh:
                        async for chunk in response.aiter_bytes():
                            fh.write(chunk)
                            size += len(chunk)
                finally:
                    await response.aclose()
            except httpx.HTTPError as exc:
                raise classify_transport(exc, job.provider) from exc
            for what, want in (("Content-Length", announced), ("the provider's size", expected)):
                if want is not None and int(want) != size:
                    raise OutputInvalid(
                        f"output {url} is {size} bytes, but {what} said {want}",
                        provider=job.provider,
                    )
            try:
                info = media.probe(tmp)
            except InputError as exc:
                raise OutputInvalid(
                    f"output {url} is not a media file: {exc.message}", provider=job.provider
                ) from None
            if info.kind != job.output_kind:
                raise OutputInvalid(
                    f"output {url} is {info.kind}, not {job.output_kind}", provider=job.provider
                )
            os.replace(tmp, path)
            return size, info.duration_s
        except OSError as exc:
            raise OutputInvalid(
                f"cannot write {path}: {exc.strerror}", provider=job.provider
            ) from None
        finally:
            if tmp.exists():
                tmp.unlink()

    async def _stoppable_sleep(self, seconds: float) -> None:
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(self._stop.wait(), timeout=seconds)

    # -- report ----------------------------------------------------------------------------
    def _report(self, journal: Journal) -> RunReport:
        records = journal.jobs()
        reports = []
        for job in self.plan.jobs:
            rec = records[job.id]
            reports.append(
                JobReport(
                    id=job.id,
                    step=job.step,
                    provider=job.provider,
                    model=job.model,
                    state=rec.state,
                    attempts=rec.attempt,
                    task_uuid=rec.task_uuid,
                    provider_job_id=rec.provider_job_id,
                    outputs=rec.outputs,
                    estimated_usd=self.plan.estimates.get(job.id),
                    reported_usd=rec.reported_usd,
                    reported_credits=rec.reported_credits,
                    error_class=rec.error_class,
                    error=rec.error,
                )
            )
        return RunReport(
            recipe=self.plan.recipe_file,
            out_dir=str(self.settings.out_dir),
            journal=str(self.journal_path),
            jobs=tuple(reports),
            elapsed_s=self._clock() - self._started,
            interrupted=self.interrupted,
            polls=self.polls,
            requests=self.requests,
            mock=self.settings.target == "mock",
        )


# ---------------------------------------------------------------------------------- the edge


def execute(
    plan: RunPlan,
    settings: RunSettings,
    *,
    observer: Observer | None = None,
    transport: httpx.AsyncBaseTransport | None = None,
) -> RunReport:
    """Run ``plan`` to the end on a fresh event loop and HTTP client: what ``lipflow run`` calls.

    The first SIGINT (Ctrl-C) stops submitting and lets jobs in flight write their state; a
    second one cancels at once (the journal is still consistent: every fact is one transaction).
    """
    import signal

    async def main() -> RunReport:
        limits = httpx.Limits(
            max_connections=max(16, settings.concurrency * 2),
            max_keepalive_connections=max(16, settings.concurrency * 2),
        )
        async with httpx.AsyncClient(transport=transport, limits=limits) as client:
            runner = Runner(plan, settings, client, observer=observer)
            loop = asyncio.get_running_loop()
            task = asyncio.current_task()

            def on_sigint() -> None:
                if runner.interrupted and task is not None:
                    task.cancel()
                runner.interrupt()

            try:
                loop.add_signal_handler(signal.SIGINT, on_sigint)
                installed = True
            except (NotImplementedError, RuntimeError, ValueError):
                installed = False  # not the main thread, or no signals here: Ctrl-C raises instead
            try:
                return await runner.run()
            finally:
                if installed:
                    loop.remove_signal_handler(signal.SIGINT)

    try:
        return asyncio.run(main())
    except asyncio.CancelledError:
        raise KeyboardInterrupt from None


# ---------------------------------------------------------------------------------- helpers


def _lock_out_dir(out: Path) -> IO[bytes] | None:
    """An exclusive lock on the out directory for the run's life: one runner per journal."""
    try:
        import fcntl
    except ImportError:  # not on POSIX: no advisory locks; one run at a time is up to the user
        return None
    handle = open(out / ".lipflow.lock", "wb")  # noqa: SIM115 - held until the run ends
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        handle.close()
        raise UsageError(
            f"another lipflow run is using {out}; wait for it or use another --out"
        ) from None
    return handle


def _upload_key(job: Job, ref: MediaRef) -> tuple[str, str, str]:
    """What makes two uploads the same: the provider, and the file, URL or job output sent."""
    return (job.provider, ref.origin, str(ref.value))


def _target(settings: RunSettings) -> str:
    if settings.target == "mock":
        return "the bundled mock (--mock)"
    return ", ".join(f"{k} {v}" for k, v in sorted(settings.base_urls.items()))


def _error_class(exc: ProviderError) -> str:
    if isinstance(exc, JobFailed):
        return exc.reason
    return {
        ProviderRejected: "rejected",
        ProviderCapacity: "capacity",
        ProviderUnavailable: "unavailable",
        ProviderAmbiguous: "ambiguous",
        OutputInvalid: "download",
    }.get(type(exc), "error")


def _download_status(response: httpx.Response, provider: str) -> ProviderError:
    from lipflow.providers._http import classify_status

    message = f"download answered HTTP {response.status_code}"
    return classify_status(response, provider, message) or OutputInvalid(message, provider=provider)


def _safe(name: str) -> str:
    """A job id as a file name: ``dub[lang=en,voice=Sophia]`` -> ``dub_lang-en_voice-Sophia``."""
    name = name.replace("=", "-").replace("[", "_").replace("]", "")
    return re.sub(r"[^A-Za-z0-9._-]+", "_", name).strip("._") or "job"


def _output_names(jobs: Sequence[Job]) -> dict[str, str]:
    """A file-name stem per job, unique even when two ids sanitize alike."""
    names: dict[str, str] = {}
    taken: set[str] = set()
    for job in jobs:
        stem = _safe(job.id)
        if stem.lower() in taken:
            stem = f"{stem}-{uuid.uuid5(uuid.NAMESPACE_URL, job.id).hex[:8]}"
        taken.add(stem.lower())
        names[job.id] = stem
    return names


def _file_name(stem: str, idx: int, count: int, url: str) -> str:
    path = url.split("?", 1)[0].split("#", 1)[0]
    ext = os.path.splitext(path)[1].lower()
    ext = ext if ext in _VIDEO_EXTS else ".mp4"
    return f"{stem}{'' if count == 1 else f'-{idx + 1}'}{ext}"

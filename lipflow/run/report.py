"""What a run reports: each job's outcome and the run's, as data (the text is reporting's)."""

from __future__ import annotations

import shlex
from dataclasses import dataclass
from typing import Any, Protocol

from lipflow.jobs import usd_rounded
from lipflow.run.journal import AssemblyRecord, OutputRecord

__all__ = [
    "DRIFT_SHARE",
    "AssemblyReport",
    "JobReport",
    "Observer",
    "RunReport",
    "Snapshot",
    "drifts",
]


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
    missing: frozenset[str] = frozenset()  # output paths not on disk when the report was made

    @property
    def drift_usd(self) -> float | None:
        """Reported minus estimated cost, when the provider reported one."""
        if self.reported_usd is None or self.estimated_usd is None:
            return None
        return round(self.reported_usd - self.estimated_usd, 6)

    @property
    def drifted(self) -> bool:
        return drifts(self.estimated_usd, self.reported_usd)

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
            "outputs": [
                {**o.to_json(), "missing": o.path in self.missing} if o.path else o.to_json()
                for o in self.outputs
            ],
            "estimated_usd": self.estimated_usd,
            "reported_usd": self.reported_usd,
            "reported_credits": self.reported_credits,
            "drift_usd": self.drift_usd,
            "drift": self.drifted,
            "error": None
            if self.error_class is None and self.error is None
            else {"class": self.error_class, "message": self.error},
        }


@dataclass(frozen=True, slots=True, kw_only=True)
class AssemblyReport:
    """A split lip sync: its pieces' jobs and the joined output (or why it is not there yet)."""

    group: str
    pieces: tuple[str, ...]  # the piece jobs' ids, in order
    state: str  # done | failed | waiting (pieces not all done) | assembling (interrupted)
    record: AssemblyRecord | None = None

    def to_json(self) -> dict[str, Any]:
        rec = self.record
        return {
            "job": self.group,
            "pieces": list(self.pieces),
            "state": self.state,
            "path": rec.path if rec else None,
            "size_bytes": rec.size_bytes if rec else None,
            "verified": rec.verified if rec and rec.state == "done" else None,
            "error": rec.error if rec else None,
        }


@dataclass(frozen=True, slots=True, kw_only=True)
class KeptOtherwise:
    """A job kept as paid whose outputs an older lipflow bought otherwise than this one would
    (``why``): never bought again unasked; a fresh take is the user's call."""

    id: str
    step: str
    outputs: tuple[str, ...]
    why: str

    @property
    def fresh_take(self) -> str:
        """How to buy a fresh take of it."""
        return (
            f"set take: 2 on step {self.step} (its jobs get new keys: each is bought again), or "
            "run with --fresh (every job not in flight is bought again)"
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "outputs": list(self.outputs),
            "why": self.why,
            "fresh_take": self.fresh_take,
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
    assemblies: tuple[AssemblyReport, ...] = ()
    resume_args: tuple[str, ...] = ()  # the run's command line after ``lipflow run``, resuming
    budget_usd: float | None = None
    spent_usd: float = 0.0  # reported costs, and estimates of finished jobs that reported none
    not_in_recipe: tuple[tuple[str, str], ...] = ()  # (job id, state): kept, never deleted
    kept_otherwise: tuple[KeptOtherwise, ...] = ()  # bought by an older lipflow, otherwise

    @property
    def ok(self) -> bool:
        return all(j.state == "done" for j in self.jobs) and all(
            a.state == "done" for a in self.assemblies
        )

    def counts(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for j in self.jobs:
            out[j.state] = out.get(j.state, 0) + 1
        return out

    def at_provider(self) -> int:
        """Jobs the provider has and has not finished (or whose outputs are not saved yet)."""
        return sum(j.state in ("submitted", "downloading") for j in self.jobs)

    def outputs_refused(self) -> int:
        """Jobs paid for whose output URL the provider refuses (kept ``downloading``)."""
        return sum(
            j.state == "downloading" and j.error_class == "output_refused" for j in self.jobs
        )

    def resume_command(self) -> str:
        """The command that continues this run, with every option it needs, quoted for a shell."""
        args = self.resume_args or (
            self.recipe,
            *(("--mock",) if self.mock else ()),
            "--out",
            self.out_dir,
            "--resume",
        )
        return shlex.join(("lipflow", "run", *args))

    def maybe_charged(self) -> tuple[JobReport, ...]:
        """Jobs that reached the provider, or may have (a submit whose answer was lost), and
        whose cost is not counted in ``spent_usd``: charged if the provider runs them."""
        return tuple(
            j for j in self.jobs if j.state in MAYBE_CHARGED_STATES and j.reported_usd is None
        )

    @property
    def not_submitted_for_budget(self) -> int:
        """Jobs the budget kept from being submitted."""
        return sum(j.error_class == "budget" and j.state == "pending" for j in self.jobs)

    def cost_totals(self) -> dict[str, Any]:
        """Estimated and reported totals, and their drift over the jobs that reported a cost."""
        estimated = [j.estimated_usd for j in self.jobs if j.estimated_usd is not None]
        both = [j for j in self.jobs if j.reported_usd is not None and j.estimated_usd is not None]
        reported = [j.reported_usd for j in self.jobs if j.reported_usd is not None]
        maybe = self.maybe_charged()
        est_of_reported = sum(j.estimated_usd or 0.0 for j in both)
        rep_of_reported = sum(j.reported_usd or 0.0 for j in both)
        return {
            "estimated_usd": usd_rounded(sum(estimated)),
            "reported_usd": usd_rounded(sum(reported)) if reported else None,
            "reported_jobs": len(reported),
            "drift_usd": round(rep_of_reported - est_of_reported, 6) if both else None,
            "drift": drifts(est_of_reported, rep_of_reported) if both else False,
            "drifted_jobs": sum(j.drifted for j in self.jobs),
            "budget_usd": self.budget_usd,
            "spent_usd": round(self.spent_usd, 6),
            "maybe_spent_usd": round(sum(j.estimated_usd or 0.0 for j in maybe), 6),
            "maybe_spent_jobs": len(maybe),
            "not_submitted_for_budget": self.not_submitted_for_budget,
        }

    def to_json(self) -> dict[str, Any]:
        totals = self.cost_totals()
        return {
            "lipflow_run": 1,
            "recipe": self.recipe,
            "out_dir": self.out_dir,
            "journal": self.journal,
            "ok": self.ok,
            "interrupted": self.interrupted,
            "counts": self.counts(),
            "elapsed_s": round(self.elapsed_s, 3),
            "estimated_usd": totals["estimated_usd"],
            "reported_usd": totals["reported_usd"],
            "cost": totals,
            "polls": self.polls,
            "requests": self.requests,
            "resume": None if self.ok else self.resume_command(),
            "jobs": [j.to_json() for j in self.jobs],
            "assemblies": [a.to_json() for a in self.assemblies],
            "not_in_recipe": [{"id": i, "state": st} for i, st in self.not_in_recipe],
            "kept_otherwise": [k.to_json() for k in self.kept_otherwise],
        }


# The states of a job that is at the provider, or may be (its submit's answer was lost), with
# no cost counted yet: the provider charges it if it runs it.
MAYBE_CHARGED_STATES = frozenset({"submitting", "submitted", "ambiguous"})

# Reported and estimated cost are said to drift apart when they differ by more than this share
# of the estimate (and by more than a rounding error): the estimate missed something.
DRIFT_SHARE = 0.05
_DRIFT_FLOOR_USD = 0.0005


def drifts(estimated: float | None, reported: float | None) -> bool:
    """Whether a reported cost is off its estimate by more than :data:`DRIFT_SHARE`."""
    if estimated is None or reported is None:
        return False
    return abs(reported - estimated) > max(_DRIFT_FLOOR_USD, DRIFT_SHARE * estimated)


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

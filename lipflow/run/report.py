"""What a run reports: each job's outcome and the run's, as data (the text is reporting's)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

from lipflow.run.journal import OutputRecord

__all__ = ["JobReport", "Observer", "RunReport", "Snapshot"]


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
    not_in_recipe: tuple[tuple[str, str], ...] = ()  # (job id, state): kept, never deleted

    @property
    def ok(self) -> bool:
        return all(j.state == "done" for j in self.jobs)

    def counts(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for j in self.jobs:
            out[j.state] = out.get(j.state, 0) + 1
        return out

    def at_provider(self) -> int:
        """Jobs the provider has and has not finished (or whose outputs are not saved yet)."""
        return sum(j.state in ("submitted", "downloading") for j in self.jobs)

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
            "not_in_recipe": [{"id": i, "state": st} for i, st in self.not_in_recipe],
        }


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

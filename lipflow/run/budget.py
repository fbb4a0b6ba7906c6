"""The plan's estimate against the budget, refused before the first submit if over it."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from lipflow.errors import BudgetExceeded
from lipflow.jobs import Plan, dollars, usd_rounded

__all__ = ["BudgetCheck", "Ledger"]


@dataclass(frozen=True, slots=True, kw_only=True)
class BudgetCheck:
    """The plan's estimate against the budget, with the breakdown said when it is refused."""

    estimate_usd: float
    budget_usd: float | None
    per_step: Mapping[str, float]
    per_provider: Mapping[str, float]
    unpriced: tuple[str, ...]

    @classmethod
    def of(cls, plan: Plan, budget: float | None = None) -> BudgetCheck:
        """The plan's estimate against ``budget``, else the recipe's budget."""
        per_step: dict[str, float] = {}
        per_provider: dict[str, float] = {}
        unpriced: list[str] = []
        for pj in plan.jobs:
            usd, job = pj.cost.usd, pj.job
            if usd is None:
                unpriced.append(job.id)
                continue
            per_step[job.step] = per_step.get(job.step, 0.0) + usd
            per_provider[job.provider] = per_provider.get(job.provider, 0.0) + usd
        return cls(
            estimate_usd=usd_rounded(sum(per_step.values())),
            budget_usd=budget if budget is not None else plan.budget,
            per_step={k: usd_rounded(v) for k, v in per_step.items()},
            per_provider={k: usd_rounded(v) for k, v in per_provider.items()},
            unpriced=tuple(unpriced),
        )

    def breakdown(self) -> str:
        lines = [f"  estimate {dollars(self.estimate_usd)}"]
        lines += [f"    step {k}: {dollars(v)}" for k, v in self.per_step.items()]
        lines += [f"    provider {k}: {dollars(v)}" for k, v in self.per_provider.items()]
        if self.unpriced:
            shown = ", ".join(self.unpriced[:5]) + (" ..." if len(self.unpriced) > 5 else "")
            lines.append(
                f"  unpriced: {len(self.unpriced)} job(s) the docs give no price for: {shown}"
            )
        return "\n".join(lines)

    def over(self, consequence: str) -> str | None:
        """Why the estimate is over the budget, said with ``consequence``; None when within."""
        if self.budget_usd is None or self.estimate_usd <= self.budget_usd + _CENT_FRACTION:
            return None
        return (
            f"the plan is estimated at ${self.estimate_usd:.4f}, over the budget of "
            f"${self.budget_usd:.2f}; {consequence}\n" + self.breakdown()
        )

    def enforce(self, *, allow_unpriced: bool) -> None:
        over = self.over("nothing was submitted. Raise --budget or run fewer jobs.")
        if over:
            raise BudgetExceeded(over)
        if self.unpriced and not allow_unpriced:
            raise BudgetExceeded(
                f"{len(self.unpriced)} job(s) have no documented price, so the budget cannot "
                "bound them; nothing was submitted. Pass --allow-unpriced to run them anyway.\n"
                + self.breakdown()
            )


class Ledger:
    """The budget while a run spends it: what is spent and what is reserved, per job.

    Before a job is submitted its maximum estimate is reserved, and the submit is refused when
    spent plus reserved would pass the budget. A cost the provider reports (Runware
    ``includeCost``) replaces the job's reservation as it arrives; a finished job whose provider
    reports no cost is counted at its estimate. A job that did not reach the provider, or that
    the provider says failed, gives its reservation back. Once what was spent reaches the budget,
    nothing more is submitted. The runner is one event loop, so checking and reserving, with no
    await between them, cannot interleave with another job's.
    """

    def __init__(self, budget: float | None) -> None:
        self.budget = budget
        self.spent = 0.0
        self._reserved: dict[str, float] = {}
        self._reserved_total = 0.0  # kept as holds come and go: a resumed run may hold thousands

    @property
    def reserved(self) -> float:
        return self._reserved_total

    def reserve(self, job_id: str, amount: float | None) -> str | None:
        """Reserve ``amount`` for ``job_id``; the reason it is refused, or None when reserved."""
        amount = amount or 0.0
        if self.budget is not None:
            budget, reserved = self.budget, self.reserved
            if self.spent > 0 and self.spent >= budget - _CENT_FRACTION:
                return f"not submitted: ${self.spent:.4f} spent has reached the budget of ${budget:.2f}"
            if self.spent + reserved + amount > budget + _CENT_FRACTION:
                return (
                    f"not submitted: its maximum of ${amount:.4f} on top of ${self.spent:.4f} "
                    f"spent and ${reserved:.4f} reserved would pass the budget of ${budget:.2f}"
                )
        self._hold(job_id, amount)
        return None

    def hold(self, job_id: str, amount: float | None) -> None:
        """Reserve for a job already at the provider (found so in the journal), whatever the
        budget: its cost may come whether or not the budget allows it."""
        self._hold(job_id, amount or 0.0)

    def settle(self, job_id: str, usd: float) -> None:
        """The job's cost is known (reported, or its estimate once done): it replaces the hold."""
        self.release(job_id)
        self.spent += usd

    def release(self, job_id: str) -> None:
        """The job is not at the provider (never sent, refused, or failed there): give it back."""
        self._reserved_total -= self._reserved.pop(job_id, 0.0)
        if not self._reserved:
            self._reserved_total = 0.0  # no float residue once nothing is held

    def _hold(self, job_id: str, amount: float) -> None:
        self._reserved_total += amount - self._reserved.get(job_id, 0.0)
        self._reserved[job_id] = amount

    def holds(self, job_id: str) -> bool:
        return job_id in self._reserved


_CENT_FRACTION = 1e-9  # float slack when comparing sums of dollars

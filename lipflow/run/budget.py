"""The plan's estimate against the budget, refused before the first submit if over it."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from lipflow.errors import BudgetExceeded
from lipflow.jobs import Plan

__all__ = ["BudgetCheck"]


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
            estimate_usd=round(sum(per_step.values()), 6),
            budget_usd=budget if budget is not None else plan.budget,
            per_step={k: round(v, 6) for k, v in per_step.items()},
            per_provider={k: round(v, 6) for k, v in per_provider.items()},
            unpriced=tuple(unpriced),
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

"""A plan as a person reads it: choices, each job with its requests and cost, totals, warnings."""

from __future__ import annotations

import json
from typing import Any

from lipflow.jobs import Plan

__all__ = ["format_plan_text"]


def _usd(value: float | None) -> str:
    return "unpriced" if value is None else f"${value:,.4f}"


def _range(low: float | None, high: float | None, usd: float | None) -> str:
    if usd is None:
        return "unpriced"
    if low is not None and high is not None and abs(high - low) > 1e-9:
        return f"{_usd(low)} - {_usd(high)}"
    return _usd(usd)


def _body(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(", ", ": "))


def format_plan_text(plan: Plan, *, show_requests: bool = True) -> str:
    """A plan as a person reads it: choices, each job with requests and cost, totals, warnings."""
    out: list[str] = [f"Plan for {plan.recipe_file} ({len(plan.jobs)} job(s))", ""]
    for choice in plan.choices:
        out.append(f"step {choice.step}: {choice.model_id} - {choice.reason}")
        for model, why in choice.rejected:
            out.append(f"    rejected {model}: {why}")
    if plan.choices:
        out.append("")
    for pj in plan.jobs:
        job = pj.job
        out.append(f"job {job.id}  [{job.provider} {job.model}]")
        if show_requests:
            for i, req in enumerate(pj.requests, 1):
                if req.reused_from is not None:
                    out.append(
                        f"  {i}. {req.purpose}: not sent; reuses job {req.reused_from}'s upload"
                    )
                    continue
                repeat = "  (repeated until done)" if req.repeat else ""
                out.append(f"  {i}. {req.purpose}: {req.method} {req.url}{repeat}")
                for name, value in req.headers.items():
                    out.append(f"       {name}: {value}")
                payload = req.to_json()
                for key in ("json", "form", "content"):
                    if key in payload:
                        out.append(f"       {key}: {_body(payload[key])}")
        cost = pj.cost
        out.append(f"  cost: {_range(pj.usd_low, pj.usd_high, cost.usd)}  = {cost.basis}")
        if cost.source:
            read = f"read {cost.as_of}" if cost.as_of else "read date unknown"
            out.append(f"        price: {cost.source} ({read})")
        for assumption in cost.assumptions:
            out.append(f"        assumes: {assumption}")
        out.append("")
    totals = plan.totals()
    out.append("Totals")
    for label, table in (("step", totals["per_step"]), ("provider", totals["per_provider"])):
        for name, agg in table.items():
            out.append(f"  {label} {name}: {_total(agg)}")
    out.append(f"  overall: {_total(totals['overall'])}")
    if plan.budget is not None:
        out.append(f"  budget: ${plan.budget:,.2f}")
    warnings = plan.warnings
    if warnings:
        out.append("")
        out.append("Warnings")
        out.extend(f"  {w.format()}" for w in warnings)
    return "\n".join(out)


def _total(agg: dict[str, Any]) -> str:
    text = _range(agg["usd_low"], agg["usd_high"], agg["usd"])
    if agg["unpriced_jobs"] and agg["unpriced_jobs"] == agg["jobs"]:
        text = "unpriced"
    parts = [f"{text} over {agg['jobs']} job(s)"]
    if agg["unpriced_jobs"]:
        parts.append(f"{agg['unpriced_jobs']} unpriced (no documented price; not counted)")
    return ", ".join(parts)

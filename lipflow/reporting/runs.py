"""A run report as text: one line per job, the counts, and how to resume."""

from __future__ import annotations

from lipflow.jobs import dollars
from lipflow.run.report import DRIFT_SHARE, RunReport

__all__ = ["format_run"]


def format_run(report: RunReport) -> str:
    """A run report as a person reads it: one line per job, the counts, how to resume."""
    lines = []
    for j in report.jobs:
        cost = "" if j.estimated_usd is None else f" est {dollars(j.estimated_usd)}"
        if j.reported_usd is not None:
            cost += f", reported {dollars(j.reported_usd)}"
        if j.drifted and j.drift_usd is not None:
            cost += f" (DRIFT {j.drift_usd:+.4f})"
        where = ", ".join(
            _output(o.path, j.state, missing=o.path in j.missing) for o in j.outputs if o.path
        ) or (j.provider_job_id or "")
        why = f": {j.error_class}: {j.error}" if j.state != "done" and j.error else ""
        lines.append(f"{j.state:<11} {j.id} [{j.provider}]{cost} {where}{why}".rstrip())
    for a in report.assemblies:
        rec = a.record
        where = (rec.path or "") if rec else ""
        why = f": {rec.error}" if rec and rec.error else ""
        lines.append(f"{a.state:<11} {a.group} [joined from {len(a.pieces)} pieces] {where}{why}")
    counts = ", ".join(f"{n} {state}" for state, n in sorted(report.counts().items()))
    lines.append(
        f"{len(report.jobs)} job(s): {counts} in {report.elapsed_s:.1f} s; out dir {report.out_dir}"
    )
    lines.append(_cost_line(report))
    if report.not_in_recipe:
        gone = ", ".join(f"{job_id} ({state})" for job_id, state in report.not_in_recipe)
        lines.append(
            f"{len(report.not_in_recipe)} job(s) of earlier runs here are no longer in the "
            f"recipe (kept with their outputs, not deleted): {gone}"
        )
    for kept in report.kept_otherwise:
        lines.append(
            f"warning: {kept.id} keeps {', '.join(kept.outputs)}, {kept.why}: kept as paid; "
            f"for a fresh take, {kept.fresh_take}"
        )
    if not report.ok:
        lines.append(f"resume with: {report.resume_command()}")
    return "\n".join(lines)


def _output(path: str, state: str, *, missing: bool) -> str:
    """An output's path, said missing when it is no longer on disk: a done job's is fetched
    again by a resume (nothing bought); any other job's error says what a run can do."""
    if not missing:
        return path
    again = "; run again with --resume to fetch it, nothing bought" if state == "done" else ""
    return f"{path} (missing: deleted since it was saved{again})"


def _cost_line(report: RunReport) -> str:
    """Estimated against reported cost, their drift, and the budget."""
    t = report.cost_totals()
    line = f"cost: estimated {dollars(t['estimated_usd'])}"
    if t["reported_usd"] is not None:
        line += f", reported {dollars(t['reported_usd'])} by {t['reported_jobs']} job(s)"
    if t["drift"]:
        line += (
            f"; DRIFT {t['drift_usd']:+.4f} from the estimate of those jobs "
            f"({t['drifted_jobs']} job(s) off by more than {DRIFT_SHARE:.0%})"
        )
    elif t["drifted_jobs"]:
        line += f"; {t['drifted_jobs']} job(s) off their estimate by more than {DRIFT_SHARE:.0%}"
    if t["budget_usd"] is not None:
        line += f"; spent ${t['spent_usd']:.4f} of the budget of ${t['budget_usd']:.2f}"
    if t["maybe_spent_jobs"]:
        states = sorted({j.state for j in report.maybe_charged()})
        line += (
            f"; maybe spent ${t['maybe_spent_usd']:.4f} more (estimated) on "
            f"{t['maybe_spent_jobs']} job(s) the provider has or may have ({', '.join(states)}): "
            "charged if it runs them"
        )
    if t["not_submitted_for_budget"]:
        line += f"; {t['not_submitted_for_budget']} job(s) not submitted for the budget"
    return line

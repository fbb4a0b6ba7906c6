"""A run report as text: one line per job, the counts, and how to resume."""

from __future__ import annotations

from lipflow.run.report import RunReport

__all__ = ["format_run"]


def format_run(report: RunReport) -> str:
    """A run report as a person reads it: one line per job, the counts, how to resume."""
    lines = []
    for j in report.jobs:
        cost = "" if j.estimated_usd is None else f" est ${j.estimated_usd:.4f}"
        if j.reported_usd is not None:
            cost += f", reported ${j.reported_usd:.4f}"
        where = ", ".join(o.path for o in j.outputs if o.path) or (j.provider_job_id or "")
        why = f": {j.error_class}: {j.error}" if j.state != "done" and j.error else ""
        lines.append(f"{j.state:<11} {j.id} [{j.provider}]{cost} {where}{why}".rstrip())
    counts = ", ".join(f"{n} {state}" for state, n in sorted(report.counts().items()))
    lines.append(
        f"{len(report.jobs)} job(s): {counts} in {report.elapsed_s:.1f} s; out dir {report.out_dir}"
    )
    if report.not_in_recipe:
        gone = ", ".join(f"{job_id} ({state})" for job_id, state in report.not_in_recipe)
        lines.append(
            f"{len(report.not_in_recipe)} job(s) of earlier runs here are no longer in the "
            f"recipe (kept with their outputs, not deleted): {gone}"
        )
    if not report.ok:
        lines.append(f"resume with: {report.resume_command()}")
    return "\n".join(lines)

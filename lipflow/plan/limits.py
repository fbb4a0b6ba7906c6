"""How many jobs one plan may hold: the planner enforces it, the CLI's ``--max-jobs`` shows and
bounds it (reading this module alone, so ``lipflow --help`` does not import the planner)."""

from __future__ import annotations

__all__ = ["DEFAULT_MAX_JOBS", "MAX_JOBS_CEILING"]

# Jobs one plan may hold unless --max-jobs says otherwise: 10,000 plan in about 2 s and 300 MB
# (benchmarks/plan_scale.py); a matrix past it is far more often a typo than a wish.
DEFAULT_MAX_JOBS = 10_000
# The most --max-jobs may allow: a plan lives in memory, about 30 kB a job.
MAX_JOBS_CEILING = 100_000

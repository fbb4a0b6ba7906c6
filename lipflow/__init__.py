"""lipflow: declarative AI lip-sync and video-generation jobs, validated, costed, run and tested offline.

The public API is what ``__all__`` lists. Names load on first use (PEP 562), so importing lipflow
for ``lipflow --version`` does not pay for jsonschema, jinja2 or FFmpeg.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

_EXPORTS = {
    "BudgetExceeded": "lipflow.errors",
    "InputError": "lipflow.errors",
    "Interrupted": "lipflow.errors",
    "Job": "lipflow.jobs",
    "JobFailed": "lipflow.errors",
    "OutputInvalid": "lipflow.errors",
    "RunReport": "lipflow.runner",
    "RunSettings": "lipflow.runner",
    "Runner": "lipflow.runner",
    "build_plan": "lipflow.runner",
    "execute": "lipflow.runner",
    "LipflowError": "lipflow.errors",
    "Location": "lipflow.problems",
    "Plan": "lipflow.planner",
    "PlanError": "lipflow.errors",
    "PlannedJob": "lipflow.planner",
    "Problem": "lipflow.problems",
    "ProviderAmbiguous": "lipflow.errors",
    "ProviderCapacity": "lipflow.errors",
    "ProviderError": "lipflow.errors",
    "ProviderRejected": "lipflow.errors",
    "ProviderUnavailable": "lipflow.errors",
    "Recipe": "lipflow.recipe",
    "RecipeError": "lipflow.errors",
    "RequestInvalid": "lipflow.errors",
    "RunFailed": "lipflow.errors",
    "Severity": "lipflow.problems",
    "UsageError": "lipflow.errors",
    "charge": "lipflow.pricing",
    "check_request": "lipflow.schemas",
    "check_response": "lipflow.schemas",
    "load_catalog": "lipflow.catalog",
    "load_recipe": "lipflow.recipe",
    "parse_recipe": "lipflow.recipe",
    "plan_file": "lipflow.planner",
    "plan_recipe": "lipflow.planner",
}

__all__ = sorted([*_EXPORTS, "__version__"])

if TYPE_CHECKING:
    from lipflow.catalog import load_catalog
    from lipflow.errors import (
        BudgetExceeded,
        InputError,
        Interrupted,
        JobFailed,
        LipflowError,
        OutputInvalid,
        PlanError,
        ProviderAmbiguous,
        ProviderCapacity,
        ProviderError,
        ProviderRejected,
        ProviderUnavailable,
        RecipeError,
        RequestInvalid,
        RunFailed,
        UsageError,
    )
    from lipflow.jobs import Job
    from lipflow.planner import Plan, PlannedJob, plan_file, plan_recipe
    from lipflow.pricing import charge
    from lipflow.problems import Location, Problem, Severity
    from lipflow.recipe import Recipe, load_recipe, parse_recipe
    from lipflow.runner import Runner, RunReport, RunSettings, build_plan, execute
    from lipflow.schemas import check_request, check_response


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'lipflow' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return __all__

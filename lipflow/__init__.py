"""lipflow: declarative AI lip-sync and video-generation jobs, validated, costed, run and tested offline.

The public API is what ``__all__`` lists. Names load on first use (PEP 562), so importing lipflow
for ``lipflow --version`` does not pay for jsonschema, jinja2 or FFmpeg.

This module imports nothing (not even ``typing`` or ``__future__``): the ``lipflow`` command
imports it before its Ctrl-C guard (:mod:`lipflow.__main__`) can be in place, so whatever it
imported (``typing`` alone took about 10 ms) was a window in which Ctrl-C printed a traceback.
"""

TYPE_CHECKING = False  # typing.TYPE_CHECKING, without importing typing

__version__ = "0.1.0"

_EXPORTS = {
    "BudgetExceeded": "lipflow.errors",
    "InputError": "lipflow.errors",
    "Interrupted": "lipflow.errors",
    "Job": "lipflow.jobs",
    "JobFailed": "lipflow.errors",
    "OutputInvalid": "lipflow.errors",
    "RunReport": "lipflow.run.report",
    "RunSettings": "lipflow.run.settings",
    "Runner": "lipflow.run.runner",
    "build_plan": "lipflow.cli.build",
    "execute": "lipflow.run.runner",
    "LipflowError": "lipflow.errors",
    "Location": "lipflow.problems",
    "Plan": "lipflow.jobs",
    "PlanError": "lipflow.errors",
    "PlannedJob": "lipflow.jobs",
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
    "plan_file": "lipflow.plan",
    "plan_recipe": "lipflow.plan",
}

__all__ = sorted([*_EXPORTS, "__version__"])

if TYPE_CHECKING:  # explicit re-exports, for type checkers
    from lipflow.catalog import load_catalog as load_catalog
    from lipflow.cli.build import build_plan as build_plan
    from lipflow.errors import BudgetExceeded as BudgetExceeded
    from lipflow.errors import InputError as InputError
    from lipflow.errors import Interrupted as Interrupted
    from lipflow.errors import JobFailed as JobFailed
    from lipflow.errors import LipflowError as LipflowError
    from lipflow.errors import OutputInvalid as OutputInvalid
    from lipflow.errors import PlanError as PlanError
    from lipflow.errors import ProviderAmbiguous as ProviderAmbiguous
    from lipflow.errors import ProviderCapacity as ProviderCapacity
    from lipflow.errors import ProviderError as ProviderError
    from lipflow.errors import ProviderRejected as ProviderRejected
    from lipflow.errors import ProviderUnavailable as ProviderUnavailable
    from lipflow.errors import RecipeError as RecipeError
    from lipflow.errors import RequestInvalid as RequestInvalid
    from lipflow.errors import RunFailed as RunFailed
    from lipflow.errors import UsageError as UsageError
    from lipflow.jobs import Job as Job
    from lipflow.jobs import Plan as Plan
    from lipflow.jobs import PlannedJob as PlannedJob
    from lipflow.plan import plan_file as plan_file
    from lipflow.plan import plan_recipe as plan_recipe
    from lipflow.pricing import charge as charge
    from lipflow.problems import Location as Location
    from lipflow.problems import Problem as Problem
    from lipflow.problems import Severity as Severity
    from lipflow.recipe import Recipe as Recipe
    from lipflow.recipe import load_recipe as load_recipe
    from lipflow.recipe import parse_recipe as parse_recipe
    from lipflow.run.report import RunReport as RunReport
    from lipflow.run.runner import Runner as Runner
    from lipflow.run.runner import execute as execute
    from lipflow.run.settings import RunSettings as RunSettings
    from lipflow.schemas import check_request as check_request
    from lipflow.schemas import check_response as check_response


def __getattr__(name: str) -> object:
    from lipflow._lazy import lazy_exports  # on the first name used, not on import

    return lazy_exports(__name__, _EXPORTS)[0](name)


def __dir__() -> list[str]:
    return list(__all__)

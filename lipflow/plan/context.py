"""What every part of planning shares: the recipe, the catalog, and the problems found so far."""

from __future__ import annotations

from dataclasses import dataclass, field

from lipflow.catalog import Catalog
from lipflow.jobs import PlannedJob
from lipflow.problems import PathPart, Problem, Severity
from lipflow.recipe import Recipe

__all__ = ["PlanContext"]


@dataclass(slots=True)
class PlanContext:
    """One planning pass: its recipe and catalog, the problems it collects, the jobs so far."""

    recipe: Recipe
    catalog: Catalog
    problems: list[Problem] = field(default_factory=list)
    jobs_by_step: dict[str, list[PlannedJob]] = field(default_factory=dict)

    def problem(
        self,
        message: str,
        path: tuple[PathPart, ...],
        *,
        code: str = "invalid",
        suggestion: str | None = None,
        severity: Severity = Severity.ERROR,
        job: str | None = None,
        source: str | None = None,
    ) -> None:
        """Collect a problem placed on the recipe: a whole step or input at its name, a value at
        the value itself."""
        context = (("job", job),) if job else ()
        self.problems.append(
            Problem(
                message=message,
                path=path,
                location=self.recipe.locate(path, key=len(path) <= 2),
                code=code,
                suggestion=suggestion,
                severity=severity,
                context=context,
                source=source,
            )
        )

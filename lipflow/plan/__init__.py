"""Planning: a recipe's steps turned into jobs with their exact requests, checks and costs.

:mod:`.expansion` (matrix, fan-out, job ids), :mod:`.parameters` (typed parameters, media),
:mod:`.routing` (model choice), :mod:`.estimate` (cost), :mod:`.checks` (request, media and TTS
checks on recipe lines) and :mod:`.planner` (orchestration only). The result is a
:class:`lipflow.jobs.Plan`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from lipflow._lazy import lazy_exports

# Loaded on first use, so the CLI reads the job limits (:mod:`.limits`) for its --help without
# importing the planner and all it needs.
_EXPORTS = {
    "expand_matrix": "lipflow.plan.expansion",
    "plan_file": "lipflow.plan.planner",
    "plan_recipe": "lipflow.plan.planner",
}

__all__ = ["expand_matrix", "plan_file", "plan_recipe"]

if TYPE_CHECKING:  # explicit re-exports, for type checkers
    from lipflow.plan.expansion import expand_matrix as expand_matrix
    from lipflow.plan.planner import plan_file as plan_file
    from lipflow.plan.planner import plan_recipe as plan_recipe

__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)

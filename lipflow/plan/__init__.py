"""Planning: a recipe's steps turned into jobs with their exact requests, checks and costs.

:mod:`.expansion` (matrix, fan-out, job ids), :mod:`.parameters` (typed parameters, media),
:mod:`.routing` (model choice), :mod:`.estimate` (cost), :mod:`.checks` (request, media and TTS
checks on recipe lines) and :mod:`.planner` (orchestration only). The result is a
:class:`lipflow.jobs.Plan`.
"""

from __future__ import annotations

from lipflow.plan.expansion import expand_matrix
from lipflow.plan.planner import plan_file, plan_recipe

__all__ = ["expand_matrix", "plan_file", "plan_recipe"]

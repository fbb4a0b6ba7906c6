"""Recipes: YAML files naming inputs, segments and steps, loaded with every value's position.

:mod:`.source` (YAML with positions), :mod:`.model` (the typed recipe), :mod:`.loading` (schema
and rules), :mod:`.references` (names, cycles, order) and :mod:`.templating` (sandboxed Jinja2).
"""

from __future__ import annotations

from lipflow.recipe.loading import MAX_RECIPE_BYTES, load_recipe, parse_recipe
from lipflow.recipe.model import STEP_REF_PREFIX, URL_SCHEMES, Input, Recipe, Step
from lipflow.recipe.references import SEGMENT_RANGE_CODES, dependency_order, reference_problem

__all__ = [
    "MAX_RECIPE_BYTES",
    "SEGMENT_RANGE_CODES",
    "STEP_REF_PREFIX",
    "URL_SCHEMES",
    "Input",
    "Recipe",
    "Step",
    "dependency_order",
    "load_recipe",
    "parse_recipe",
    "reference_problem",
]

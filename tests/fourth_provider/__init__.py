"""A fourth provider written only as its own package and schema folder, outside lipflow.

Register it with ``lipflow.providers.registry.register(PROVIDER)``, or name this module in
``LIPFLOW_PROVIDERS=tests.fourth_provider`` for the command line.
"""

from __future__ import annotations

from pathlib import Path

from lipflow.providers.base import packaged
from tests.fourth_provider.checks import CHECKS
from tests.fourth_provider.client import CLIENT
from tests.fourth_provider.wire import WIRE

HERE = Path(__file__).parent

PROVIDER = packaged(
    __name__,
    wire=WIRE,
    client=CLIENT,
    checks=CHECKS,
    schemas_dir=HERE / "schemas",
    example_recipe=HERE / "recipe.yaml",
)

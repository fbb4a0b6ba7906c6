"""Runware as one unit: its wire description, client, checks, simulated twin and catalog slice."""

from __future__ import annotations

from lipflow._resources import recipes_dir, schemas_dir
from lipflow.providers.base import packaged
from lipflow.providers.runware.checks import CHECKS
from lipflow.providers.runware.client import CLIENT
from lipflow.providers.runware.wire import WIRE

__all__ = ["PROVIDER"]

PROVIDER = packaged(
    __name__,
    wire=WIRE,
    client=CLIENT,
    checks=CHECKS,
    schemas_dir=schemas_dir() / WIRE.name,
    example_recipe=recipes_dir() / "quickstart.yaml",
)

"""LipCraft's checks: its calls are told apart by method and path."""

from __future__ import annotations

from lipflow.schemas.checking import PathChecks
from tests.fourth_provider.wire import WIRE

CHECKS = PathChecks(WIRE)

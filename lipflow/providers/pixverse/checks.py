"""PixVerse Platform's checks: calls are told apart by method and path, each checked by its schema."""

from __future__ import annotations

from lipflow.providers.pixverse.wire import WIRE
from lipflow.schemas.checking import PathChecks

__all__ = ["CHECKS"]

CHECKS = PathChecks(WIRE)

"""Provider API modules, one per provider: pure request building shared by plan and run."""

from __future__ import annotations

from types import ModuleType

from lipflow.problems import unknown_name
from lipflow.providers import pixverse, runware, wavespeed

__all__ = ["PROVIDERS", "provider_module"]

PROVIDERS: dict[str, ModuleType] = {m.NAME: m for m in (runware, pixverse, wavespeed)}


def provider_module(name: str) -> ModuleType:
    """The module for provider ``name``; an unknown name lists the known ones."""
    try:
        return PROVIDERS[name]
    except KeyError:
        raise unknown_name("provider", name, PROVIDERS) from None

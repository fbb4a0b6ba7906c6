"""Provider API modules, one per provider: pure request building shared by plan and run."""

from __future__ import annotations

from types import ModuleType

from lipflow.errors import UsageError
from lipflow.problems import did_you_mean
from lipflow.providers import pixverse, runware, wavespeed

__all__ = ["PROVIDERS", "provider_module"]

PROVIDERS: dict[str, ModuleType] = {m.NAME: m for m in (runware, pixverse, wavespeed)}


def provider_module(name: str) -> ModuleType:
    """The module for provider ``name``; an unknown name lists the known ones."""
    try:
        return PROVIDERS[name]
    except KeyError:
        hint = did_you_mean(name, PROVIDERS)
        raise UsageError(
            f"unknown provider {name!r}; known: {', '.join(PROVIDERS)}"
            + (f"; did you mean {hint!r}?" if hint else "")
        ) from None

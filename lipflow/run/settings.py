"""What a run is configured with: the CLI fills it, the runner executes it."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from lipflow.errors import UsageError
from lipflow.run.cache import OutputStore
from lipflow.run.retry import RetryPolicy

__all__ = ["RunSettings", "provider_limits_from"]


@dataclass(frozen=True, slots=True, kw_only=True)
class RunSettings:
    """Everything a run is configured with; the CLI fills it, ``Runner`` executes it."""

    out_dir: Path
    base_urls: Mapping[str, str]
    keys: Mapping[str, str]
    concurrency: int = 8
    provider_concurrency: Mapping[str, int] = field(default_factory=dict)
    budget: float | None = None  # overrides the recipe's budget
    allow_unpriced: bool = False
    resume: bool = False  # insist on an existing journal
    resubmit_ambiguous: bool = False
    target: str = "live"  # "mock" for --mock; a journal is only resumed against the same target
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    fresh: bool = False  # a deliberate new take of every job not in flight: new keys, paid again
    store: OutputStore | None = None  # finished outputs by job key, shared across out dirs


def provider_limits_from(values: Sequence[str]) -> dict[str, int]:
    """``["NAME=4", ...]`` as ``{"NAME": 4}``; a bad entry is a UsageError saying why."""
    from lipflow.providers import registry

    limits: dict[str, int] = {}
    for value in values:
        name, sep, number = value.partition("=")
        if not sep or not number.strip().isdigit() or int(number) < 1:
            example = registry.names()[0]
            raise UsageError(
                f"--provider-concurrency {value!r}: write PROVIDER=N with N >= 1, e.g. {example}=4"
            )
        registry.get(name.strip())  # an unknown name lists the known ones
        limits[name.strip()] = int(number)
    return limits

"""What a run is configured with: the CLI fills it, the runner executes it."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from lipflow.errors import UsageError
from lipflow.run.cache import OutputStore
from lipflow.run.retry import RetryPolicy

__all__ = ["DEFAULT_MAX_OUTPUT_BYTES", "RunSettings", "provider_limits_from"]

MB = 1024 * 1024
DEFAULT_MAX_OUTPUT_BYTES = 1024 * MB  # no provider documents an output size; a lip-synced clip
# of a few minutes is tens of MB, so 1 GiB refuses only what no job should produce


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
    # Bounds on what a provider can make the run do (README "Limits"):
    max_reply_bytes: int = 16 * MB  # one API reply (upload, submit, poll)
    max_output_bytes: int | None = None  # one output; None: the provider's documented limit
    download_deadline: float = 1800.0  # seconds for one output, however slowly it arrives
    max_outputs: int = 20  # outputs kept per job; more are named in a note, not downloaded
    unknown_status_polls: int = 20  # polls answered with a status lipflow does not know
    retake_lost: bool = False  # buy a fresh take of a job whose output cannot be recovered
    source: str | None = None  # the recipe or plan as the command line named it
    fresh: bool = False  # a deliberate new take of every job not in flight: new keys, paid again
    store: OutputStore | None = None  # finished outputs by job key, shared across out dirs

    def __post_init__(self) -> None:
        """The bounds the command line's options hold, for a caller of the public API too: a
        nan or infinite budget, deadline or cap bounds nothing."""
        cap = self.retry.retry_after_cap
        rules = {
            f"concurrency must be at least 1, not {self.concurrency!r}": self.concurrency >= 1,
            f"budget must be a finite number >= 0, not {self.budget!r}": _finite(self.budget),
            f"download_deadline must be a finite number > 0, not {self.download_deadline!r}": (
                _finite(self.download_deadline) and self.download_deadline > 0
            ),
            f"max_output_bytes must be at least 1, not {self.max_output_bytes!r}": (
                self.max_output_bytes is None or self.max_output_bytes >= 1
            ),
            f"max_reply_bytes must be at least 1, not {self.max_reply_bytes!r}": (
                self.max_reply_bytes >= 1
            ),
            f"max_outputs must be at least 1, not {self.max_outputs!r}": self.max_outputs >= 1,
            f"unknown_status_polls must be >= 0, not {self.unknown_status_polls!r}": (
                self.unknown_status_polls >= 0
            ),
            f"retry.retry_after_cap must be a finite number >= 0, not {cap!r}": _finite(cap),
        }
        wrong = [rule for rule, kept in rules.items() if not kept]
        if wrong:
            raise UsageError("run settings: " + "; ".join(wrong))

    def resume_args(self, recipe: str) -> tuple[str, ...]:
        """The ``lipflow run`` arguments that continue this run with the options it was given.

        ``--resubmit-ambiguous`` and ``--retake-lost`` are left out on purpose: paying twice is
        asked for each time.
        """
        args = [self.source or recipe]
        if self.target == "mock":
            args.append("--mock")
        args += ["--out", str(self.out_dir)]
        if self.budget is not None:
            args += ["--budget", repr(self.budget)]
        if self.allow_unpriced:
            args.append("--allow-unpriced")
        if self.concurrency != _DEFAULT_CONCURRENCY:
            args += ["--concurrency", str(self.concurrency)]
        for name, limit in sorted(self.provider_concurrency.items()):
            args += ["--provider-concurrency", f"{name}={limit}"]
        if self.retry.retry_after_cap != RetryPolicy().retry_after_cap:
            args += ["--retry-after-cap", repr(self.retry.retry_after_cap)]
        if self.max_output_bytes is not None:
            args += ["--max-output-mb", repr(self.max_output_bytes / MB)]
        if self.download_deadline != _DEFAULTS["download_deadline"].default:
            args += ["--download-timeout", repr(self.download_deadline)]
        if self.max_outputs != _DEFAULTS["max_outputs"].default:
            args += ["--max-outputs", str(self.max_outputs)]
        if self.unknown_status_polls != _DEFAULTS["unknown_status_polls"].default:
            args += ["--unknown-status-polls", str(self.unknown_status_polls)]
        return (*args, "--resume")

    def output_cap(self, provider_limit: object) -> int:
        """The largest output accepted: the flag, else the provider's documented limit, else
        :data:`DEFAULT_MAX_OUTPUT_BYTES`."""
        if self.max_output_bytes is not None:
            return self.max_output_bytes
        if isinstance(provider_limit, int) and provider_limit > 0:
            return provider_limit
        return DEFAULT_MAX_OUTPUT_BYTES


def _finite(value: float | None) -> bool:
    """None (no bound asked for), or a finite number >= 0."""
    return value is None or (math.isfinite(value) and value >= 0)


_DEFAULTS = RunSettings.__dataclass_fields__
_DEFAULT_CONCURRENCY = _DEFAULTS["concurrency"].default


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

"""The one retry engine: every upload, submit, poll and download goes through it.

Given the class of a failure (:mod:`lipflow.errors`), the operation, and whether the provider
deduplicates a resent submit (its wire's idempotency), it decides: wait and send again, or stop.

================  ===========================================================================
rejected          stop: sending the same request again cannot succeed; a poll: back off and
                  poll again (a refused poll says nothing about the job)
unreadable        stop: a reply over lipflow's bounds, or an output the bounds or the URL rule
                  refuse, would be the same again (a submit's stays ambiguous)
job failed        stop: the provider ran the job and it failed
capacity          nothing was created: wait Retry-After (capped) or the policy's wait, again
not sent          wait with backoff (or the reply's Retry-After, capped) and send again
ambiguous         upload, poll, download: safe to repeat, backoff; submit: only when the
                  provider deduplicates the resend (the same key), else stop at once
================  ===========================================================================

An interrupted run sends nothing new: a wait already scheduled (a 429's Retry-After, a backoff)
ends in a GaveUp, not a send. A submit whose earlier send may have landed stays ambiguous, and
the next run settles it.
"""

from __future__ import annotations

import math
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from typing import Generic, TypeVar

from lipflow.errors import (
    JobFailed,
    OutputRefused,
    ProviderAmbiguous,
    ProviderCapacity,
    ProviderError,
    ProviderRejected,
    ReplyUnreadable,
)
from lipflow.providers.base import Op

__all__ = ["GaveUp", "RetryEngine", "RetryPolicy", "poll_delays"]

T = TypeVar("T")


@dataclass(frozen=True, slots=True, kw_only=True)
class RetryPolicy:
    """How long to wait and how often to try again; the defaults suit the real providers."""

    backoff_first: float = 0.25  # seconds before the first retry of a transient failure
    backoff_cap: float = 10.0
    transient_tries: int = 6  # sends of one request before a transient failure sticks
    capacity_tries: int = 30  # sends refused for capacity before the job waits for a resume
    capacity_wait: float = 2.0  # when a capacity refusal names no Retry-After
    retry_after_cap: float = 300.0  # a longer Retry-After is waited this long, and said so
    # downloads of an output URL the provider refuses (403/404/410) while it calls the job done,
    # each after asking the provider for a fresh URL (a CDN object not yet there, an expired URL)
    refused_output_tries: int = 3
    recover_tries: int = 6  # resends of an ambiguous submit with the same idempotency key
    poll_first: float = 0.0  # seconds after the submit before the first poll
    poll_next: float = 0.5
    poll_factor: float = 2.0
    poll_cap: float = 15.0
    poll_deadline: float = 4 * 3600.0  # give up polling (job stays submitted) after this long
    request_timeout: float = 60.0
    connect_timeout: float = 10.0
    interrupt_grace: float = 10.0  # after Ctrl-C, how long a request in flight may still answer

    def backoff(self, attempt: int) -> float:
        """The wait before retry ``attempt`` (1-based) of a transient failure."""
        return float(min(self.backoff_cap, self.backoff_first * 2 ** (attempt - 1)))


def poll_delays(policy: RetryPolicy) -> Iterator[float]:
    """Waits between polls: one right after the submit, then doubling to a cap.

    0, 0.5, 1, 2, 4, 8, 15, 15... polls a 60-second job 9 times, a 10-second job 6 times and a
    job that is done at once once, and never lets a finished job wait more than 15 s.
    """
    yield policy.poll_first
    delay = policy.poll_next
    while True:
        yield delay
        delay = min(policy.poll_cap, delay * policy.poll_factor)


@dataclass(frozen=True, slots=True)
class GaveUp(Generic[T]):
    """Why the engine stopped: the last error, the ambiguous one if any send may have landed,
    and whether the run was interrupted (nothing more was sent)."""

    error: ProviderError
    ambiguous: ProviderAmbiguous | None = None
    interrupted: bool = False


@dataclass(slots=True)
class _Count:
    transient: int = 0
    capacity: int = 0


class RetryEngine:
    """Decides and waits: ``await engine.run(op, send)`` returns ``send``'s result or a GaveUp."""

    def __init__(
        self,
        policy: RetryPolicy,
        sleep: Callable[[float], Awaitable[None]],
        stopped: Callable[[], bool],
    ) -> None:
        self.policy = policy
        self._sleep = sleep
        self._stopped = stopped

    def decide(
        self, error: ProviderError, op: Op, count: _Count, *, deduplicated: bool
    ) -> tuple[float, str] | None:
        """The wait before sending again, with why; None to stop."""
        policy = self.policy
        if isinstance(error, JobFailed | ReplyUnreadable | OutputRefused):
            return None
        # A refused poll (401, 404, an unknown code) is no word about the job: it is polled again.
        if isinstance(error, ProviderRejected) and op != "poll":
            return None
        if isinstance(error, ProviderCapacity):
            count.capacity += 1
            if count.capacity >= policy.capacity_tries:
                return None
            if error.retry_after is None:
                return policy.capacity_wait, "capacity"
            return self._retry_after(error.retry_after, "capacity")
        count.transient += 1
        tries = policy.transient_tries
        if isinstance(error, ProviderAmbiguous) and op == "submit":
            if not deduplicated:
                return None
            tries = policy.recover_tries
        if count.transient >= tries:
            return None
        kind = "ambiguous" if isinstance(error, ProviderAmbiguous) else "not sent"
        if error.retry_after is not None:
            return self._retry_after(max(error.retry_after, policy.backoff(count.transient)), kind)
        return policy.backoff(count.transient), kind

    def _retry_after(self, seconds: float, kind: str) -> tuple[float, str]:
        """A provider's Retry-After, obeyed up to the policy's cap; a longer one is said so."""
        cap = self.policy.retry_after_cap
        if seconds > cap:
            return cap, (
                f"{kind}; Retry-After {_seconds(seconds)} s capped at {cap:g} s "
                "(a longer wait is not obeyed; see --retry-after-cap)"
            )
        return seconds, f"{kind} (Retry-After)"

    async def run(
        self,
        op: Op,
        send: Callable[[], Awaitable[T]],
        *,
        deduplicated: bool = False,
        note: Callable[[str], None] = lambda _: None,
    ) -> T | GaveUp[T]:
        """Send until it succeeds or the failure's class says stop; each retry is noted."""
        count = _Count()
        ambiguous: ProviderAmbiguous | None = None
        while True:
            try:
                return await send()
            except ProviderError as exc:
                if isinstance(exc, ProviderAmbiguous):
                    ambiguous = exc
                decided = self.decide(exc, op, count, deduplicated=deduplicated)
                if decided is None:
                    return GaveUp(exc, ambiguous)
                if self._interrupted(op, ambiguous):
                    return GaveUp(exc, ambiguous, interrupted=True)
                wait, why = decided
                note(f"{op}: {why} ({exc.message}); sending again in {_seconds(wait)} s")
                await self._sleep(wait)
                if self._interrupted(op, ambiguous):
                    return GaveUp(exc, ambiguous, interrupted=True)

    def _interrupted(self, op: Op, ambiguous: ProviderAmbiguous | None) -> bool:
        return self._stopped()


def _seconds(value: float) -> str:
    return f"{value:g}" if math.isfinite(value) else str(value)

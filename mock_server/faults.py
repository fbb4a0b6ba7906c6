"""Faults: an explicit list of rules saying what goes wrong, where and how often.

A rule matches requests by provider, operation, method, path glob and job id (any left out
matches everything), starts firing on the ``nth`` matching request and fires ``count`` times
(``None``: for ever). What it does is its ``action``:

=====================  ===========================================================================
``latency``            wait ``seconds`` before answering (the request is then handled normally)
``rate_limit``         HTTP 429 with ``Retry-After: seconds``, in the provider's error shape
``server_error``       HTTP ``status`` (5xx) in the provider's error shape; nothing is done
``malformed_json``     handle the request, then send a reply that is not valid JSON
``drop``               close the connection without handling the request or answering
``lose_reply``         handle the request (a submit creates its job, which will finish), then
                       close the connection instead of answering: "accepted but the reply is lost"
``moderation``         the job created by a matching submit fails content moderation
``generation_failure`` the job created by a matching submit fails to generate
``key_in_url``         the outputs of the job created by a matching submit, and the media a
                       matching upload stores, are links signed with the mock's ``api_key``
                       (``?token=<key>``, as a CDN link signed with the account's key); a
                       download without that token is refused (403). Only a mock started with
                       an ``api_key`` takes this rule
``concurrency_limit``  at most ``limit`` unfinished jobs; a further submit is refused with the
                       provider's capacity error (its wire's ``capacity`` code); never consumed
=====================  ===========================================================================

Operations: ``auth``, ``ping``, ``upload``, ``submit``, ``poll``, ``list``, ``download``.
Rules come from Python (:class:`FaultRule`), from ``/_mock/faults`` as JSON, or for one request
from an ``X-Mock-Fault`` header holding one rule as JSON or just an action name.
"""

from __future__ import annotations

import fnmatch
import threading
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field, fields
from typing import Any

from lipflow.problems import did_you_mean
from lipflow.providers import registry
from lipflow.providers.base import OPS
from mock_server.core import InvalidBody, parse_json
from mock_server.errors import MockUsageError
from mock_server.limits import MAX_SECONDS, bounded_int, bounded_number

__all__ = [
    "ACTIONS",
    "JOB_ACTIONS",
    "OPERATIONS",
    "OUTPUT_ACTIONS",
    "FaultBook",
    "FaultContext",
    "FaultRule",
    "rule_from_header",
    "rules_from_json",
]

REQUEST_ACTIONS = ("latency", "rate_limit", "server_error", "malformed_json", "drop", "lose_reply")
JOB_ACTIONS = ("moderation", "generation_failure")
OUTPUT_ACTIONS = ("key_in_url",)
ACTIONS = (*REQUEST_ACTIONS, *JOB_ACTIONS, *OUTPUT_ACTIONS, "concurrency_limit")
OPERATIONS: tuple[str, ...] = OPS
_MAX_COUNT = 1_000_000_000  # nth, count and limit: past this a rule is "for ever" in practice


@dataclass(frozen=True, slots=True, kw_only=True)
class FaultRule:
    """One fault: what to do (``action``) to which requests, from the ``nth`` on, ``count`` times."""

    action: str
    provider: str | None = None
    op: str | None = None
    method: str | None = None
    path: str | None = None
    job: str | None = None
    nth: int = 1
    count: int | None = None
    seconds: float = 1.0
    status: int = 503
    limit: int = 1
    message: str | None = None

    def __post_init__(self) -> None:
        _choice("action", self.action, ACTIONS)
        if self.provider is not None:
            _choice("provider", self.provider, registry.names())
        if self.op is not None:
            _choice("op", self.op, OPERATIONS)
        bounded_int("fault rule: nth", self.nth, low=1, high=_MAX_COUNT)
        if self.count is not None:
            bounded_int("fault rule: count (or null for ever)", self.count, low=1, high=_MAX_COUNT)
        bounded_number("fault rule: seconds", self.seconds, low=0, high=MAX_SECONDS)
        bounded_int("fault rule: limit", self.limit, low=0, high=_MAX_COUNT)
        low, high = (500, 599) if self.action == "server_error" else (100, 599)
        bounded_int(f"fault rule: {self.action} status", self.status, low=low, high=high)
        for name in ("method", "path", "job", "message"):
            value = getattr(self, name)
            if value is not None and not isinstance(value, str):
                raise MockUsageError(f"fault rule: {name} must be a string, got {value!r}")

    def matches(self, ctx: FaultContext) -> bool:
        return (
            (self.provider is None or self.provider == ctx.provider)
            and (self.op is None or self.op == ctx.op)
            and (self.method is None or self.method.upper() == ctx.method)
            and (self.path is None or fnmatch.fnmatchcase(ctx.path, self.path))
            and (self.job is None or self.job in ctx.jobs)
        )

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def _choice(name: str, value: object, allowed: Iterable[str]) -> None:
    allowed = tuple(allowed)
    if value not in allowed:
        hint = did_you_mean(value, allowed)
        raise MockUsageError(
            f"fault rule: {name} {value!r} is not one of {', '.join(allowed)}"
            + (f"; did you mean {hint!r}?" if hint else "")
        )


_RULE_FIELDS = tuple(f.name for f in fields(FaultRule))


def rule_from_json(raw: object) -> FaultRule:
    """A rule from its JSON object; unknown keys and wrong types are MockUsageErrors naming the key."""
    if not isinstance(raw, Mapping):
        raise MockUsageError(f"fault rule: expected a JSON object, got {type(raw).__name__}")
    unknown = [k for k in raw if k not in _RULE_FIELDS]
    if unknown:
        hint = did_you_mean(unknown[0], _RULE_FIELDS)
        raise MockUsageError(
            f"fault rule: unknown key {unknown[0]!r}; known: {', '.join(_RULE_FIELDS)}"
            + (f"; did you mean {hint!r}?" if hint else "")
        )
    try:
        return FaultRule(**raw)
    except TypeError as exc:
        raise MockUsageError(f"fault rule: {exc}") from exc


def rules_from_json(raw: object) -> list[FaultRule]:
    """Rules from ``{"rules": [...]}``, a list of rule objects, or one rule object."""
    if isinstance(raw, Mapping) and "rules" in raw:
        raw = raw["rules"]
    if isinstance(raw, Mapping):
        raw = [raw]
    if not isinstance(raw, list):
        raise MockUsageError('faults: expected {"rules": [...]}, a list of rules or one rule')
    return [rule_from_json(item) for item in raw]


def rule_from_header(value: str) -> FaultRule:
    """The one-request rule of an ``X-Mock-Fault`` header: a JSON rule or an action name."""
    value = value.strip()
    if value.startswith("{"):
        raw = parse_json(value)
        if isinstance(raw, InvalidBody):
            raise MockUsageError(f"not valid JSON ({raw.reason})")
        return rule_from_json({**raw, "count": 1})
    return FaultRule(action=value, count=1)


@dataclass(slots=True)  # not frozen: made for every request, 9,000 instructions against 2,700
class FaultContext:
    """What a rule can see of a request (never changed once made)."""

    provider: str | None
    op: str | None
    method: str
    path: str
    jobs: tuple[str, ...] = ()


@dataclass(slots=True)
class _Slot:
    rule: FaultRule
    seen: int = 0
    fired: int = 0

    def take(self, ctx: FaultContext) -> bool:
        """Count a matching request and say whether the rule fires on it."""
        if not self.rule.matches(ctx):
            return False
        self.seen += 1
        if self.seen < self.rule.nth:
            return False
        if self.rule.count is not None and self.fired >= self.rule.count:
            return False
        self.fired += 1
        return True


@dataclass(slots=True)
class FaultBook:
    """The server's fault rules with how often each has matched and fired; thread-safe."""

    _slots: list[_Slot] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, *rules: FaultRule) -> None:
        with self._lock:
            self._slots.extend(_Slot(rule) for rule in rules)

    def replace(self, rules: Iterable[FaultRule]) -> None:
        with self._lock:
            self._slots = [_Slot(rule) for rule in rules]

    def clear(self) -> None:
        self.replace(())

    def to_json(self) -> dict[str, Any]:
        with self._lock:
            return {
                "rules": [
                    {**s.rule.to_json(), "seen": s.seen, "fired": s.fired} for s in self._slots
                ]
            }

    def __bool__(self) -> bool:
        """Whether it holds any rule."""
        return bool(self._slots)

    def fire(
        self, ctx: FaultContext, actions: Iterable[str], extra: Iterable[FaultRule] = ()
    ) -> list[FaultRule]:
        """The rules with one of ``actions`` that fire on this request, their counts consumed."""
        if not self._slots and not extra:  # no rules: the usual case, answered without the lock
            return []
        wanted = frozenset(actions)
        fired = [rule for rule in extra if rule.action in wanted and rule.matches(ctx)]
        with self._lock:
            fired.extend(
                slot.rule for slot in self._slots if slot.rule.action in wanted and slot.take(ctx)
            )
        return fired

    def concurrency_limit(self, ctx: FaultContext) -> int | None:
        """The lowest job cap among matching ``concurrency_limit`` rules, or None."""
        if not self._slots:  # no rules: the usual case, answered without the lock
            return None
        with self._lock:
            limits = [
                s.rule.limit
                for s in self._slots
                if s.rule.action == "concurrency_limit" and s.rule.matches(ctx)
            ]
        return min(limits) if limits else None

"""The simulator: every provider's API as a state machine over plain requests and replies.

It routes a :class:`~mock_server.core.MockRequest` to the simulated twin (from the provider
registry: ``Provider.simulated()``) that owns the path,
applies the fault rules, journals the request, and keeps the jobs, the media and the clock. No
web framework is imported here: :mod:`mock_server.adapters` put it on sockets (HTTP, WebSocket)
or behind an httpx transport, and tests can drive it directly. Jobs advance only by the clock (no background thread):
a job is done once ``clock.now()`` passes its ready time.

Bad traffic never raises out of :meth:`Simulator.handle`, and every answer on a provider's API is
in that provider's own error shape: unknown paths get 404 with the known routes, wrong methods
405, bodies over ``max_body_bytes`` 413, unreadable bodies 400, and a bug in a handler a 500 that
is journaled and kept in :attr:`Simulator.internal_errors` for tests to assert on.
"""

from __future__ import annotations

import os
import random
import re
import threading
import urllib.parse
from collections.abc import Iterable, Iterator, Mapping
from contextvars import ContextVar
from functools import partial
from typing import Any

from lipflow.pricing import Cost
from lipflow.providers import registry
from lipflow.secrets import redact_value
from mock_server.clock import Clock, SystemClock
from mock_server.core import (
    Call,
    InvalidBody,
    Job,
    MockRequest,
    Reply,
    Route,
    json_body,
    parse_json,
)
from mock_server.errors import MockUsageError
from mock_server.faults import (
    JOB_ACTIONS,
    OUTPUT_ACTIONS,
    REQUEST_ACTIONS,
    FaultBook,
    FaultContext,
    FaultRule,
    rule_from_header,
    rules_from_json,
)
from mock_server.journal import Journal, Kept, Record
from mock_server.limits import MAX_SECONDS, bounded_number
from mock_server.redaction import Scrubber
from mock_server.store import MediaItem, MediaStore, decode_base64_media

__all__ = ["DEFAULT_MAX_BODY_BYTES", "Simulator"]

# Providers take uploads up to 50 MB; a multipart envelope, or base64 in a data URI, adds a third
# on top. Bodies above this cap are refused with 413 unread.
DEFAULT_MAX_BODY_BYTES = 64 * 1024 * 1024
# uuid.UUID(int=..., version=4): the variant bits set to 10, the version nibble to 4.
_UUID_KEEP = ~((0xC000 << 48) | (0xF000 << 64)) & (2**128 - 1)
_UUID_V4 = (0x8000 << 48) | (4 << 76)
# A JSON body or reply at most this long is journaled as the text it came or went as, what is
# kept of it worked out when its record is first read (a longer one may summarize to far less).
_SHORT_BODY = _SHORT_REPLY = 512
# The key a key_in_url upload signs the links it hands out with, while it is handled.
_SIGNING: ContextVar[str | None] = ContextVar("mock_signing", default=None)
_UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$", re.I)


class Simulator:
    """Every registered provider's API in one object; thread-safe.

    ``processing_seconds`` is how long each job takes (0: done at once), varied by up to
    ``jitter`` (a fraction) from a generator seeded by ``seed``, which also makes every id the
    mock hands out reproducible. With ``api_key`` only that key is accepted; otherwise any
    non-empty key is.
    """

    def __init__(
        self,
        *,
        processing_seconds: float = 0.0,
        jitter: float = 0.0,
        seed: int | None = None,
        api_key: str | None = None,
        clock: Clock | None = None,
        max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
        journal_limit: int = 50_000,
        base_url: str = "http://127.0.0.1",
    ) -> None:
        self.processing_seconds, self.jitter = _timing(processing_seconds, jitter)
        self._initial = (processing_seconds, jitter)
        self.seed = seed
        self.api_key = api_key
        self.clock: Clock = clock or SystemClock()
        self.max_body_bytes = max_body_bytes
        self.base_url = base_url.rstrip("/")
        self.faults = FaultBook()
        self.journal = Journal(journal_limit)
        self.store = MediaStore()
        self.internal_errors: list[BaseException] = []
        self._jobs: dict[tuple[str, str], Job] = {}
        self._scratch: dict[str, dict[str, Any]] = {}
        # Credentials seen so far, scrubbed from every later record too (a key named once in a
        # header is still a secret when it turns up in a path or a prompt); a bounded memory.
        self._own_secrets = Scrubber((api_key,)).learnt
        self._secrets: _Secrets = _Secrets(self._own_secrets)
        self._lock = threading.RLock()
        self._rng = random.Random(
            seed if seed is not None else int.from_bytes(os.urandom(8), "big")
        )
        self.twins = {p.name: p.simulated() for p in registry.providers()}
        self._routes: tuple[Route, ...] = (
            *(route for twin in self.twins.values() for route in twin.routes),
            Route("GET", "/media/{name}", None, "download", _download),
            Route("HEAD", "/media/{name}", None, "download", _download),
        )
        self._ws_routes = tuple(t.ws_route for t in self.twins.values() if t.ws_route is not None)
        # The routes that can match a path, by its first segment, in order: a request tries
        # only those (a download: the two media routes, not all thirteen).
        firsts = {route: _first_segment(route.template) for route in self._routes}
        wild = tuple(r for r in self._routes if "{" in (firsts[r] or "{"))
        self._by_segment: dict[str | None, tuple[Route, ...]] = {
            first: tuple(r for r in self._routes if r in wild or firsts[r] == first)
            for first in firsts.values()
        }
        self._by_segment[None] = self._routes
        self._wild_routes = wild
        # A method and a path a route without parameters answers, where no route before it
        # answers them: the route, found without trying the others (Runware's every request).
        self._fixed: dict[tuple[str, str], Route] = {}
        for i, route in enumerate(self._routes):
            if "{" not in route.template and not any(
                earlier.method == route.method and earlier.match(route.template) is not None
                for earlier in self._routes[:i]
            ):
                self._fixed.setdefault((route.method, route.template), route)

    # ------------------------------------------------------------------ public control API

    def add_fault(self, action: str, **match: Any) -> FaultRule:
        """Add one fault rule, e.g. ``add_fault("lose_reply", provider="pixverse", op="submit")``."""
        rule = FaultRule(action=action, **match)
        self.faults.add(*self._takeable((rule,)))
        return rule

    def set_faults(self, rules: Iterable[FaultRule]) -> None:
        self.faults.replace(self._takeable(tuple(rules)))

    def _takeable(self, rules: tuple[FaultRule, ...]) -> tuple[FaultRule, ...]:
        """``rules``, or a MockUsageError when one needs what this mock lacks: a ``key_in_url``
        link is signed with the mock's key, so a mock taking any key cannot sign it."""
        if self.api_key is None and any(rule.action in OUTPUT_ACTIONS for rule in rules):
            raise MockUsageError(
                "fault rule: key_in_url signs output links with the mock's API key; start the "
                "mock with one (--api-key K, MockServer(api_key=K))"
            )
        return rules

    def jobs(self, provider: str | None = None) -> list[Job]:
        with self._lock:
            return [j for j in self._jobs.values() if provider is None or j.provider == provider]

    def job(self, provider: str, job_id: str) -> Job | None:
        with self._lock:
            return self._jobs.get((provider, job_id))

    def reset(self) -> None:
        """Back to as constructed: no jobs, media, journal or faults; first settings; seed restarted."""
        with self._lock:
            self.processing_seconds, self.jitter = self._initial
            self._jobs.clear()
            self._scratch.clear()
            self.store.clear()
            self.journal.clear()
            self.faults.clear()
            self.internal_errors.clear()
            self._secrets = _Secrets(self._own_secrets)  # the keys of requests before, forgotten
            if self.seed is not None:
                self._rng.seed(self.seed)

    @property
    def routes(self) -> tuple[Route, ...]:
        return self._routes

    # ------------------------------------------------------------------ helpers for providers

    def new_uuid(self) -> str:
        """A random (version 4) UUID from the seeded generator, as ``str(uuid.UUID(...))``."""
        with self._lock:
            bits = self._rng.getrandbits(128)
        hexa = f"{bits & _UUID_KEEP | _UUID_V4:032x}"
        return f"{hexa[:8]}-{hexa[8:12]}-{hexa[12:16]}-{hexa[16:20]}-{hexa[20:]}"

    def new_int_id(self) -> int:
        """A PixVerse-like id: 15-16 digits, below 2**53 so JavaScript clients keep it exact."""
        with self._lock:
            return self._rng.randrange(10**14, 2**53)

    def key_ok(self, key: str | None) -> bool:
        if not key:
            return False
        return self.api_key is None or key == self.api_key

    def url(self, item: MediaItem) -> str:
        signing = _SIGNING.get()
        if signing is not None and item.token is None:  # a key_in_url upload's media
            item.token = signing
        if item.token is not None:
            return f"{self.base_url}{item.path}?token={urllib.parse.quote(item.token, safe='')}"
        return self.base_url + item.path

    def resolve_media(self, ref: object) -> MediaItem | str | None:
        """A media reference (UUID, this mock's URL, data URI, other URL) -> the stored item.

        None for a URL elsewhere (the offline mock cannot fetch it, so its length is unknown);
        a string says why the reference cannot be used.
        """
        if not isinstance(ref, str) or not ref:
            return "must be a non-empty string"
        if _UUID.match(ref):
            item = self.store.get(ref)
            return item if item is not None else f"no uploaded media has UUID {ref}"
        if ref.startswith("data:"):
            raw = decode_base64_media(ref)
            if raw is None:
                return "is a data URI whose payload is not base64"
            return self.store.put_bytes(self.new_uuid(), raw, content_type=ref[5:].split(";", 1)[0])
        if ref.startswith(self.base_url + "/media/"):
            path, _, query = ref[len(self.base_url) :].partition("?")
            item = self.store.by_path(path)
            if item is None or not self.store.servable(item):
                return f"no media at {ref}"
            if item.token is not None and urllib.parse.parse_qs(query).get("token") != [item.token]:
                return f"is a link to {path} without its signature (token)"
            return item
        if ref.startswith(("http://", "https://")):
            return None
        return "is not a UUID, a URL or a data URI"

    def scratch(self, provider: str) -> dict[str, Any]:
        """A twin's own state in this simulator (its media ids, trace ids...); emptied by reset."""
        with self._lock:
            return self._scratch.setdefault(provider, {})

    def seen_before(self, provider: str, kind: str, value: str) -> bool:
        """Record ``value`` (a trace id, a nonce); True if the provider saw it before."""
        with self._lock:
            seen: set[str] = self.scratch(provider).setdefault(kind, set())
            found = value in seen
            seen.add(value)
            return found

    def at_capacity(self, call: Call) -> bool:
        """Whether a ``concurrency_limit`` rule refuses another job for this provider now."""
        limit = self.faults.concurrency_limit(call.ctx)
        if limit is None:
            return False
        now = self.clock.now()
        provider = call.ctx.provider
        with self._lock:
            active = sum(
                1
                for job in self._jobs.values()
                if job.provider == provider and job.state(now) == "processing"
            )
        return active >= limit

    def create_job(
        self,
        call: Call,
        *,
        job_id: str,
        model: str,
        duration_s: float,
        duration_basis: str,
        outputs: list[MediaItem],
        cost: Cost,
        request: Any,
        stuck: bool = False,
    ) -> Job:
        """A new job; a matching ``moderation``/``generation_failure`` rule decides its end."""
        fired: list[FaultRule] = []
        if self.faults or call.one_off:  # else no rule could fire: the usual job
            ctx = FaultContext(
                call.ctx.provider,
                call.ctx.op,
                call.ctx.method,
                call.ctx.path,
                (*call.ctx.jobs, job_id),
            )
            fired = self.faults.fire(ctx, (*JOB_ACTIONS, *OUTPUT_ACTIONS), call.one_off)
        endings = [rule.action for rule in fired if rule.action in JOB_ACTIONS]
        outcome = endings[0] if endings else "success"
        if any(rule.action in OUTPUT_ACTIONS for rule in fired):
            for item in outputs:
                item.token = self.api_key
        call.record.faults.extend(rule.action for rule in fired)
        now = self.clock.now()
        with self._lock:
            spread = self._rng.uniform(-self.jitter, self.jitter) if self.jitter else 0.0
            job = Job(
                provider=call.ctx.provider or "",
                id=job_id,
                model=model,
                created_at=now,
                created_wall=self.clock.wall(),
                ready_at=now + self.processing_seconds * (1 + spread),
                outcome=outcome,  # type: ignore[arg-type]
                duration_s=duration_s,
                duration_basis=duration_basis,
                outputs=outputs,
                cost_usd=cost.usd,
                credits=cost.credits,
                cost_basis=cost.basis,
                kept_request=None,
                stuck=stuck,
            )
            _keep_job_request(job, call, request, self._secrets.known)
            self._jobs[(job.provider, job_id)] = job
        call.record.jobs.append(job_id)
        return job

    # ------------------------------------------------------------------ dispatch

    def handle(self, request: MockRequest) -> Reply:
        """Answer one request (an HTTP request or a WebSocket frame). Never raises."""
        if request.path == "/_mock" or request.path.startswith("/_mock/"):
            return self._admin(request)
        # What the request teaches of credentials is learnt now, for every later request; what
        # the journal keeps of it is scrubbed of them when the record is first read (_kept).
        scrubber = Scrubber(learnt=self._secrets.known)
        headers = scrubber.kept_headers(request.headers)
        query = scrubber.fields(request.query) if request.query else {}
        body, as_parsed = _journal_body(request, scrubber)
        learnt = scrubber.learnt
        with self._lock:
            self._secrets.update(scrubber.seen)
        record = self.journal.open(
            time=self.clock.wall(),
            transport=request.transport,
            method=request.method,
            kept=partial(_kept, learnt, request.path, query, headers, body),
        )
        try:
            reply = self._dispatch(request, record, scrubber, as_parsed)
        except Exception as exc:
            self.internal_errors.append(exc)
            reply = self._refusal(request, record, 500, f"mock server bug: {exc!r}")
        record.status = None if reply.drop else reply.status
        if reply.drop:
            record.outcome = "reply_lost" if "lose_reply" in record.faults else "dropped"
        if reply.document is not None:
            _journal_reply(record, reply, scrubber)
        else:
            record.reply = {"bytes": len(reply.body or b""), "content_type": reply.content_type}
        return reply

    def _route(self, request: MockRequest, record: Record) -> tuple[Route, dict[str, str]] | Reply:
        if request.transport == "ws":
            for ws_route in self._ws_routes:
                params = ws_route.match(request.path)
                if params is not None:
                    return ws_route, params
            return Reply(status=404, document={"error": f"no WebSocket API at {request.path}"})
        fixed = self._fixed.get((request.method, request.path))
        if fixed is not None:
            return fixed, {}
        allowed: list[str] = []
        first = _first_segment(request.path)
        for route in self._by_segment.get(first, self._wild_routes if first else self._routes):
            params = route.match(request.path)
            if params is None:
                continue
            if route.method == request.method:
                return route, params
            if route.method not in allowed:
                allowed.append(route.method)
        if allowed:
            reply = self._refusal(
                request,
                record,
                405,
                f"{request.method} is not allowed on {request.path}; allowed: {', '.join(allowed)}",
            )
            reply.headers["Allow"] = ", ".join(allowed)
            return reply
        routes = [r.describe() for r in self._routes]
        if self._owner(request.path) is not None:
            return self._refusal(
                request,
                record,
                404,
                f"no route for {request.method} {request.path}; routes: {', '.join(routes)}",
            )
        return Reply(
            status=404,
            document={
                "error": f"no route for {request.method} {request.path}",
                "routes": routes + list(_ADMIN_ROUTES),
            },
        )

    def _owner(self, path: str) -> str | None:
        """The provider whose API the path is under (its prefix), if any."""
        for provider in registry.providers():
            prefix = provider.wire.api_prefix
            if path == prefix or path.startswith(prefix + "/"):
                return provider.name
        return None

    def _refusal(self, request: MockRequest, record: Record, status: int, message: str) -> Reply:
        """An error for a request no handler answered, in its provider's shape where it has one."""
        provider = record.provider or self._owner(request.path)
        if provider is None:
            return Reply(status=status, document={"error": message})
        record.provider = provider
        ctx = FaultContext(provider, record.op, request.method, request.path)
        call = Call(sim=self, request=request, params={}, ctx=ctx, record=record)
        return self._error(call, status, message, None)

    def _dispatch(
        self, request: MockRequest, record: Record, scrubber: Scrubber, as_parsed: bool
    ) -> Reply:
        routed = self._route(request, record)
        if isinstance(routed, Reply):
            return routed
        route, params = routed
        if route.classify is not None:
            op, jobs = route.classify(request, params)
        else:
            job = params.get(route.job_param) if route.job_param else None
            op, jobs = route.op, (job,) if job else ()
        record.provider, record.op = route.provider, op
        ctx = FaultContext(route.provider, op, request.method, request.path, jobs)
        call = Call(
            sim=self,
            request=request,
            params=params,
            ctx=ctx,
            record=record,
            scrubber=scrubber,
            body_as_parsed=as_parsed,
        )
        header = request.headers.get("x-mock-fault")  # header names are lower-case
        if header:
            try:
                call.one_off = self._takeable((rule_from_header(header),))
            except MockUsageError as exc:
                return self._error(call, 400, f"X-Mock-Fault: {exc.message}", None)
        one_off = call.one_off
        if (
            ctx.op == "upload"
            and (self.faults or one_off)
            and self.faults.fire(ctx, OUTPUT_ACTIONS, one_off)
        ):
            record.faults.append("key_in_url")
            signing = _SIGNING.set(self.api_key)  # the links this upload hands out are signed
            try:
                return self._answer(call, route)
            finally:
                _SIGNING.reset(signing)
        return self._answer(call, route)

    def _answer(self, call: Call, route: Route) -> Reply:
        """A routed request's reply, with the request faults that fire on it."""
        request, ctx, record, one_off = call.request, call.ctx, call.record, call.one_off
        fired = self.faults.fire(ctx, REQUEST_ACTIONS, one_off)
        if not fired and request.oversize is None and request.body_error is None:
            return route.handler(call)  # the usual request: no fault, a body read whole
        record.faults.extend(rule.action for rule in fired)
        actions = {rule.action: rule for rule in fired}
        delay = sum(rule.seconds for rule in fired if rule.action == "latency")
        if "drop" in actions:
            return Reply(drop=True, delay=delay)
        if request.oversize is not None:
            size = (
                f"{request.oversize} bytes"
                if request.header("content-length")
                else f"more than {self.max_body_bytes} bytes, sent without a Content-Length"
            )
            reply = self._error(
                call,
                413,
                f"the body ({size}) is over the mock's cap of {self.max_body_bytes} bytes",
                None,
            )
        elif request.body_error is not None:
            reply = self._error(call, 400, f"the body cannot be read: {request.body_error}", None)
        elif "rate_limit" in actions:
            rule = actions["rate_limit"]
            reply = self._error(call, 429, rule.message or "too many requests", rule.seconds)
        elif "server_error" in actions:
            rule = actions["server_error"]
            reply = self._error(call, rule.status, rule.message or "internal server error", None)
        else:
            reply = route.handler(call)
            reply.malformed = reply.malformed or "malformed_json" in actions
            reply.drop = reply.drop or "lose_reply" in actions
        reply.delay += delay
        return reply

    def _error(self, call: Call, status: int, message: str, retry_after: float | None) -> Reply:
        provider = call.ctx.provider
        reply: Reply = (
            Reply(status=status, document={"error": message})
            if provider is None
            else self.twins[provider].fault_reply(call, status, message)
        )
        if retry_after is not None:
            reply.headers["Retry-After"] = _retry_after(retry_after)
        return reply

    # ------------------------------------------------------------------ admin API

    def _admin(self, request: MockRequest) -> Reply:
        key = (request.method, request.path.rstrip("/"))
        try:
            if key == ("GET", "/_mock/requests"):
                since = int(request.query.get("since", "0") or 0)
                records = self.journal.records(
                    provider=request.query.get("provider"), op=request.query.get("op"), since=since
                )
                return Reply(document={"requests": [r.to_json() for r in records]})
            if key == ("GET", "/_mock/jobs"):
                now = self.clock.now()
                jobs = self.jobs(request.query.get("provider"))
                return Reply(document={"jobs": [j.to_json(now, self.base_url) for j in jobs]})
            if key == ("GET", "/_mock/faults"):
                return Reply(document=self.faults.to_json())
            if key in {("PUT", "/_mock/faults"), ("POST", "/_mock/faults")}:
                rules = self._takeable(tuple(rules_from_json(_admin_json(request, None))))
                if request.method == "PUT":
                    self.faults.replace(rules)
                else:
                    self.faults.add(*rules)
                return Reply(document=self.faults.to_json())
            if key == ("DELETE", "/_mock/faults"):
                self.faults.clear()
                return Reply(document=self.faults.to_json())
            if key == ("POST", "/_mock/reset"):
                self.reset()
                return Reply(document={"reset": True})
            if key == ("GET", "/_mock/settings"):
                return Reply(document=self._settings())
            if key in {("PUT", "/_mock/settings"), ("POST", "/_mock/settings")}:
                self._apply_settings(_admin_json(request, {}))
                return Reply(document=self._settings())
        except MockUsageError as exc:
            return Reply(status=400, document={"error": exc.message})
        known = [r for r in _ADMIN_ROUTES if r.split(" ", 1)[1] == key[1]]
        if known:
            return _not_allowed(request.method, key[1], [r.split(" ", 1)[0] for r in known])
        return Reply(
            status=404,
            document={"error": f"no admin route {request.path}", "routes": list(_ADMIN_ROUTES)},
        )

    def _settings(self) -> dict[str, Any]:
        return {
            "processing_seconds": self.processing_seconds,
            "jitter": self.jitter,
            "seed": self.seed,
            "api_key_required": self.api_key is not None,
            "max_body_bytes": self.max_body_bytes,
        }

    def _apply_settings(self, raw: object) -> None:
        if not isinstance(raw, Mapping):
            raise MockUsageError("settings: expected a JSON object")
        known = {"processing_seconds", "jitter"}
        unknown = sorted(set(raw) - known)
        if unknown:
            raise MockUsageError(
                f"settings: unknown key {unknown[0]!r}; settable: {', '.join(sorted(known))}"
            )
        self.processing_seconds, self.jitter = _timing(
            raw.get("processing_seconds", self.processing_seconds),
            raw.get("jitter", self.jitter),
            prefix="settings: ",
        )


_ADMIN_ROUTES = (
    "GET /_mock/requests",
    "GET /_mock/jobs",
    "GET /_mock/faults",
    "PUT /_mock/faults",
    "POST /_mock/faults",
    "DELETE /_mock/faults",
    "POST /_mock/reset",
    "GET /_mock/settings",
    "PUT /_mock/settings",
    "POST /_mock/settings",
)


class _Secrets:
    """The last few hundred credentials seen, the least recently sent forgotten first, and the
    ones always known (``always``: the mock's own key); :attr:`known` is all of them, as a
    Scrubber takes them."""

    _LIMIT = 256

    def __init__(self, always: frozenset[str] = frozenset()) -> None:
        self._order: dict[str, None] = {}
        self._always = always
        self.known = always
        self._last: frozenset[str] = frozenset()  # the values of the last update, newest now

    def update(self, values: frozenset[str]) -> None:
        """``values``, the credentials one request carried, are the most recent now. Only they
        move: the others keep their order, so the least recently sent is the one forgotten (not
        whichever a set's hash order put first)."""
        if (values is self._last or values == self._last) and len(values) <= self._LIMIT:
            self._last = values  # the same object next time: not compared item by item
            return  # a client's next request: its keys are the newest already
        self._last = values
        changed = False
        for value in values:
            changed = changed or value not in self._order
            self._order.pop(value, None)
            self._order[value] = None
        while len(self._order) > self._LIMIT:
            del self._order[next(iter(self._order))]
            changed = True
        if changed:
            self.known = self._always | frozenset(self._order)

    def __iter__(self) -> Iterator[str]:
        return iter(list(self._order))


def _timing(seconds: object, jitter: object, *, prefix: str = "") -> tuple[float, float]:
    """Processing seconds and jitter, checked: finite, seconds within the hour, jitter in [0, 1)."""
    return (
        bounded_number(f"{prefix}processing_seconds", seconds, low=0, high=MAX_SECONDS),
        bounded_number(f"{prefix}jitter", jitter, low=0, high=1, high_open=True),
    )


def _not_allowed(method: str, path: str, allowed: list[str]) -> Reply:
    return Reply(
        status=405,
        document={"error": f"{method} is not allowed on {path}", "allowed": allowed},
        headers={"Allow": ", ".join(allowed)},
    )


def _retry_after(seconds: float) -> str:
    # Retry-After takes whole seconds (RFC 9110 §10.2.3); round up so clients never come early.
    return str(max(0, int(-(-seconds // 1))))


def _download(call: Call) -> Reply:
    item = call.sim.store.by_path(call.request.path)
    if item is None or not call.sim.store.servable(item):
        return Reply(status=404, document={"error": f"no media at {call.request.path}"})
    if item.token is not None and call.request.query.get("token") != item.token:
        return Reply(status=403, document={"error": "this link needs its signature (token)"})
    return Reply(body=call.sim.store.content(item), content_type=item.content_type)


def _admin_json(request: MockRequest, empty: Any) -> Any:
    """An admin request's JSON body (``empty`` when there is none); MockUsageError if invalid."""
    if not request.body.strip():
        return empty
    document = parse_json(request.body)
    if isinstance(document, InvalidBody):
        raise MockUsageError(f"the body is not valid JSON: {document.reason}")
    return document


def _kept(
    learnt: frozenset[str],
    path: str,
    query: dict[str, str],
    headers: Mapping[str, str],
    body: Any,
) -> Kept:
    """What the journal keeps of a request, scrubbed of the secrets ``learnt`` by the end of
    its reading (``headers`` as :meth:`Scrubber.kept_headers` gave them, ``query`` and
    ``body`` as :meth:`Scrubber.fields` and :func:`_journal_body` did: a body still in bytes
    is a short JSON document as sent, what is kept of it worked out now)."""
    scrubber = Scrubber(learnt=learnt)
    return (
        scrubber.scrub(path),
        scrubber.scrub(query) if query else query,
        scrubber.scrub_headers(headers),
        _kept_body(scrubber, body),
    )


def _kept_body(scrubber: Scrubber, body: Any) -> Any:
    if body is None:
        return None
    if type(body) is bytes:  # a short JSON body as sent
        return scrubber.kept_body(body, parse_json(body))
    return scrubber.scrub(body)


def _keep_job_request(job: Job, call: Call, request: Any, known: frozenset[str]) -> None:
    """Give ``job`` what it keeps of the request that made it (a JSON value), as
    :meth:`Scrubber.kept` gives it: the value itself when it is (part of) a short body kept
    as sent, worked out when first read, from the body and the secrets learnt by then (as a
    journal record's); otherwise now, so that a job holds no long body."""
    scrubber = call.scrubber or Scrubber(learnt=known)
    body = call.request.body
    if (
        call.body_as_parsed
        and len(body) <= _SHORT_BODY
        and _part_of(request, json_body(call.request))
    ):
        job.kept_later = partial(_kept_short_body, scrubber.learnt, body, request)
    else:
        job.kept_request = scrubber.kept(request)


def _kept_short_body(learnt: frozenset[str], body: bytes, document: Any) -> Any:
    return Scrubber(learnt=learnt).kept_body(body, document)


def _kept_reply(learnt: frozenset[str], text: str) -> Any:
    return Scrubber(learnt=learnt).kept_reply(text)


def _journal_reply(record: Record, reply: Reply, scrubber: Scrubber) -> None:
    """What the journal keeps of a reply document: long strings summarized, keys out; a
    short one is kept as the text it was sent as, worked out (:meth:`Scrubber.kept_reply`)
    with the secrets learnt so far when first read."""
    try:
        text = reply.json_text()
    except (TypeError, ValueError):  # not JSON (a handler's bug): the adapter will say so
        record.reply = redact_value(scrubber.scrub(reply.document))
        return
    if len(text) <= _SHORT_REPLY:
        record.keep_reply_text(text, partial(_kept_reply, scrubber.learnt))
    else:
        record.reply = scrubber.kept_json(reply.document, text)


def _first_segment(path: str) -> str | None:
    """``media`` of ``/media/{name}``; None for a path that is not absolute."""
    return path.split("/", 2)[1] if path.startswith("/") else None


def _part_of(value: Any, document: Any) -> bool:
    """Whether ``value`` is ``document`` or one of its items (a task of a Runware batch)."""
    if value is document:
        return True
    if isinstance(document, list):
        for item in document:
            if item is value:
                return True
    return False


def _journal_body(request: MockRequest, scrubber: Scrubber) -> tuple[Any, bool]:
    """What the journal keeps of a body: JSON or a form (credentials out), text, or its size;
    and whether the body is a JSON document (the handlers' own, parsed once).

    A short JSON body is kept as the bytes it came as, its credentials learnt now: what is
    kept of it (:meth:`~mock_server.redaction.Scrubber.kept_body`) is worked out from them
    when the record is first read, as most never are."""
    if request.oversize is not None:
        return {"bytes": request.oversize, "refused": "over the size cap"}, False
    if request.form is not None or request.files is not None:
        return {
            "form": redact_value(scrubber.scrub(scrubber.fields(dict(request.form or {})))),
            "files": {
                name: {"filename": f.filename, "content_type": f.content_type, "size": len(f.data)}
                for name, f in (request.files or {}).items()
            },
        }, False
    if not request.body:
        return None, False
    content_type = request.header("content-type") or ""
    if "json" in content_type or request.transport == "ws" or request.body[:1] in (b"{", b"["):
        document = json_body(request)  # parsed once for the journal and the handlers
        if not isinstance(document, InvalidBody):
            if len(request.body) <= _SHORT_BODY:
                scrubber.learn_document(document)
                return request.body, True
            return scrubber.document(document), True
    summary = {"bytes": len(request.body), "content_type": content_type or None}
    try:
        text = scrubber.text(request.body.decode("utf-8"))
    except UnicodeDecodeError:
        return summary, False
    return (
        summary | {"redacted": "the body names a credential"}
        if text is None
        else redact_value(text)
    ), False

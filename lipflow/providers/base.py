"""What a provider is, as types: its wire description, its client side and its simulated twin.

A provider is one package under ``lipflow/providers/<name>/`` (or anywhere, registered through
:mod:`lipflow.providers.registry`) that exports one :class:`Provider`::

    Provider
    ├── wire        WireSpec: the API as data (endpoints, auth, status and error meanings,
    │               idempotency, limits), read by the client AND by the simulated twin
    ├── client      ProviderClient: the I/O-free flows (upload, submit, poll) and the planned
    │               requests a plan shows; never imports the twin
    ├── checks      ProviderChecks: how a request body finds its schema, plus the named checks
    ├── simulated() SimulatedProvider: the mock's twin, imported only when a mock is built
    ├── catalog     its slice of the catalog (models, capabilities, limits, prices, voices)
    └── schemas     its JSON Schema folder

Generic code (planner, runner, schemas, mock core, CLI) reaches a provider only through these
types, by name from the registry, and never spells a provider's name.
"""

from __future__ import annotations

import importlib
import re
import sys
from collections.abc import Generator, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, Protocol, TypeVar

if TYPE_CHECKING:
    import httpx

    from lipflow.jobs import Job, MediaRef, PlannedRequest
    from lipflow.problems import PathPart, Problem
    from lipflow.schemas.leaves import LeafChecks

__all__ = [
    "Auth",
    "Endpoint",
    "ErrorMeaning",
    "Finished",
    "Flow",
    "Idempotency",
    "JobOutcome",
    "Op",
    "Provider",
    "ProviderChecks",
    "ProviderClient",
    "SimulatedProvider",
    "Submitted",
    "WireSpec",
]

T = TypeVar("T")
if TYPE_CHECKING:
    Flow = Generator[httpx.Request, httpx.Response, T]
else:  # the same alias without loading httpx, which planning never needs (see lipflow._lazy)
    Flow = Generator[Any, Any, T]

# "find": look a job up by the idempotency key its submit carried (an ambiguous submit's fate).
Op = Literal["auth", "ping", "upload", "submit", "poll", "list", "download", "find"]
OPS: tuple[Op, ...] = ("auth", "ping", "upload", "submit", "poll", "list", "download", "find")
JobOutcome = Literal["running", "done", "moderated", "failed"]
ErrorMeaning = Literal[
    "auth", "capacity", "conflict", "generation", "moderation", "not_found", "rejected", "server"
]


# ---------------------------------------------------------------------------------- the wire


@dataclass(frozen=True, slots=True, kw_only=True)
class Auth:
    """How the API key is sent: in ``header``, after ``scheme`` (``Bearer``) if there is one."""

    header: str
    scheme: str | None = None
    doc: str

    def headers(self, key: str) -> dict[str, str]:
        return {self.header: f"{self.scheme} {key}" if self.scheme else key}

    def key_of(self, headers: Mapping[str, str]) -> str | None:
        """The key a request carries (header names lower-case), or None."""
        value = headers.get(self.header.lower())
        if value is None or self.scheme is None:
            return value or None
        prefix = self.scheme.lower() + " "
        return value[len(prefix) :].strip() or None if value.lower().startswith(prefix) else None


@dataclass(frozen=True, slots=True, kw_only=True)
class Endpoint:
    """One documented API call: what it is for, how it is sent, and the schemas of both directions.

    ``path`` is the full API path template (``/openapi/v2/video/result/{video_id}``; a ``{name}``
    is one path segment whose value must match ``params[name]``). Schema names are files in the
    provider's schema folder. A provider whose calls all go to one URL (Runware) names each call
    by ``task`` instead, and a task that runs models names each model's request schema.
    """

    op: Op
    method: str
    path: str
    doc: str
    request: str | None = None
    response: str | None = None
    body: str = "application/json"  # application/json | multipart/form-data | query
    params: Mapping[str, str] = field(default_factory=dict)
    task: str | None = None
    models: Mapping[str, str] = field(default_factory=dict)
    response_item: str | None = None

    @property
    def name(self) -> str:
        """How a user names it: the task type, or the path template."""
        return self.task or self.path

    def match(self, path: str) -> dict[str, str] | None:
        """The path parameters when ``path`` fits this template, else None."""
        found = _template_regex(self.path).fullmatch(path)
        return None if found is None else found.groupdict()

    def schema_files(self) -> tuple[str, ...]:
        named = (self.request, self.response, self.response_item, *self.models.values())
        return tuple(dict.fromkeys(n for n in named if n))


_TEMPLATES: dict[str, re.Pattern[str]] = {}


def _template_regex(template: str) -> re.Pattern[str]:
    found = _TEMPLATES.get(template)
    if found is None:
        parts = re.split(r"\{(\w+)\}", template)
        found = re.compile(
            "".join(
                f"(?P<{part}>[^/]+)" if i % 2 else re.escape(part) for i, part in enumerate(parts)
            )
        )
        _TEMPLATES[template] = found
    return found


@dataclass(frozen=True, slots=True, kw_only=True)
class Idempotency:
    """Whether re-sending a submit is safe: ``deduplicated`` when the provider answers a resend
    carrying the same ``field`` value with the job it already has instead of a second job."""

    deduplicated: bool
    field: str | None = None
    derivation: str = ""
    doc: str


@dataclass(frozen=True, slots=True, kw_only=True)
class WireSpec:
    """A provider's API as data: the one place its wire facts are written.

    ``statuses`` maps the provider's job status values to what they mean; ``errors`` maps its error
    codes (strings or numbers, as the API sends them) to their class. The client classifies replies
    with these tables and the simulated twin answers with them, so both read the same facts.
    """

    name: str
    title: str
    base_url: str
    key_env: str
    url_env: str
    api_prefix: str
    auth: Auth
    endpoints: tuple[Endpoint, ...]
    statuses: Mapping[str | int, JobOutcome] = field(default_factory=dict)
    errors: Mapping[str | int, ErrorMeaning] = field(default_factory=dict)
    idempotency: Idempotency
    websocket_path: str | None = None
    limits: Mapping[str, Any] = field(default_factory=dict)
    doc: str

    def endpoint(self, op: Op, *, task: str | None = None) -> Endpoint:
        """The first endpoint for ``op`` (and ``task``); KeyError names what is missing."""
        for endpoint in self.endpoints:
            if endpoint.op == op and (task is None or endpoint.task == task):
                return endpoint
        raise KeyError(f"{self.name} declares no {op} endpoint" + (f" {task}" if task else ""))

    def url(self, base_url: str, endpoint: Endpoint, **params: object) -> str:
        """The URL of ``endpoint`` under a base URL that ends at the API prefix."""
        path = endpoint.path.format(**params) if params else endpoint.path
        return base_url + path.removeprefix(self.api_prefix)

    def meaning(self, status: object) -> JobOutcome | None:
        return self.statuses.get(status)  # type: ignore[call-overload,no-any-return]

    def status_for(self, outcome: JobOutcome) -> str | int:
        """The first status value that means ``outcome`` (a moderated job whose API has no status
        of its own reports ``failed``)."""
        for value, meaning in self.statuses.items():
            if meaning == outcome:
                return value
        if outcome == "moderated":
            return self.status_for("failed")
        raise KeyError(f"{self.name} declares no status meaning {outcome}")

    def codes(self, meaning: ErrorMeaning) -> frozenset[str | int]:
        return frozenset(code for code, m in self.errors.items() if m == meaning)

    def code_for(self, meaning: ErrorMeaning) -> str | int:
        """The first error code that means ``meaning``: what the simulated twin answers with."""
        for code, m in self.errors.items():
            if m == meaning:
                return code
        raise KeyError(f"{self.name} declares no error code meaning {meaning}")


# ---------------------------------------------------------------------------------- results


@dataclass(frozen=True, slots=True, kw_only=True)
class Submitted:
    """A submit the provider acknowledged: its job id and any cost it reported at once."""

    provider_job_id: str
    reported_usd: float | None = None
    reported_credits: int | None = None
    existed: bool = False  # the idempotency key was already known (a recovered submit)


@dataclass(frozen=True, slots=True, kw_only=True)
class Finished:
    """A poll's answer. ``done`` False: still running. Done: the output URLs and reported cost."""

    done: bool
    outputs: tuple[str, ...] = ()
    reported_usd: float | None = None
    sizes: tuple[int | None, ...] = ()  # output sizes in bytes, where the provider says them
    unknown_status: str | None = None  # not done, with a status the wire's table does not know


# ---------------------------------------------------------------------------------- seams


class ProviderClient(Protocol):
    """The client side: pure request building and reply classification, no I/O.

    Flows are generators that yield ``httpx.Request`` and receive the ``httpx.Response`` to each
    (as httpx's ``Auth.auth_flow``); the runner drives them. Every failure is raised as one of
    the classes in :mod:`lipflow.errors`.
    """

    @property
    def origins(self) -> Mapping[tuple[str, ...], tuple[str, ...]]:
        """Request field path -> the recipe path it came from, to place problems on recipe lines."""
        ...

    def plan_requests(self, job: Job, base_url: str) -> list[PlannedRequest]: ...

    def submit_leaves(self, job: Job) -> Mapping[str, tuple[PathPart, ...]] | None:
        """Where the values that tell a step's jobs apart sit in the body of ``job``'s planned
        ``submit`` request: ``task_uuid`` and ``tts.text`` (the job's ``params.tts.text``) to
        their paths in it; None when the provider does not say (the planner then builds and
        checks every body whole).

        The promise, held by a property test per provider: the submit body is made from the
        job's model, media, options, params and task_uuid only, and two jobs equal in all of
        those but the named values have equal requests (method, URL, endpoint, the other
        requests) and equal submit bodies but for those paths, where each holds its job's value
        as it is (no branch on it, no copy changed)."""
        ...

    def request_headers(self, key: str) -> dict[str, str]:
        """The headers every request carries (auth, and any per-request id the API asks for)."""
        ...

    def needs_upload(self, ref: MediaRef) -> bool: ...

    def deferred_values(self, job: Job) -> dict[str, Any]:
        """What each media role of ``job`` sends, with run-time values as Deferreds."""
        ...

    def submit_key(self, job: Job, attempt: int) -> str | None:
        """The idempotency key submit ``attempt`` (1-based) carries, or None if it carries none."""
        ...

    def upload_flow(
        self,
        job: Job,
        role: str,
        ref: MediaRef,
        *,
        data: bytes | None,
        url: str | None,
        base_url: str,
        key: str,
    ) -> Flow[dict[str, Any]]: ...

    def submit_flow(
        self, job: Job, values: Mapping[str, Any], *, attempt: int, base_url: str, key: str
    ) -> Flow[Submitted]: ...

    def poll_flow(
        self, job: Job, provider_job_id: str, *, base_url: str, key: str
    ) -> Flow[Finished]: ...

    def find_flow(
        self, job: Job, attempt: int, *, base_url: str, key: str
    ) -> Flow[Submitted | None] | None:
        """How to learn whether submit ``attempt`` reached the provider, before sending anything
        again: the flow ends with the job (Submitted) or None (the provider has no such job).
        None instead of a flow: the provider documents no way to find it."""
        ...


class ProviderChecks(Protocol):
    """How a request or reply body finds its schemas, and the checks no schema can express."""

    def endpoint_names(self) -> list[str]:
        """The names a user may pass as ``--endpoint`` (task types, or API paths)."""
        ...

    def check_request(
        self, body: object, *, endpoint: str | None, method: str
    ) -> list[Problem]: ...

    def leaf_checks(
        self,
        body: object,
        paths: tuple[tuple[PathPart, ...], ...],
        *,
        endpoint: str | None,
        method: str,
    ) -> LeafChecks | None:
        """For a request ``body`` that :meth:`check_request` found no problem with, the checks of
        new values at ``paths`` that decide, alone, a body equal to it but there: None unless
        its schema leaves them independent (:func:`lipflow.schemas.leaves.independent_leaves`)
        and no named check of this body could read them."""
        ...

    def check_response(
        self,
        body: object,
        *,
        endpoint: str | None,
        method: str,
        task_type: str | None = None,
        model: str | None = None,
    ) -> list[Problem]: ...


class SimulatedProvider(Protocol):
    """The mock's twin of a provider, built on the mock core's types (routes, calls, replies)."""

    @property
    def routes(self) -> tuple[Any, ...]:
        """HTTP routes (``mock_server.core.Route``), under the API prefix of the wire spec."""
        ...

    @property
    def ws_route(self) -> Any | None:
        """The route serving WebSocket frames, if the provider has a WebSocket API."""
        ...

    def fault_reply(self, call: Any, status: int, message: str) -> Any:
        """An injected HTTP-level failure (429, 5xx, 413) in the provider's own error shape."""
        ...


# ---------------------------------------------------------------------------------- the unit


@dataclass(frozen=True, kw_only=True)
class Provider:
    """One provider, as one object: everything generic code may know about it."""

    name: str
    wire: WireSpec
    client: ProviderClient
    checks: ProviderChecks
    sim: str  # "module:attribute" of its SimulatedProvider, imported on first use
    catalog_file: Path
    schemas_dir: Path
    example_recipe: Path

    def __post_init__(self) -> None:
        if self.name != self.wire.name:
            raise ValueError(f"provider {self.name!r} carries the wire spec of {self.wire.name!r}")

    def simulated(self) -> SimulatedProvider:
        """The simulated twin; the client side never imports it."""
        return self._simulated

    @cached_property
    def _simulated(self) -> SimulatedProvider:
        module, _, attribute = self.sim.partition(":")
        twin: SimulatedProvider = getattr(importlib.import_module(module), attribute or "SIMULATED")
        return twin


def packaged(
    package: str,
    *,
    wire: WireSpec,
    client: ProviderClient,
    checks: ProviderChecks,
    schemas_dir: Path,
    example_recipe: Path,
) -> Provider:
    """A :class:`Provider` laid out as a package (called from its ``__init__`` with ``__name__``):
    ``catalog.yaml`` in the package folder and the twin in its ``sim`` module."""
    init = getattr(sys.modules[package], "__file__", None)
    if init is None:
        raise ValueError(f"{package} is not a package with files")
    return Provider(
        name=wire.name,
        wire=wire,
        client=client,
        checks=checks,
        sim=f"{package}.sim:SIMULATED",
        catalog_file=Path(init).with_name("catalog.yaml"),
        schemas_dir=schemas_dir,
        example_recipe=example_recipe,
    )

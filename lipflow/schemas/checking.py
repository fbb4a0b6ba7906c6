"""Provider request and reply bodies checked through the provider objects.

:func:`check_request` finds the provider in the registry and asks its checks object, which knows
how a body finds its schema (an API path and method, or a task type in the body). Most providers
route by method and path; :class:`PathChecks` is that routing, written once from the provider's
wire description, with a hook for the named checks no schema can express.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING
from urllib.parse import parse_qsl, urlsplit

from lipflow.errors import UsageError
from lipflow.problems import PathPart, Problem, did_you_mean
from lipflow.providers import registry
from lipflow.schemas.leaves import LeafChecks
from lipflow.schemas.loading import compiled
from lipflow.schemas.messages import validate

if TYPE_CHECKING:
    from lipflow.providers.base import Endpoint, WireSpec

__all__ = [
    "PathChecks",
    "check_request",
    "check_response",
    "endpoints",
    "find_endpoint",
]

BodyCheck = Callable[[object], list[Problem]]


def check_request(
    provider: str, body: object, *, endpoint: str | None = None, method: str = "POST"
) -> list[Problem]:
    """Every problem with one provider request body: schema rules first, then the named checks.

    ``endpoint`` names the call as the provider does: an API path for most (a GET's query
    parameters come from its query string when ``body`` is None), a task type for a provider
    whose tasks name themselves in the body (the body then picks its own schema).
    """
    return registry.get(provider).checks.check_request(body, endpoint=endpoint, method=method)


def check_response(
    provider: str,
    body: object,
    *,
    endpoint: str | None = None,
    method: str = "POST",
    task_type: str | None = None,
    model: str | None = None,
) -> list[Problem]:
    """Every problem with one provider reply body, by the documented envelope and payload."""
    return registry.get(provider).checks.check_response(
        body, endpoint=endpoint, method=method, task_type=task_type, model=model
    )


def endpoints(provider: str) -> list[str]:
    """The calls lipflow knows for a provider, as a user names them (API paths or task types)."""
    return registry.get(provider).checks.endpoint_names()


def find_endpoint(provider: str, method: str, path: str) -> tuple[Endpoint, dict[str, str]] | None:
    """The endpoint for an exact method and path, with its path parameters; None if undocumented."""
    return _find(registry.get(provider).wire, method, path)


def _find(wire: WireSpec, method: str, path: str) -> tuple[Endpoint, dict[str, str]] | None:
    for endpoint in wire.endpoints:
        params = endpoint.match(path)
        if params is not None and endpoint.method == method.upper():
            return endpoint, params
    return None


class PathChecks:
    """Checks for a provider whose calls are told apart by HTTP method and API path.

    ``named`` maps an endpoint's path template to the named checks run after its schema.
    """

    def __init__(self, wire: WireSpec, named: Mapping[str, Sequence[BodyCheck]] | None = None):
        self.wire = wire
        self.named = dict(named or {})

    def schema(self, file: str) -> str:
        return f"{self.wire.name}/{file}"

    def endpoint_names(self) -> list[str]:
        return [e.path for e in self.wire.endpoints]

    def resolve(self, endpoint: str | None, method: str) -> tuple[Endpoint, dict[str, str]]:
        """The endpoint a user names; a path with a single documented method needs no method."""
        known = self.wire.endpoints
        listing = ", ".join(f"{e.method} {e.path}" for e in known)
        name = self.wire.name
        if endpoint is None:
            raise UsageError(f"{name} needs an endpoint (the API path); known: {listing}")
        path = urlsplit(endpoint).path or endpoint
        found = _find(self.wire, method, path)
        if found:
            return found
        candidates = [(e, p) for e in known if (p := e.match(path)) is not None]
        if len(candidates) == 1:
            return candidates[0]
        hint = did_you_mean(path, [e.path for e in known])
        raise UsageError(
            f"{method.upper()} {path} is not a documented {name} endpoint; known: {listing}"
            + (f"; did you mean {hint!r}?" if hint else "")
        )

    def check_request(self, body: object, *, endpoint: str | None, method: str) -> list[Problem]:
        ep, params = self.resolve(endpoint, method)
        if ep.method == "GET" and body is None:
            body = dict(parse_qsl(urlsplit(endpoint or "").query, keep_blank_values=True))
        problems = [
            Problem(
                message=f"the {name} in the URL path is {value!r}; it must match {pattern}",
                code="path-param",
                source=ep.doc,
            )
            for name, value in params.items()
            if (pattern := ep.params.get(name)) and not re.fullmatch(pattern, value)
        ]
        if ep.request is not None:
            problems += validate(self.schema(ep.request), body)
        for check in self.named.get(ep.path, ()):
            problems += check(body)
        return problems

    def surely_valid(self, body: object, *, endpoint: str, method: str = "POST") -> bool:
        """True when ``body``, as a JSON parser made it (the mock's requests), is one
        :meth:`check_request` finds nothing wrong with at ``endpoint`` (its exact method and
        path): the path's parameters match, the endpoint has no named checks, and jsonschema-rs
        accepts the body against its schema. False means "ask check_request", which decides
        and words the problems."""
        found = _find(self.wire, method, endpoint)
        if found is None or body is None:
            return False
        ep, params = found
        if ep.request is None or self.named.get(ep.path):
            return False
        for name, value in params.items():
            pattern = ep.params.get(name)
            if pattern and not re.fullmatch(pattern, value):
                return False
        return compiled(self.schema(ep.request)).surely_valid(body, parsed=True)

    def leaf_checks(
        self,
        body: object,
        paths: tuple[tuple[PathPart, ...], ...],
        *,
        endpoint: str | None,
        method: str,
    ) -> LeafChecks | None:
        """An endpoint's body with a schema and no named checks: its schema decides the leaves."""
        ep, _params = self.resolve(endpoint, method)
        if ep.request is None or self.named.get(ep.path) or body is None:
            return None
        return compiled(self.schema(ep.request)).leaf_checks(paths)

    def check_response(
        self,
        body: object,
        *,
        endpoint: str | None,
        method: str,
        task_type: str | None = None,
        model: str | None = None,
    ) -> list[Problem]:
        ep, _params = self.resolve(endpoint, method)
        return validate(self.schema(ep.response), body) if ep.response else []

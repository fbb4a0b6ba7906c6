"""An httpx transport over the simulator: the mock without a socket.

``httpx.Client(transport=MockTransport(sim))`` (or ``httpx.AsyncClient``) sends every request
straight to :meth:`Simulator.handle` in-process, so a client can be tested against a provider's
simulated twin with no port, thread or server. Faults behave as on a socket: ``latency`` waits,
``drop`` and ``lose_reply`` raise the error a closed connection raises
(``httpx.RemoteProtocolError``), ``malformed_json`` sends a truncated body. Use
:func:`transport_urls` for every API's base URL under the simulator's ``base_url``.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

import httpx

from lipflow.providers import registry
from mock_server.adapters._forms import with_body
from mock_server.core import MockRequest, Reply
from mock_server.simulator import Simulator

__all__ = ["MockTransport", "transport_urls"]


class MockTransport(httpx.BaseTransport, httpx.AsyncBaseTransport):
    """Answers httpx requests from a :class:`Simulator`, sync and async."""

    def __init__(self, simulator: Simulator) -> None:
        self.simulator = simulator

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        limit = self.simulator.max_body_bytes + 1
        body = bytearray()
        for chunk in request.stream:  # type: ignore[union-attr]
            body += chunk[: limit - len(body)]
            if len(body) >= limit:
                break  # over the cap: the rest is never read, as on a socket
        reply = self.simulator.handle(self._mock_request(request, bytes(body)))
        if reply.delay:
            time.sleep(reply.delay)
        return _response(request, reply)

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        limit = self.simulator.max_body_bytes + 1
        body = bytearray()
        async for chunk in request.stream:  # type: ignore[union-attr]
            body += chunk[: limit - len(body)]
            if len(body) >= limit:
                break
        reply = self.simulator.handle(self._mock_request(request, bytes(body)))
        if reply.delay:
            await asyncio.sleep(reply.delay)
        return _response(request, reply)

    def _mock_request(self, request: httpx.Request, body: bytes) -> MockRequest:
        common: dict[str, Any] = {
            "method": request.method,
            "path": request.url.path,
            "query": dict(request.url.params),
            "headers": {k.lower(): v for k, v in request.headers.items()},
        }
        if len(body) > self.simulator.max_body_bytes:
            return MockRequest(**common, oversize=len(body))
        return with_body(common, body, request.headers.get("content-type"))


def _response(request: httpx.Request, reply: Reply) -> httpx.Response:
    if reply.drop:
        raise httpx.RemoteProtocolError(
            "Server disconnected without sending a response.", request=request
        )
    headers = {"content-type": reply.content_type, **reply.headers}
    return httpx.Response(reply.status, headers=headers, content=reply.payload(), request=request)


def transport_urls(simulator: Simulator) -> dict[str, str]:
    """Each registered provider's base URL (its API prefix under the simulator's base URL)."""
    base = simulator.base_url
    return {p.name: base + p.wire.api_prefix for p in registry.providers()}

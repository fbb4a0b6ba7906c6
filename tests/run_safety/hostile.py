"""A hostile provider for the run-safety tests: the mock's in-process transport, with chosen
replies put in place of the first N polls (or every poll)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import httpx

from mock_server import Simulator
from mock_server.adapters.transport import MockTransport

__all__ = ["Hostile", "is_poll"]


def is_poll(request: httpx.Request) -> bool:
    """Whether ``request`` asks a provider how a job is doing (any of the three APIs)."""
    if request.method == "GET":
        return "/result" in request.url.path
    return b'"getResponse"' in request.content


@dataclass
class Hostile(httpx.AsyncBaseTransport):
    """Answers ``polls`` polls (None: all) with ``status`` and ``body``; the rest reach the mock."""

    simulator: Simulator
    status: int
    body: Any
    polls: int | None = None
    answered: int = 0
    mock: MockTransport = field(init=False)

    def __post_init__(self) -> None:
        self.mock = MockTransport(self.simulator)

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        await request.aread()
        if is_poll(request) and (self.polls is None or self.answered < self.polls):
            self.answered += 1
            content = self.body if isinstance(self.body, bytes) else json.dumps(self.body).encode()
            return httpx.Response(
                self.status, content=content, headers={"content-type": "application/json"}
            )
        return await self.mock.handle_async_request(request)

"""What the runner sends through (:class:`Sender`), and the one over an injected httpx client.

``lipflow run`` sends with aiohttp directly (:class:`lipflow.run.transport.AiohttpSender`); a
caller of the public API may hand the runner an ``httpx.AsyncClient`` instead (a test's
in-process mock transport, ``httpx.MockTransport``), which :func:`as_sender` wraps. This module
imports no aiohttp: the runner's import stays as light as before.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Mapping
from typing import Protocol

import httpx

from lipflow.providers._http import MAX_REPLY_BYTES, send_bounded

__all__ = ["HttpxSender", "Reply", "Sender", "as_sender"]


class Reply(Protocol):
    """A download's reply: its status and headers, then its body in pieces (read errors are
    httpx's transport errors)."""

    @property
    def status_code(self) -> int: ...

    @property
    def headers(self) -> Mapping[str, str]: ...

    def chunks(self) -> AsyncIterator[bytes]: ...


class Sender(Protocol):
    """How the runner sends: an API request read whole within its cap (a classified lipflow
    error otherwise, as :func:`~lipflow.providers._http.send_bounded`), and a GET streamed.

    ``stream`` raises httpx's transport errors; the downloader classifies them for its job."""

    async def send(
        self, request: httpx.Request, provider: str, *, max_bytes: int = MAX_REPLY_BYTES
    ) -> httpx.Response: ...

    def stream(
        self, url: httpx.URL, timeout: httpx.Timeout
    ) -> contextlib.AbstractAsyncContextManager[Reply]: ...


class _HttpxReply:
    __slots__ = ("_response",)

    def __init__(self, response: httpx.Response) -> None:
        self._response = response

    @property
    def status_code(self) -> int:
        return self._response.status_code

    @property
    def headers(self) -> Mapping[str, str]:
        return self._response.headers

    def chunks(self) -> AsyncIterator[bytes]:
        return self._response.aiter_bytes()


class HttpxSender:
    """Sends over an ``httpx.AsyncClient`` (one a caller injects)."""

    def __init__(self, client: httpx.AsyncClient) -> None:
        self.client = client

    async def send(
        self, request: httpx.Request, provider: str, *, max_bytes: int = MAX_REPLY_BYTES
    ) -> httpx.Response:
        return await send_bounded(self.client, request, provider, max_bytes=max_bytes)

    @contextlib.asynccontextmanager
    async def stream(self, url: httpx.URL, timeout: httpx.Timeout) -> AsyncIterator[Reply]:
        request = self.client.build_request("GET", url, timeout=timeout)
        response = await self.client.send(request, stream=True)
        try:
            yield _HttpxReply(response)
        finally:
            await response.aclose()


def as_sender(client: httpx.AsyncClient | Sender) -> Sender:
    """What the runner sends through: ``client`` itself, or an httpx client wrapped."""
    return HttpxSender(client) if isinstance(client, httpx.AsyncClient) else client

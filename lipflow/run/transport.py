"""The HTTP layer ``lipflow run`` sends over: httpx's client on aiohttp's connection pool.

httpx's own pool checks every pooled socket before each request, which is half the runner's CPU
at high concurrency; aiohttp's pool reuses a connection for a fraction of that. The providers'
clients still build ``httpx.Request`` objects and read ``httpx.Response`` ones; only the transport
underneath changes (built on httpx-aiohttp's :class:`~httpx_aiohttp.AiohttpTransport`: its
set-up, and its reading of a reply's body).

What must not change is what a failure means (:func:`lipflow.providers._http.classify_transport`):
httpx-aiohttp maps every aiohttp connection error, a server that closed the connection after
the request went out included, to ``httpx.ConnectTimeout``: "not sent", so a submit would be
sent again and paid twice. :class:`AiohttpTransport` here maps aiohttp's errors as httpx's own
transport raises them, and anything it does not know as ambiguous:

==================================  ====================================  ==================
aiohttp                             httpx (as its own transport raises)   lipflow
==================================  ====================================  ==================
connect timeout, pool wait timeout  ConnectTimeout                        not sent
connector error (refused, DNS, TLS) ConnectError (ProxyError via proxy)   not sent
server fingerprint mismatch (TLS)   ConnectError                          not sent
invalid or non-http URL             UnsupportedProtocol                   cannot be sent
a header aiohttp will not write     LocalProtocolError                    cannot be sent
read timeout                        ReadTimeout                           ambiguous
no body written for the write t/o   WriteTimeout (see below)              ambiguous
server disconnected, bad reply      RemoteProtocolError                   ambiguous
body cut short                      RemoteProtocolError                   ambiguous
connection reset, anything else     ReadError                             ambiguous
==================================  ====================================  ==================

aiohttp has no write timeout: an upload to a server that stopped reading would wait for ever.
A body larger than 64 KiB is handed to it in pieces, and one whose next piece is not taken for
the write timeout fails as httpx.WriteTimeout (within twice that), its connection aborted.

aiohttp's own resend of an idempotent request after a dropped keep-alive connection is turned
off (httpx's transport does not resend either): every send is the runner's, counted and decided
by its retry engine. Cookies are httpx's alone (aiohttp's jar is a dummy), proxies come from the
environment through httpx's mounts as before, and a reply header line may be as long as httpx's
transport allows a whole reply head (100 KiB).
"""

from __future__ import annotations

import asyncio
import contextlib
import ssl
from collections.abc import AsyncIterable, AsyncIterator, Awaitable
from typing import Any, TypeVar

import aiohttp
import httpx
import httpx_aiohttp

__all__ = ["AiohttpTransport", "as_httpx_error", "http_client"]

T = TypeVar("T")

_LIMITS = httpx.Limits(max_connections=100, max_keepalive_connections=20)  # httpx's
_PIECE = 64 * 1024  # a body larger than this goes out in pieces of this size
_MAX_LINE = 100 * 1024  # httpx (httpcore) refuses a reply head over 100 KiB; aiohttp a line

# Most specific first: the first class an error is an instance of decides.
_MAP: tuple[tuple[type[BaseException], type[httpx.TransportError]], ...] = (
    (aiohttp.ConnectionTimeoutError, httpx.ConnectTimeout),
    (aiohttp.ServerTimeoutError, httpx.ReadTimeout),
    (aiohttp.ClientProxyConnectionError, httpx.ProxyError),
    (aiohttp.ClientHttpProxyError, httpx.ProxyError),
    (aiohttp.ClientConnectorError, httpx.ConnectError),
    (aiohttp.ServerFingerprintMismatch, httpx.ConnectError),
    (aiohttp.NonHttpUrlClientError, httpx.UnsupportedProtocol),
    (aiohttp.InvalidURL, httpx.UnsupportedProtocol),
    (aiohttp.ServerDisconnectedError, httpx.RemoteProtocolError),
    (aiohttp.ClientPayloadError, httpx.RemoteProtocolError),
    (aiohttp.ClientResponseError, httpx.RemoteProtocolError),
    (asyncio.TimeoutError, httpx.ReadTimeout),
    (ValueError, httpx.LocalProtocolError),  # a header aiohttp will not write (h11 neither)
)


def as_httpx_error(exc: BaseException) -> Exception:
    """The httpx error httpx's own transport raises for what ``exc`` (an aiohttp error, or
    httpx-aiohttp's mapping of one) says happened; an error of neither kind is returned as is."""
    original = exc.__cause__ if isinstance(exc, httpx.HTTPError) else exc
    if not isinstance(original, aiohttp.ClientError | asyncio.TimeoutError | ValueError):
        return exc if isinstance(exc, Exception) else RuntimeError(str(exc))
    # Unknown: a connection error after the send began, ambiguous.
    target = next((t for s, t in _MAP if isinstance(original, s)), httpx.ReadError)
    if isinstance(original, aiohttp.ClientResponseError):  # "400, message=..., url=..."
        message = original.message.strip().split("\n", 1)[0].rstrip(":")
    else:
        message = str(original)
    message = message or type(original).__name__
    return target(message)


class _Stream(httpx.AsyncByteStream):
    """A reply's body, its read errors mapped as :func:`as_httpx_error` says."""

    def __init__(self, inner: httpx.AsyncByteStream) -> None:
        self._inner = inner

    async def __aiter__(self) -> AsyncIterator[bytes]:
        try:
            async for chunk in self._inner:
                yield chunk
        except (httpx.HTTPError, aiohttp.ClientError, asyncio.TimeoutError) as exc:
            raise as_httpx_error(exc) from exc

    async def aclose(self) -> None:
        try:
            await self._inner.aclose()
        except (httpx.HTTPError, aiohttp.ClientError, asyncio.TimeoutError) as exc:
            raise as_httpx_error(exc) from exc


class _Connector(aiohttp.TCPConnector):
    """aiohttp's connector, which can abort the connections it is closing: aiohttp closes a
    connection whose request was cancelled gracefully, and one whose peer stopped reading then
    stays open for ever, its unsent body queued."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._made: list[asyncio.WriteTransport] = []  # open, or closing with bytes unsent

    async def _create_connection(self, req: Any, traces: Any, timeout: Any) -> Any:
        protocol = await super()._create_connection(req, traces, timeout)
        self._made = [t for t in self._made if not t.is_closing() or t.get_write_buffer_size()]
        if protocol.transport is not None:
            self._made.append(protocol.transport)
        return protocol

    def abort_closing(self) -> None:
        """Drop the unsent bytes of every connection being closed, and close it now."""
        for transport in self._made:
            if transport.is_closing():
                transport.abort()


class AiohttpTransport(httpx_aiohttp.AiohttpTransport):
    """httpx-aiohttp's transport with httpx's error meanings and no resend of its own."""

    def get_client(self) -> aiohttp.ClientSession:
        limit = self.limits.max_connections
        connector = _Connector(
            limit=limit or 0,
            keepalive_timeout=self.limits.keepalive_expiry or 0,
            ssl=self.ssl_context,
        )
        session = aiohttp.ClientSession(
            connector=connector,
            cookie_jar=aiohttp.DummyCookieJar(),
            max_line_size=_MAX_LINE,
            max_field_size=_MAX_LINE,
        )
        # aiohttp sends a GET or PUT again by itself when a kept-alive connection drops; httpx
        # does not, and the runner's retry engine counts and decides every send. aiohttp's own
        # test client turns it off the same way.
        session._retry_connection = False
        return session

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if not isinstance(self.client, aiohttp.ClientSession):
            self.client = self.get_client()
        timeout = request.extensions.get("timeout", {})
        proxy = self.proxy
        body = _body(request)
        call = self.client.request(
            request.method,
            str(request.url),
            headers=request.headers,
            data=body,
            allow_redirects=False,  # the runner follows a download's redirects itself
            auto_decompress=False,  # httpx decodes, as it does over its own transport
            timeout=aiohttp.ClientTimeout(
                sock_connect=timeout.get("connect"),
                sock_read=timeout.get("read"),
                connect=timeout.get("pool"),
            ),
            server_hostname=request.extensions.get("sni_hostname"),
            proxy=str(proxy.url) if proxy else None,
            proxy_auth=aiohttp.BasicAuth(*proxy.auth) if proxy and proxy.auth else None,
            proxy_headers=proxy.headers if proxy else None,
        )
        try:
            if isinstance(body, _Upload) and timeout.get("write") is not None:
                try:
                    response = await body.within(call.__aenter__(), float(timeout["write"]))
                except httpx.WriteTimeout:
                    connector = self.client.connector
                    if isinstance(connector, _Connector):
                        connector.abort_closing()
                    raise
            else:
                response = await call.__aenter__()
        except (aiohttp.ClientError, asyncio.TimeoutError, ValueError) as exc:
            raise as_httpx_error(exc) from exc
        return httpx.Response(
            status_code=response.status,
            headers=response.raw_headers,
            stream=_Stream(httpx_aiohttp.transport.AiohttpResponseStream(response)),
            request=request,
            extensions={"http_version": b"HTTP/1.1"},
        )


def _body(request: httpx.Request) -> bytes | _Upload | None:
    """The request's body as aiohttp takes it; one larger than a socket's buffer, or streamed
    (a multipart upload), in pieces."""
    try:
        content = request.content
    except httpx.RequestNotRead:
        request.headers.pop("transfer-encoding", None)  # aiohttp chunks the stream itself
        assert isinstance(request.stream, httpx.AsyncByteStream)
        return _Upload(request.stream)
    if not content:
        return None
    return _Upload(_pieces(memoryview(content))) if len(content) > _PIECE else content


async def _pieces(content: memoryview) -> AsyncIterator[memoryview]:
    for start in range(0, len(content), _PIECE):
        yield content[start : start + _PIECE]


class _Upload:
    """A body handed to aiohttp a piece at a time, so that a write that makes no progress for
    the write timeout fails as ``httpx.WriteTimeout`` does over httpx's own transport (aiohttp
    has no write timeout: an upload to a server that stopped reading would wait for ever). A
    large body also goes out without aiohttp's warning about raw bytes."""

    def __init__(self, pieces: AsyncIterable[bytes | memoryview]) -> None:
        self._pieces = pieces
        self.pieces = 0  # taken by aiohttp so far: each after the one before was written
        self.finished = False

    async def __aiter__(self) -> AsyncIterator[bytes | memoryview]:
        async for piece in self._pieces:
            self.pieces += 1
            yield piece
        self.finished = True

    async def within(self, sending: Awaitable[T], write_timeout: float) -> T:
        """``sending``'s result; httpx.WriteTimeout when no piece is written for that long
        (checked once per ``write_timeout``: a stalled write fails within twice that)."""
        task = asyncio.ensure_future(sending)
        try:
            while not self.finished:
                before = self.pieces
                done, _ = await asyncio.wait({task}, timeout=write_timeout)
                if done:
                    break
                # Before the first piece the connection is still being made (its own timeouts).
                if self.pieces == before > 0 and not self.finished:
                    raise httpx.WriteTimeout(
                        f"no part of the body could be written for {write_timeout:g} s"
                    )
            return await task
        finally:
            if not task.done():
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task


class _Cookies(httpx.Cookies):
    """httpx's cookie jar, which reads a reply for cookies only when it sets one: httpx wraps
    every reply in urllib's request and response classes to look (a tenth of the runner's time
    per request over aiohttp), and a reply without ``Set-Cookie`` sets none."""

    def extract_cookies(self, response: httpx.Response) -> None:
        if "set-cookie" in response.headers:
            super().extract_cookies(response)


class _Client(httpx.AsyncClient):
    """httpx's client whose transports (direct, and one per proxy from the environment) are
    :class:`AiohttpTransport`; HTTP/1.1 only, as the runner always sent."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._cookies = _Cookies(self._cookies)

    def _init_transport(
        self,
        verify: ssl.SSLContext | str | bool = True,
        cert: Any = None,
        trust_env: bool = True,
        http1: bool = True,
        http2: bool = False,
        limits: httpx.Limits = _LIMITS,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> httpx.AsyncBaseTransport:
        if transport is not None:
            return transport
        return AiohttpTransport(verify=verify, cert=cert, trust_env=trust_env, limits=limits)

    def _init_proxy_transport(
        self,
        proxy: httpx.Proxy,
        verify: ssl.SSLContext | str | bool = True,
        cert: Any = None,
        trust_env: bool = True,
        http1: bool = True,
        http2: bool = False,
        limits: httpx.Limits = _LIMITS,
    ) -> httpx.AsyncBaseTransport:
        return AiohttpTransport(
            verify=verify, cert=cert, trust_env=trust_env, limits=limits, proxy=proxy
        )


def http_client(
    *,
    limits: httpx.Limits | None = None,
    transport: httpx.AsyncBaseTransport | None = None,
) -> httpx.AsyncClient:
    """The client ``lipflow run`` sends over: aiohttp's pool under httpx's client, or
    ``transport`` when one is given (a test's in-process mock)."""
    return _Client(transport=transport, limits=limits or _LIMITS)

"""The HTTP layer ``lipflow run`` sends over: aiohttp's connection pool, reached directly.

httpx's own pool checks every pooled socket before each request, which is half the runner's CPU
at high concurrency; aiohttp's pool reuses a connection for a fraction of that, and httpx's
client, request and stream machinery on top of it still cost the runner three times a plain
aiohttp client's CPU per job. So the runner sends through a :class:`Sender`, chosen at the edge:

- :class:`AiohttpSender` (``lipflow run``, :func:`~lipflow.run.runner.execute`): the providers'
  ``httpx.Request`` sent by aiohttp directly, the reply read in one call within its cap and
  handed back as an ``httpx.Response``, a download streamed straight to its file;
- :class:`HttpxSender`: an ``httpx.AsyncClient`` a caller injects (a test's in-process mock
  transport, ``httpx.MockTransport``), or the one :func:`http_client` builds, with httpx's
  client over :class:`AiohttpTransport`, when the environment names a proxy (httpx's proxy
  rules, mounts and all, stay httpx's).

What must not change is what a failure means (:func:`lipflow.providers._http.classify_transport`):
a naive mapping (httpx-aiohttp's, which lipflow used before) takes every aiohttp connection
error, a server that closed the connection after the request went out included, for
``httpx.ConnectTimeout``: "not sent", so a submit would be sent again and paid twice. Both ways
over aiohttp here map aiohttp's errors as httpx's own transport raises them
(:func:`as_httpx_error`), and anything unknown as ambiguous:

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
by its retry engine. Cookies are kept once: by httpx's jar under httpx's client, by an aiohttp
jar that, as httpx's, keeps an IP address's cookies too on its own. A reply header line may be
as long as httpx's transport allows a whole reply head (100 KiB). A compressed reply is decoded
by httpx, as before, and a download by aiohttp (the same codings, advertised by aiohttp).
"""

from __future__ import annotations

import asyncio
import contextlib
import ssl
import urllib.request
from collections.abc import AsyncIterable, AsyncIterator, Awaitable, Mapping, Sequence
from types import TracebackType
from typing import Any, TypeVar

import aiohttp
import httpx

from lipflow.providers._http import (
    MAX_REPLY_BYTES,
    classify_transport,
    read_bounded,
)
from lipflow.run.sender import Reply

__all__ = [
    "AiohttpSender",
    "AiohttpTransport",
    "as_httpx_error",
    "http_client",
    "run_sender",
    "whole_reply",
]

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
    """The httpx error httpx's own transport raises for what ``exc`` (an aiohttp error, or an
    httpx error caused by one) says happened; an error of neither kind is returned as is."""
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
    """A reply's body read from aiohttp, its read errors mapped as :func:`as_httpx_error` says."""

    def __init__(self, response: aiohttp.ClientResponse) -> None:
        self._response = response

    async def __aiter__(self) -> AsyncIterator[bytes]:
        try:
            async for chunk in self._response.content.iter_any():
                yield chunk
        except (aiohttp.ClientError, asyncio.TimeoutError) as exc:
            raise as_httpx_error(exc) from exc

    async def aclose(self) -> None:
        try:
            await _done(self._response)
        except (aiohttp.ClientError, asyncio.TimeoutError) as exc:
            raise as_httpx_error(exc) from exc


async def _done(response: aiohttp.ClientResponse) -> None:
    """A reply finished with, as leaving aiohttp's ``async with`` does: its connection back to
    the pool (or closed, the body left unread), once the request's body is written or dropped."""
    response.release()
    await response.wait_for_close()


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


def _session(
    limits: httpx.Limits, ssl_context: ssl.SSLContext, cookies: aiohttp.abc.AbstractCookieJar
) -> aiohttp.ClientSession:
    """An aiohttp session with httpx's pool limits and reply-head bound, and no resend."""
    connector = _Connector(
        limit=limits.max_connections or 0,
        keepalive_timeout=limits.keepalive_expiry or 0,
        ssl=ssl_context,
    )
    session = aiohttp.ClientSession(
        connector=connector,
        cookie_jar=cookies,
        max_line_size=_MAX_LINE,
        max_field_size=_MAX_LINE,
    )
    # aiohttp sends a GET or PUT again by itself when a kept-alive connection drops; httpx
    # does not, and the runner's retry engine counts and decides every send. aiohttp's own
    # test client turns it off the same way.
    session._retry_connection = False
    return session


_TIMEOUTS: dict[tuple[float | None, ...], aiohttp.ClientTimeout] = {}


def _timeout(timeout: Mapping[str, float | None]) -> aiohttp.ClientTimeout:
    """httpx's timeouts (``Timeout.as_dict()``) as aiohttp's: made once per distinct value."""
    key = (timeout.get("connect"), timeout.get("read"), timeout.get("pool"))
    made = _TIMEOUTS.get(key)
    if made is None:
        made = _TIMEOUTS[key] = aiohttp.ClientTimeout(
            sock_connect=key[0], sock_read=key[1], connect=key[2]
        )
    return made


async def _open(
    session: aiohttp.ClientSession,
    method: str,
    url: str,
    *,
    headers: Any,
    body: bytes | _Upload | None,
    timeout: Mapping[str, float | None],
    decompress: bool,
    **extra: Any,
) -> aiohttp.ClientResponse:
    """Send one request and read the reply's head; aiohttp's errors raised as httpx's."""
    call = session.request(
        method,
        url,
        headers=headers,
        data=body,
        allow_redirects=False,  # the runner follows a download's redirects itself
        auto_decompress=decompress,
        timeout=_timeout(timeout),
        **extra,
    )
    try:
        write = timeout.get("write")
        if isinstance(body, _Upload) and write is not None:
            try:
                return await body.within(call, float(write))
            except httpx.WriteTimeout:
                connector = session.connector
                if isinstance(connector, _Connector):
                    connector.abort_closing()
                raise
        return await call
    except (aiohttp.ClientError, asyncio.TimeoutError, ValueError) as exc:
        raise as_httpx_error(exc) from exc


async def _open_request(
    session: aiohttp.ClientSession, request: httpx.Request, **extra: Any
) -> aiohttp.ClientResponse:
    """:func:`_open` for a provider client's request: its reply left encoded, for httpx decodes
    it, as over its own transport."""
    return await _open(
        session,
        request.method,
        str(request.url),
        headers=request.headers,
        body=_body(request),
        timeout=request.extensions.get("timeout", {}),
        decompress=False,
        **extra,
    )


class AiohttpTransport(httpx.AsyncBaseTransport):
    """httpx's transport interface on aiohttp's pool (under httpx's client, which keeps the
    cookies), with httpx's error meanings and no resend of its own."""

    def __init__(
        self,
        *,
        verify: ssl.SSLContext | str | bool = True,
        cert: Any = None,
        trust_env: bool = True,
        limits: httpx.Limits = _LIMITS,
        proxy: httpx.Proxy | None = None,
    ) -> None:
        self.ssl_context = httpx.create_ssl_context(verify=verify, cert=cert, trust_env=trust_env)
        self.limits = limits
        self.proxy = proxy
        self.client: aiohttp.ClientSession | None = None

    async def aclose(self) -> None:
        if self.client is not None:
            await self.client.close()

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if self.client is None:
            self.client = _session(self.limits, self.ssl_context, aiohttp.DummyCookieJar())
        proxy = self.proxy
        response = await _open_request(
            self.client,
            request,
            server_hostname=request.extensions.get("sni_hostname"),
            proxy=str(proxy.url) if proxy else None,
            proxy_auth=aiohttp.BasicAuth(*proxy.auth) if proxy and proxy.auth else None,
            proxy_headers=proxy.headers if proxy else None,
        )
        return _streamed(response, request)


def whole_reply(
    status: int, headers: Sequence[tuple[bytes, bytes]], body: bytes, request: httpx.Request
) -> httpx.Response:
    """A reply read whole, as ``httpx.Response(content=body)`` holds it, without passing the body
    through httpx's stream and decoder once more (nine tenths of building it)."""
    response = httpx.Response(
        status, headers=headers, stream=httpx.ByteStream(body), request=request
    )
    response._content = body  # what Response.read() keeps
    response.is_stream_consumed = response.is_closed = True
    return response


def _streamed(response: aiohttp.ClientResponse, request: httpx.Request) -> httpx.Response:
    """aiohttp's reply as httpx's, its body still to be read."""
    extensions = {"http_version": b"HTTP/1.1"}
    if response.reason:
        extensions["reason_phrase"] = response.reason.encode()
    return httpx.Response(
        status_code=response.status,
        headers=response.raw_headers,
        stream=_Stream(response),
        request=request,
        extensions=extensions,
    )


# -- what the runner sends through -------------------------------------------------------------


class _AiohttpReply:
    __slots__ = ("_response",)

    def __init__(self, response: aiohttp.ClientResponse) -> None:
        self._response = response

    @property
    def status_code(self) -> int:
        return self._response.status

    @property
    def headers(self) -> Mapping[str, str]:
        return self._response.headers

    def chunks(self) -> AsyncIterator[bytes]:
        return _Stream(self._response).__aiter__()


class AiohttpSender:
    """Sends with aiohttp directly: no httpx client, transport or stream between the runner
    and aiohttp's pool. TLS as httpx verifies it (its certificates and ``SSL_CERT_*``)."""

    def __init__(self, limits: httpx.Limits = _LIMITS) -> None:
        self._limits = limits
        self._ssl = httpx.create_ssl_context()
        self._session: aiohttp.ClientSession | None = None

    @property
    def session(self) -> aiohttp.ClientSession:
        """One session (its pool and cookie jar) for the sender's life, made in its loop."""
        if self._session is None:
            self._session = _session(self._limits, self._ssl, aiohttp.CookieJar(unsafe=True))
        return self._session

    async def send(
        self, request: httpx.Request, provider: str, *, max_bytes: int = MAX_REPLY_BYTES
    ) -> httpx.Response:
        try:
            response = await _open_request(self.session, request)
        except httpx.HTTPError as exc:
            raise classify_transport(exc, provider) from exc
        headers = response.headers
        announced = headers.get("Content-Length", "")
        if not announced.isdigit() or int(announced) > max_bytes or "Content-Encoding" in headers:
            # Rare: a reply chunked, compressed or over the cap is read (or refused) within the
            # cap by httpx's reading of it, as over httpx's client.
            return await read_bounded(_streamed(response, request), provider, max_bytes=max_bytes)
        try:
            try:
                body = await response.read()  # aiohttp refuses a body longer than announced
            finally:
                await _done(response)
        except (aiohttp.ClientError, asyncio.TimeoutError) as exc:
            raise classify_transport(as_httpx_error(exc), provider) from exc
        return whole_reply(response.status, response.raw_headers, body, request)

    @contextlib.asynccontextmanager
    async def stream(self, url: httpx.URL, timeout: httpx.Timeout) -> AsyncIterator[Reply]:
        response = await _open(
            self.session,
            "GET",
            str(url),
            headers=None,
            body=None,
            timeout=timeout.as_dict(),
            decompress=True,  # as httpx's aiter_bytes decodes a download
        )
        try:
            yield _AiohttpReply(response)
        finally:
            await _done(response)

    async def aclose(self) -> None:
        if self._session is not None:
            await self._session.close()

    async def __aenter__(self) -> AiohttpSender:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.aclose()


@contextlib.asynccontextmanager
async def run_sender(
    *,
    limits: httpx.Limits | None = None,
    transport: httpx.AsyncBaseTransport | None = None,
) -> AsyncIterator[httpx.AsyncClient | AiohttpSender]:
    """What :func:`~lipflow.run.runner.execute` sends through: aiohttp directly, or httpx's
    client when a transport is given (a test's in-process mock) or the environment names a
    proxy (httpx's rules decide which requests go through it, as before)."""
    limits = limits or _LIMITS
    if transport is not None or _proxied():
        async with http_client(transport=transport, limits=limits) as client:
            yield client
    else:
        async with AiohttpSender(limits) as sender:
            yield sender


def _proxied() -> bool:
    """Whether the environment names a proxy httpx would use (``HTTP(S)_PROXY``, ``ALL_PROXY``)."""
    return any(scheme in ("http", "https", "all") for scheme in urllib.request.getproxies())


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

"""HTTP facts every provider client shares: how transport errors and statuses are classified.

A provider's flows (:class:`lipflow.providers.base.Flow`) turn replies into results or errors.
Failures are classified where they are understood, into the classes the runner acts on
(:mod:`lipflow.errors`)::

    not sent       ProviderUnavailable  connection refused, DNS, pool timeout: send again
    rejected       ProviderRejected     validation, auth, unknown id (4xx, error codes): do not retry
    capacity       ProviderCapacity     429, a capacity error code: nothing was created; retry later
    ambiguous      ProviderAmbiguous    timeout or dropped connection after sending, 5xx, a reply
                                        that is not JSON: a job may exist; never re-send blindly
    job failed     JobFailed            moderation or generation failure reported by a poll
    unreadable     ReplyUnreadable      a reply over lipflow's bounds (size, JSON depth, number
                                        length): ambiguous, and not asked again

Every reply is read within bounds (:func:`send_bounded`, :func:`reply_json`), and every URL a
provider hands back is checked before it is fetched (:class:`UrlRule`).
"""

from __future__ import annotations

import asyncio
import email.utils
import ipaddress
import json
import socket
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol

import httpx

from lipflow.errors import (
    ProviderAmbiguous,
    ProviderCapacity,
    ProviderError,
    ProviderRejected,
    ProviderUnavailable,
    ReplyUnreadable,
)

__all__ = [
    "MAX_NUMBER_DIGITS",
    "MAX_REPLY_BYTES",
    "Answer",
    "UrlRule",
    "classify_status",
    "classify_transport",
    "read_bounded",
    "reply_json",
    "retry_after",
    "send_bounded",
]

MAX_REPLY_BYTES = 16 * 1024 * 1024  # an API reply (not an output) larger than this is refused
MAX_NUMBER_DIGITS = 100  # no provider sends an id, count or price this long

# Errors raised before a byte of the request left: sending again cannot create a second job.
_NOT_SENT: tuple[type[Exception], ...] = (
    httpx.ConnectError,
    httpx.ConnectTimeout,
    httpx.PoolTimeout,
    httpx.ProxyError,
)
# Errors that mean the request can never be sent as built: a bug or a bad URL, not a provider fault.
_NEVER_SENDABLE: tuple[type[Exception], ...] = (
    httpx.UnsupportedProtocol,
    httpx.LocalProtocolError,
    httpx.InvalidURL,
)


def classify_transport(exc: Exception, provider: str) -> ProviderError:
    """An httpx error as a lipflow error: was the request possibly received, and may it be re-sent?"""
    name = type(exc).__name__
    detail = str(exc) or name
    if isinstance(exc, _NOT_SENT):
        return ProviderUnavailable(f"request not sent: {detail}", provider=provider, code=name)
    if isinstance(exc, _NEVER_SENDABLE):
        return ProviderRejected(f"request cannot be sent: {detail}", provider=provider, code=name)
    return ProviderAmbiguous(
        f"no usable reply after the request went out: {detail}", provider=provider, code=name
    )


class Answer(Protocol):
    """What classifying a reply by its status reads: an ``httpx.Response``, or a download's
    reply over lipflow's direct HTTP layer (:mod:`lipflow.run.transport`)."""

    @property
    def status_code(self) -> int: ...

    @property
    def headers(self) -> Mapping[str, str]: ...


def retry_after(response: Answer) -> float | None:
    """Seconds from a ``Retry-After`` header (delta seconds or an HTTP date), or None."""
    value = response.headers.get("retry-after")
    if not value:
        return None
    value = value.strip()
    if value.isascii() and value.isdigit():  # "²".isdigit() too, which float() refuses
        return float(value[:12])  # a longer number is capped by the retry engine anyway
    try:
        when = email.utils.parsedate_to_datetime(value)
        return max(0.0, when.timestamp() - time.time())
    except (TypeError, ValueError, OverflowError, IndexError):
        return None  # not a value the header may hold: no advice, the engine's own backoff


def classify_status(
    response: Answer, provider: str, message: str, *, code: str | None = None
) -> ProviderError | None:
    """The error an HTTP status means on its own (429, 5xx, other 4xx), or None for 2xx/3xx."""
    status = response.status_code
    if status == 429:
        return ProviderCapacity(
            message or "rate limited",
            provider=provider,
            status=status,
            code=code,
            retry_after=retry_after(response),
        )
    if status >= 500:
        return ProviderAmbiguous(
            message or "server error",
            provider=provider,
            status=status,
            code=code,
            retry_after=retry_after(response),  # a 503 may say when to come back
        )
    if status >= 400:
        return ProviderRejected(
            message or "request refused", provider=provider, status=status, code=code
        )
    return None


def _bounded_int(text: str) -> int:
    if len(text.lstrip("-")) > MAX_NUMBER_DIGITS:
        raise _TooLong(len(text.lstrip("-")))
    return int(text)


class _TooLong(ValueError):
    def __init__(self, digits: int) -> None:
        super().__init__(digits)
        self.digits = digits


_REPLY = json.JSONDecoder(parse_int=_bounded_int)  # what json.loads makes anew for every call


def reply_json(response: httpx.Response, provider: str) -> Any:
    """The reply's JSON document; a reply that is not JSON is ambiguous (it was handled, or not).

    A document nested deeper than Python's recursion limit or holding an integer longer than
    :data:`MAX_NUMBER_DIGITS` digits is :class:`ReplyUnreadable`, said in one sentence.
    """
    content = response.content
    try:  # json.loads of bytes, with one decoder for every reply rather than one made per reply
        return _REPLY.decode(content.decode(json.detect_encoding(content), "surrogatepass"))
    except _TooLong as exc:
        raise ReplyUnreadable(
            f"the reply holds a {exc.digits:,}-digit number; lipflow reads numbers of up to "
            f"{MAX_NUMBER_DIGITS} digits, so the reply was not used",
            provider=provider,
            status=response.status_code,
        ) from None
    except RecursionError:
        raise ReplyUnreadable(
            "the reply's JSON is nested too deeply to read (over about "
            f"{sys.getrecursionlimit():,} levels), so it was not used",
            provider=provider,
            status=response.status_code,
        ) from None
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        bad = classify_status(response, provider, "")
        if bad is not None and not isinstance(bad, ProviderAmbiguous):
            raise bad from None
        raise ProviderAmbiguous(
            f"the reply is not valid JSON ({exc.__class__.__name__}: {exc})",
            provider=provider,
            status=response.status_code,
        ) from None


async def send_bounded(
    client: httpx.AsyncClient,
    request: httpx.Request,
    provider: str,
    *,
    max_bytes: int = MAX_REPLY_BYTES,
) -> httpx.Response:
    """Send ``request`` and read its reply, refusing it as soon as it passes ``max_bytes``
    (announced or received): a 400 MB poll reply costs one chunk of memory, not 400 MB."""
    try:
        response = await client.send(request, stream=True)
    except httpx.HTTPError as exc:
        raise classify_transport(exc, provider) from exc
    return await read_bounded(response, provider, max_bytes=max_bytes)


async def read_bounded(
    response: httpx.Response, provider: str, *, max_bytes: int = MAX_REPLY_BYTES
) -> httpx.Response:
    """A streamed reply read whole within ``max_bytes`` (see :func:`send_bounded`), closed."""
    try:
        try:
            announced = response.headers.get("content-length", "")
            if announced.isdigit() and int(announced) > max_bytes:
                raise _too_large(provider, response.status_code, max_bytes, int(announced))
            if announced.isdigit() and "content-encoding" not in response.headers:
                # The usual reply: its length is known, within the cap, and the HTTP layer
                # refuses a body longer than announced.
                await response.aread()
                return response
            body = bytearray()
            async for chunk in response.aiter_bytes():
                body += chunk
                if len(body) > max_bytes:
                    raise _too_large(provider, response.status_code, max_bytes, None)
        finally:
            await response.aclose()
    except httpx.HTTPError as exc:
        raise classify_transport(exc, provider) from exc
    headers = [
        (k, v)
        for k, v in response.headers.multi_items()
        if k.lower() not in ("content-encoding", "content-length", "transfer-encoding")
    ]
    return httpx.Response(
        response.status_code,
        headers=headers,
        content=bytes(body),
        request=response.request,
    )


def _too_large(provider: str, status: int, limit: int, announced: int | None) -> ReplyUnreadable:
    size = f"{announced:,} bytes" if announced is not None else f"more than {limit:,} bytes"
    return ReplyUnreadable(
        f"the reply is {size}; lipflow reads API replies of up to {limit:,} bytes, "
        "so it was refused",
        provider=provider,
        status=status,
    )


@dataclass(frozen=True, slots=True)
class UrlRule:
    """Which URLs a provider may hand lipflow to fetch or upload to, and with which headers.

    Only http(s); never a loopback, private, link-local or reserved address unless the API's own
    base URL is local (the mock, or a provider run on the user's network); and credentials go
    only to the API's own host. Redirects are followed hop by hop under the same rule.
    """

    api_host: str
    local_allowed: bool

    @classmethod
    def for_base_url(cls, base_url: str) -> UrlRule:
        host = httpx.URL(base_url).host
        return cls(api_host=host.lower(), local_allowed=_is_local_name(host))

    def same_host(self, url: httpx.URL) -> bool:
        return url.host.lower() == self.api_host

    async def check(self, url: httpx.URL, provider: str, what: str) -> str | None:
        """Why ``url`` may not be fetched (a sentence), or None when it may."""
        if url.scheme not in ("http", "https"):
            return f"{what} {_shown(url)} is not an http(s) URL"
        if self.local_allowed or self.same_host(url):
            return None
        host = url.host
        if _is_local_name(host):
            return (
                f"{what} {_shown(url)} points at a local or private address, and "
                f"{provider}'s API ({self.api_host}) is not local"
            )
        for address in await _addresses(host):
            if _is_private(address):
                return (
                    f"{what} {_shown(url)} resolves to the private address {address}, and "
                    f"{provider}'s API ({self.api_host}) is not local"
                )
        return None


def _shown(url: httpx.URL) -> str:
    """A URL as a message shows it: no query (signed URLs carry tokens), no user info."""
    return str(url.copy_with(query=None, fragment=None, username=None, password=None))


def _is_private(address: str) -> bool:
    try:
        ip = ipaddress.ip_address(address.split("%", 1)[0])
    except ValueError:
        return False
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return not ip.is_global or ip.is_multicast


def _is_local_name(host: str) -> bool:
    host = host.lower().rstrip(".")
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        ipaddress.ip_address(host.strip("[]").split("%", 1)[0])
    except ValueError:
        return False
    return _is_private(host.strip("[]"))


async def _addresses(host: str) -> list[str]:
    """The addresses ``host`` resolves to; none when it does not resolve (the fetch then fails
    as it would anyway, or goes through the user's proxy)."""
    try:
        infos = await asyncio.wait_for(
            asyncio.get_running_loop().getaddrinfo(host, None, type=socket.SOCK_STREAM), 10
        )
    except (OSError, asyncio.TimeoutError, UnicodeError):
        return []
    return [str(info[4][0]) for info in infos]

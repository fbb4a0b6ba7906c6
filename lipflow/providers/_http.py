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
"""

from __future__ import annotations

import email.utils
import json
import time
from typing import Any

import httpx

from lipflow.errors import (
    ProviderAmbiguous,
    ProviderCapacity,
    ProviderError,
    ProviderRejected,
    ProviderUnavailable,
)

__all__ = [
    "classify_status",
    "classify_transport",
    "reply_json",
    "retry_after",
]

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


def retry_after(response: httpx.Response) -> float | None:
    """Seconds from a ``Retry-After`` header (delta seconds or an HTTP date), or None."""
    value = response.headers.get("retry-after")
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


def classify_status(
    response: httpx.Response, provider: str, message: str, *, code: str | None = None
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
            message or "server error", provider=provider, status=status, code=code
        )
    if status >= 400:
        return ProviderRejected(
            message or "request refused", provider=provider, status=status, code=code
        )
    return None


def reply_json(response: httpx.Response, provider: str) -> Any:
    """The reply's JSON document; a reply that is not JSON is ambiguous (it was handled, or not)."""
    try:
        return json.loads(response.content)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        bad = classify_status(response, provider, "")
        if bad is not None and not isinstance(bad, ProviderAmbiguous):
            raise bad from None
        raise ProviderAmbiguous(
            f"the reply is not valid JSON ({exc.__class__.__name__}: {exc})",
            provider=provider,
            status=response.status_code,
        ) from None

"""The one redaction scheme: what a secret looks like, and how text and documents lose them.

Keys must never be printed, logged, journaled or saved. Three places keep text: a plan shows its
requests with the key as :data:`REDACTED`; a run scrubs the keys it holds out of every message it
keeps (:class:`Secrets`); the mock's request journal replaces credential headers and key-like
fields (:func:`redact_headers`, :func:`redact_value`). All three use this module.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

__all__ = ["REDACTED", "Secrets", "redact_headers", "redact_value"]

REDACTED = "***"
SECRET_HEADERS = frozenset(
    {"authorization", "api-key", "x-api-key", "cookie", "proxy-authorization"}
)
SECRET_KEYS = frozenset({"apikey", "api_key", "key", "token", "access_token", "authorization"})
_MAX_STRING = 512


class Secrets:
    """The API keys of a run, and the one place text is scrubbed of them before it is kept."""

    def __init__(self, keys: Mapping[str, str]) -> None:
        self._keys = dict(keys)
        self._values = sorted({v for v in keys.values() if v}, key=len, reverse=True)

    def key(self, provider: str) -> str:
        return self._keys[provider]

    def scrub(self, text: str) -> str:
        for value in self._values:
            text = text.replace(value, REDACTED)
        return text


def redact_headers(headers: Mapping[str, str]) -> dict[str, str]:
    """Headers with credentials replaced; an auth scheme (``Bearer``) is kept, the key is not."""
    out = {}
    for name, value in headers.items():
        if name.lower() in SECRET_HEADERS:
            scheme = value.split(" ", 1)[0] if " " in value else ""
            out[name] = f"{scheme} {REDACTED}" if scheme else REDACTED
        else:
            out[name] = value
    return out


def redact_value(value: Any) -> Any:
    """A JSON value with secrets replaced and long strings (base64, data URIs) summarized."""
    if isinstance(value, Mapping):
        return {
            k: REDACTED if str(k).lower() in SECRET_KEYS else redact_value(v)
            for k, v in value.items()
        }
    if isinstance(value, list):
        return [redact_value(v) for v in value]
    if isinstance(value, str) and len(value) > _MAX_STRING:
        return f"{value[:64]}...<{len(value)} characters>"
    return value

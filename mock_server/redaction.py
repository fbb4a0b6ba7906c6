"""What the mock keeps of a request, without its secrets, whatever their encoding.

:mod:`lipflow.secrets` replaces credential headers and key-like JSON fields. A client can also
put its key in a query parameter (``?api_key=``), a form or text body (``apiKey=...``), under a
spelling of its own (``API-KEY``, ``x_api_key``), percent-encoded (``api%5Fkey``) or
JSON-escaped (``"api\\u004bey"``), and the same key can turn up again elsewhere in the request.
So: every credential the request names is learnt (with the mock's own ``api_key``), its field
replaced, then every learnt value is scrubbed from everything kept, in each encoding; a text body
that still assigns a key-like name after that is kept only as its size.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from functools import lru_cache
from typing import Any
from urllib.parse import quote, quote_plus, unquote_plus

from lipflow.secrets import REDACTED, SECRET_HEADERS, SECRET_KEYS, redact_value

__all__ = ["Scrubber"]

_NAMES = frozenset(re.sub(r"[^a-z0-9]", "", n) for n in (*SECRET_KEYS, *SECRET_HEADERS))
_SUFFIXES = ("apikey", "token", "secret", "password")
_MIN_SECRET = 6  # shorter values (test keys like "k") are not scrubbed from free text
# name = value, name: value, "name": "value", in text that may be percent- or JSON-encoded
# (a lookahead, so that overlapping candidates are all seen)
_ASSIGNMENT = re.compile(
    r"""(?=["']?([A-Za-z0-9_.\-]{1,64})["']?[ \t]*[:=][ \t]*["']?([^"'&\s,;}{]+))"""
)
_JSON_ESCAPE = re.compile(r"\\u([0-9a-fA-F]{4})")


def secret_name(name: str) -> bool:
    """Whether a field, parameter or header of this name holds a credential, in any spelling."""
    plain = re.sub(r"[^a-z0-9]", "", _decoded(name).lower())
    return plain in _NAMES or plain.endswith(_SUFFIXES)


def _decoded(text: str) -> str:
    """``text`` with percent-encoding (nested up to three times) and JSON escapes undone."""
    return _decodings(text)[-1]


@lru_cache(maxsize=1024)  # the same keys come back on every request
def _decodings(text: str) -> tuple[str, ...]:
    """``text`` and each stage of undoing its encoding: a key decoded once may hold a "+" or
    a "%" of its own, which the next stage would wrongly decode too."""
    stages = [text]
    for _ in range(3):
        plain = unquote_plus(_JSON_ESCAPE.sub(lambda m: chr(int(m.group(1), 16)), text))
        if plain == text:
            break
        stages.append(plain)
        text = plain
    return tuple(stages)


@lru_cache(maxsize=1024)
def _encodings(value: str) -> frozenset[str]:
    return frozenset(
        {
            value,
            quote(value, safe=""),
            quote_plus(value, safe=""),
            json.dumps(value)[1:-1],
            json.dumps(value, ensure_ascii=False)[1:-1],
            "".join(f"\\u{ord(c):04x}" for c in value),
        }
    )


class Scrubber:
    """Learns the credentials of one request, then removes them from what is kept of it."""

    def __init__(self, known: Iterable[str | None] = ()) -> None:
        self._secrets: set[str] = set()
        self._forms: re.Pattern[str] | None = None  # every encoding of every secret
        for key in known:
            if key:
                self.learn(key)

    @property
    def learnt(self) -> set[str]:
        """Every credential seen in this request (and the ones it was given)."""
        return set(self._secrets)

    def learn(self, value: str) -> None:
        value = value.strip()
        scheme, _, token = value.partition(" ")
        for candidate in (value, token if scheme.lower() in ("bearer", "basic") else ""):
            if candidate and candidate not in self._secrets:
                self._secrets.update(_decodings(candidate))
                self._forms = None

    def headers(self, headers: Mapping[str, str]) -> dict[str, str]:
        out = {}
        for name, value in headers.items():
            if secret_name(name):
                self.learn(value)
                scheme = value.split(" ", 1)[0] if " " in value.strip() else ""
                out[name] = f"{scheme} {REDACTED}" if scheme else REDACTED
            else:
                out[name] = value
        return out

    def fields(self, pairs: Mapping[str, str]) -> dict[str, str]:
        """Query parameters or form fields with every key-like one replaced."""
        out = {}
        for name, value in pairs.items():
            if secret_name(name):
                self.learn(value)
                out[name] = REDACTED
            else:
                out[name] = value
        return out

    def document(self, value: Any) -> Any:
        """A JSON value with key-like fields replaced (any spelling) and long strings summarized."""
        if isinstance(value, Mapping):
            out = {}
            for name, item in value.items():
                if secret_name(str(name)):
                    if isinstance(item, str):
                        self.learn(item)
                    out[name] = REDACTED
                else:
                    out[name] = self.document(item)
            return out
        if isinstance(value, list):
            return [self.document(item) for item in value]
        return redact_value(value)

    def text(self, text: str) -> str | None:
        """A text body with its key assignments learnt and removed; None if one is left."""
        for variant in (text, _decoded(text)):
            for found in _ASSIGNMENT.finditer(variant):
                if secret_name(found.group(1)):
                    self.learn(found.group(2))
        text = self.scrub(text)
        for found in _ASSIGNMENT.finditer(_decoded(text)):
            if secret_name(found.group(1)) and found.group(2) != REDACTED:
                return None
        return text

    def scrub(self, value: Any) -> Any:
        """``value`` with every learnt secret replaced, in each encoding, in every string."""
        if self._forms is None:
            forms = sorted(
                {form for s in self._secrets if len(s) >= _MIN_SECRET for form in _encodings(s)},
                key=len,
                reverse=True,  # longest first: an encoding that contains another goes whole
            )
            self._forms = re.compile("|".join(map(re.escape, forms))) if forms else _NOTHING
        return value if self._forms is _NOTHING else _replace(value, self._forms)


_NOTHING = re.compile(r"(?!)")  # matches nothing: no secret learnt


def _replace(value: Any, forms: re.Pattern[str]) -> Any:
    if isinstance(value, str):
        return forms.sub(REDACTED, value)
    if isinstance(value, Mapping):
        return {_replace(k, forms): _replace(v, forms) for k, v in value.items()}
    if isinstance(value, list):
        return [_replace(v, forms) for v in value]
    return value

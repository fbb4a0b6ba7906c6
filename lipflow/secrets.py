"""The one redaction scheme: what a secret looks like, and how text and documents lose them.

Keys must never be printed, logged, journaled or saved. Three places keep text: a plan shows its
requests with the key as :data:`REDACTED`; a run scrubs the keys it holds out of every message it
keeps (:class:`Secrets`); the mock's request journal replaces credential headers and key-like
fields (:func:`redact_headers`, :func:`redact_value`). All three use this module.
"""

from __future__ import annotations

import base64
import io
import json
import re
import urllib.parse
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Any, TextIO

from lipflow.errors import LipflowError, UsageError

__all__ = [
    "REDACTED",
    "ScrubbedStream",
    "Secrets",
    "encoded_forms",
    "key_problem",
    "redact_headers",
    "redact_text",
    "redact_value",
]

REDACTED = "***"
SECRET_HEADERS = frozenset(
    {"authorization", "api-key", "x-api-key", "cookie", "proxy-authorization"}
)
SECRET_KEYS = frozenset({"apikey", "api_key", "key", "token", "access_token", "authorization"})
_MAX_STRING = 512
_HEAD = 64  # what a summary keeps of a longer string
_SCRUB_SPAN = 4096  # past the head: a secret that starts in the head ends within it
# ``apiKey=...`` in a form body or a query string kept as text.
_KEY_PAIR = re.compile(
    r"(?<![\w-])(" + "|".join(sorted(SECRET_KEYS, key=len, reverse=True)) + r")=([^&\s]+)",
    re.IGNORECASE,
)


_LONGEST_NAME = max(map(len, SECRET_KEYS))

_MIN_FORM = 4  # shorter encoded fragments would redact ordinary text


def _without_key_pairs(text: str) -> str:
    """``text`` with every ``apiKey=...`` pair's value replaced.

    A pair's name ends at an ``=``, so none starts more than the longest name before the first
    ``=``: the search starts there (one character earlier, for the look-behind), not at the
    start of a 40,000-character base64 upload that ends in ``=`` padding (8 ms, most of a mock
    upload's cost, for the same result).
    """
    first = text.find("=")
    if first < 0:
        return text
    start = max(0, first - _LONGEST_NAME - 1)
    # No match can start at ``start`` itself (a name is at most _LONGEST_NAME long), so the
    # look-behind sees the same characters searching from ``start`` as in a slice from there:
    # the text is copied only when there is a pair to replace.
    if _KEY_PAIR.search(text, start) is None:
        return text
    return text[:start] + _KEY_PAIR.sub(lambda m: f"{m[1]}={REDACTED}", text[start:])


def key_problem(key: str) -> str | None:
    """Why ``key`` cannot be an API key (said without showing it), or None when it can.

    Keys are printable ASCII: a line break would split the HTTP header it travels in (and has
    been printed in clear by a scrubber looking only for the raw key), a non-ASCII character
    cannot be sent in a header at all.
    """
    for position, char in enumerate(key, start=1):
        if char in "\r\n":
            return f"it contains a line break (character {position} of {len(key)})"
        if not char.isascii():
            return f"it contains a non-ASCII character (character {position} of {len(key)})"
        if not char.isprintable() or char.isspace():
            what = "a space" if char == " " else "a control character"
            return f"it contains {what} (character {position} of {len(key)})"
    return None


def encoded_forms(key: str) -> Iterator[str]:
    """Every way ``key`` may appear in text lipflow keeps: raw, percent-encoded (path and form
    style), JSON-escaped, Python repr and base64 (at each of the three byte alignments, so the
    key is found inside a longer encoded value such as ``Basic user:key``)."""
    yield key
    yield urllib.parse.quote(key, safe="")
    yield urllib.parse.quote_plus(key)
    yield json.dumps(key)[1:-1]
    yield json.dumps(key, ensure_ascii=False)[1:-1]
    yield repr(key)[1:-1]
    raw = key.encode("utf-8", "surrogatepass")
    for shift in range(3):
        encoded = base64.b64encode(b"\0" * shift + raw).decode("ascii")
        # Drop the characters that mix in the padding bytes or the next (unknown) bytes.
        start = (shift * 8 + 5) // 6 if shift else 0
        end = len(encoded) - (4 if (shift + len(raw)) % 3 else 0)
        inner = encoded[start:end]
        if len(inner) >= _MIN_FORM:
            yield inner
            yield inner.replace("+", "-").replace("/", "_")  # the URL-safe alphabet


def _marked_forms(key: str) -> list[str]:
    """The encoded forms of ``key`` :meth:`Secrets.masked` replaces, in a fixed order: a marker
    names its form by its place here."""
    return list(dict.fromkeys(f for f in encoded_forms(key) if len(f) >= _MIN_FORM))


# A masked key's place: ``***key:<provider>:<form>***`` (see Secrets.masked).
_MARKER = re.compile(r"\*\*\*key:([^:*\s]+):(\d+)\*\*\*")


def _scrubbed_forms(keys: Iterable[str]) -> list[str]:
    """Every encoded form of ``keys`` long enough to tell from ordinary text, longest first (a
    form inside a longer one is replaced after it)."""
    forms = {form for key in keys if key for form in encoded_forms(key)}
    return sorted((f for f in forms if len(f) >= _MIN_FORM), key=len, reverse=True)


class Secrets:
    """The API keys of a run, and the one place text is scrubbed of them before it is kept.

    Every key is checked first (:func:`key_problem`): a key that cannot be sent is refused with
    a message naming its variable, never the key.
    """

    def __init__(self, keys: Mapping[str, str], *, names: Mapping[str, str] | None = None) -> None:
        for provider, value in keys.items():
            problem = key_problem(value)
            if problem is not None:
                name = (names or {}).get(provider) or f"the {provider} key"
                raise UsageError(
                    f"{name} is not a usable API key: {problem}; keys are printable ASCII "
                    "without spaces. Copy it again from the provider's dashboard (nothing was sent)"
                )
        self._hold(keys)

    @classmethod
    def of_providers(cls, keys: Mapping[str, str]) -> Secrets:
        """The keys of registered providers, each refused by the name of its variable."""
        from lipflow.providers import registry

        known = set(registry.names())
        return cls(keys, names={p: registry.get(p).wire.key_env for p in keys if p in known})

    def scrubbed(self, exc: BaseException) -> BaseException:
        """``exc`` with every key taken out of its message, to be raised in its place."""
        if isinstance(exc, LipflowError):
            exc.message = self.scrub(exc.message)
        exc.args = tuple(self.scrub(a) if isinstance(a, str) else a for a in exc.args)
        return exc

    @classmethod
    def shown(cls, keys: Mapping[str, str]) -> Secrets:
        """Keys to keep out of what is shown, unchecked: whatever a variable holds is hidden,
        usable as a key or not (``validate`` and ``plan`` send nothing, so refuse none)."""
        secrets = cls({})
        secrets._hold(keys)
        return secrets

    def __bool__(self) -> bool:
        return bool(self._values)

    def key(self, provider: str) -> str:
        return self._keys[provider]

    def scrub(self, text: str) -> str:
        for value in self._values:
            text = text.replace(value, REDACTED)
        return text

    def masked(self, text: str) -> str:
        """``text`` to keep (a provider's output URL signed with the key, journaled to resume
        from): each key, in each encoding, replaced by a marker naming its provider and the
        encoding, which :meth:`unmasked` turns back into the key the environment then holds."""
        marks = self._mark_pattern
        return text if marks is None else marks.sub(lambda m: self._markers[m[0]], text)

    def unmasked(self, text: str) -> str:
        """``text`` as :meth:`masked` took it: each marker replaced by that encoding of its
        provider's key now. A marker of a key this run does not hold (or not in that encoding:
        the key changed) stays; the provider then refuses the URL and is asked for a fresh one."""

        def form(found: re.Match[str]) -> str:
            key = self._keys.get(found[1])
            forms = _marked_forms(key) if key else []
            index = int(found[2])
            return forms[index] if index < len(forms) else found[0]

        return _MARKER.sub(form, text) if "***key:" in text else text

    def holds_a_key_other_than(self, provider: str, text: str) -> bool:
        """Whether ``text`` (a link one provider signed with its key) holds, in any encoding, the
        key of a provider other than ``provider``: sent to ``provider``, it would hand it that key."""
        own = self._keys.get(provider)
        return any(self._keys.get(found[1]) != own for found in _MARKER.finditer(self.masked(text)))

    def _hold(self, keys: Mapping[str, str]) -> None:
        """Keep ``keys``: their forms to scrub, and each form's marker to mask it with."""
        self._keys = dict(keys)
        self._values = _scrubbed_forms(keys.values())
        self._markers: dict[str, str] = {}
        for provider, key in self._keys.items():
            for index, found in enumerate(_marked_forms(key) if key else []):
                self._markers.setdefault(found, f"***key:{provider}:{index}***")
        ordered = sorted(self._markers, key=len, reverse=True)  # a form inside a longer one
        self._mark_pattern = re.compile("|".join(map(re.escape, ordered))) if ordered else None


class ScrubbedStream(io.TextIOBase):
    """A text stream whose every write is scrubbed of the keys first; ``scrubbed`` tells
    whether any write held one. A key is found whole within one write: lipflow writes a
    message, a job's JSON or a line at a time, never a value cut in two."""

    def __init__(self, stream: TextIO, secrets: Secrets) -> None:
        super().__init__()
        self.stream = stream
        self.secrets = secrets
        self.scrubbed = False

    def write(self, text: str) -> int:
        clean = self.secrets.scrub(text)
        if clean != text:
            self.scrubbed = True
        self.stream.write(clean)
        return len(text)

    def flush(self) -> None:
        self.stream.flush()

    def isatty(self) -> bool:
        return self.stream.isatty()

    def fileno(self) -> int:
        return self.stream.fileno()

    def writable(self) -> bool:
        return True

    @property
    def encoding(self) -> str:  # type: ignore[override]
        return getattr(self.stream, "encoding", None) or "utf-8"

    @property
    def errors(self) -> str | None:  # type: ignore[override]
        return getattr(self.stream, "errors", None)


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
    kind = type(value)  # exact types first: the mock journals every request through this
    if kind is str:
        return redact_text(value)
    if kind is dict or isinstance(value, Mapping):
        return {
            k: REDACTED if str(k).lower() in SECRET_KEYS else redact_value(v)
            for k, v in value.items()
        }
    if kind is list or isinstance(value, list):
        return [redact_value(v) for v in value]
    if isinstance(value, str):
        return redact_text(value)
    return value


def redact_text(text: str, *, scrub: Callable[[str], str] | None = None) -> str:
    """A string as :func:`redact_value` keeps it: ``apiKey=...`` values out, summarized if long.

    A summary keeps the string's head; ``scrub`` (a function taking known secrets out of text)
    is applied to the head with the text after it, so that no secret is cut in part there.
    """
    text = _without_key_pairs(text)
    if len(text) > _MAX_STRING:
        head = text[:_HEAD] if scrub is None else scrub(text[: _HEAD + _SCRUB_SPAN])[:_HEAD]
        return f"{head}...<{len(text)} characters>"
    return text

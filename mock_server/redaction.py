"""What the mock keeps of a request, without its secrets, whatever their encoding.

:mod:`lipflow.secrets` replaces credential headers and key-like JSON fields. A client can also
put its key in a query parameter (``?api_key=``), a form or text body (``apiKey=...``), under a
spelling of its own (``API-KEY``, ``x_api_key``), percent-encoded (``api%5Fkey``) or
JSON-escaped (``"api\\u004bey"``), and the same key can turn up again elsewhere in the request.
So: every credential the request names is learnt (with the mock's own ``api_key``), its field
replaced, then every learnt value is scrubbed from everything kept, in each encoding; a text body
that still assigns a key-like name after that is kept only as its size.

The credentials are learnt on every request's path; what is kept is scrubbed of them when the
journal's record is first read (most never are). Scrubbing is made cheap where nothing is to be
found: the pattern of every encoding of the known keys is compiled once per set of keys (not per
request), and a JSON value is first serialised (C code) and searched whole for the keys'
JSON-escaped forms; only a value that holds one is walked and rewritten. Escaping a JSON string is a
per-character mapping, so a string holding a form always serialises to text holding that form
escaped: the search cannot miss one the walk would find.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from functools import lru_cache
from typing import Any
from urllib.parse import quote, quote_plus, unquote_plus

from lipflow._memo import BoundedMemo
from lipflow.secrets import REDACTED, SECRET_HEADERS, SECRET_KEYS, redact_text, redact_value

__all__ = ["Scrubber", "kept_as_parsed", "plain_json"]

_NAMES = frozenset(re.sub(r"[^a-z0-9]", "", n) for n in (*SECRET_KEYS, *SECRET_HEADERS))
_SUFFIXES = ("apikey", "token", "secret", "password")
_SCHEMES = ("bearer", "basic")  # auth schemes whose word before the key is not secret
_MIN_SECRET = 6  # shorter values (test keys like "k") are not scrubbed from free text
# name = value, name: value, "name": "value", in text that may be percent- or JSON-encoded
# (a lookahead, so that overlapping candidates are all seen)
_ASSIGNMENT = re.compile(
    r"""(?=["']?([A-Za-z0-9_.\-]{1,64})["']?[ \t]*[:=][ \t]*["']?([^"'&\s,;}{]+))"""
)
_JSON_ESCAPE = re.compile(r"\\u([0-9a-fA-F]{4})")


@lru_cache(maxsize=4096)  # the same field and header names come back on every request
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


@lru_cache(maxsize=1024)  # a client names the same key request after request
def _candidates(value: str) -> tuple[str, ...]:
    """What a credential ``value`` names: itself, and the key after an auth scheme; nothing
    for an auth scheme sent without its key."""
    value = value.strip()
    if value.lower() in _SCHEMES:
        return ()
    scheme, _, token = value.partition(" ")
    return tuple(c for c in (value, token if scheme.lower() in _SCHEMES else "") if c)


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


def _first_learnt(value: str) -> tuple[frozenset[str], frozenset[str]]:
    """What :meth:`Scrubber.learn` of ``value`` leaves a Scrubber that had seen nothing: the
    credentials ``value`` names, and the ``seen`` set (each of them decoded). Worked out once
    per value: a client sends the same Authorization header request after request (13,000
    instructions a request to learn it again, against 5,000)."""
    plan = _FIRST_LEARNT.get(value)
    if plan is None:
        scrubber = Scrubber()
        scrubber._learn_each(value)
        plan = _FIRST_LEARNT.put(value, (frozenset(_candidates(value)), scrubber.seen))
    return plan


_FIRST_LEARNT: BoundedMemo[str, tuple[frozenset[str], frozenset[str]]] = BoundedMemo(1024)


class _Forms:
    """Every encoding of a set of keys (longest first), found and replaced in strings and found
    in serialised JSON.

    As literal strings (``str.find``) while that costs less than compiling their alternation:
    a mock that has learnt many keys meets a new set of them with each new key, and each set's
    alternation took 60 ms to compile (the journal's read-back scrubs each record of its own
    set: 20 records of rotating keys took 5 s). A long text among many forms compiles it."""

    __slots__ = ("_patterns", "escaped", "forms")

    def __init__(self, forms: list[str]) -> None:
        self.forms = forms
        self.escaped = sorted({_escaped(form) for form in forms}, key=len, reverse=True)
        self._patterns: dict[bool, re.Pattern[str]] = {}

    def _pattern(self, escaped: bool) -> re.Pattern[str]:
        """The alternation of the forms (or their escaped forms), longest first."""
        pattern = self._patterns.get(escaped)
        if pattern is None:
            forms = self.escaped if escaped else self.forms
            pattern = self._patterns[escaped] = re.compile("|".join(map(re.escape, forms)))
        return pattern

    def _literal(self, text: str, forms: list[str], escaped: bool) -> bool:
        """Whether ``text`` is searched form by form (not by the compiled alternation)."""
        return len(forms) <= _FEW_FORMS or (
            escaped not in self._patterns and len(text) * len(forms) <= _LITERAL_BUDGET
        )

    def found_in_text(self, text: str) -> bool:
        """Whether ``text`` holds one of the forms."""
        if self._literal(text, self.forms, False):
            return any(form in text for form in self.forms)
        return self._pattern(False).search(text) is not None

    def found_in_json(self, text: str) -> bool:
        """Whether JSON ``text`` (as :data:`_ENCODER` writes it) holds one of the forms."""
        if self._literal(text, self.escaped, True):
            return any(form in text for form in self.escaped)
        return self._pattern(True).search(text) is not None

    def replace(self, text: str) -> str:
        """``text`` with every form replaced, as the alternation's ``sub`` replaces them: from
        the left, at each place the longest form there, then on from its end."""
        if not self._literal(text, self.forms, False):
            return self._pattern(False).sub(REDACTED, text)
        found: list[tuple[int, int]] = []
        for form in self.forms:
            start = text.find(form)
            while start >= 0:
                found.append((start, -len(form)))
                start = text.find(form, start + 1)
        if not found:
            return text
        found.sort()  # by place, the longest first at each
        pieces: list[str] = []
        end = 0
        for start, negative_length in found:
            if start >= end:
                pieces += (text[end:start], REDACTED)
                end = start - negative_length
        pieces.append(text[end:])
        return "".join(pieces)


_LITERAL_BUDGET = 1 << 20  # characters searched form by form before the alternation is compiled


# redact_value keeps strings of up to 512 characters whole; none is longer in a text this long.
_SHORT_TEXT = 512
_FEW_FORMS = 32
# Every name redact_value replaces, as the encoder writes it (a false alarm only costs a walk).
_KEY_FIELDS = tuple(f'{name}":' for name in sorted(SECRET_KEYS))


def plain_json(text: str) -> bool:
    """Whether JSON ``text`` is short ASCII without ``=`` or a key-like field name: nothing in
    its document that :func:`redact_value` changes (what :meth:`Scrubber.kept_json` keeps of
    it depends only on the text and the secrets)."""
    return len(text) <= _SHORT_TEXT and "=" not in text and text.isascii() and not _key_field(text)


def _key_field(text: str) -> bool:
    """Whether ASCII JSON ``text`` may name a field :func:`redact_value` replaces."""
    lower = text.lower()
    return any(field in lower for field in _KEY_FIELDS)


_ENCODER = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"))  # one, not one per call


def _escaped(form: str) -> str:
    """``form`` as it reads inside a string of ``json.dumps(..., ensure_ascii=False)``."""
    return json.dumps(form, ensure_ascii=False)[1:-1]


@lru_cache(maxsize=64)  # one set of keys serves request after request
def _forms(secrets: frozenset[str]) -> _Forms | None:
    """The patterns of every encoding of ``secrets`` (long enough to scrub), or None if none is."""
    forms = sorted(
        {form for s in secrets if len(s) >= _MIN_SECRET for form in _encodings(s)},
        key=len,
        reverse=True,  # longest first: an encoding that contains another goes whole
    )
    return _Forms(forms) if forms else None


# Headers as kept (credentials replaced) and the credentials they named, by the headers sent.
_KEPT_HEADERS_LIMIT = 256
_KEPT_HEADERS: BoundedMemo[tuple[tuple[str, str], ...], tuple[dict[str, str], tuple[str, ...]]] = (
    BoundedMemo(_KEPT_HEADERS_LIMIT)
)
# Kept headers scrubbed of the secrets known (a set of them, as _forms has it compiled).
_SCRUBBED_HEADERS: BoundedMemo[tuple[tuple[tuple[str, str], ...], _Forms], dict[str, str]] = (
    BoundedMemo(_KEPT_HEADERS_LIMIT)
)
# What secret_name matches a name by: its letters lower-cased and its digits, nothing else. One
# bytes.translate gives those of a text: every other byte dropped, A-Z made a-z.
_NOT_LETTER_OR_DIGIT = bytes(c for c in range(256) if not chr(c).isascii() or not chr(c).isalnum())
_LOWER = bytes.maketrans(b"ABCDEFGHIJKLMNOPQRSTUVWXYZ", b"abcdefghijklmnopqrstuvwxyz")
# The types of a JSON document's values that hold no field (exact types: a subclass is looked at).
_LEAVES = frozenset({str, int, float, bool, type(None)})
# What every credential's name (one secret_name takes: in _NAMES or ending in a suffix) holds
# once its punctuation is dropped: one of these, each itself such a name ("key" stands for
# "apikey" and "xapikey"), so a text holds a credential's name if and only if it holds one of
# them. Searched for as str: a few substring searches cost less than an alternation of every
# name (tried at every character), and ``bytes in bytes`` first tries its operand as an int.
_NAME_PARTS = tuple(
    sorted(
        name
        for name in {*_NAMES, *_SUFFIXES}
        if not any(other != name and other in name for other in {*_NAMES, *_SUFFIXES})
    )
)


def kept_as_parsed(raw: bytes) -> bool:
    """Whether :meth:`Scrubber.document` keeps the JSON document parsed from ``raw`` as it is,
    and every string of that document (names too) is a piece of ``raw`` as sent.

    So for a short ASCII text (one byte a character: no NUL) with no escape (``\\``, ``%``),
    no ``=`` and nothing that could spell a credential's name once its punctuation is dropped
    (what :func:`secret_name` does): no string is long enough to be summarized, none holds an
    ``apiKey=`` pair, no field is a credential's. A false alarm only costs the walk.
    """
    if len(raw) > _SHORT_TEXT or not raw.isascii():
        return False
    text = raw.decode("ascii")
    if "\\" in text or "%" in text or "=" in text:
        return False
    if "\x00" in text:  # UTF-16 or -32 text: its strings are not pieces of the bytes
        return False
    letters = raw.translate(_LOWER, _NOT_LETTER_OR_DIGIT).decode("ascii")
    for part in _NAME_PARTS:  # noqa: SIM110 (a loop: all() of a generator costs a frame more)
        if part in letters:
            return False
    return True


class Scrubber:
    """Learns the credentials of one request, then removes them from what is kept of it."""

    def __init__(
        self, known: Iterable[str | None] = (), *, learnt: frozenset[str] = frozenset()
    ) -> None:
        """``known``: keys to scrub; ``learnt``: what another Scrubber's :attr:`learnt` gave."""
        # The secrets are ``learnt`` (shared, not copied: a request most often learns nothing
        # new) and what this one learnt on top; ``_all`` is their union once asked for.
        self._given = learnt
        self._new: set[str] = set()
        self._seen: set[str] = set()  # what this request carried, known before or not
        self._seen_as_first: frozenset[str] | None = None  # _seen, when one value taught it all
        self._all: frozenset[str] | None = learnt
        self._forms: _Forms | bool | None = False  # every encoding of every secret; False: stale
        for key in known:
            if key:
                self.learn(key)

    @property
    def learnt(self) -> frozenset[str]:
        """Every credential seen in this request (and the ones it was given), each decoding:
        the very set it was given when it learnt nothing new."""
        if self._all is None:
            self._all = self._given | self._new
        return self._all

    @property
    def seen(self) -> frozenset[str]:
        """The credentials this request carried, each decoding, whether known before or not."""
        if self._seen_as_first is not None:  # the very set of the last request like it
            return self._seen_as_first
        return frozenset(self._seen)

    def learn(self, value: str) -> None:
        if not self._seen:  # the first credential of a request (most often its only one)
            candidates, seen = _first_learnt(value)
            if candidates <= self._given:  # known already: only seen now
                self._seen.update(seen)
                self._seen_as_first = seen
                return
        self._learn_each(value)

    def _learn_each(self, value: str) -> None:
        for candidate in _candidates(value):
            if candidate in self._seen:
                continue
            decodings = _decodings(candidate)
            self._seen.update(decodings)
            self._seen_as_first = None
            if candidate not in self._given and candidate not in self._new:
                self._new.update(decodings)
                self._all = None
                self._forms = False

    def kept_headers(self, headers: Mapping[str, str]) -> Mapping[str, str]:
        """The headers with every credential replaced (an auth scheme kept), each learnt; one
        mapping shared by every request that sent the same headers, not to be changed
        (:meth:`scrub_headers` gives a copy of its own)."""
        key = tuple(headers.items())
        kept = _KEPT_HEADERS.get(key)
        if kept is None:  # a client sends the same headers request after request
            out, secrets = {}, []
            for name, value in headers.items():
                if secret_name(name):
                    secrets.append(value)
                    scheme = value.split(" ", 1)[0] if " " in value.strip() else ""
                    out[name] = f"{scheme} {REDACTED}" if scheme else REDACTED
                else:
                    out[name] = value
            kept = _KEPT_HEADERS.put(key, (out, tuple(secrets)))
        for value in kept[1]:
            self.learn(value)
        return kept[0]

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
        kind = type(value)
        if kind is str:
            # A long string is cut to its head: a key there is scrubbed first, not cut in part.
            return redact_text(value, scrub=self.scrub)
        if kind is int or kind is float or kind is bool or value is None:
            return value
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

    def learn_document(self, value: Any) -> None:
        """Learn what :meth:`document` learns of a JSON value (the string of every key-like
        field, at any depth), without copying it: what the journal must know of a body now,
        when what it keeps of the body is worked out later (:meth:`kept_body`)."""
        # A parsed document's containers are exactly dict and list: told apart by their type
        # before asking the Mapping ABC (a call into Python each time), which decides the rest.
        kind = type(value)
        if kind is dict or (kind is not list and isinstance(value, Mapping)):
            for name, item in value.items():
                if secret_name(name if type(name) is str else str(name)):
                    if isinstance(item, str):
                        self.learn(item)
                elif (
                    (held := type(item)) is dict
                    or held is list
                    or (held not in _LEAVES and isinstance(item, Mapping | list))
                ):
                    self.learn_document(item)
        elif kind is list or isinstance(value, list):
            for item in value:
                if (
                    (held := type(item)) is dict
                    or held is list
                    or (held not in _LEAVES and isinstance(item, Mapping | list))
                ):
                    self.learn_document(item)

    def kept_body(self, raw: bytes, document: Any) -> Any:
        """:meth:`kept` of the JSON ``document`` parsed from ``raw`` (or of a part of it): that
        value itself when :func:`kept_as_parsed` says so of ``raw`` and its text holds no
        learnt secret (then nothing in it is changed), so only such a body is searched, not
        walked."""
        if kept_as_parsed(raw) and self.absent_from(raw.decode("ascii")):
            return document
        return self.kept(document)

    def kept_reply(self, text: str) -> Any:
        """:meth:`kept_json` of the reply document sent as the JSON ``text``: the document
        that text encodes, read from the text."""
        if plain_json(text):
            return self.kept_plain_json(text)
        return redact_value(self.scrub(json.loads(text)))

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

    def _compiled(self) -> _Forms | None:
        if self._forms is False:
            self._forms = _forms(self.learnt)
        assert self._forms is not True
        return self._forms

    def scrub_headers(self, kept: Mapping[str, str]) -> dict[str, str]:
        """:meth:`scrub` of kept headers (what :meth:`kept_headers` gave), as a new dict: the same
        headers come request after request, and the same secrets are known, so each pair is
        searched once."""
        forms = self._compiled()
        if forms is None:
            return dict(kept)
        key = (tuple(kept.items()), forms)
        scrubbed = _SCRUBBED_HEADERS.get(key)
        if scrubbed is None:
            scrubbed = _SCRUBBED_HEADERS.put(key, self.scrub(kept))
        return dict(scrubbed)

    def absent_from(self, text: str) -> bool:
        """Whether ``text`` holds no learnt secret in any encoding (:meth:`scrub` keeps it)."""
        forms = self._compiled()
        return forms is None or not forms.found_in_text(text)

    def scrub(self, value: Any) -> Any:
        """``value`` with every learnt secret replaced, in each encoding, in every string."""
        forms = self._compiled()
        if forms is None:
            return value
        if isinstance(value, str):
            return forms.replace(value) if forms.found_in_text(value) else value
        try:
            text = _ENCODER.encode(value)
        except (TypeError, ValueError):  # not plain JSON: walk it all
            return _replace(value, forms)
        return _replace(value, forms) if forms.found_in_json(text) else value

    def kept_json(self, document: Any, text: str) -> Any:
        """``redact_value(document)``, scrubbed, for a document already encoded as ``text``
        (``json.dumps(document, ensure_ascii=False, separators=(",", ":"))``).

        A short ASCII text without ``=`` or a key-like field name holds nothing
        :func:`redact_value` changes: it is copied by parsing ``text`` (C code), not walked.
        """
        if not plain_json(text):
            return redact_value(self.scrub(document))  # scrubbed whole, then long strings cut
        return self.kept_plain_json(text)

    def kept_plain_json(self, text: str) -> Any:
        """:meth:`kept_json` of the document a short, plain JSON ``text`` encodes (one that
        :func:`plain_json` says is so): the document parsed, scrubbed if the text holds a
        secret."""
        kept = json.loads(text)
        forms = self._compiled()
        if forms is None or not forms.found_in_json(text):
            return kept
        return _replace(kept, forms)

    def kept(self, value: Any) -> Any:
        """A JSON value as the journal keeps it: :meth:`document`, then :meth:`scrub`."""
        return self.scrub(self.document(value))


def _replace(value: Any, forms: _Forms) -> Any:
    if isinstance(value, str):
        return forms.replace(value)
    if isinstance(value, Mapping):
        return {_replace(k, forms): _replace(v, forms) for k, v in value.items()}
    if isinstance(value, list):
        return [_replace(v, forms) for v in value]
    return value

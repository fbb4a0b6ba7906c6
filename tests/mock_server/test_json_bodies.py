"""JSON bodies, long and short: the mock takes and refuses exactly what the standard parser (with
the mock's bounds) does, and reads the same document; its fast parser is only a fast path."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mock_server.core import InvalidBody, _standard_document, parse_json

_PAD = " " * 4100  # past the length from which the fast parser is tried

_numbers = st.one_of(
    st.integers(min_value=-(2**70), max_value=2**70),
    st.sampled_from([2**63 - 1, 2**63, -(2**63), -(2**63) - 1, 2**64 - 1, 2**64]),
    st.floats(allow_nan=False, allow_infinity=False),
    st.floats(min_value=9.2e18, max_value=1e20),
)
_scalars = st.one_of(st.none(), st.booleans(), st.text(max_size=8), _numbers)
_values = st.recursive(
    _scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=4), inner, max_size=4)
    ),
    max_leaves=12,
)
_tokens = st.sampled_from(
    [
        "NaN",
        "Infinity",
        "-Infinity",
        "1e400",
        "-1e400",
        "1" * 30,
        "01",
        '"\\ud800"',
        '"\\ud83d\\ude00"',
        '"\x01"',
        "[1,]",
        "[" * 70 + "]" * 70,
        "[" * 1100 + "]" * 1100,
        '{"a":1,"a":2}',
        "1.0",
        "-0",
        "-0.0",
        "1E5",
    ]
)


def _same(raw: bytes) -> None:
    fast, standard = parse_json(raw), _standard_document(raw)
    if isinstance(standard, InvalidBody):
        assert isinstance(fast, InvalidBody), (raw[:80], fast)
        assert fast.reason == standard.reason
    else:
        assert not isinstance(fast, InvalidBody), (raw[:80], fast.reason)
        assert _typed(fast) == _typed(standard)


def _typed(value: Any) -> Any:
    """``value`` with each number's type beside it (1 == 1.0 == True in Python)."""
    if isinstance(value, dict):
        return {k: _typed(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_typed(v) for v in value]
    if isinstance(value, float) and value != value:
        return ("nan",)
    return (type(value).__name__, value)


@settings(max_examples=1500)
@given(_values, st.sampled_from(["", " "]))
def test_a_long_body_reads_as_the_standard_parser_reads_it(value: Any, sep: str) -> None:
    text = json.dumps([value, "x" * 4100], ensure_ascii=sep == "")
    _same(text.encode())


@settings(max_examples=500)
@given(st.lists(st.one_of(_tokens, _values.map(json.dumps)), min_size=1, max_size=3))
def test_a_long_body_with_odd_tokens_is_taken_or_refused_as_the_standard_parser_says(
    parts: list[str],
) -> None:
    _same(("[" + ",".join(parts) + "]" + _PAD).encode())
    _same(("[" + ",".join(parts) + _PAD).encode())


@settings(max_examples=1500)
@given(_values, st.sampled_from(["", " "]))
def test_a_short_body_reads_as_the_standard_parser_reads_it(value: Any, sep: str) -> None:
    _same(json.dumps(value, ensure_ascii=sep == "").encode())


@settings(max_examples=500)
@given(st.lists(st.one_of(_tokens, _values.map(json.dumps)), min_size=1, max_size=3))
def test_a_short_body_with_odd_tokens_is_taken_or_refused_as_the_standard_parser_says(
    parts: list[str],
) -> None:
    _same(("[" + ",".join(parts) + "]").encode())
    _same(("[" + ",".join(parts)).encode())
    _same(",".join(parts).encode())


@pytest.mark.parametrize("pad", ["x" * 4100, "x"])
def test_bodies_in_other_encodings_or_with_a_bom_read_as_the_standard_parser_reads_them(
    pad: str,
) -> None:
    text = json.dumps(["é", 1, 2.5, pad])
    for raw in (
        text.encode("utf-16"),
        text.encode("utf-16-le"),
        text.encode("utf-32-be"),
        b"\xef\xbb\xbf" + text.encode(),
        text.encode()[:-3] + b'\xff"]',
        text.encode().replace(b"\\u00e9", b"\xed\xa0\x80"),
    ):
        _same(raw)

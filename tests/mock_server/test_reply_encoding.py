"""A reply document is sent as the text the standard library's encoder writes for it (compact,
not ASCII-escaped), whatever it holds: the mock encodes it faster where it can, never otherwise
(floats at every magnitude, NaN and Infinity, integers past 64 bits, keys that are not strings,
any text)."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from mock_server.core import Reply


def _standard(document: Any) -> str:
    return json.dumps(document, separators=(",", ":"), ensure_ascii=False)


_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(),  # NaN and the infinities too
    st.floats(min_value=-1e-3, max_value=1e-3),
    st.text(),
    st.text(alphabet=":,[]0.e-9nul "),  # text that reads like the numbers where encoders differ
)
_documents = st.recursive(
    _scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4),
        st.tuples(inner, inner),
        st.dictionaries(st.text(max_size=8), inner, max_size=4),
        st.dictionaries(st.integers() | st.booleans() | st.none(), inner, max_size=2),
    ),
    max_leaves=12,
)


@settings(max_examples=1500, deadline=None)
@given(_documents)
def test_a_reply_document_is_sent_as_the_standard_encoder_writes_it(document: Any) -> None:
    reply = Reply(document=document)
    assert reply.json_text() == _standard(document)
    assert reply.payload() == _standard(document).encode()


def test_floats_where_fast_encoders_write_them_differently_are_sent_as_the_standard_writes_them() -> (
    None
):
    for value in (1e-5, 3e-8, 9.99e-5, 1e-4, 1e16, 1e22, 5e-324, float("nan"), float("-inf")):
        for document in (value, [value], {"cost": value}):
            assert Reply(document=document).json_text() == _standard(document)

"""Scrubbing a text of many keys replaces what the alternation of their encodings replaced: from
the left, at each place the longest encoding there, then on from its end, however many keys are
known (form by form, or by the alternation compiled once the text is long)."""

from __future__ import annotations

import re

from hypothesis import given, settings
from hypothesis import strategies as st

from mock_server.redaction import Scrubber

# Keys of few letters, so that they overlap and hold one another; none is changed by
# percent- or JSON-encoding, so a key's encodings are itself and its \\u escapes. Each key's
# first six characters are a key too: two keys start at the same place.
_keys = st.lists(st.text(alphabet="ab-", min_size=6, max_size=9), min_size=1, max_size=20).map(
    lambda keys: sorted({*keys, *(key[:6] for key in keys)})
)


def _alternation_scrub(keys: list[str], text: str) -> str:
    forms = {key for key in keys} | {"".join(f"\\u{ord(c):04x}" for c in key) for key in keys}
    pattern = re.compile("|".join(map(re.escape, sorted(forms, key=len, reverse=True))))
    return pattern.sub("***", text)


@settings(max_examples=400)
@given(_keys, st.data(), st.integers(0, 1))
def test_a_text_is_scrubbed_as_the_alternation_of_every_form_scrubs_it(
    keys: list[str], data: st.DataObject, long: int
) -> None:
    pieces = st.one_of(
        st.sampled_from(keys),
        st.sampled_from(keys).map(lambda key: "".join(f"\\u{ord(c):04x}" for c in key)),
        st.sampled_from(keys).map(lambda key: key[: len(key) // 2]),
        st.text(alphabet="ab-", max_size=3),
    )
    text = "".join(data.draw(st.lists(pieces, max_size=12)))
    text = text * (1 + long * 4000)  # past what is searched form by form, among many forms
    assert Scrubber(keys).scrub(text) == _alternation_scrub(keys, text)
    assert Scrubber(keys).absent_from(text) == (_alternation_scrub(keys, text) == text)

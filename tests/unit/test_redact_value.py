"""redact_value replaces every ``key=value`` pair in a string, wherever it is: the search that
skips what cannot hold a pair must find exactly what a search of the whole string finds."""

from __future__ import annotations

import re

from hypothesis import given
from hypothesis import strategies as st

from lipflow.secrets import REDACTED, SECRET_KEYS, redact_value

# The rule, spelled out: a secret's name (any case) not preceded by a word character or a dash,
# "=", then its value up to "&" or white space.
_RULE = re.compile(
    r"(?<![\w-])(" + "|".join(sorted(SECRET_KEYS, key=len, reverse=True)) + r")=([^&\s]+)",
    re.IGNORECASE,
)
_PIECES = st.sampled_from(
    [*SECRET_KEYS, "KEY", "Token", "\u212aey", "=", "==", "&", " ", "-", "_", "a", "9", "+", "/"]
)


def _expected(text: str) -> str:
    text = _RULE.sub(lambda m: f"{m[1]}={REDACTED}", text)
    return text if len(text) <= 512 else f"{text[:64]}...<{len(text)} characters>"


@given(st.lists(_PIECES, max_size=40).map("".join))
def test_every_key_pair_in_a_short_string_is_redacted(text: str) -> None:
    assert redact_value(text) == _expected(text)


@given(st.lists(_PIECES, max_size=12).map("".join), st.integers(0, 2000))
def test_every_key_pair_after_a_long_run_without_one_is_redacted(tail: str, length: int) -> None:
    text = "QUJD" * length + tail  # a base64 upload, then whatever follows

    assert redact_value(text) == _expected(text)


def test_a_key_pair_right_at_the_start_of_a_search_is_redacted_only_when_it_is_one() -> None:
    assert redact_value("x&api_key=secret") == f"x&api_key={REDACTED}"
    assert redact_value("xapi_key=secret") == "xapi_key=secret", "a longer name is not a key"
    longest = max(SECRET_KEYS, key=len)
    assert redact_value(f"x{longest}=secret") == f"x{longest}=secret"
    assert redact_value(f"-{longest}=secret") == f"-{longest}=secret"
    assert redact_value(f"/{longest}=secret") == f"/{longest}={REDACTED}"

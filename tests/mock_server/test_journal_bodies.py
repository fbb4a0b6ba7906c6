"""What the journal keeps of a JSON body: the body as sent when it has nothing to hide, and no
credential in any spelling or encoding otherwise, however the body spells it (short bodies are
kept without a walk when nothing in them can be a credential: these hold that shortcut honest)."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import quote

from hypothesis import given, settings
from hypothesis import strategies as st

from mock_server import Simulator
from mock_server.core import MockRequest
from mock_server.redaction import Scrubber, kept_as_parsed

KEY = "s3cr3t-key-value"
_FORMS = (KEY, quote(KEY, safe=""), "".join(f"\\u{ord(c):04x}" for c in KEY), "3cr3t-key")

_names = st.sampled_from(
    [
        *("taskType", "prompt", "text", "voice", "api-key", "API_KEY", "x.token", "ke+y"),
        *("k%65y", "a\\u0070iKey", "Password", "secretName", "authorization", "cookie", "note"),
    ]
)
_values = st.one_of(
    st.sampled_from(["videoInference", "hello", KEY, f"say {KEY} now", quote(KEY, safe="")]),
    st.sampled_from([f"apiKey={KEY}", "a=b", "50%", "x" * 600, "caf\u00e9", "line\nbreak"]),
    st.integers(-(2**40), 2**40),
    st.booleans(),
    st.none(),
)
_documents = st.recursive(
    st.dictionaries(_names, _values, max_size=4),
    lambda inner: st.one_of(
        st.lists(inner, max_size=3), st.dictionaries(_names, inner, max_size=3)
    ),
    max_leaves=8,
)


def _journaled(sim: Simulator, raw: bytes) -> Any:
    sim.handle(
        MockRequest(
            method="POST",
            path="/v1",
            headers={"authorization": f"Bearer {KEY}", "content-type": "application/json"},
            body=raw,
        )
    )
    return sim.journal.records()[-1].body


@settings(max_examples=400, deadline=None)
@given(_documents, st.booleans())
def test_no_kept_body_holds_the_key_in_any_encoding(document: Any, ascii_only: bool) -> None:
    raw = json.dumps(document, ensure_ascii=ascii_only).replace("\\\\u", "\\u").encode()
    kept = _journaled(Simulator(api_key=KEY), raw)
    for text in (json.dumps(kept), json.dumps(kept, ensure_ascii=False)):
        assert not any(form in text for form in _FORMS), text


@settings(max_examples=200, deadline=None)
@given(
    st.dictionaries(
        st.sampled_from(["taskType", "taskUUID", "prompt", "n", "ok"]),
        st.one_of(
            st.text(alphabet="abcXYZ 019-_:/.", max_size=40),
            st.integers(-(2**62), 2**62),
            st.booleans(),
        ),
        max_size=5,
    )
)
def test_a_body_with_nothing_to_hide_is_kept_as_sent(document: dict[str, Any]) -> None:
    raw = json.dumps([document]).encode()
    assert _journaled(Simulator(api_key=KEY), raw) == [document]


def test_a_credential_field_of_a_short_body_is_kept_out_however_its_name_is_spelled() -> None:
    sim = Simulator()
    for name in ("apiKey", "API-KEY", "x.token", "ke+y", "A_P_I_K_E_Y", "clientSecret", "Cookie"):
        raw = json.dumps([{"taskType": "ping", name: "fresh-credential-123"}]).encode()
        kept = _journaled(sim, raw)
        assert "fresh-credential" not in json.dumps(kept), name


def test_an_auth_scheme_sent_without_a_key_is_not_taken_for_one() -> None:
    sim = Simulator()
    sim.handle(MockRequest(method="POST", path="/v1", headers={"authorization": "Bearer"}))
    sim.handle(MockRequest(method="POST", path="/v1", headers={"authorization": "Bearer k3y-123"}))
    assert sim.journal.records()[-1].headers["authorization"] == "Bearer ***"


def test_a_wavespeed_sync_submit_is_journaled_with_its_sync_flag_as_sent() -> None:
    sim = Simulator()
    body = {
        "video": "https://example.com/v.mp4",
        "audio": "https://example.com/a.mp3",
        "enable_sync_mode": True,
    }
    reply = sim.handle(
        MockRequest(
            method="POST",
            path="/api/v3/pixverse/lipsync",
            headers={"authorization": "Bearer k", "content-type": "application/json"},
            body=json.dumps(body).encode(),
        )
    )
    assert reply.status == 200, reply.document
    assert sim.journal.records()[-1].body == body


@settings(max_examples=300, deadline=None)
@given(_documents, st.booleans())
def test_a_record_keeps_what_the_scrubber_keeps_of_the_body_and_of_the_reply(
    document: Any, ascii_only: bool
) -> None:
    # A short body is kept as the bytes it came as and worked out when its record is read; a
    # reply as the text it was sent as: either way the record is what a scrubber that learnt
    # the request's credentials keeps of the parsed body and of the reply's document.
    raw = json.dumps(document, ensure_ascii=ascii_only).replace("\\\\u", "\\u").encode()
    sim = Simulator()
    request = MockRequest(
        method="POST",
        path="/v1",
        headers={"authorization": f"Bearer {KEY}", "content-type": "application/json"},
        body=raw,
    )
    reply = sim.handle(request)
    (record,) = sim.journal.records()

    scrubber = Scrubber([f"Bearer {KEY}"])
    assert record.body == scrubber.kept(json.loads(raw))
    assert record.reply == scrubber.kept_json(reply.document, reply.json_text())


# Every way a credential's name can be spelled in a short body, and names that are none.
_SPELLINGS = st.sampled_from(
    [
        *("X-Api-Key", "apikey", "KEY", "access.token", "Authorization", "Cookie"),
        *("client_secret", "pass-word", "Pass+Word", "taskType", "prompt", "voice", "monkey"),
    ]
)


@settings(max_examples=500, deadline=None)
@given(
    st.recursive(
        st.dictionaries(_SPELLINGS, _values, max_size=3),
        lambda inner: st.one_of(
            st.lists(inner, max_size=2), st.dictionaries(_SPELLINGS, inner, max_size=2)
        ),
        max_leaves=6,
    )
)
def test_a_short_body_said_to_be_kept_as_parsed_holds_nothing_the_scrubber_changes(
    document: Any,
) -> None:
    # kept_as_parsed is the shortcut that keeps a body without walking it: whenever it says
    # so, the walk would have kept the same document and learnt no credential from it.
    raw = json.dumps(document).encode()
    if kept_as_parsed(raw):
        scrubber = Scrubber()
        assert scrubber.document(json.loads(raw)) == json.loads(raw)
        assert scrubber.learnt == frozenset()

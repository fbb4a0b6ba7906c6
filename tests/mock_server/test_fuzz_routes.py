"""Generated bodies and headers thrown at every route of every provider: each reply is in the
provider's documented envelope and validates against its response schema, and no handler fails.

Over the in-process transport (many examples, no socket) and the real loopback server (fewer).
``LIPFLOW_FUZZ_EXAMPLES`` raises the count.
"""

from __future__ import annotations

import json
import os
from typing import Any

import httpx
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mock_server import ACTIONS, MockServer, Simulator
from mock_server.adapters.transport import MockTransport
from mock_server.core import Route
from tests.mock_server.conftest import envelope_problem, reply_problems

EXAMPLES = int(os.environ.get("LIPFLOW_FUZZ_EXAMPLES", "150"))
ROUTES = [r for r in Simulator().routes if r.provider is not None]

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=30),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=4)
    ),
    max_leaves=20,
)
# Field names the routes read, so generated documents reach past the first check.
known_fields = st.sampled_from(
    [
        "taskType",
        "taskUUID",
        "model",
        "inputs",
        "speech",
        "media",
        "apiKey",
        "video",
        "audio",
        "video_media_id",
        "audio_media_id",
        "lip_sync_tts_speaker_id",
        "lip_sync_tts_content",
        "filename",
        "size",
        "content_type",
        "enable_sync_mode",
        "width",
        "height",
        "duration",
        "numberResults",
        "outputFormat",
        "providerSettings",
        "source_video_id",
        "file_url",
    ]
)
documents = st.one_of(
    json_values,
    st.dictionaries(known_fields, json_values, max_size=6),
    st.lists(st.dictionaries(known_fields, json_values, max_size=6), max_size=3),
)
hostile = st.sampled_from(
    [
        b"[" * 5000 + b"]" * 5000,
        b'{"size": ' + b"9" * 5000 + b"}",
        b'{"duration": NaN, "seconds": 1e308}',
        b'[{"taskType": "ping", "x": 1e999}]',
        b"\xff\xfe\x00",
        b"",
    ]
)
bodies = st.one_of(
    documents.map(lambda d: json.dumps(d).encode()),
    st.binary(max_size=300),
    st.text(max_size=200).map(lambda t: t.encode("utf-8", "surrogatepass")),
    hostile,
)
# printable ASCII without surrounding blanks: what an HTTP client lets through
header_text = st.text(st.characters(min_codepoint=0x20, max_codepoint=0x7E), max_size=40).map(
    str.strip
)
headers = st.fixed_dictionaries(
    {},
    optional={
        "Content-Type": st.sampled_from(
            [
                "application/json",
                "multipart/form-data; boundary=zz",
                "multipart/form-data",
                "application/x-www-form-urlencoded",
                "text/plain",
            ]
        )
        | header_text,
        "Authorization": st.sampled_from(["Bearer k", "Bearer", "Basic a2V5"]) | header_text,
        "API-KEY": st.just("k") | header_text,
        "Ai-Trace-Id": st.uuids().map(str) | header_text,
        "X-Mock-Fault": header_text.filter(lambda v: v.strip() not in ACTIONS and "{" not in v),
        "Accept": header_text,
    },
)
# A path segment of the route: "." and ".." are not, URLs drop them as dot segments (a request
# for /storage/. is one for /storage, which no route serves).
segments = st.text(
    st.characters(min_codepoint=0x21, max_codepoint=0x7E), min_size=1, max_size=20
).filter(lambda s: s not in (".", ".."))
forms = st.fixed_dictionaries(
    {},
    optional={
        "file_url": st.text(max_size=40) | st.just("https://example.com/a.mp4"),
        "media_type": st.sampled_from(["video", "audio", "image"]) | st.text(max_size=8),
    },
)
files = st.none() | st.tuples(
    st.text(max_size=20),
    st.binary(max_size=200),
    st.sampled_from(["video/mp4", "audio/wav", "x/y"]),
)


@st.composite
def requests(draw: st.DrawFn) -> tuple[Route, httpx.Request]:
    route = draw(st.sampled_from(ROUTES))
    path = route.template
    for name in route.pattern.groupindex:
        value = draw(segments).replace("/", "_").replace("?", "_").replace("#", "_")
        path = path.replace("{" + name + "}", value)
    url = "http://mock" + path
    sent = draw(headers)
    if route.method in ("GET", "HEAD"):
        return route, httpx.Request(route.method, url, headers=sent, params=draw(forms))
    if draw(st.booleans()) and route.op == "upload":
        upload = draw(files)
        request = httpx.Request(
            route.method,
            url,
            headers={k: v for k, v in sent.items() if k != "Content-Type"},
            data=draw(forms),
            files={"file": upload} if upload else {"none": ("", b"", "x/y")},
        )
        return route, request
    return route, httpx.Request(route.method, url, headers=sent, content=draw(bodies))


def _check(route: Route, reply: httpx.Response, records: list[Any]) -> None:
    assert reply.status_code != 500, reply.text
    assert route.provider is not None
    if route.template == "/storage/{token}" and reply.status_code == 200:
        return  # a storage PUT that took the bytes answers with an empty body
    problem = envelope_problem(route.provider, reply.json())
    assert problem is None, problem
    for record in records:
        assert not reply_problems(record), reply_problems(record)


FUZZ = settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


@FUZZ
@given(case=requests())
def test_generated_requests_over_the_transport_get_the_providers_envelope(
    case: tuple[Route, httpx.Request],
) -> None:
    route, request = case
    simulator = Simulator()
    reply = MockTransport(simulator).handle_request(request)
    reply.read()
    _check(route, reply, simulator.journal.records())
    assert simulator.internal_errors == []


@settings(FUZZ, max_examples=max(10, EXAMPLES // 3))
@given(case=requests())
def test_generated_requests_over_loopback_get_the_providers_envelope(
    lipflow_mock_server: MockServer, case: tuple[Route, httpx.Request]
) -> None:
    route, request = case
    mock = lipflow_mock_server
    mock.reset()
    base = f"http://127.0.0.1:{mock.http_port}"
    request.url = httpx.URL(base + request.url.raw_path.decode("ascii"))
    with httpx.Client() as client:
        reply = client.send(request)
    _check(route, reply, mock.simulator.journal.records())
    assert mock.simulator.internal_errors == []

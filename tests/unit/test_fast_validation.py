"""jsonschema-rs is the fast path for valid bodies; jsonschema still decides every other one.

The rule these tests hold: jsonschema-rs never accepts a body jsonschema rejects, on any schema
lipflow knows (the recipe schema and every provider file), so a fast "valid" is always the verdict
jsonschema would give, and ``validate`` returns the same problems as before for everything else.
Bodies are generated from each schema (valid-looking ones), from the known-good example requests,
and from both of those mutated: fields dropped, wrong types, out-of-range and huge numbers,
float noise (0.1 + 0.2), extra properties, unicode and whitespace the two regex dialects read
differently, nested junk.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lipflow.cli import cli
from lipflow.plan import plan_recipe
from lipflow.recipe import parse_recipe
from lipflow.schemas import validate
from lipflow.schemas.loading import _plain_json, compiled, document_names

EXAMPLES = Path(__file__).resolve().parents[1] / "example-files" / "requests"
SCHEMAS = document_names()


def _example_bodies() -> list[Any]:
    """Every example request body, and each item of one that is a list (Runware's tasks)."""
    bodies: list[Any] = []
    for path in sorted(EXAMPLES.glob("*/*/*.json")):
        body = json.loads(path.read_text(encoding="utf-8"))
        bodies.append(body)
        if isinstance(body, list):
            bodies += body
    return bodies


EXAMPLE_BODIES = _example_bodies()

# Characters where Python's re and jsonschema-rs's regex dialect part ways (\s, \w, \d, $).
TRICKY_CHARS = [
    "\n",
    "\x1c",
    "\x1f",
    "\x85",
    "\xa0",
    "\u2028",
    "\ufeff",
    "\u3000",
    "\u00b2",
    "\u0660",
    "\u01c5",
]
TRICKY_NUMBERS = [
    0.1 + 0.2,
    0.57,
    0.555,
    1.0,
    -0.0,
    1e300,
    5e-324,
    2**53 + 1,
    2**64,
    -(2**70),
    10**30,
    2.0**63,
]

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**80), max_value=2**80)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.sampled_from(TRICKY_NUMBERS)
    | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=10), inner, max_size=3)
    ),
    max_leaves=12,
)


def _insert_near_end(parts: tuple[str, str, int]) -> str:
    """A matching string with a tricky character a few places before its end, where a class
    like ``[^\\s]+`` or a ``$`` reads it, not where a fixed prefix would refuse it anyway."""
    text, char, back = parts
    where = max(0, len(text) - back + 1)
    return text[:where] + char + text[where:]


def _number(node: dict[str, Any], integer: bool) -> st.SearchStrategy[Any]:
    low = node.get("minimum", node.get("exclusiveMinimum"))
    high = node.get("maximum", node.get("exclusiveMaximum"))
    step = node.get("multipleOf")
    if integer:
        ints = st.integers(
            min_value=int(low) if low is not None else -(2**70),
            max_value=int(high) if high is not None else 2**70,
        )
        return ints | ints.map(float)
    floats = st.floats(min_value=low, max_value=high, allow_nan=False, allow_infinity=False)
    if step:
        return floats.map(lambda x: round(round(x / step) * step, 6)) | floats
    return floats


def _string(node: dict[str, Any]) -> st.SearchStrategy[str]:
    pattern = node.get("pattern")
    if isinstance(pattern, str):
        matching = st.from_regex(re.compile(pattern))
        return matching | st.tuples(matching, st.sampled_from(TRICKY_CHARS), st.integers(1, 3)).map(
            _insert_near_end
        )
    if node.get("format") == "uri":
        return st.sampled_from(["https://example.com/a.mp4", "not a uri", "http://x y"])
    low = node.get("minLength", 0)
    return st.text(min_size=low, max_size=max(low, node.get("maxLength", low + 8)))


def from_schema(node: Any, depth: int = 0) -> st.SearchStrategy[Any]:
    """Values shaped by a (refs-inlined) schema node: mostly valid, sometimes not."""
    if not isinstance(node, dict) or depth > 8:
        return json_values
    if "const" in node:
        return st.just(node["const"])
    if "enum" in node:
        return st.sampled_from(node["enum"])
    branches = [
        {**{k: v for k, v in node.items() if k not in ("oneOf", "anyOf", "allOf")}, **b}
        for key in ("oneOf", "anyOf", "allOf")
        for b in node.get(key, [])
        if isinstance(b, dict)
    ]
    if branches:
        return st.one_of([from_schema(b, depth + 1) for b in branches])
    kind = node.get("type")
    if isinstance(kind, list):
        return st.one_of([from_schema({**node, "type": k}, depth + 1) for k in kind])
    if kind == "object" or "properties" in node:
        props: dict[str, Any] = node.get("properties", {})
        required = set(node.get("required", []))
        fields = {k: from_schema(v, depth + 1) for k, v in props.items() if k in required}
        optional = {k: from_schema(v, depth + 1) for k, v in props.items() if k not in required}
        return st.fixed_dictionaries(fields, optional=optional)
    if kind == "array":
        low = node.get("minItems", 0)
        return st.lists(
            from_schema(node.get("items", {}), depth + 1),
            min_size=low,
            max_size=max(low, min(node.get("maxItems", 3), 3)),
        )
    if kind == "string":
        return _string(node)
    if kind in ("integer", "number"):
        return _number(node, kind == "integer")
    if kind == "boolean":
        return st.booleans()
    if kind == "null":
        return st.none()
    return json_values


@st.composite
def mutated(draw: st.DrawFn, base: st.SearchStrategy[Any]) -> Any:
    """A body from ``base`` with a few of its places changed."""
    body = draw(base)
    for _ in range(draw(st.integers(0, 3))):
        body = _mutate(draw, body)
    return body


def _mutate(draw: st.DrawFn, value: Any) -> Any:
    if isinstance(value, dict) and value and draw(st.booleans()):
        key = draw(st.sampled_from(sorted(value)))
        action = draw(st.sampled_from(["drop", "replace", "descend", "extra"]))
        out = dict(value)
        if action == "drop":
            del out[key]
        elif action == "replace":
            out[key] = draw(json_values)
        elif action == "descend":
            out[key] = _mutate(draw, value[key])
        else:
            out[draw(st.text(min_size=1, max_size=8))] = draw(json_values)
        return out
    if isinstance(value, list) and value and draw(st.booleans()):
        i = draw(st.integers(0, len(value) - 1))
        return [*value[:i], _mutate(draw, value[i]), *value[i + 1 :]]
    if isinstance(value, str):
        char = draw(st.sampled_from(TRICKY_CHARS))
        where = draw(st.integers(0, len(value)))
        return value[:where] + char + value[where:]
    if isinstance(value, int | float) and not isinstance(value, bool):
        return draw(st.sampled_from([*TRICKY_NUMBERS, value + 0.1 + 0.2, -value, value * 1.0]))
    return draw(json_values)


def bodies_for(name: str) -> st.SearchStrategy[Any]:
    shaped = from_schema(compiled(name).root)
    known = st.sampled_from(EXAMPLE_BODIES)
    return shaped | mutated(shaped) | mutated(known) | json_values


def _fast(name: str) -> Any:
    found = compiled(name)
    for _ in range(10):  # past the few checks that skip the fast path
        found.surely_valid({})
    return found.fast


@pytest.mark.parametrize("name", SCHEMAS)
def test_every_schema_has_a_fast_validator(name: str) -> None:
    assert _fast(name) is not False


@pytest.mark.parametrize("name", SCHEMAS)
@settings(max_examples=80, deadline=None, suppress_health_check=list(HealthCheck))
@given(data=st.data())
def test_jsonschema_rs_never_accepts_what_jsonschema_rejects(
    name: str, data: st.DataObject
) -> None:
    body = data.draw(bodies_for(name))
    slow_valid = compiled(name).validator.is_valid(body)
    fast_valid = bool(_fast(name).is_valid(body))
    assert not fast_valid or slow_valid, f"jsonschema-rs accepts {body!r}, jsonschema does not"
    assert (validate(name, body) == []) == slow_valid


@pytest.mark.parametrize("name", SCHEMAS)
def test_the_known_good_bodies_get_the_same_verdict_from_both(name: str) -> None:
    fast = _fast(name)
    for body in EXAMPLE_BODIES:
        assert bool(fast.is_valid(body)) == compiled(name).validator.is_valid(body), body


SYNC_TASK = json.loads((EXAMPLES / "runware/valid/sdk-lipsync-2-segments.json").read_text())[0]
SYNC_SCHEMA = "runware/videoInference.sync-lipsync-2-1.json"
WAVESPEED_SUBMIT = "wavespeed/pixverse-lipsync.request.json"


def _checked_often(name: str, body: Any) -> list[list[str]]:
    """The problem messages of ``body`` over enough checks that the fast path is in use."""
    _fast(name)
    return [[p.message for p in validate(name, body)] for _ in range(2)]


@pytest.mark.parametrize("space", ["\x1c", "\x1f", "\x85", "\u3000"])
def test_a_url_with_a_character_python_reads_as_whitespace_is_refused_on_the_fast_path_too(
    space: str,
) -> None:
    url = f"https://hooks.example/a{space}b"
    body = {"video": "v", "audio": "a", "webhook_url": url}
    assert not _fast(WAVESPEED_SUBMIT).is_valid(body)
    assert _checked_often(WAVESPEED_SUBMIT, body) == [[f"{url!r} is not an http(s) URL"]] * 2


def _with_segment(**changes: Any) -> dict[str, Any]:
    segment = {**SYNC_TASK["providerSettings"]["sync"]["segments"][0], **changes}
    return {**SYNC_TASK, "providerSettings": {"sync": {"segments": [segment]}}}


def test_arithmetic_noise_on_a_step_is_still_accepted_though_jsonschema_rs_refuses_it() -> None:
    body = _with_segment(endTime=0.1 + 0.2)
    assert not _fast(SYNC_SCHEMA).is_valid(body)
    assert _checked_often(SYNC_SCHEMA, body) == [[], []]


def test_a_value_off_its_step_is_refused_with_the_same_words_on_every_check() -> None:
    message = "0.555 is not in steps of 0.01: use at most 2 decimal places"
    assert _checked_often(SYNC_SCHEMA, _with_segment(endTime=0.555)) == [[message]] * 2


def test_a_tuple_is_not_an_array_though_jsonschema_rs_would_read_it_as_one() -> None:
    body = _with_segment()
    body["providerSettings"]["sync"]["segments"] = tuple(
        body["providerSettings"]["sync"]["segments"]
    )
    assert _fast(SYNC_SCHEMA).is_valid(body)
    first, again = _checked_often(SYNC_SCHEMA, body)
    assert first == again and first and all("expected an array" in m for m in first)


@pytest.mark.parametrize(
    "body",
    [{"video": "v", "audio": "a", 1: "x"}, {"video": "v", "audio": float("nan")}],
    ids=["int-key", "nan"],
)
def test_a_body_that_is_not_plain_json_gets_jsonschemas_words(body: Any) -> None:
    slow = [p.message for p in validate(WAVESPEED_SUBMIT, body)]
    assert slow
    assert _checked_often(WAVESPEED_SUBMIT, body) == [slow, slow]


class _Word(str):
    """A str subclass (as a str enum member is): not JSON's own string type."""


_LEAVES = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats()  # NaN and the infinities included
    | st.text(max_size=3)
    | st.builds(_Word, st.text(max_size=3))
    | st.binary(max_size=2)
)
_VALUES = st.recursive(
    _LEAVES,
    lambda inner: (
        st.lists(inner, max_size=3)
        | st.lists(inner, max_size=3).map(tuple)
        | st.dictionaries(st.text(max_size=3) | st.integers(0, 3), inner, max_size=3)
    ),
    max_leaves=12,
)


def _plain_by_definition(value: Any) -> bool:
    """JSON's own types only: exact dict with str keys, list, str, int, bool, None, finite float."""
    if type(value) is dict:
        return all(type(k) is str and _plain_by_definition(v) for k, v in value.items())
    if type(value) is list:
        return all(_plain_by_definition(v) for v in value)
    if type(value) is float:
        return value == value and value not in (float("inf"), float("-inf"))
    return type(value) in (str, int, bool, type(None))


@given(value=_VALUES)
def test_only_plain_json_goes_to_jsonschema_rs(value: Any) -> None:
    assert _plain_json(value) is _plain_by_definition(value)


def test_a_body_nested_deeper_than_the_stack_is_still_walked() -> None:
    deep: Any = [1.0]
    for _ in range(5000):
        deep = {"a": [deep]}
    assert _plain_json(deep)
    inner = deep
    while isinstance(inner, dict):
        inner = inner["a"][0]
    inner[0] = float("nan")
    assert not _plain_json(deep)


def test_a_planned_request_that_is_not_plain_json_gets_jsonschemas_words() -> None:
    recipe, problems = parse_recipe(
        "version: 1\n"
        "inputs:\n"
        '  clip: {video: "https://example.com/clip.mp4", duration: 6}\n'
        "steps:\n"
        "  hello:\n"
        '    lipsync: {video: clip, tts: {text: "Hi", voice: Sophia}}\n'
        "    options: {numberResults: 1.5}\n",
        "r.yaml",
    )
    assert recipe is not None, problems
    found = plan_recipe(recipe, env={}).problems
    assert [p.message for p in found] == [
        "runware request $[0].numberResults: 1.5 is a number; expected an integer"
    ]


def test_a_nan_in_a_hand_built_request_gets_jsonschemas_words() -> None:
    """A recipe cannot hold NaN (its loader refuses it), but a request body checked with
    ``lipflow check-request`` can: Python's JSON reader takes it, jsonschema-rs cannot."""
    body = [
        {
            "taskType": "videoInference",
            "taskUUID": "017c287a-c10a-4995-8e74-d29952640b30",
            "model": "pixverse:lipsync@1",
            "deliveryMethod": "async",
            "speech": {"text": "Hi", "voice": "Sophia"},
            "inputs": {"referenceVideos": ["https://example.com/clip.mp4"]},
            "numberResults": float("nan"),
        }
    ]
    result = CliRunner().invoke(
        cli, ["check-request", "--provider", "runware", "-"], input=json.dumps(body)
    )
    assert result.exit_code == 1
    assert "error at $[0].numberResults: NaN is a number; expected an integer" in result.output


# The mock's own fast path: a Runware task as its JSON parser made it, found surely valid
# without the walk that makes sure a body is plain JSON and without check_request's routing.
RUNWARE_SCHEMAS = [name for name in SCHEMAS if name.startswith("runware/")]


def _as_the_mock_parses(body: Any) -> Any:
    """``body`` as the mock reads it off the wire (None when the mock refuses the text)."""
    from mock_server.core import InvalidBody, parse_json

    document = parse_json(json.dumps(body).encode())
    return None if isinstance(document, InvalidBody) else document


@settings(max_examples=400, deadline=None, suppress_health_check=list(HealthCheck))
@given(data=st.data())
def test_a_runware_task_the_mock_finds_surely_valid_is_one_check_request_finds_nothing_wrong_with(
    data: st.DataObject,
) -> None:
    from lipflow.providers.runware.checks import CHECKS
    from lipflow.schemas import check_request

    name = data.draw(st.sampled_from(RUNWARE_SCHEMAS))
    task = _as_the_mock_parses(data.draw(bodies_for(name)))
    if CHECKS.surely_valid(task):
        assert check_request("runware", task) == [], task


def test_the_known_good_runware_tasks_are_surely_valid_unless_their_model_has_named_checks() -> (
    None
):
    from lipflow.providers.runware.checks import CHECKS, TASK_CHECKS
    from lipflow.schemas import check_request

    tasks = [
        _as_the_mock_parses(body)
        for body in EXAMPLE_BODIES
        if isinstance(body, dict) and "taskType" in body
    ]
    fast = [task for task in tasks if CHECKS.surely_valid(task)]
    assert fast, "no example task takes the fast path"
    for task in tasks:
        clean = check_request("runware", task) == []
        named = task.get("model") in TASK_CHECKS
        assert CHECKS.surely_valid(task) == (clean and not named), task


def _path_endpoints() -> list[tuple[str, str, str, str]]:
    """(provider, method, path, schema) of every endpoint with a request schema, for the
    providers whose calls are told apart by method and path."""
    from lipflow.providers import registry
    from lipflow.schemas import PathChecks

    found = []
    for provider in registry.providers():
        checks = provider.checks
        if isinstance(checks, PathChecks):
            found += [
                (provider.name, e.method, e.path, checks.schema(e.request))
                for e in provider.wire.endpoints
                if e.request is not None
            ]
    return found


PATH_ENDPOINTS = _path_endpoints()


@pytest.mark.parametrize(("provider", "method", "path", "schema"), PATH_ENDPOINTS)
@settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
@given(data=st.data())
def test_a_body_the_mock_finds_surely_valid_at_an_endpoint_is_one_check_request_finds_nothing_wrong_with(
    provider: str, method: str, path: str, schema: str, data: st.DataObject
) -> None:
    from lipflow.providers import registry
    from lipflow.schemas import PathChecks, check_request

    checks = registry.get(provider).checks
    assert isinstance(checks, PathChecks)
    body = _as_the_mock_parses(data.draw(bodies_for(schema)))
    if checks.surely_valid(body, endpoint=path, method=method):
        assert check_request(provider, body, endpoint=path, method=method) == [], body


@pytest.mark.parametrize(("provider", "method", "path", "schema"), PATH_ENDPOINTS)
def test_a_known_good_body_is_surely_valid_at_its_endpoint_unless_it_has_named_checks(
    provider: str, method: str, path: str, schema: str
) -> None:
    from lipflow.providers import registry
    from lipflow.schemas import PathChecks, check_request

    checks = registry.get(provider).checks
    assert isinstance(checks, PathChecks)
    for body in EXAMPLE_BODIES:
        parsed = _as_the_mock_parses(body)
        clean = check_request(provider, parsed, endpoint=path, method=method) == []
        named = bool(checks.named.get(path))
        fast = checks.surely_valid(parsed, endpoint=path, method=method)
        assert fast == (clean and not named and parsed is not None), (path, body)

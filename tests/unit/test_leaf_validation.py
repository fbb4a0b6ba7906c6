"""A step's jobs that differ only in a few leaves are checked by those leaves, with the verdict and
the words of checking each body whole.

The rules these tests hold: when :func:`independent_leaves` says a schema's leaves are
independent, a valid template with new leaf values is valid exactly when the leaf checks accept
the values (compared with jsonschema on generated schemas, templates and values); when any
keyword could read a leaf together with the rest of the body, it says so and the planner checks
whole bodies; Runware places a job's taskUUID and text as they are, nothing else changing; and a
plan's problems are the same words whichever path found them.
"""

from __future__ import annotations

import copy
import json
from dataclasses import replace
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from jsonschema import Draft202012Validator
from referencing import Registry
from referencing.jsonschema import DRAFT202012 as DRAFT

from lipflow.jobs import Job, LipsyncParams, Plan
from lipflow.plan import plan_recipe
from lipflow.providers import registry
from lipflow.recipe import parse_recipe
from lipflow.recipe.source import unprintable_character
from lipflow.schemas.leaves import independent_leaves, leaf_checks

BASE = "https://leaves.example/"
COMMON: dict[str, Any] = {
    "$id": BASE + "common.json",
    "$defs": {
        "uuid": {"type": "string", "pattern": "^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}$"},
        "short": {"type": "string", "minLength": 1, "maxLength": 4},
    },
}
# What a leaf may be constrained by.
LEAF_SCHEMAS: list[Any] = [
    {"type": "string", "minLength": 1, "maxLength": 5},
    {"type": "string", "pattern": "^[a-c]+$"},
    {"type": "integer", "minimum": 0, "maximum": 9},
    {"$ref": "common.json#/$defs/uuid"},
    {"$ref": "common.json#/$defs/short", "maxLength": 2},
    {"enum": ["a", "b", 1]},
    {"type": ["string", "null"]},
    {"const": "a"},
    {"not": {"type": "string"}},
    {"allOf": [{"type": "string"}, {"maxLength": 3}]},
    True,
    {},
]
LEAF_VALUES: list[Any] = [
    "",
    "a",
    "abc",
    "abcdef",
    "12345678-1234-4123",
    0,
    5,
    10,
    1.5,
    None,
    True,
    [],
    {},
    ["a"],
]


def _nest(path: tuple[str, ...], leaf: Any) -> dict[str, Any]:
    """``properties`` reaching ``path`` with ``leaf`` there."""
    head, *rest = path
    return {head: leaf if not rest else {"properties": _nest(tuple(rest), leaf)}}


# Keywords on an ancestor of a leaf at ``path`` (relative to it). True: it may read the leaf,
# so the leaves must not be declared independent.
DECORATIONS: list[tuple[Any, bool]] = [
    (lambda p: {"oneOf": [{"required": [p[0]]}, {"required": ["zz"]}]}, False),
    (lambda p: {"anyOf": [{"required": ["other"]}, {"minProperties": 1}]}, False),
    (lambda p: {"not": {"required": ["absent"]}}, False),
    (lambda p: {"dependentRequired": {p[0]: [p[0]]}, "maxProperties": 9}, False),
    (lambda p: {"allOf": [{"properties": _nest(p, {"maxLength": 3})}]}, False),
    (lambda p: {"allOf": [{"$ref": "common.json#/$defs/short"}]}, False),
    (lambda p: {"oneOf": [{"properties": _nest(p, {"const": "a"})}, {"required": ["zz"]}]}, True),
    (
        lambda p: {"anyOf": [{"properties": _nest(p, {"type": "integer"})}, {"required": ["zz"]}]},
        True,
    ),
    (
        lambda p: {"if": {"properties": _nest(p, {"const": "a"})}, "then": {"required": ["zz"]}},
        True,
    ),
    (lambda p: {"not": {"properties": _nest(p, {"const": "abc"})}}, True),
    (lambda p: {"dependentSchemas": {p[0]: {"properties": _nest(p, {"maxLength": 1})}}}, True),
    (lambda p: {"patternProperties": {"^zz": {"type": "string"}}}, True),
    (lambda p: {"enum": [{"x": "a"}]}, True),
    (lambda p: {"unevaluatedProperties": False}, True),
]


@st.composite
def cases(draw: st.DrawFn) -> tuple[dict[str, Any], Any, list[Any], bool]:
    """A schema whose bodies have leaves at ("a", "x") and ("b",), a template, new leaf values,
    and whether a decoration that may read a leaf was put on the way."""
    leaf_x, leaf_b = draw(st.sampled_from(LEAF_SCHEMAS)), draw(st.sampled_from(LEAF_SCHEMAS))
    inner: dict[str, Any] = {
        "type": "object",
        "properties": {"x": leaf_x, "y": {"type": "string"}},
        "required": ["x"],
        "additionalProperties": False,
    }
    root: dict[str, Any] = {
        "$id": BASE + "task.json",
        "type": "object",
        "properties": {"a": inner, "other": {"type": "string"}},
        "required": ["a", "b"],
    }
    # The second leaf is declared in properties, or reached through additionalProperties.
    if draw(st.booleans()):
        root["properties"]["b"] = leaf_b
        root["additionalProperties"] = False
    else:
        root["additionalProperties"] = leaf_b
    reads = False
    for node, path in ((root, ("a", "x")), (inner, ("x",))):
        for make, reading in draw(st.lists(st.sampled_from(DECORATIONS), max_size=2)):
            for key, value in make(path).items():
                if key not in node:
                    node[key] = value
                    reads = reads or reading
    template = {
        "a": {"x": draw(st.sampled_from(LEAF_VALUES))},
        "b": draw(st.sampled_from(LEAF_VALUES)),
    }
    if draw(st.booleans()):
        template["other"] = "o"
    values = [draw(st.sampled_from(LEAF_VALUES)), draw(st.sampled_from(LEAF_VALUES))]
    return root, template, values, reads


PATHS = (("a", "x"), ("b",))


def _docs(root: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {"t/task.json": root, "t/common.json": COMMON}


def _jsonschema(root: dict[str, Any]) -> Any:
    resources = [(d["$id"], DRAFT.create_resource(d)) for d in (root, COMMON)]
    return Draft202012Validator(root, registry=Registry().with_resources(resources))


def _with(template: Any, values: list[Any]) -> Any:
    body = copy.deepcopy(template)
    body["a"]["x"], body["b"] = values
    return body


@settings(max_examples=800, deadline=None, suppress_health_check=list(HealthCheck))
@given(case=cases())
def test_leaf_checks_of_a_valid_template_give_the_whole_body_verdict(
    case: tuple[dict[str, Any], Any, list[Any], bool],
) -> None:
    root, template, values, reads = case
    whole = _jsonschema(root)
    checks = leaf_checks(_docs(root), "t/task.json", PATHS)
    if reads:
        assert checks is None, "a keyword that reads a leaf was on the way"
    if checks is None or not whole.is_valid(template):
        return
    assert checks.accepts(values) == whole.is_valid(_with(template, values)), values


@pytest.mark.parametrize(
    ("make", "reading"), DECORATIONS, ids=[f"decoration-{i}" for i in range(len(DECORATIONS))]
)
def test_a_keyword_that_may_read_a_leaf_keeps_the_body_whole(make: Any, reading: bool) -> None:
    root = {
        "$id": BASE + "task.json",
        "type": "object",
        "properties": {"a": {"type": "object", "properties": {"x": {"type": "string"}}}},
        **make(("a", "x")),
    }
    found = independent_leaves(_docs(root), "t/task.json", [("a", "x")])
    assert (found is None) == reading


def test_leaf_paths_inside_one_another_are_not_independent() -> None:
    root = {"$id": BASE + "task.json", "type": "object"}
    assert independent_leaves(_docs(root), "t/task.json", [("a",), ("a", "x")]) is None
    assert independent_leaves(_docs(root), "t/task.json", [("a",), ("b",)]) == [[], []]


def test_runware_submits_leave_the_task_uuid_and_the_text_independent() -> None:
    checks = registry.get("runware").checks
    body = [_submit_body(_planned_job())]
    found = checks.leaf_checks(
        body, ((0, "taskUUID"), (0, "speech", "text")), endpoint=None, method="POST"
    )
    assert found is not None
    assert found.accepts(["00000000-0000-4000-8000-000000000000", "Hello"])
    assert not found.accepts(["not-a-uuid", "Hello"])
    assert not found.accepts(["00000000-0000-4000-8000-000000000000", "x" * 201])


# ------------------------------------------------------------------ Runware places them as they are

MATRIX_TTS = """\
version: 1
inputs:
  clip: {video: "https://example.com/clip.mp4", duration: 6}
steps:
  dub:
    use: runware/pixverse-lipsync
    matrix: {line: %s}
    lipsync: {video: clip, tts: {text: "%s", voice: Sophia}}
"""


def _planned(lines: list[Any], text: str) -> Plan:
    recipe, problems = parse_recipe(MATRIX_TTS % (json.dumps(lines), text), "r.yaml")
    assert recipe is not None, [p.format() for p in problems]
    return plan_recipe(recipe, env={})


def _plan(lines: list[str]) -> Plan:
    return _planned(lines, "{{ matrix.line }}")


def _planned_job() -> Job:
    return _plan(["Hello there"]).jobs[0].job


def _submit_body(job: Job) -> Any:
    client = registry.get("runware").client
    (submit,) = [r for r in client.plan_requests(job, "https://x/v1") if r.purpose == "submit"]
    return submit.json[0]


@settings(max_examples=200, deadline=None, suppress_health_check=list(HealthCheck))
@given(text=st.text(max_size=30) | st.sampled_from(["", " ", "auto", "\u3000"]), uuid=st.uuids())
def test_runware_places_the_task_uuid_and_the_text_as_they_are_and_nothing_else_changes(
    text: str, uuid: Any
) -> None:
    job = _planned_job()
    client = registry.get("runware").client
    declared = client.submit_leaves(job)
    assert declared == {"task_uuid": (0, "taskUUID"), "tts.text": (0, "speech", "text")}
    assert isinstance(job.params, LipsyncParams) and job.params.tts is not None
    other = replace(
        job,
        task_uuid=str(uuid),
        params=replace(job.params, tts=replace(job.params.tts, text=text)),
    )
    before, after = (
        client.plan_requests(job, "https://x/v1"),
        client.plan_requests(other, "https://x/v1"),
    )
    expected = copy.deepcopy(_submit_body(job))
    expected["taskUUID"], expected["speech"]["text"] = str(uuid), text
    assert _submit_body(other) == expected
    assert [(r.purpose, r.method, r.url, r.endpoint, r.validate) for r in before] == [
        (r.purpose, r.method, r.url, r.endpoint, r.validate) for r in after
    ]
    assert after[-1].json == [{**before[-1].json[0], "taskUUID": str(uuid)}]  # the poll names it


def test_runware_declares_nothing_when_the_options_write_over_the_speech() -> None:
    job = _planned_job()
    client = registry.get("runware").client
    assert client.submit_leaves(replace(job, options={"speech": {"voice": "James"}})) is None


# ------------------------------------------------------------------ the plan's words are the same


def _text_problems(plan: Plan) -> list[tuple[str, Any, Any]]:
    """The plan's problems: the recipe's only bad value is a text (a schema's words for an empty
    one; the planner's own for one over the length, which the schema's length rule repeats)."""
    return [(p.message, p.path, p.location) for p in plan.problems]


@pytest.mark.parametrize(
    "bad", ["x" * 201, "", "\u3000" * 250], ids=["too-long", "empty", "wide-spaces"]
)
def test_a_bad_text_among_good_ones_gets_the_words_it_gets_alone(bad: str) -> None:
    alone = _plan([bad])
    among = _plan(["Hello there", "Good morning", bad, "Bye now"])
    assert _text_problems(alone), "the text is refused on its own"
    assert _text_problems(among) == _text_problems(alone)
    (problem,) = among.problems
    assert dict(problem.context)["job"] == among.jobs[2].job.id


def test_a_plan_of_many_jobs_is_the_same_whichever_way_its_bodies_were_checked() -> None:
    lines = [f"Line {i}" for i in range(30)] + ["x" * 300] + [f"More {i}" for i in range(5)]
    plan = _plan(lines)
    assert len(plan.jobs) == len(lines)
    (problem,) = _text_problems(plan)
    assert "the text-to-speech text is 300 characters" in problem[0]


# ------------------------------------------------------------------ a step's jobs built alike

cells = st.one_of(
    # a cell a terminal would not print is refused at the matrix, its step set aside
    # (test_hostile_recipes), not planned
    st.text(max_size=12).filter(lambda cell: unprintable_character(cell) is None),
    st.sampled_from(["", "x" * 201, "\u3000", "auto"]),
    st.integers(-5, 5),
    st.booleans(),
)


def _shown(plan: Plan, i: int) -> Any:
    pj = plan.jobs[i]
    return pj.to_json() | {"requests": [r.to_json() for r in pj.requests]}


def _words(plan: Plan) -> list[tuple[str, Any, str]]:
    """What a plan says, a template error without the matrix cells it names: the same error in
    several cells is said once, naming the first (each cell alone names its own)."""
    return [
        (
            p.message.split(" (matrix ", 1)[0] if p.code == "template" else p.message,
            p.path,
            p.severity,
        )
        for p in plan.problems
    ]


@settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
@given(
    # cells that read alike (5 and "5") name one job: a duplicate id, planned apart elsewhere
    lines=st.lists(cells, min_size=2, max_size=5, unique_by=str),
    text=st.sampled_from(["Say {{ matrix.line }}", "{{ matrix.line }}", "{{ matrix.line.x }}"]),
)
def test_each_job_of_a_matrix_is_planned_as_its_cell_alone(lines: list[Any], text: str) -> None:
    together = _planned(lines, text)
    alone = [_planned([line], text) for line in lines]
    assert [pj.job.id for pj in together.jobs] == [pj.job.id for a in alone for pj in a.jobs]
    shown = [_shown(a, 0) for a in alone if a.jobs]
    assert [_shown(together, i) for i in range(len(together.jobs))] == shown
    said = {w for a in alone for w in _words(a)}
    assert set(_words(together)) == said

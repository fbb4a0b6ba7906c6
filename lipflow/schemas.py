"""Provider request and response bodies checked against JSON Schemas built from the provider docs.

The schemas live in ``schemas/<provider>/<name>.json`` (draft 2020-12); ``schemas/index.json`` says
which schema checks what: Runware tasks by ``taskType`` (and ``model`` for ``videoInference``),
PixVerse and WaveSpeed calls by HTTP method and API path template. Every rule carries a
``$comment`` naming its doc, and that citation becomes :attr:`Problem.source`.

Validators are compiled once and cached, so the planner and the mock server can check thousands of
bodies quickly. jsonschema's own messages ("is not valid under any of the given schemas") are turned
into sentences that say what is allowed and suggest the nearest valid value.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from functools import cache
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from jsonschema import Draft202012Validator, ValidationError, validators
from jsonschema.protocols import Validator
from referencing import Registry, Resource

from lipflow import checks
from lipflow._resources import schemas_dir
from lipflow.errors import UsageError
from lipflow.problems import PathPart, Problem, did_you_mean, unknown_name

__all__ = [
    "PROVIDERS",
    "Endpoint",
    "check_request",
    "check_response",
    "endpoints",
    "find_endpoint",
    "runware_models",
    "validator_for",
]

PROVIDERS = ("pixverse", "runware", "wavespeed")
_PREFIX = "https://lipflow.dev/schemas/"


# ---------------------------------------------------------------------------- loading


def _multiple_of(
    validator: Any, step: Any, instance: Any, schema: Mapping[str, Any]
) -> Iterator[ValidationError]:
    """``multipleOf`` on the digits a person wrote: 0.57 is a multiple of 0.01, 0.555 is not.

    jsonschema divides binary floats, so 0.57 / 0.01 = 56.99999999999999 fails; ``Decimal(str(x))``
    keeps the shortest repr Python prints, which is what the author of the JSON meant.
    """
    if not validator.is_type(instance, "number"):
        return
    try:
        quotient = Decimal(str(instance)) / Decimal(str(step))
        ok = quotient.is_finite() and quotient == quotient.to_integral_value()
    except (InvalidOperation, ValueError):
        ok = False
    if not ok:
        yield ValidationError(f"{instance!r} is not a multiple of {step}")


_stock_any_of = Draft202012Validator.VALIDATORS["anyOf"]
_PAIR_TABLES: dict[
    int, tuple[object, tuple[str, str], frozenset[tuple[object, object]] | None]
] = {}


def _pair_table(branches: Any) -> tuple[tuple[str, str], frozenset[tuple[object, object]]] | None:
    """The set behind an ``anyOf`` of ``{properties: {a: {const}, b: {const}}}`` branches, if it is
    one (the width x height tables), so membership is one lookup instead of 20 sub-validations."""
    cached = _PAIR_TABLES.get(id(branches))
    if cached is None or cached[0] is not branches:
        keys, table = _read_pairs(branches)
        cached = (branches, keys, table)
        _PAIR_TABLES[id(branches)] = cached
    return (cached[1], cached[2]) if cached[2] is not None else None


def _read_pairs(branches: Any) -> tuple[tuple[str, str], frozenset[tuple[object, object]] | None]:
    keys: tuple[str, ...] = ()
    pairs: set[tuple[object, object]] = set()
    for branch in branches if isinstance(branches, list) else ():
        props = branch.get("properties") if isinstance(branch, dict) else None
        if not isinstance(props, dict) or set(branch) != {"properties"} or len(props) != 2:
            return ("", ""), None
        consts = [
            p.get("const") for p in props.values() if isinstance(p, dict) and set(p) == {"const"}
        ]
        if keys not in ((), tuple(props)) or len(consts) != 2 or not all(map(_plain, consts)):
            return ("", ""), None
        keys = tuple(props)
        pairs.add((consts[0], consts[1]))
    if len(keys) != 2 or not pairs:
        return ("", ""), None
    return (keys[0], keys[1]), frozenset(pairs)


def _plain(value: object) -> bool:
    """An int or a string: JSON equality and Python equality agree on these (not on True == 1)."""
    return isinstance(value, int | str) and not isinstance(value, bool)


def _any_of(
    validator: Any, branches: Any, instance: Any, schema: Mapping[str, Any]
) -> Iterator[ValidationError]:
    """``anyOf`` with a set lookup for pair tables; same verdict as the stock keyword."""
    found = _pair_table(branches)
    if found is not None and isinstance(instance, dict):
        (a, b), table = found
        if a in instance and b in instance and _plain(instance[a]) and _plain(instance[b]):
            if (instance[a], instance[b]) not in table:
                yield ValidationError(f"{instance!r} is not valid under any of the given schemas")
            return
    yield from _stock_any_of(validator, branches, instance, schema)


_LipflowValidator = validators.extend(
    Draft202012Validator, {"multipleOf": _multiple_of, "anyOf": _any_of}
)
_ANNOTATIONS = frozenset({"$comment", "title", "description", "default", "examples", "deprecated"})


def _inline(node: Any, resolver: Any, seen: tuple[int, ...] = ()) -> Any:
    """A schema with its ``$ref``s replaced by what they point at, for speed (each ``$ref`` costs
    a registry lookup per validation). A ``$ref`` beside real keywords becomes an ``allOf`` item,
    which 2020-12 evaluates the same way; only annotations are merged in place."""
    if isinstance(node, list):
        return [_inline(item, resolver, seen) for item in node]
    if not isinstance(node, dict):
        return node
    if isinstance(node.get("$ref"), str):
        resolved = resolver.lookup(node["$ref"])
        if id(resolved.contents) in seen:
            raise RecursionError(node["$ref"])
        target = _inline(resolved.contents, resolved.resolver, (*seen, id(resolved.contents)))
        rest = {k: _inline(v, resolver, seen) for k, v in node.items() if k != "$ref"}
        if set(rest) <= _ANNOTATIONS and isinstance(target, dict):
            return {**target, **rest}
        return {**rest, "allOf": [target, *rest.get("allOf", [])]}
    literal = ("const", "enum", "examples", "default")
    return {k: v if k in literal else _inline(v, resolver, seen) for k, v in node.items()}


@cache
def _documents() -> dict[str, dict[str, Any]]:
    """Every schema file by its path relative to ``schemas/`` (``runware/common.json``)."""
    root = schemas_dir()
    docs: dict[str, dict[str, Any]] = {}
    for path in sorted(root.rglob("*.json")):
        rel = path.relative_to(root).as_posix()
        if rel != "index.json":
            docs[rel] = json.loads(path.read_text(encoding="utf-8"))
    return docs


@cache
def _registry() -> Registry[Any]:
    resources = [
        (doc["$id"], Resource.from_contents(doc))
        for doc in _documents().values()
        if isinstance(doc.get("$id"), str)
    ]
    return Registry().with_resources(resources)


@cache
def _index() -> dict[str, Any]:
    index: dict[str, Any] = json.loads((schemas_dir() / "index.json").read_text(encoding="utf-8"))
    return index


def _relpath(schema_id_or_relpath: str) -> str:
    docs = _documents()
    if schema_id_or_relpath in docs:
        return schema_id_or_relpath
    for rel, doc in docs.items():
        if doc.get("$id") == schema_id_or_relpath:
            return rel
    if schema_id_or_relpath.startswith(_PREFIX):
        rel = schema_id_or_relpath[len(_PREFIX) :]
        if rel in docs:
            return rel
    raise unknown_name("schema", schema_id_or_relpath, list(docs))


def validator_for(schema_id_or_relpath: str) -> Validator:
    """A compiled validator for one schema (by ``$id`` or path under ``schemas/``), built once.

    Use it for bulk checks (``validator.iter_errors(body)``); :func:`check_request` adds the
    readable messages and the named checks on top.
    """
    return _compiled(_relpath(schema_id_or_relpath))


@cache
def _compiled(rel: str) -> Validator:
    doc = _documents()[rel]
    schema: Any = doc
    if not any(k in json.dumps(doc) for k in ('"$dynamicRef"', '"$recursiveRef"')):
        try:
            schema = _inline(doc, _registry().resolver(base_uri=str(doc.get("$id", ""))))
        except RecursionError:
            schema = doc  # a recursive schema keeps its $refs
    validator: Validator = _LipflowValidator(schema, registry=_registry())
    return validator


# ---------------------------------------------------------------------------- endpoints


@dataclass(frozen=True, slots=True)
class Endpoint:
    """One documented API call: its method, path template and the schemas of both directions."""

    provider: str
    method: str
    path: str
    request: str | None
    response: str | None
    body: str = "application/json"
    source: str = ""
    params: Mapping[str, str] = field(default_factory=dict)  # path parameter -> pattern

    def match(self, path: str) -> dict[str, str] | None:
        """The path parameters when ``path`` fits this template (``{id}`` is one segment)."""
        found = _template_regex(self.path).fullmatch(path)
        return None if found is None else found.groupdict()


@cache
def _template_regex(template: str) -> re.Pattern[str]:
    parts = re.split(r"\{(\w+)\}", template)
    pattern = "".join(
        f"(?P<{part}>[^/]+)" if i % 2 else re.escape(part) for i, part in enumerate(parts)
    )
    return re.compile(pattern)


@cache
def _endpoints(provider: str) -> tuple[Endpoint, ...]:
    entries = _index()[provider].get("endpoints", [])
    return tuple(
        Endpoint(
            provider=provider,
            method=e["method"],
            path=e["path"],
            request=e.get("request"),
            response=e.get("response"),
            body=e.get("body", "application/json"),
            source=e.get("source", ""),
            params=e.get("params", {}),
        )
        for e in entries
    )


def _known_provider(provider: str) -> str:
    if provider in PROVIDERS:
        return provider
    raise unknown_name("provider", provider, PROVIDERS)


def endpoints(provider: str) -> list[str]:
    """The API paths lipflow knows for a provider; for Runware (one URL) its task types."""
    provider = _known_provider(provider)
    if provider == "runware":
        return sorted(_index()["runware"]["tasks"])
    return [e.path for e in _endpoints(provider)]


def runware_models() -> list[str]:
    """The Runware ``videoInference`` models lipflow has schemas for."""
    return list(_index()["runware"]["tasks"]["videoInference"]["models"])


def find_endpoint(provider: str, method: str, path: str) -> tuple[Endpoint, dict[str, str]] | None:
    """The endpoint for an exact method and path, with its path parameters; None if undocumented.

    For the mock server: a known path under another method is a 405, an unknown path a 404.
    """
    provider = _known_provider(provider)
    for endpoint in _endpoints(provider):
        params = endpoint.match(path)
        if params is not None and endpoint.method == method.upper():
            return endpoint, params
    return None


def _resolve(provider: str, endpoint: str | None, method: str) -> tuple[Endpoint, dict[str, str]]:
    """The endpoint a user names; a path with a single documented method needs no method."""
    known = _endpoints(provider)
    listing = ", ".join(f"{e.method} {e.path}" for e in known)
    if endpoint is None:
        raise UsageError(f"{provider} needs an endpoint (the API path); known: {listing}")
    path = urlsplit(endpoint).path or endpoint
    found = find_endpoint(provider, method, path)
    if found:
        return found
    candidates = [(e, p) for e in known if (p := e.match(path)) is not None]
    if len(candidates) == 1:
        return candidates[0]
    hint = did_you_mean(path, [e.path for e in known])
    raise UsageError(
        f"{method.upper()} {path} is not a documented {provider} endpoint; known: {listing}"
        + (f"; did you mean {hint!r}?" if hint else "")
    )


def _query_body(endpoint: str | None, body: object) -> object:
    """A GET's parameters: the body if given, else the query string of ``endpoint``."""
    if body is not None:
        return body
    query = urlsplit(endpoint or "").query
    return dict(parse_qsl(query, keep_blank_values=True))


def _path_param_problems(endpoint: Endpoint, params: Mapping[str, str]) -> list[Problem]:
    return [
        Problem(
            message=f"the {name} in the URL path is {value!r}; it must match {pattern}",
            code="path-param",
            source=endpoint.source,
        )
        for name, value in params.items()
        if (pattern := endpoint.params.get(name)) and not re.fullmatch(pattern, value)
    ]


# ---------------------------------------------------------------------------- public checks


def check_request(
    provider: str, body: object, *, endpoint: str | None = None, method: str = "POST"
) -> list[Problem]:
    """Every problem with one provider request body: schema rules first, then the named checks.

    Runware: ``body`` is one task or an array of tasks; the task's ``taskType`` (and ``model``)
    picks the schema, and ``endpoint``, if given, must be a task type. PixVerse/WaveSpeed:
    ``endpoint`` is the API path (``/openapi/v2/video/lip_sync/generate``); for a GET the body is
    the query parameters (taken from ``endpoint``'s query string when ``body`` is None).
    """
    provider = _known_provider(provider)
    if provider == "runware":
        if endpoint is not None:
            _runware_task_entry(endpoint)
        return _each_task(body, _runware_task_problems)
    ep, params = _resolve(provider, endpoint, method)
    if ep.method == "GET":
        body = _query_body(endpoint, body)
    problems = _path_param_problems(ep, params)
    if ep.request is not None:
        problems += _validate(ep.request, body)
    return problems


def check_response(
    provider: str,
    body: object,
    *,
    endpoint: str | None = None,
    method: str = "POST",
    task_type: str | None = None,
    model: str | None = None,
) -> list[Problem]:
    """Every problem with one provider response body, by the documented envelope and payload.

    Runware: the ``{"data": [...], "errors": [...]}`` envelope; each data item is checked by its
    own ``taskType`` (a ``getResponse`` reply carries ``videoInference`` items). ``task_type`` and
    ``model``, when given, must be known (they name the request this answers).
    """
    provider = _known_provider(provider)
    if provider == "runware":
        if task_type is not None:
            _runware_task_entry(task_type)
        if model is not None:
            _runware_model_schema(model)
        return _runware_response_problems(body)
    ep, _params = _resolve(provider, endpoint, method)
    return _validate(ep.response, body) if ep.response else []


# ---------------------------------------------------------------------------- runware


def _runware_task_entry(task_type: str) -> dict[str, Any]:
    tasks: dict[str, Any] = _index()["runware"]["tasks"]
    if task_type in tasks:
        entry: dict[str, Any] = tasks[task_type]
        return entry
    raise unknown_name("Runware task type", task_type, sorted(tasks))


def _runware_model_schema(model: str) -> str:
    models: dict[str, str] = _index()["runware"]["tasks"]["videoInference"]["models"]
    if model in models:
        return models[model]
    raise unknown_name("Runware model", model, list(models))


def _each_task(body: object, check: Any) -> list[Problem]:
    """Run ``check`` on one task or each task of an array, paths prefixed by the array index."""
    if isinstance(body, list):
        if not body:
            return [
                Problem(message="the request array is empty; send at least one task", code="empty")
            ]
        return [p for i, task in enumerate(body) for p in _prefixed(check(task), (i,))]
    return list(check(body))


def _prefixed(problems: Sequence[Problem], prefix: tuple[PathPart, ...]) -> list[Problem]:
    return [p.at(None, prefix=prefix) for p in problems]


_SOURCE_TASKS = "PROVIDERS.md §1.1 and §1.7 (Runware task objects)"


def _runware_task_problems(task: object) -> list[Problem]:
    if not isinstance(task, dict):
        return [
            Problem(message=f"a Runware task is a JSON object, not {_json_type(task)}", code="type")
        ]
    task_type = task.get("taskType")
    tasks = _index()["runware"]["tasks"]
    if task_type is None:
        return [
            Problem(
                message="'taskType' is required",
                path=("taskType",),
                code="required",
                source=_SOURCE_TASKS,
            )
        ]
    if task_type not in tasks:
        return [_unknown_choice("taskType", task_type, sorted(tasks), "task types")]
    entry = tasks[task_type]
    if "models" not in entry:
        return _validate(entry["request"], task)
    model = task.get("model")
    if model is None:
        return [
            Problem(
                message="'model' is required",
                path=("model",),
                code="required",
                source="seed 000_5944ea2442889dc1.txt §model (Required)",
            )
        ]
    if model not in entry["models"]:
        return [_unknown_choice("model", model, list(entry["models"]), "videoInference models")]
    return _validate(entry["models"][model], task, model=model) + checks.run_task_checks(task)


def _unknown_choice(name: str, value: object, choices: list[str], noun: str) -> Problem:
    return Problem(
        message=f"{value!r} is not one of the {noun} lipflow knows ({', '.join(choices)})",
        path=(name,),
        code="enum",
        suggestion=did_you_mean(value, choices),
        source="schemas/index.json",
    )


def _runware_response_problems(body: object) -> list[Problem]:
    runware = _index()["runware"]
    problems = _validate(runware["response"], body)
    if not isinstance(body, dict) or not isinstance(body.get("data"), list):
        return problems
    items = {
        name: entry["response_item"]
        for name, entry in runware["tasks"].items()
        if name != "getResponse"
    }
    for i, item in enumerate(body["data"]):
        kind = item.get("taskType") if isinstance(item, dict) else None
        if not isinstance(kind, str):
            continue  # the envelope schema already says taskType is required
        if kind in items:
            problems += _prefixed(_validate(items[kind], item), ("data", i))
        else:
            problems.append(
                _unknown_choice("taskType", kind, sorted(items), "reply task types").at(
                    None, prefix=("data", i)
                )
            )
    return problems


# ---------------------------------------------------------------------------- messages


def validate(schema: str, body: object, *, model: str | None = None) -> list[Problem]:
    """Every way ``body`` breaks one schema (an ``$id`` or a path under schemas/), as Problems."""
    return _validate(schema, body, model=model)


def _validate(schema: str, body: object, *, model: str | None = None) -> list[Problem]:
    validator = validator_for(schema)
    problems: list[Problem] = []
    seen: set[tuple[tuple[PathPart, ...], str]] = set()
    for error in validator.iter_errors(body):
        for problem in _translate(error, model, validator.schema):
            key = (problem.path, problem.message)
            if key not in seen:
                seen.add(key)
                problems.append(problem)
    problems.sort(key=lambda p: tuple(str(part) for part in p.path))
    return problems


def _json_type(value: object) -> str:
    names = {
        bool: "a boolean",
        int: "an integer",
        float: "a number",
        str: "a string",
        list: "an array",
        dict: "an object",
        type(None): "null",
    }
    return names.get(type(value), type(value).__name__)


def _show(value: object) -> str:
    return repr(value) if isinstance(value, str) else json.dumps(value)


def _choices(values: Sequence[object]) -> str:
    return ", ".join(str(v) if isinstance(v, str) else json.dumps(v) for v in values)


def _source(schema: object) -> str | None:
    return schema.get("$comment") if isinstance(schema, dict) else None


def _names(path: Sequence[PathPart]) -> str:
    return ".".join(str(p) for p in path if isinstance(p, str)) or "the body"


def _nearest_comment(root: Mapping[str, Any], schema_path: Sequence[Any]) -> str | None:
    """The ``$comment`` closest to a failing keyword along its schema path, through ``$ref``s:
    a rule inside an ``if``/``then`` cites the comment of the block that holds it."""
    resolver = _registry().resolver(base_uri=str(root.get("$id", "")))
    node: Any = root
    comment = _source(node)
    for key in schema_path:
        if key == "$ref" and isinstance(node, dict):
            resolved = resolver.lookup(node["$ref"])
            node, resolver = resolved.contents, resolved.resolver
        else:
            try:
                node = node[key]
            except (KeyError, IndexError, TypeError):
                break
        comment = _source(node) or comment
    return comment


def _translate(error: ValidationError, model: str | None, root: Mapping[str, Any]) -> list[Problem]:
    """One jsonschema error as lipflow problems: a sentence, the allowed values, a suggestion."""
    path = tuple(error.absolute_path)
    schema = error.schema if isinstance(error.schema, dict) else {}
    source = _source(schema) or _nearest_comment(root, list(error.absolute_schema_path)[:-1])
    value = error.instance
    rule = str(error.validator)
    expected = error.validator_value

    def problem(
        message: str,
        *,
        at: tuple[PathPart, ...] = path,
        code: str = rule,
        suggestion: str | None = None,
    ) -> Problem:
        return Problem(message=message, path=at, code=code, suggestion=suggestion, source=source)

    if rule == "required":
        missing = [name for name in expected if isinstance(value, dict) and name not in value]
        return [problem(f"{name!r} is required", at=(*path, name)) for name in missing]
    if rule == "dependentRequired":
        return [
            problem(
                f"{need!r} is required when {key!r} is set: they must be used together",
                at=(*path, need),
                code="together",
            )
            for key, needs in expected.items()
            if isinstance(value, dict) and key in value
            for need in needs
            if need not in value
        ]
    if rule == "additionalProperties":
        allowed = list(schema.get("properties", {}))
        where = schema.get("title") or _names(path)
        extras = [k for k in value if k not in allowed] if isinstance(value, dict) else []
        return [
            problem(
                f"{name!r} is not a documented property of {where}; allowed: "
                f"{', '.join(allowed) or 'none'}",
                at=(*path, name),
                code="unknown-property",
                suggestion=did_you_mean(name, allowed),
            )
            for name in extras
        ]
    if rule == "enum":
        return [_enum_problem(value, expected, schema, path, source)]
    if rule == "const":
        return [problem(f"{_show(value)} is not allowed here; it must be {_show(expected)}")]
    if rule == "type":
        kinds = expected if isinstance(expected, list) else [expected]
        wanted = " or ".join(_json_type(_SAMPLES[k]) for k in kinds if k in _SAMPLES)
        return [problem(f"{_show(value)} is {_json_type(value)}; expected {wanted}")]
    if rule in _RANGE_RULES:
        return [problem(f"{_show(value)} is out of range: {_range_text(schema)}", code="range")]
    if rule in ("minLength", "maxLength"):
        return [
            problem(
                f"the text is {len(value)} characters long; {_length_text(schema)}", code="length"
            )
        ]
    if rule in ("minItems", "maxItems"):
        return [problem(f"{len(value)} items given; {_items_text(schema)}", code="items")]
    if rule == "multipleOf":
        return [
            problem(
                f"{_show(value)} is not in steps of {expected}: use at most "
                f"{_decimals(expected)} decimal places",
                code="step",
            )
        ]
    if rule == "pattern":
        what = schema.get("description") or f"text matching {expected}"
        return [problem(f"{_show(value)} is not {what}", code="format")]
    if rule == "not":
        return [_not_problem(expected, schema, path, source)]
    if rule in ("oneOf", "anyOf"):
        return [_either_problem(error, schema, path, source, model)]
    return [problem(error.message)]


_SAMPLES: dict[str, object] = {
    "string": "",
    "integer": 0,
    "number": 0.5,
    "boolean": True,
    "array": [],
    "object": {},
    "null": None,
}
_RANGE_RULES = ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum")


def _range_text(schema: Mapping[str, Any]) -> str:
    low, high = schema.get("minimum"), schema.get("maximum")
    if "exclusiveMinimum" in schema:
        return f"it must be greater than {schema['exclusiveMinimum']}"
    if "exclusiveMaximum" in schema:
        return f"it must be less than {schema['exclusiveMaximum']}"
    if low is not None and high is not None:
        return f"allowed: {low} to {high}"
    return f"the minimum is {low}" if low is not None else f"the maximum is {high}"


def _length_text(schema: Mapping[str, Any]) -> str:
    low, high = schema.get("minLength"), schema.get("maxLength")
    if low is not None and high is not None:
        return f"allowed: {low} to {high} characters"
    return f"at least {low} allowed" if low is not None else f"at most {high} allowed"


def _items_text(schema: Mapping[str, Any]) -> str:
    low, high = schema.get("minItems"), schema.get("maxItems")
    if low is not None and low == high:
        return f"exactly {low} allowed"
    if low is not None and high is not None:
        return f"allowed: {low} to {high} items"
    return f"at least {low} needed" if low is not None else f"at most {high} allowed"


def _decimals(step: object) -> int:
    exponent = Decimal(str(step)).normalize().as_tuple().exponent
    return max(0, -exponent) if isinstance(exponent, int) else 0


def _enum_problem(
    value: object,
    allowed: Sequence[object],
    schema: Mapping[str, Any],
    path: tuple[PathPart, ...],
    source: str | None,
) -> Problem:
    noun = schema.get("title") or "values"
    message = f"{_show(value)} is not one of the allowed {noun} ({_choices(allowed)})"
    suggestion = did_you_mean(value, allowed) if isinstance(value, str) else None
    if path[-2:] == ("speech", "voice") and isinstance(value, str):
        name = checks.pixverse_speaker_name(value)
        if name is not None:
            message += (
                f"; {value!r} is PixVerse's native speaker_id for {name}: Runware takes the name"
            )
            suggestion = name
    return Problem(message=message, path=path, code="enum", suggestion=suggestion, source=source)


def _not_problem(
    negated: object, schema: Mapping[str, Any], path: tuple[PathPart, ...], source: str | None
) -> Problem:
    if isinstance(negated, dict) and list(negated.get("required", [])) and len(negated) <= 2:
        names = [repr(n) for n in negated["required"]]
        return Problem(
            message=f"set either {' or '.join(names)}, not both",
            path=path,
            code="either-or",
            source=_source(negated) or source,
        )
    field = path[-1] if path else "this value"
    why = schema.get("description") or "it is not documented for this model"
    moved = re.match(r"use '([^']+)'", why)
    return Problem(
        message=f"{str(field)!r} is not accepted here: {why}",
        path=path,
        code="not-allowed",
        suggestion=moved.group(1) if moved else None,
        source=source,
    )


def _branch_label(branch: Mapping[str, Any]) -> str:
    if "title" in branch:
        return str(branch["title"])
    return " + ".join(repr(n) for n in branch.get("required", [])) or "another form"


def _either_problem(
    error: ValidationError,
    schema: Mapping[str, Any],
    path: tuple[PathPart, ...],
    source: str | None,
    model: str | None,
) -> Problem:
    branches: list[Mapping[str, Any]] = list(error.validator_value)
    if branches and all(_is_pair(b) for b in branches):
        return _size_problem(error.instance, branches, path, source, model)
    if all("type" in b for b in branches):
        # The branch of the value's own type says best what is wrong with it ("not WxH").
        same_type = [e for e in error.context if e.validator != "type"]
        if same_type:
            best = min(same_type, key=lambda e: len(e.relative_schema_path))
            return _translate(best, model, schema)[0]
        what = schema.get("description") or " or ".join(
            dict.fromkeys(str(b["type"]) for b in branches)
        )
        return Problem(
            message=f"{_show(error.instance)} is not {what}", path=path, code="type", source=source
        )
    labels = (", " if len(branches) > 2 else " or ").join(_branch_label(b) for b in branches)
    if error.validator == "oneOf" and not error.context:
        singles = [b["required"][0] for b in branches if len(b.get("required", ())) == 1]
        if len(branches) > 2 and len(singles) == len(branches) and isinstance(error.instance, dict):
            found = [name for name in singles if name in error.instance]
            return Problem(
                message=f"set only one of {', '.join(map(repr, singles))}; found {', '.join(map(repr, found))}",
                path=path,
                code="either-or",
                source=source,
            )
        return Problem(
            message=f"set either {labels}, not both", path=path, code="either-or", source=source
        )
    quantity = "one" if error.validator == "oneOf" else "at least one"
    return Problem(
        message=f"set {quantity} of {labels}", path=path, code="either-or", source=source
    )


def _is_pair(branch: Mapping[str, Any]) -> bool:
    props = branch.get("properties", {})
    return (
        set(branch) == {"properties"}
        and set(props) == {"width", "height"}
        and all("const" in p for p in props.values())
    )


def _size_problem(
    instance: object,
    branches: Sequence[Mapping[str, Any]],
    path: tuple[PathPart, ...],
    source: str | None,
    model: str | None,
) -> Problem:
    pairs = [
        (b["properties"]["width"]["const"], b["properties"]["height"]["const"]) for b in branches
    ]
    body = instance if isinstance(instance, dict) else {}
    width, height = body.get("width"), body.get("height")
    listing = ", ".join(f"{w}x{h}" for w, h in pairs)
    if not (isinstance(width, int) and isinstance(height, int)):
        return Problem(
            message=f"width x height must be one of: {listing}",
            path=path,
            code="size",
            source=source,
        )
    if width not in {w for w, _ in pairs}:
        name, field = "width", width
    elif height not in {h for _, h in pairs}:
        name, field = "height", height
    else:
        name, field = "width", None
    why = f"{field} is not in its table" if field is not None else "that pair is not in its table"
    nearest = nearest_size(width, height, pairs)
    who = model or "this model"
    return Problem(
        message=f"{width}x{height} is not a size {who} allows ({why}); allowed: {listing}",
        path=(*path, name),
        code="size",
        suggestion=f"{nearest[0]}x{nearest[1]}" if nearest else None,
        source=source,
    )


def nearest_size(
    width: int, height: int, pairs: Sequence[tuple[int, int]]
) -> tuple[int, int] | None:
    """The allowed pair closest to ``width x height`` with the same orientation (landscape,
    portrait or square), so the suggestion keeps the shot's shape."""

    def orientation(w: int, h: int) -> int:
        return (w > h) - (w < h)

    same = [p for p in pairs if orientation(*p) == orientation(width, height)] or list(pairs)
    if not same:
        return None
    return min(same, key=lambda p: ((p[0] - width) ** 2 + (p[1] - height) ** 2, p))

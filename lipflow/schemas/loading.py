"""Schema documents, their referencing registry, and compiled validators.

The recipe schema lives in ``schemas/recipe.schema.json``; each provider brings its own folder
(:attr:`lipflow.providers.base.Provider.schemas_dir`), whose files are named ``<provider>/<file>``
here. Validators are compiled once (``$ref``s inlined, a faster ``anyOf`` for size tables, and a
``multipleOf`` on decimal digits) and cached, so the planner and the mock can check thousands of
bodies quickly. The recipe schema's provider enums are filled from the provider registry at load.
"""

from __future__ import annotations

import copy
import json
import math
from collections.abc import Callable, Iterator, Mapping
from decimal import Decimal, InvalidOperation
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from lipflow._resources import schemas_dir
from lipflow.problems import PathPart, unknown_name

if TYPE_CHECKING:
    from jsonschema import ValidationError
    from jsonschema.protocols import Validator
    from referencing import Registry

    from lipflow.schemas.leaves import LeafChecks

__all__ = [
    "ID_PREFIX",
    "RECIPE_SCHEMA",
    "Compiled",
    "compiled",
    "document_names",
    "provider_documents",
    "recipe_schema",
    "validator_for",
]

ID_PREFIX = "https://lipflow.dev/schemas/"
RECIPE_SCHEMA = "recipe.schema.json"
# Where the recipe schema names providers: both enums are filled from the registry.
_PROVIDER_ENUMS = (
    ("$defs", "mediaSource", "oneOf", 1, "properties", "provider"),
    ("$defs", "step", "properties", "provider"),
)


# ---------------------------------------------------------------------------- keywords


def _multiple_of(
    validator: Any, step: Any, instance: Any, schema: Mapping[str, Any]
) -> Iterator[ValidationError]:
    """``multipleOf`` on the digits a person wrote: 0.57 is a multiple of 0.01, 0.555 is not.

    jsonschema divides binary floats, so 0.57 / 0.01 = 56.99999999999999 fails; ``Decimal(str(x))``
    keeps the shortest repr Python prints, which is what the author of the JSON meant. A value that
    arithmetic left within floating-point noise of a step (0.1 + 0.2 = 0.30000000000000004, from a
    template or a script) is the step a person meant, so it passes too.
    """
    if not validator.is_type(instance, "number"):
        return
    try:
        quotient = Decimal(str(instance)) / Decimal(str(step))
        ok = quotient.is_finite() and (
            quotient == quotient.to_integral_value()
            or _within_float_noise(instance, quotient.to_integral_value() * Decimal(str(step)))
        )
    except (InvalidOperation, ValueError, OverflowError):
        ok = False
    if not ok:
        from jsonschema import ValidationError

        yield ValidationError(f"{instance!r} is not a multiple of {step}")


# How far binary arithmetic may move a value off the decimal it stands for: a few units in the last
# place (0.1 + 0.2 is one ulp above 0.3); 0.555 is half a step, never noise.
_NOISE_ULPS = 4


def _within_float_noise(instance: float | int, nearest: Decimal) -> bool:
    """``instance`` differs from the step multiple ``nearest`` only by float rounding."""
    if isinstance(instance, int):
        return False  # integers carry no rounding noise
    target = float(nearest)
    return abs(instance - target) <= _NOISE_ULPS * math.ulp(max(abs(instance), abs(target)))


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
                from jsonschema import ValidationError

                yield ValidationError(f"{instance!r} is not valid under any of the given schemas")
            return
    from jsonschema import Draft202012Validator

    yield from Draft202012Validator.VALIDATORS["anyOf"](validator, branches, instance, schema)


@cache
def _validator_class() -> Any:
    """Draft 2020-12 with lipflow's ``multipleOf`` and ``anyOf``; jsonschema is imported here, when
    a body is not surely valid, not when lipflow starts (its import is most of ``validate``'s)."""
    from jsonschema import Draft202012Validator, validators

    return validators.extend(Draft202012Validator, {"multipleOf": _multiple_of, "anyOf": _any_of})


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


# ---------------------------------------------------------------------------- documents


@cache
def provider_documents(name: str, folder: Path) -> dict[str, dict[str, Any]]:
    """Every schema file of one provider by its name, ``<provider>/<file>``."""
    return {
        f"{name}/{path.relative_to(folder).as_posix()}": json.loads(
            path.read_text(encoding="utf-8")
        )
        for path in sorted(folder.rglob("*.json"))
    }


def _provider_folders() -> dict[str, Path]:
    from lipflow.providers import registry

    return {p.name: p.schemas_dir for p in registry.providers()}


def recipe_schema() -> dict[str, Any]:
    """The recipe schema, its provider enums listing the registered providers."""
    from lipflow.providers import registry

    return _recipe_schema(registry.names())


@cache
def _recipe_schema(names: tuple[str, ...]) -> dict[str, Any]:
    doc: dict[str, Any] = json.loads((schemas_dir() / RECIPE_SCHEMA).read_text(encoding="utf-8"))
    doc = copy.deepcopy(doc)
    for path in _PROVIDER_ENUMS:
        node: Any = doc
        for key in path:
            node = node[key]
        node["enum"] = list(names)
    return doc


def document_names() -> list[str]:
    """Every schema lipflow knows: the recipe schema, then each provider's files."""
    names = [RECIPE_SCHEMA]
    for name, folder in _provider_folders().items():
        names += list(provider_documents(name, folder))
    return names


def _documents_of(rel: str) -> tuple[dict[str, dict[str, Any]], str]:
    """The documents that ``rel`` (a name or an ``$id``) lives among, and its name there."""
    if rel.startswith(ID_PREFIX):
        rel = rel[len(ID_PREFIX) :]
    if rel == RECIPE_SCHEMA:
        return {RECIPE_SCHEMA: recipe_schema()}, rel
    folders = _provider_folders()
    provider = rel.split("/", 1)[0]
    if provider in folders:
        docs = provider_documents(provider, folders[provider])
        if rel in docs:
            return docs, rel
    for name, folder in folders.items():
        for found, doc in provider_documents(name, folder).items():
            if doc.get("$id") == rel:
                return provider_documents(name, folder), found
    raise unknown_name("schema", rel, document_names())


_REGISTRIES: dict[int, tuple[dict[str, dict[str, Any]], Registry[Any]]] = {}


def _registry_of(docs: dict[str, dict[str, Any]]) -> Registry[Any]:
    """The ``$ref`` registry of one provider's documents (or of the recipe schema), built once."""
    from referencing import Registry, Resource

    found = _REGISTRIES.get(id(docs))
    if found is None or found[0] is not docs:
        resources = [
            (doc["$id"], Resource.from_contents(doc))
            for doc in docs.values()
            if isinstance(doc.get("$id"), str)
        ]
        found = (docs, Registry().with_resources(resources))
        _REGISTRIES[id(docs)] = found
    return found[1]


class Compiled:
    """One schema, checked by jsonschema-rs first and by jsonschema when that is not enough.

    :meth:`surely_valid` is the fast path: jsonschema-rs says whether a body is valid. Only a
    body it does not accept goes through :attr:`validator` (jsonschema, which decides and words
    the errors); it, the inlined :attr:`root` and the :attr:`registry` are built on first use, so
    a run of valid bodies never imports jsonschema.
    """

    __slots__ = ("_jsonschema", "_leaves", "docs", "fast", "rel")

    def __init__(self, docs: dict[str, dict[str, Any]], rel: str) -> None:
        self.docs = docs
        self.rel = rel
        self.fast: Any = None  # the jsonschema-rs validator once built; False when none can be
        self._jsonschema: tuple[Validator, Mapping[str, Any], Registry[Any]] | None = None
        self._leaves: dict[tuple[tuple[PathPart, ...], ...], LeafChecks | None] = {}

    def leaf_checks(self, paths: tuple[tuple[PathPart, ...], ...]) -> LeafChecks | None:
        """The checks of these leaves of a valid body, when they are independent of the rest
        (:func:`lipflow.schemas.leaves.leaf_checks`), built once per set of paths."""
        if paths not in self._leaves:
            from lipflow.schemas.leaves import leaf_checks

            self._leaves[paths] = leaf_checks(self.docs, self.rel, paths)
        return self._leaves[paths]

    @property
    def validator(self) -> Validator:
        return self._slow()[0]

    @property
    def root(self) -> Mapping[str, Any]:
        """The schema jsonschema checks against: ``$ref``s inlined where that is sound."""
        return self._slow()[1]

    @property
    def registry(self) -> Registry[Any]:
        return self._slow()[2]

    def surely_valid(self, body: object, *, parsed: bool = False) -> bool:
        """True when jsonschema-rs finds ``body`` valid; False means "ask jsonschema".

        jsonschema-rs accepts no body jsonschema rejects (a property test holds the two to that
        on every schema lipflow knows): where its dialect is more lenient (regex classes, Python
        types that are not JSON) the schema or the body is kept off this path. ``parsed``: the
        body is a document a JSON parser made (the mock's requests), plain JSON by how it was
        made, so it is not walked to make sure.
        """
        fast = self.fast
        if fast is None:
            fast = self.fast = _fast_validator(self.docs, self.rel)
        if fast is False:
            return False
        if parsed:
            return bool(fast.is_valid(body))
        for held in _HELD_PLAIN:
            if held is body:
                return bool(fast.is_valid(body))
        return _plain_json(body) and bool(fast.is_valid(body))

    def _slow(self) -> tuple[Validator, Mapping[str, Any], Registry[Any]]:
        if self._jsonschema is None:
            doc = self.docs[self.rel]
            registry = _registry_of(self.docs)
            schema: Any = doc
            if not any(k in json.dumps(doc) for k in ('"$dynamicRef"', '"$recursiveRef"')):
                try:
                    schema = _inline(doc, registry.resolver(base_uri=str(doc.get("$id", ""))))
                except RecursionError:
                    schema = doc  # a recursive schema keeps its $refs
            validator: Validator = _validator_class()(schema, registry=registry)
            self._jsonschema = (validator, schema, registry)
        return self._jsonschema


def _plain_json(value: object) -> bool:
    """``value`` is made of JSON's own types only (exact dict with str keys, list, str, int,
    bool, None, finite float): jsonschema-rs reads a tuple as an array and a str enum as a
    string where jsonschema does not, and has no NaN."""
    try:
        return _plain_nested(value)
    except RecursionError:  # deeper than the stack: walked without recursion
        return _plain_walked(value)


def _plain_nested(value: Any) -> bool:
    """:func:`_plain_json` by recursion, scalars tested in place (a request body's dozen leaves
    are not pushed on and popped off a stack)."""
    kind = type(value)
    if kind is dict:
        for key, item in value.items():
            if type(key) is not str:
                return False
            kind = type(item)
            if kind is str or kind is int or kind is bool or item is None:
                continue
            if not _plain_nested(item):
                return False
        return True
    if kind is list:
        for item in value:
            kind = type(item)
            if kind is str or kind is int or kind is bool or item is None:
                continue
            if not _plain_nested(item):
                return False
        return True
    if kind is float:
        return bool(value - value == 0)  # not NaN or infinite
    return kind in _SCALARS


def _plain_walked(value: object) -> bool:
    """:func:`_plain_json` with an explicit stack."""
    stack: list[Any] = [value]
    while stack:
        item = stack.pop()
        kind = type(item)
        if kind is dict:
            for key in item:
                if type(key) is not str:
                    return False
            stack.extend(item.values())
        elif kind is list:
            stack.extend(item)
        elif kind is float:
            if item - item != 0:  # NaN and the infinities
                return False
        elif kind not in _SCALARS:
            return False
    return True


_SCALARS = frozenset({str, int, bool, type(None)})

# A body the caller found plain JSON, and its array's items, while it is checked (see hold_plain).
_HELD_PLAIN: tuple[object, ...] = ()


def hold_plain(body: object) -> bool:
    """Whether ``body`` is plain JSON (:func:`_plain_json`). When it is, it and its array's items
    are held as such until :func:`release_plain`: validating them meanwhile skips that walk (a
    planned request's body is walked once, not once for its Deferreds and again here). The
    caller changes nothing in the body while it is held."""
    global _HELD_PLAIN
    if not _plain_json(body):
        return False
    _HELD_PLAIN = (body, *body) if type(body) is list else (body,)
    return True


def release_plain() -> None:
    """Forget the body :func:`hold_plain` held."""
    global _HELD_PLAIN
    _HELD_PLAIN = ()


# Python's ``\s`` on str (str.isspace()); jsonschema-rs reads ``\s`` as ECMA-262 does (no \x1c-\x1f,
# no \x85, but \ufeff), so it is spelled out for it.
_PY_SPACE = "\\t\\n\\x0b\\x0c\\r\\x1c-\\x20\\x85\\xa0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000"
# Escapes and groups whose meaning differs so that jsonschema-rs could accept what Python's re
# rejects (\D, \W, \S in a class match more in ASCII-only dialects; word boundaries and
# lookarounds flip the direction). \d and \w are ASCII there: stricter, so safe.
_UNSAFE_ESCAPES = frozenset("DWbBAZ")


def _pattern_for_rs(pattern: str) -> str | None:
    """``pattern`` rewritten so jsonschema-rs matches what Python's ``re.search`` matches, or
    None when it cannot be (the schema then stays with jsonschema)."""
    out: list[str] = []
    in_class = False
    i = 0
    while i < len(pattern):
        char = pattern[i]
        if char == "\\" and i + 1 < len(pattern):
            escaped = pattern[i + 1]
            if escaped in _UNSAFE_ESCAPES or (escaped == "S" and in_class):
                return None
            if escaped == "s":
                out.append(_PY_SPACE if in_class else f"[{_PY_SPACE}]")
            elif escaped == "S":
                out.append(f"[^{_PY_SPACE}]")
            else:
                out.append(pattern[i : i + 2])
            i += 2
            continue
        if char == "[" and not in_class:
            in_class = True
        elif char == "]" and in_class:
            in_class = False
        elif not in_class and pattern.startswith("(?", i) and not pattern.startswith("(?:", i):
            return None
        out.append(char)
        i += 1
    return "".join(out)


class _Untranslatable(Exception):
    """A pattern jsonschema-rs would read differently from Python's re."""


def _for_rs(node: Any) -> Any:
    """A schema document with every ``pattern`` (and ``patternProperties`` key) in the regex
    dialect jsonschema-rs reads as Python's re does."""
    if isinstance(node, list):
        return [_for_rs(item) for item in node]
    if not isinstance(node, dict):
        return node
    out: dict[str, Any] = {}
    for key, value in node.items():
        if key in ("const", "enum", "examples", "default"):
            out[key] = value
        elif key == "pattern" and isinstance(value, str):
            out[key] = _translated(value)
        elif key == "patternProperties" and isinstance(value, dict):
            out[key] = {_translated(k): _for_rs(v) for k, v in value.items()}
        else:
            out[key] = _for_rs(value)
    return out


def _translated(pattern: str) -> str:
    found = _pattern_for_rs(pattern)
    if found is None:
        raise _Untranslatable(pattern)
    return found


def _fast_validator(docs: dict[str, dict[str, Any]], rel: str) -> Any:
    """A jsonschema-rs validator for ``docs[rel]`` with its cross-file ``$ref``s in a registry, or
    False when a pattern or a keyword keeps the schema with jsonschema alone."""
    import jsonschema_rs

    try:
        translated = {name: _for_rs(doc) for name, doc in docs.items()}
        registry = jsonschema_rs.Registry(
            [(d["$id"], d) for d in translated.values() if isinstance(d.get("$id"), str)],
            draft=jsonschema_rs.Draft202012,
        )
        return jsonschema_rs.Draft202012Validator(
            translated[rel], registry=registry, validate_formats=False
        )
    except (_Untranslatable, ValueError, jsonschema_rs.ReferencingError):
        return False


# name -> (registry generation, compiled): the planner validates 10,000 bodies against a few
# schemas, so the common lookup is one dict access and an int compare.
_COMPILED: dict[str, tuple[int, Compiled]] = {}
_generation_of: Callable[[], int] | None = None  # lipflow.providers.registry.generation


def compiled(schema_id_or_name: str) -> Compiled:
    """The compiled schema named ``schema_id_or_name`` (a name or an ``$id``), built once."""
    global _generation_of
    if _generation_of is None:  # imported on first use, not on every call (10,000 per plan)
        from lipflow.providers import registry

        _generation_of = registry.generation
    generation = _generation_of()
    found = _COMPILED.get(schema_id_or_name)
    if found is not None and found[0] == generation:
        return found[1]
    docs, rel = _documents_of(schema_id_or_name)
    built = _build(docs, rel)
    for name in (schema_id_or_name, rel):
        _COMPILED[name] = (generation, built)
    return built


_BUILT: dict[tuple[int, str], tuple[dict[str, Any], Compiled]] = {}


def _build(docs: dict[str, dict[str, Any]], rel: str) -> Compiled:
    doc = docs[rel]
    known = _BUILT.get((id(doc), rel))
    if known is not None and known[0] is doc:
        return known[1]
    built = Compiled(docs, rel)
    _BUILT[(id(doc), rel)] = (doc, built)
    return built


def validator_for(schema_id_or_name: str) -> Validator:
    """A compiled validator for one schema (by ``$id`` or name, e.g. ``runware/ping.json``), built once.

    Use it for bulk checks (``validator.iter_errors(body)``); :func:`lipflow.schemas.check_request`
    adds the readable messages and the named checks on top.
    """
    return compiled(schema_id_or_name).validator


def document_text(name: str) -> str:
    """A schema as JSON text: a provider's file as written, the recipe schema as loaded (its
    provider enums listing the registered providers)."""
    if name == RECIPE_SCHEMA:
        return json.dumps(recipe_schema(), indent=2, ensure_ascii=False)
    docs, rel = _documents_of(name)
    return json.dumps(docs[rel], indent=2, ensure_ascii=False)

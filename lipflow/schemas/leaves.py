"""Checking a few leaves of a body whose every other part is known valid.

Most jobs of one planned step send the same request but for a few leaves (a task UUID, the text
to speak). When the first body of the step is valid, a later body that differs from it only at
those leaves is valid exactly when each new leaf value is valid against the subschemas that
reach its place, *provided* nothing else in the schema looks at those places.
:func:`independent_leaves` decides that from the schema and gives those subschemas; anything it
cannot decide stays on the whole-body path.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any
from urllib.parse import urldefrag, urljoin

from lipflow.problems import PathPart
from lipflow.schemas.loading import _for_rs, _plain_json, _Untranslatable

__all__ = ["LeafChecks", "independent_leaves"]

Path = tuple[PathPart, ...]
# Where a subschema is: the $id of its document and a JSON pointer in it.
Place = tuple[str, str]

# Keywords that say nothing about an instance (annotations, and where subschemas are kept).
_QUIET = frozenset(
    {
        "$schema",
        "$id",  # a document's own (one inside a document is refused: it moves the base URI)
        "$comment",
        "$defs",
        "definitions",
        "$anchor",
        "title",
        "description",
        "default",
        "examples",
        "deprecated",
        "readOnly",
        "writeOnly",
        "contentMediaType",
        "contentEncoding",
    }
)
# Keywords that, on an object or an array, read only its keys or its length (leaves are replaced
# in place: keys and lengths stay), or that apply to scalars only (an ancestor of a leaf is an
# object or an array in both bodies, so they ignore it).
_SHAPE_ONLY = frozenset(
    {
        "type",
        "required",
        "dependentRequired",
        "minProperties",
        "maxProperties",
        "propertyNames",
        "minItems",
        "maxItems",
        "minimum",
        "maximum",
        "exclusiveMinimum",
        "exclusiveMaximum",
        "multipleOf",
        "minLength",
        "maxLength",
        "pattern",
        "format",
    }
)
# Keywords whose subschemas are evaluated as alternatives or negations: the verdict of a body can
# flip with a leaf when one of their subschemas reads it.
_ALTERNATIVES = ("anyOf", "oneOf", "not", "if", "then", "else", "dependentSchemas")


class _Dependent(Exception):
    """Something in the schema may look at a leaf together with the rest of the body."""


class _Walk:
    """The schema documents by ``$id``, and how a ``$ref`` is followed in them."""

    def __init__(self, docs: Mapping[str, Mapping[str, Any]]) -> None:
        self.by_id = {d["$id"]: d for d in docs.values() if isinstance(d.get("$id"), str)}

    def follow(self, ref: str, base: str) -> tuple[Any, Place]:
        """The subschema a ``$ref`` points at; only JSON-pointer fragments are followed."""
        uri, fragment = urldefrag(urljoin(base, ref))
        doc = self.by_id.get(uri)
        if doc is None or (fragment and not fragment.startswith("/")):
            raise _Dependent(ref)
        node: Any = doc
        for raw in fragment.split("/")[1:] if fragment else ():
            part = raw.replace("~1", "/").replace("~0", "~")
            if isinstance(node, dict) and part in node:
                node = node[part]
            elif isinstance(node, list) and part.isdigit() and int(part) < len(node):
                node = node[int(part)]
            else:
                raise _Dependent(ref)
        return node, (uri, fragment)


def _below(place: Place, *parts: str | int) -> Place:
    escaped = [str(p).replace("~", "~0").replace("/", "~1") for p in parts]
    return place[0], place[1] + "".join("/" + p for p in escaped)


def _reads(walk: _Walk, node: Any, place: Place, path: Path, depth: int = 0) -> bool:
    """Whether ``node``'s verdict on an instance may depend on the value at ``path`` in it.
    Conservative: True whenever it cannot tell."""
    if isinstance(node, bool):
        return False  # true and false ignore the instance
    if not isinstance(node, dict) or depth > 64 or ("$id" in node and place[1]):
        return True
    if not path:
        return any(k not in _QUIET for k in node)
    head, rest = path[0], path[1:]
    for key, value in node.items():
        if key in _QUIET or key in _SHAPE_ONLY:
            continue
        if key == "$ref" and isinstance(value, str):
            target, where = walk.follow(value, place[0])
            if _reads(walk, target, where, path, depth + 1):
                return True
        elif key == "properties" and isinstance(head, str) and isinstance(value, dict):
            if head in value and _reads(walk, value[head], _below(place, key, head), rest, depth):
                return True
        elif key == "additionalProperties" and isinstance(head, str):
            if head not in node.get("properties", {}) and _reads(
                walk, value, _below(place, key), rest, depth
            ):
                return True
        elif key in ("items", "prefixItems") and isinstance(head, str):
            continue  # array keywords: the instance here is an object
        elif key in ("allOf", "anyOf", "oneOf") and isinstance(value, list):
            if any(
                _reads(walk, sub, _below(place, key, i), path, depth) for i, sub in enumerate(value)
            ):
                return True
        elif key in ("not", "if", "then", "else"):
            if _reads(walk, value, _below(place, key), path, depth):
                return True
        elif key == "dependentSchemas" and isinstance(value, dict):
            if any(
                _reads(walk, sub, _below(place, key, k), path, depth) for k, sub in value.items()
            ):
                return True
        else:
            return True  # const, enum, patternProperties, items, contains, unevaluated*, ...
    return False


def _leaf_places(walk: _Walk, node: Any, place: Place, path: Path, depth: int = 0) -> list[Place]:
    """The subschemas that apply to the value at ``path`` as conjuncts of ``node``'s verdict (by
    ``properties``, ``additionalProperties``, ``allOf`` and ``$ref``); :class:`_Dependent` when
    any other keyword on the way may look at that value."""
    if depth > 64:
        raise _Dependent("too deep")
    if not path:
        return [place]
    if isinstance(node, bool):
        return [] if node else [place]  # false: the template was not valid, nothing is trusted
    if not isinstance(node, dict) or ("$id" in node and place[1]):
        raise _Dependent(place)
    head, rest = path[0], path[1:]
    if not isinstance(head, str):
        raise _Dependent(head)  # array items: not needed by any planned body yet
    found: list[Place] = []
    for key, value in node.items():
        if key in _QUIET or key in _SHAPE_ONLY:
            continue
        if key == "$ref" and isinstance(value, str):
            target, where = walk.follow(value, place[0])
            found += _leaf_places(walk, target, where, path, depth + 1)
        elif key == "properties" and isinstance(value, dict):
            if head in value:
                found += _leaf_places(walk, value[head], _below(place, key, head), rest, depth)
        elif key == "additionalProperties":
            if head not in node.get("properties", {}):
                found += _leaf_places(walk, value, _below(place, key), rest, depth)
        elif key in ("items", "prefixItems", "minItems", "maxItems"):
            continue  # array keywords: the instance here is an object
        elif key == "allOf" and isinstance(value, list):
            for i, sub in enumerate(value):
                found += _leaf_places(walk, sub, _below(place, key, i), path, depth)
        elif key in _ALTERNATIVES:
            subs = (
                [(k, s) for k, s in value.items()]
                if key == "dependentSchemas" and isinstance(value, dict)
                else [(i, s) for i, s in enumerate(value)]
                if isinstance(value, list)
                else [(None, value)]
            )
            for name, sub in subs:
                where = _below(place, key) if name is None else _below(place, key, name)
                if _reads(walk, sub, where, path):
                    raise _Dependent(key)
        else:
            raise _Dependent(key)  # patternProperties, unevaluated*, const, enum, ...
    return found


def independent_leaves(
    docs: Mapping[str, Mapping[str, Any]], rel: str, paths: Sequence[Path]
) -> list[list[Place]] | None:
    """For each leaf path of a body of ``docs[rel]``, the subschemas that reach it, when the leaves
    are independent of the rest of the body; None when that cannot be shown.

    Why that is enough: JSON Schema decides a body by keywords at each node. Walking from the
    root to a leaf, ``properties``, ``additionalProperties``, ``allOf`` and ``$ref`` only add
    conjuncts, so the subschemas they bring to the leaf are its constraints, and a keyword that
    reads only an object's keys or an array's length (``required``, ``dependentRequired``,
    ``min/maxProperties``, ``propertyNames``...) cannot change when a leaf's value does. Any
    alternative (``anyOf``, ``oneOf``, ``not``, ``if/then/else``, ``dependentSchemas``) on the way
    is allowed only when none of its subschemas can read the leaf at all (the ``oneOf`` of
    ``required``-only branches); every keyword that may compare or match members (``enum``,
    ``const``, ``uniqueItems``, ``contains``, ``patternProperties``, ``unevaluated*``, an unknown
    one) refuses. So for a valid template and a body that differs from it only at these leaves:
    the body is valid if and only if each new leaf value is valid against its subschemas. Leaf
    paths must be distinct and none inside another; only object members are followed.
    """
    for i, a in enumerate(paths):
        for b in paths[i + 1 :]:
            if a[: len(b)] == b or b[: len(a)] == a:
                return None
    doc = docs.get(rel)
    if doc is None or not isinstance(doc.get("$id"), str):
        return None
    walk = _Walk(docs)
    root: Place = (doc["$id"], "")
    try:
        return [_leaf_places(walk, doc, root, tuple(path)) for path in paths]
    except (_Dependent, RecursionError):
        return None


class LeafChecks:
    """jsonschema-rs validators of the leaves :func:`independent_leaves` found independent."""

    __slots__ = ("validators",)

    def __init__(self, validators: Sequence[Any]) -> None:
        self.validators = tuple(validators)

    def accepts(self, values: Sequence[object]) -> bool:
        """True when every value is plain JSON and valid at its leaf; False means "check the whole
        body" (which words the problems)."""
        try:
            for validator, value in zip(self.validators, values, strict=True):
                kind = type(value)
                if not (kind is str or kind is int or kind is bool) and not _plain_json(value):
                    return False
                if not validator.is_valid(value):
                    return False
        except ValueError:  # a lone surrogate jsonschema-rs cannot encode (or a count that is
            # not the leaves'): the whole body decides
            return False
        return True


def leaf_checks(
    docs: Mapping[str, Mapping[str, Any]], rel: str, paths: Sequence[Path]
) -> LeafChecks | None:
    """:class:`LeafChecks` of ``paths`` in bodies of ``docs[rel]``, or None when the leaves are
    not shown independent (:func:`independent_leaves`) or a schema is not jsonschema-rs's to
    check (a pattern its dialect reads otherwise: see :func:`lipflow.schemas.loading._for_rs`)."""
    import jsonschema_rs

    places = independent_leaves(docs, rel, paths)
    if places is None:
        return None
    try:
        translated = [_for_rs(d) for d in docs.values() if isinstance(d.get("$id"), str)]
        registry = jsonschema_rs.Registry(
            [(d["$id"], d) for d in translated], draft=jsonschema_rs.Draft202012
        )
        return LeafChecks(
            [
                jsonschema_rs.Draft202012Validator(
                    {"allOf": [{"$ref": uri + "#" + pointer} for uri, pointer in leaf]},
                    registry=registry,
                    validate_formats=False,
                )
                for leaf in places
            ]
        )
    except (_Untranslatable, ValueError, jsonschema_rs.ReferencingError):
        return None

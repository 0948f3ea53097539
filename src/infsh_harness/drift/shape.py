"""Compare one JSON value with the schema the spec documents for it, and name each difference.

Unlike a validator, which says *that* a body is wrong, this says *how*, in the drift report's
terms: a documented field missing, an undocumented one added, a type, format, enum or nullability
change, or the whole documented object found wrapped under another key (an envelope).
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import jsonschema

from infsh_harness.drift.model import Kind
from infsh_harness.spec import Spec

__all__ = ["Envelope", "ShapeIssue", "compare", "find_envelope", "json_type", "sketch"]

_FORMAT_CHECKER = jsonschema.Draft202012Validator.FORMAT_CHECKER
# RFC 3986 absolute URI: a scheme, a colon, then no whitespace (jsonschema needs an extra package)
_URI = re.compile(r"^[A-Za-z][A-Za-z0-9+.\-]*:[^\s]*$")


@dataclass(frozen=True)
class ShapeIssue:
    kind: Kind
    json_path: str
    expected: str
    observed: str
    key: str = ""


@dataclass
class _Shape:
    """A schema with its ``$ref`` and ``allOf`` folded into one set of constraints."""

    title: str | None = None
    types: set[str] | None = None
    enum: list[Any] | None = None
    enum_names: dict[str, str] = field(default_factory=dict)
    format: str | None = None
    properties: dict[str, Any] = field(default_factory=dict)
    has_properties: bool = False
    required: set[str] = field(default_factory=set)
    items: Any = None
    alternatives: list[Any] = field(default_factory=list)


def json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int) or (isinstance(value, float) and math.isfinite(value) and value.is_integer()):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    return "object"


def _flatten(spec: Spec, schema: Any, shape: _Shape | None = None) -> _Shape:
    shape = shape or _Shape()
    schema = spec.resolve(schema)
    if not isinstance(schema, Mapping):
        return shape
    if shape.title is None and isinstance(schema.get("title"), str):
        shape.title = schema["title"]
    if "type" in schema:
        types = {schema["type"]} if isinstance(schema["type"], str) else set(schema["type"])
        shape.types = types if shape.types is None else shape.types & types
    for key in ("enum", "const"):
        if key in schema:
            values = list(schema[key]) if key == "enum" else [schema[key]]
            shape.enum = values if shape.enum is None else [v for v in shape.enum if v in values]
    names = schema.get("x-enum-names")
    if isinstance(names, list) and isinstance(schema.get("enum"), list):
        shape.enum_names.update({_literal(v): str(n) for v, n in zip(schema["enum"], names, strict=False)})
    shape.format = schema.get("format", shape.format)
    if "properties" in schema:
        shape.has_properties = True
        shape.properties.update(schema["properties"])
    shape.required |= set(schema.get("required", ()))
    if "items" in schema:
        shape.items = schema["items"]
    for part in schema.get("allOf", ()):
        _flatten(spec, part, shape)
    shape.alternatives.extend(schema.get("oneOf", ()))
    shape.alternatives.extend(schema.get("anyOf", ()))
    return shape


def _literal(value: Any) -> str:
    return json.dumps(value, sort_keys=True)


def _describe_types(types: set[str]) -> str:
    return " or ".join(sorted(types))


def _describe_enum(shape: _Shape) -> str:
    assert shape.enum is not None
    labels = []
    for value in shape.enum:
        name = shape.enum_names.get(_literal(value))
        labels.append(f"{_literal(value)} ({name})" if name else _literal(value))
    return "one of " + ", ".join(labels)


def _type_allowed(types: set[str], actual: str) -> bool:
    return actual in types or (actual == "integer" and "number" in types)


def _format_ok(fmt: str, value: str) -> bool:
    if fmt == "uri":
        return bool(_URI.match(value))
    return bool(_FORMAT_CHECKER.conforms(value, fmt))


def compare(spec: Spec, schema: Any, value: Any, path: str = "$") -> list[ShapeIssue]:
    """Every difference between ``value`` and ``schema``, each at its JSON path."""
    shape = _flatten(spec, schema)
    if shape.alternatives:
        options = [compare(spec, alt, value, path) for alt in shape.alternatives]
        best = min(options, key=len)
        if best:
            return best
    actual = json_type(value)
    if shape.types is not None and not _type_allowed(shape.types, actual):
        kind = Kind.NULLABILITY if value is None else Kind.TYPE_MISMATCH
        return [ShapeIssue(kind, path, _describe_types(shape.types), _observed(value), key=actual)]
    issues: list[ShapeIssue] = []
    if shape.enum is not None and value not in shape.enum:
        issues.append(
            ShapeIssue(Kind.ENUM_VIOLATION, path, _describe_enum(shape), _literal(value), _literal(value))
        )
    if shape.format and isinstance(value, str) and not _format_ok(shape.format, value):
        issues.append(
            ShapeIssue(Kind.FORMAT_MISMATCH, path, f"a {shape.format} string", _observed(value), shape.format)
        )
    if isinstance(value, Mapping):
        issues.extend(_compare_object(spec, shape, value, path))
    elif isinstance(value, list) and shape.items is not None:
        for item in value:
            issues.extend(compare(spec, shape.items, item, f"{path}[*]"))
    return issues


def _compare_object(spec: Spec, shape: _Shape, value: Mapping[str, Any], path: str) -> list[ShapeIssue]:
    of = f" of {shape.title}" if shape.title else ""
    issues: list[ShapeIssue] = []
    for name in sorted(shape.required - set(value)):
        expected = f"required field {name!r}{of}"
        issues.append(ShapeIssue(Kind.MISSING_FIELD, f"{path}.{name}", expected, "absent", name))
    for name, item in value.items():
        if name in shape.properties:
            issues.extend(compare(spec, shape.properties[name], item, f"{path}.{name}"))
        elif shape.has_properties:  # a free-form object (no properties listed) has no "extra" fields
            expected = f"no field {name!r}{' in ' + shape.title if shape.title else ''}"
            issues.append(
                ShapeIssue(Kind.UNDOCUMENTED_FIELD, f"{path}.{name}", expected, _observed(item), name)
            )
    return issues


def _observed(value: Any) -> str:
    text = json.dumps(value, ensure_ascii=False, sort_keys=True)
    return text if len(text) <= 120 else text[:117] + "..."


@dataclass(frozen=True)
class Envelope:
    key: str  # the key the documented object was found under
    wrapper_keys: tuple[str, ...]  # the other top-level keys beside it


def find_envelope(spec: Spec, schema: Any, value: Any) -> Envelope | None:
    """The key the documented object hides under, when ``value`` looks like a wrapper around it.

    A wrapper holds fewer of the documented fields than one of its object members, and that member
    holds at least half of the required ones (or, with none required, at least one field).
    """
    shape = _flatten(spec, schema)
    if not isinstance(value, Mapping) or not shape.has_properties:
        return None
    documented = set(shape.properties) | shape.required

    def score(obj: Mapping[str, Any]) -> int:
        return len(documented & set(obj))

    outer = score(value)
    need = max(1, math.ceil(len(shape.required) / 2))
    members = [(score(v), k) for k, v in value.items() if isinstance(v, Mapping)]
    if not members:
        return None
    best_score, best_key = max(members)
    if best_score <= outer or best_score < need:
        return None
    return Envelope(best_key, tuple(k for k in value if k != best_key))


def sketch(value: Any, depth: int = 2, width: int = 8) -> str:
    """A short outline of a body's structure: ``{data: {id, status, ...}, messages, success}``."""
    if isinstance(value, Mapping):
        if depth <= 0 or not value:
            return "{...}" if value else "{}"
        names = list(value)[:width]
        inner = [
            f"{k}: {sketch(value[k], depth - 1, width)}" if isinstance(value[k], Mapping) and depth > 1 else k
            for k in names
        ]
        more = ", ..." if len(value) > width else ""
        return "{" + ", ".join(inner) + more + "}"
    if isinstance(value, list):
        return f"[{sketch(value[0], depth - 1, width)}, ...]" if value else "[]"
    return (
        _observed(value) if not isinstance(value, str) or len(value) <= 60 else _observed(value[:57] + "...")
    )

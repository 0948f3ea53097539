"""The docs->spec half of drift: does the spec cover everything the documentation page states?

The page's tables live as data in ``fixtures/documented-contract.yaml`` (:func:`load_documented`).
:func:`missing_from_spec` names every documented entry the spec lacks or describes differently;
each message starts with the entry's id, e.g. ``request-field:session_timeout: ...``,
``status:11: ...`` or ``endpoint:POST /tasks/:id/cancel: ...``.

Types are compared loosely, as the page writes them: ``number`` accepts a spec ``integer`` or
``number``, ``string[]`` an array of strings, and a nullable spec type (``[string, "null"]``)
covers the plain one.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import yaml

from infsh_harness import data
from infsh_harness.spec import Operation, Spec

__all__ = [
    "DEFAULT_DOCUMENTED_PATH",
    "Body",
    "Documented",
    "DocumentedError",
    "DocumentedField",
    "DocumentedStatus",
    "Endpoint",
    "Entry",
    "body_schemas",
    "check_entry",
    "load_documented",
    "missing_from_spec",
]

DEFAULT_DOCUMENTED_PATH = data.path("documented-contract.yaml")

# A documented type -> the spec (JSON Schema) types that cover it.
_COVERING_TYPES: Mapping[str, frozenset[str]] = {
    "string": frozenset({"string"}),
    "number": frozenset({"number", "integer"}),
    "integer": frozenset({"integer"}),
    "boolean": frozenset({"boolean"}),
    "object": frozenset({"object"}),
}
# (kind of entry, section of the fixture, part of the exchange that carries the fields)
_FIELD_SECTIONS: tuple[tuple[str, str, Literal["request", "response"]], ...] = (
    ("request-field", "request_fields", "request"),
    ("response-field", "response_fields", "response"),
    ("cancel-response-field", "cancel_response_fields", "response"),
    ("webhook-field", "webhook_fields", "request"),
)


class DocumentedError(Exception):
    """The documented-contract fixture is missing or malformed."""


@dataclass(frozen=True)
class Endpoint:
    method: str
    path: str  # as the page writes it, e.g. /tasks/:id
    title: str = ""

    @property
    def label(self) -> str:
        return f"{self.method} {self.path}"

    @property
    def id(self) -> str:
        return f"endpoint:{self.label}"

    @property
    def spec_path(self) -> str:
        """The OpenAPI form of the path: ``/tasks/:id`` -> ``/tasks/{id}``."""
        return re.sub(r":(\w+)", r"{\1}", self.path)


@dataclass(frozen=True)
class Body:
    """A JSON body: the request or success response of an endpoint, or (no endpoint) the webhook."""

    part: Literal["request", "response"]
    endpoint: Endpoint | None = None

    @property
    def label(self) -> str:
        return f"{self.endpoint.label if self.endpoint else 'webhook'} {self.part}"


@dataclass(frozen=True)
class DocumentedField:
    kind: str
    name: str
    type: str
    bodies: tuple[Body, ...]
    required: bool | None = None  # None: the page does not say
    description: str = ""

    @property
    def id(self) -> str:
        return f"{self.kind}:{self.name}"


@dataclass(frozen=True)
class DocumentedStatus:
    code: int
    name: str
    description: str
    terminal: bool

    @property
    def id(self) -> str:
        return f"status:{self.code}"


Entry = Endpoint | DocumentedField | DocumentedStatus


@dataclass(frozen=True)
class Documented:
    endpoints: tuple[Endpoint, ...]
    fields: tuple[DocumentedField, ...]
    statuses: tuple[DocumentedStatus, ...]

    def entries(self) -> tuple[Entry, ...]:
        return (*self.endpoints, *self.fields, *self.statuses)


# --- loading ------------------------------------------------------------------------------------
def load_documented(path: Path | str | None = None) -> Documented:
    """Read the documented-contract fixture (default: the project's own)."""
    source = Path(path) if path else DEFAULT_DOCUMENTED_PATH
    try:
        raw = yaml.safe_load(source.read_text(encoding="utf-8"))
    except OSError as exc:
        raise DocumentedError(f"cannot read {source}: {exc.strerror}") from None
    except yaml.YAMLError as exc:
        raise DocumentedError(f"{source} is not valid YAML: {exc}") from None
    try:
        return _parse(raw)
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise DocumentedError(f"{source} is malformed: {exc!r}") from None


def _parse(raw: Mapping[str, Any]) -> Documented:
    endpoints = tuple(
        Endpoint(str(e["method"]).upper(), str(e["path"]), str(e.get("title", ""))) for e in raw["endpoints"]
    )
    by_label = {e.label: e for e in endpoints}
    fields: list[DocumentedField] = []
    for kind, section, part in _FIELD_SECTIONS:
        table = raw[section]
        labels = table.get("endpoints", [table["endpoint"]] if "endpoint" in table else [])
        unknown = [label for label in labels if label not in by_label]
        if unknown:
            raise ValueError(f"{section} names endpoints not listed under endpoints: {unknown}")
        bodies = tuple(Body(part, by_label[label]) for label in labels) or (Body(part),)
        for f in table["fields"]:
            required = f.get("required")
            fields.append(
                DocumentedField(
                    kind=kind,
                    name=str(f["name"]),
                    type=str(f["type"]),
                    bodies=bodies,
                    required=None if required is None else bool(required),
                    description=str(f.get("description", "")),
                )
            )
    statuses = tuple(
        DocumentedStatus(int(s["code"]), str(s["name"]), str(s["description"]), bool(s["terminal"]))
        for s in raw["status_codes"]
    )
    return Documented(endpoints, tuple(fields), statuses)


# --- checking -----------------------------------------------------------------------------------
def missing_from_spec(spec: Spec, documented: Documented) -> list[str]:
    """One message per way the spec fails to cover a documented entry (empty when it covers all)."""
    return [message for entry in documented.entries() for message in check_entry(spec, entry)]


def check_entry(spec: Spec, entry: Entry) -> list[str]:
    """The problems of one entry, each message prefixed with the entry's id."""
    if isinstance(entry, Endpoint):
        problems = _check_endpoint(spec, entry)
    elif isinstance(entry, DocumentedField):
        problems = list(_check_field(spec, entry))
    else:
        problems = _check_status(spec, entry)
    return [f"{entry.id}: {p}" for p in problems]


def _check_endpoint(spec: Spec, endpoint: Endpoint) -> list[str]:
    if _find_operation(spec, endpoint) is not None:
        return []
    return [f"the spec has no operation {endpoint.method} {endpoint.spec_path}"]


def _check_status(spec: Spec, status: DocumentedStatus) -> list[str]:
    info = spec.status_info(status.code)
    if info is None:
        return [f"code {status.code} ({status.name}) is not in TaskStatus"]
    problems = []
    if info.name != status.name:
        problems.append(f"TaskStatus gives code {status.code} the name {info.name!r}, the docs {status.name!r}")
    if info.description != status.description:
        problems.append(
            f"TaskStatus gives code {status.code} the description {info.description!r}, the docs {status.description!r}"
        )
    if info.terminal != status.terminal:
        problems.append(
            f"TaskStatus has code {status.code} ({status.name}) "
            f"{'terminal' if info.terminal else 'not terminal'}, the docs "
            f"{'terminal' if status.terminal else 'not terminal'}"
        )
    return problems


def _check_field(spec: Spec, field: DocumentedField) -> Iterator[str]:
    for body in field.bodies:
        located = body_schemas(spec, body)
        if isinstance(located, str):
            yield located
            continue
        for where, schema in located:
            yield from _check_field_in(spec, field, where, schema)


def _check_field_in(spec: Spec, field: DocumentedField, where: str, schema: Mapping[str, Any]) -> Iterator[str]:
    properties = schema.get("properties", {})
    if field.name not in properties:
        yield f"{where} has no property {field.name!r}"
        return
    if not _covers(spec, properties[field.name], field.type):
        yield f"{where} types {field.name!r} as {_describe(spec, properties[field.name])}, the docs as {field.type}"
    if field.required is not None and (field.name in schema.get("required", [])) != field.required:
        yield (
            f"{where} has {field.name!r} {'required' if not field.required else 'optional'}, "
            f"the docs {'required' if field.required else 'optional'}"
        )


def body_schemas(spec: Spec, body: Body) -> str | list[tuple[str, Mapping[str, Any]]]:
    """The resolved JSON schema(s) of a documented body, each with a label; or why there is none.

    The schemas are the spec document's own nodes (not copies).
    """
    if body.endpoint is None:
        hooks = [op for op in spec.webhooks.values() if op.method == "POST"]
        if not hooks:
            return "the spec has no POST webhook"
        holders = [(f"webhook {op.path}", spec.resolve(op.definition.get("requestBody", {}))) for op in hooks]
    else:
        op = _find_operation(spec, body.endpoint)
        if op is None:
            return f"the spec has no operation {body.endpoint.method} {body.endpoint.spec_path}"
        where = f"{op.method} {op.path}"
        if body.part == "request":
            holders = [(f"{where} request", spec.resolve(op.definition.get("requestBody", {})))]
        else:
            success = sorted(code for code in op.responses if str(code).startswith("2"))
            if not success:
                return f"{where} has no success response"
            holders = [(f"{where} {success[0]}", spec.resolve(op.responses[success[0]]))]
    found: list[tuple[str, Mapping[str, Any]]] = []
    for where, holder in holders:
        schema = holder.get("content", {}).get("application/json", {}).get("schema")
        if schema is None:
            return f"{where} has no JSON body"
        ref = schema.get("$ref", "")
        name = ref.rsplit("/", 1)[-1] if ref else "schema"
        found.append((f"{name} ({where})", spec.resolve(schema)))
    return found


def _find_operation(spec: Spec, endpoint: Endpoint) -> Operation | None:
    for op in spec.operations.values():
        if op.method == endpoint.method and op.path == endpoint.spec_path:
            return op
    return None


def _types(spec: Spec, schema: Any) -> set[str]:
    """The JSON types a (sub)schema declares, through ``$ref`` and composition."""
    node = spec.resolve(schema)
    if not isinstance(node, Mapping):
        return set()
    declared = node.get("type", [])
    types = {declared} if isinstance(declared, str) else set(declared)
    for keyword in ("allOf", "anyOf", "oneOf"):
        for sub in node.get(keyword, []):
            types |= _types(spec, sub)
    return types


def _describe(spec: Spec, schema: Any) -> str:
    types = sorted(_types(spec, schema))
    node = spec.resolve(schema)
    if "array" in types and isinstance(node, Mapping) and "items" in node:
        types[types.index("array")] = f"array of {_describe(spec, node['items'])}"
    return "/".join(types) or "no type"


def _covers(spec: Spec, schema: Any, documented_type: str) -> bool:
    if documented_type.endswith("[]"):
        node = spec.resolve(schema)
        items = node.get("items") if isinstance(node, Mapping) else None
        return "array" in _types(spec, schema) and items is not None and _covers(spec, items, documented_type[:-2])
    return bool(_types(spec, schema) & _COVERING_TYPES.get(documented_type, frozenset()))

"""The docs->spec half of drift: does the spec cover everything the documentation pages state?

The pages' tables and examples live as data in ``data/documented-contract.yaml``
(:func:`load_documented`). :func:`missing_from_spec` names every documented entry the spec lacks or
describes differently; each message starts with the entry's id, e.g.
``request-field:session_timeout: ...``, ``status:11: ...``, ``endpoint:POST /tasks/:id/cancel: ...``
or ``error-code:not_found: ...``. An entry the spec does not cover on purpose is a :class:`Claim`
with an ``uncovered`` reason (:func:`uncovered`).

Types are compared loosely, as the pages write them: ``number`` accepts a spec ``integer`` or
``number``, ``string[]`` an array of strings, and a nullable spec type (``[string, "null"]``)
covers the plain one; a field whose page gives no type is checked by name only.
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
    "Claim",
    "Documented",
    "DocumentedError",
    "DocumentedField",
    "DocumentedStatus",
    "Endpoint",
    "Entry",
    "Expectation",
    "body_schemas",
    "check_entry",
    "load_documented",
    "missing_from_spec",
    "spec_node",
    "uncovered",
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
    ("session-field", "session_fields", "response"),
)
_DEFAULT_PAGE = "tasks-api-docs.md"
_ABSENT: Any = object()


class DocumentedError(Exception):
    """The documented-contract fixture is missing or malformed."""


@dataclass(frozen=True)
class Endpoint:
    method: str
    path: str  # as the page writes it, e.g. /tasks/:id
    title: str = ""
    page: str = _DEFAULT_PAGE
    description: str = ""  # the page's words for it

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
    type: str  # "": the page gives no type
    bodies: tuple[Body, ...]
    required: bool | None = None  # None: the page does not say
    description: str = ""
    page: str = _DEFAULT_PAGE

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


@dataclass(frozen=True)
class Expectation:
    """One thing the spec must hold for a claim: a node (``at``, a JSON pointer followed through
    ``$ref``s) or a rule (and one of its parameters, dotted), equal to ``equals`` or a string or list
    containing every item of ``contains`` (neither: it must exist)."""

    at: str | None = None
    rule: str | None = None
    param: str | None = None
    equals: Any = _ABSENT
    contains: tuple[Any, ...] = ()

    @property
    def checks_value(self) -> bool:
        """Whether the expectation says what the node must equal (not only that it exists)."""
        return self.equals is not _ABSENT

    @property
    def label(self) -> str:
        if self.rule is not None:
            return f"rule {self.rule}" + (f" parameter {self.param}" if self.param else "")
        return f"spec node {self.at}"


@dataclass(frozen=True)
class Claim:
    """A table row or an example of a page: its quote, and what covers it in the spec (or why nothing does)."""

    kind: str
    name: str
    page: str
    quote: str
    expects: tuple[Expectation, ...] = ()
    uncovered: str = ""  # the reason the spec does not cover it; empty: it does

    @property
    def id(self) -> str:
        return f"{self.kind}:{self.name}"


Entry = Endpoint | DocumentedField | DocumentedStatus | Claim


@dataclass(frozen=True)
class Documented:
    endpoints: tuple[Endpoint, ...]
    fields: tuple[DocumentedField, ...]
    statuses: tuple[DocumentedStatus, ...]
    claims: tuple[Claim, ...] = ()

    def entries(self) -> tuple[Entry, ...]:
        return (*self.endpoints, *self.fields, *self.statuses, *self.claims)


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
    default_page = str(raw.get("page", _DEFAULT_PAGE))
    endpoints = tuple(
        Endpoint(
            str(e["method"]).upper(), str(e["path"]), str(e.get("title", "")), str(e.get("page", default_page)),
            str(e.get("description", "")),
        )  # fmt: skip
        for e in raw["endpoints"]
    )
    by_label = {e.label: e for e in endpoints}
    fields: list[DocumentedField] = []
    for kind, section, part in _FIELD_SECTIONS:
        if section not in raw and section == "session_fields":
            continue
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
                    type=str(f.get("type", "")),
                    bodies=bodies,
                    required=None if required is None else bool(required),
                    description=str(f.get("description", "")),
                    page=str(table.get("page", default_page)),
                )
            )
    statuses = tuple(
        DocumentedStatus(int(s["code"]), str(s["name"]), str(s["description"]), bool(s["terminal"]))
        for s in raw["status_codes"]
    )
    claims = tuple(_claim(c, default_page) for c in raw.get("claims", []))
    return Documented(endpoints, tuple(fields), statuses, claims)


def _claim(raw: Mapping[str, Any], default_page: str) -> Claim:
    expects = tuple(
        Expectation(
            at=e.get("at"),
            rule=e.get("rule"),
            param=e.get("param"),
            equals=e.get("equals", _ABSENT),
            contains=tuple(e.get("contains", ())),
        )
        for e in raw.get("expects", [])
    )
    claim = Claim(
        str(raw["kind"]), str(raw["name"]), str(raw.get("page", default_page)), str(raw["quote"]),
        expects, str(raw.get("uncovered", "")).strip(),
    )  # fmt: skip
    if bool(claim.expects) == bool(claim.uncovered):
        raise ValueError(f"claim {claim.id} needs either expects or an uncovered reason, not both")
    if any((e.at is None) == (e.rule is None) for e in expects):
        raise ValueError(f"claim {claim.id}: every expectation names either `at` or `rule`")
    return claim


def uncovered(documented: Documented) -> list[tuple[str, str]]:
    """``(entry id, reason)`` of every documented item the spec does not cover, on purpose."""
    return [(c.id, c.uncovered) for c in documented.claims if c.uncovered]


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
    elif isinstance(entry, Claim):
        problems = [p for e in entry.expects if (p := _check_expectation(spec, e)) is not None]
    else:
        problems = _check_status(spec, entry)
    return [f"{entry.id}: {p}" for p in problems]


def spec_node(spec: Spec, pointer: str) -> Any:
    """The node at a JSON pointer of the spec document, following every ``$ref`` on the way
    (``KeyError`` when there is none)."""
    node: Any = spec.document
    for part in pointer.lstrip("/").split("/") if pointer.strip("/") else []:
        key = part.replace("~1", "/").replace("~0", "~")
        if key != "$ref":
            node = spec.resolve(node)
        if isinstance(node, list):
            if not key.isdigit() or int(key) >= len(node):
                raise KeyError(pointer)
            node = node[int(key)]
        elif isinstance(node, Mapping) and key in node:
            node = node[key]
        else:
            raise KeyError(pointer)
    return node


def _rule_param(spec: Spec, rule_id: str, dotted: str | None) -> Any:
    if rule_id not in spec.rules:
        raise KeyError(rule_id)
    node: Any = spec.rules[rule_id].params
    for key in dotted.split(".") if dotted else []:
        if not isinstance(node, Mapping) or key not in node:
            raise KeyError(dotted)
        node = node[key]
    return node


def _check_expectation(spec: Spec, expected: Expectation) -> str | None:
    try:
        if expected.rule is not None:
            found = _rule_param(spec, expected.rule, expected.param) if expected.param else spec.rules[expected.rule]
        else:
            found = spec_node(spec, str(expected.at))
    except KeyError:
        return f"the spec has no {expected.label}"
    if expected.equals is not _ABSENT and found != expected.equals:
        return f"{expected.label} is {found!r}, the docs {expected.equals!r}"
    missing = [item for item in expected.contains if not isinstance(found, str | list) or item not in found]
    if missing:
        return f"{expected.label} lacks {missing!r}"
    return None


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
    if field.type and not _covers(spec, properties[field.name], field.type):
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
        bare = spec.version_branches(name).get("2") if ref.startswith("#/components/schemas/") else None
        if bare is not None:  # a body documented in both versions: its fields are the bare object's
            name, schema = bare, {"$ref": f"#/components/schemas/{bare}"}
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

"""The documented contract, read once from ``openapi/tasks.yaml``.

Every other module asks this one for operations, schemas, status codes, examples and the prose
rules (``x-contract-rules``); none of them copies a status number or a field list.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jsonschema
import yaml
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

from infsh_harness import data
from infsh_harness.spec.sources import Source, SourceError, parse_source, x_sources

__all__ = [
    "API_VERSIONS",
    "DEFAULT_API_VERSION",
    "DEFAULT_SPEC_PATH",
    "ConstraintError",
    "Operation",
    "Rule",
    "Spec",
    "SpecError",
    "StatusInfo",
    "load_spec",
]

DEFAULT_SPEC_PATH = data.path("openapi/tasks.yaml")
_SPEC_URI = "urn:infsh-harness:spec"
_SCHEMAS = "#/components/schemas/"
JSON = "application/json"
VERSION_KEY = "x-api-version"  # marks a version's own schema (an envelope, an error body) and an example
DEFAULT_API_VERSION = "1"  # what a request without X-API-Version gets
API_VERSIONS = ("1", "2")  # the values of X-API-Version the REST overview documents
HTTP_METHODS = ("get", "put", "post", "delete", "patch", "head", "options", "trace")


def _is_json(media_type: str) -> bool:
    """``application/json`` and every ``+json`` type (``application/problem+json``...)."""
    return media_type == JSON or media_type.endswith("+json")


class SpecError(Exception):
    """The spec file is missing, unreadable, or lacks something the harness needs."""


@dataclass(frozen=True)
class StatusInfo:
    code: int
    varname: str
    name: str
    description: str
    terminal: bool


@dataclass(frozen=True)
class Rule:
    id: str
    title: str
    description: str
    applies_to: tuple[str, ...]
    source: Source
    params: Mapping[str, Any] = field(default_factory=dict)

    def describe(self) -> str:
        return f"[{self.id}] {self.title}"

    @property
    def is_convention(self) -> bool:
        return self.source.is_convention


@dataclass(frozen=True)
class ConstraintError:
    """One way an instance breaks a schema, and where that constraint comes from.

    ``source`` is the nearest ``x-source`` enclosing the broken keyword (``None``: the pages state
    it); ``pointer`` is the JSON pointer of the node that carries it (or of the keyword's node)."""

    message: str
    keyword: str
    pointer: str
    source: Source | None

    @property
    def is_convention(self) -> bool:
        return self.source is not None and self.source.is_convention


@dataclass(frozen=True)
class Operation:
    operation_id: str
    method: str
    path: str
    definition: Mapping[str, Any]

    @property
    def responses(self) -> Mapping[str, Any]:
        return self.definition.get("responses", {})  # type: ignore[no-any-return]

    def status_codes(self) -> tuple[str, ...]:
        return tuple(self.responses)


class Spec:
    """A loaded OpenAPI document with the lookups the harness needs."""

    def __init__(self, document: Mapping[str, Any], path: Path | None = None) -> None:
        self.document = document
        self.path = path
        self._registry: Registry[Any] = Registry().with_resource(
            _SPEC_URI, Resource.from_contents(dict(document), default_specification=DRAFT202012)
        )
        self.statuses = self._read_statuses()
        self.rules = self._read_rules()
        self.x_sources = self._read_x_sources()

    # --- statuses -------------------------------------------------------------------------
    def _read_statuses(self) -> tuple[StatusInfo, ...]:
        schema = self.schema("TaskStatus")
        codes = schema.get("enum")
        names = schema.get("x-enum-names")
        varnames = schema.get("x-enum-varnames")
        descriptions = schema.get("x-enum-descriptions")
        terminal = set(schema.get("x-terminal", ()))
        if not (
            isinstance(codes, list)
            and isinstance(names, list)
            and isinstance(varnames, list)
            and isinstance(descriptions, list)
            and len(codes) == len(names) == len(varnames) == len(descriptions)
        ):
            raise SpecError("TaskStatus needs enum, x-enum-names, x-enum-varnames, x-enum-descriptions of one length")
        return tuple(
            StatusInfo(int(c), str(v), str(n), str(d), int(c) in terminal)
            for c, n, v, d in zip(codes, names, varnames, descriptions, strict=True)
        )

    @functools.cached_property
    def status_codes(self) -> tuple[int, ...]:
        """All documented codes, in the documented order."""
        return tuple(s.code for s in self.statuses)

    @functools.cached_property
    def terminal_statuses(self) -> frozenset[int]:
        return frozenset(s.code for s in self.statuses if s.terminal)

    def status(self, varname: str) -> int:
        """The code of a status by its ``x-enum-varnames`` name, e.g. ``status("COMPLETED")``."""
        for s in self.statuses:
            if s.varname == varname:
                return s.code
        raise SpecError(f"TaskStatus has no status named {varname}")

    def status_info(self, code: int) -> StatusInfo | None:
        for s in self.statuses:
            if s.code == code:
                return s
        return None

    def status_rank(self, code: int) -> int:
        """Position of ``code`` in the documented order (``ValueError`` if undocumented)."""
        return self.status_codes.index(code)

    # --- rules ----------------------------------------------------------------------------
    def _read_rules(self) -> dict[str, Rule]:
        rules: dict[str, Rule] = {}
        for raw in self.document.get("x-contract-rules", []):
            params = {
                k: v for k, v in raw.items() if k not in {"id", "title", "description", "applies-to", "source"}
            }
            if "source" not in raw:
                raise SpecError(f"rule {raw.get('id')} of x-contract-rules has no source")
            try:
                source = parse_source(raw["source"], f"rule {raw.get('id')}")
            except SourceError as exc:
                raise SpecError(str(exc)) from None
            rule = Rule(
                id=raw["id"],
                title=raw["title"],
                description=str(raw.get("description", "")).strip(),
                applies_to=tuple(raw.get("applies-to", ())),
                source=source,
                params=params,
            )
            if rule.id in rules:
                raise SpecError(f"rule {rule.id} is listed twice in x-contract-rules")
            rules[rule.id] = rule
        return rules

    def rule(self, rule_id: str) -> Rule:
        try:
            return self.rules[rule_id]
        except KeyError:
            raise SpecError(f"x-contract-rules has no rule {rule_id!r}") from None

    # --- sources --------------------------------------------------------------------------
    def _read_x_sources(self) -> dict[str, Source]:
        found: dict[str, Source] = {}
        for pointer, raw in x_sources({k: v for k, v in self.document.items() if k != "x-contract-rules"}):
            try:
                found[pointer] = parse_source(raw, f"x-source at {pointer}")
            except SourceError as exc:
                raise SpecError(str(exc)) from None
        return found

    def sources(self) -> dict[str, Source]:
        """Every source of the spec: ``rule <id>`` for rules, the JSON pointer for each ``x-source``."""
        return {**{f"rule {r.id}": r.source for r in self.rules.values()}, **self.x_sources}

    def convention_rule(self, pointer: str) -> Rule | None:
        """The convention rule whose ``constraints`` cover the ``x-source`` at ``pointer``."""
        for rule in self.rules.values():
            for prefix in rule.params.get("constraints", ()):
                if pointer == prefix or pointer.startswith(prefix + "/"):
                    return rule
        return None

    def source_at(self, path: Sequence[Any], start: str = "#") -> tuple[str, Source | None]:
        """The nearest ``x-source`` over the schema keyword at ``path`` (a validator's schema path) from ``start``.

        ``$ref`` s on the way are followed where the next step is not in the node itself, as
        jsonschema leaves them out of its paths. Answers ``(pointer, source)``; ``source`` is
        ``None`` when no node on the way has an ``x-source`` (the pages state the constraint)."""
        pointer, node = start, self._pointer(start) if start != "#" else self.document
        found: tuple[str, Source | None] = (pointer, self.x_sources.get(pointer))
        steps = [p for p in path[:-1] if p != "$ref"] if path and path[0] == "$ref" else list(path[:-1])
        for step in steps:
            while isinstance(node, Mapping) and step not in node and isinstance(node.get("$ref"), str):
                pointer = node["$ref"].split("#", 1)[-1]
                pointer, node = f"#{pointer}", self._pointer(f"#{pointer}")
                found = (pointer, self.x_sources[pointer]) if pointer in self.x_sources else found
            if isinstance(node, list) and isinstance(step, int) and step < len(node):
                node = node[step]
            elif isinstance(node, Mapping) and step in node:
                node = node[step]
            else:
                break
            pointer = f"{pointer}/{str(step).replace('~', '~0').replace('/', '~1')}"
            if pointer in self.x_sources:
                found = (pointer, self.x_sources[pointer])
        return found if found[1] is not None else (pointer, None)

    # --- operations -----------------------------------------------------------------------
    @functools.cached_property
    def operations(self) -> dict[str, Operation]:
        ops: dict[str, Operation] = {}
        for path, item in self.document.get("paths", {}).items():
            for method in HTTP_METHODS:
                if method in item:
                    op = item[method]
                    ops[op["operationId"]] = Operation(op["operationId"], method.upper(), path, op)
        return ops

    def operation(self, operation_id: str) -> Operation:
        try:
            return self.operations[operation_id]
        except KeyError:
            raise SpecError(f"the spec has no operation {operation_id!r}") from None

    @functools.cached_property
    def webhooks(self) -> dict[str, Operation]:
        hooks: dict[str, Operation] = {}
        for name, item in self.document.get("webhooks", {}).items():
            for method in HTTP_METHODS:
                if method in item:
                    op = item[method]
                    hooks[name] = Operation(op.get("operationId", name), method.upper(), name, op)
        return hooks

    def allowed_methods(self, path: str) -> tuple[str, ...]:
        item = self.document.get("paths", {}).get(path, {})
        return tuple(m.upper() for m in HTTP_METHODS if m in item)

    # --- schemas and validation -----------------------------------------------------------
    def schema(self, name: str) -> dict[str, Any]:
        try:
            return dict(self.document["components"]["schemas"][name])
        except KeyError:
            raise SpecError(f"the spec has no schema {name!r}") from None

    def required(self, name: str) -> tuple[str, ...]:
        """The properties a component schema requires, its ``allOf`` parts' included (a convention's
        constraints sit in a part of their own)."""
        schema = self.schema(name)
        parts = [schema, *(self.resolve(part) for part in schema.get("allOf", ()))]
        return tuple(dict.fromkeys(n for part in parts if isinstance(part, Mapping) for n in part.get("required", ())))

    def resolve(self, node: Any) -> Any:
        """Follow a local ``$ref`` (one level at a time until none is left)."""
        while isinstance(node, Mapping) and "$ref" in node:
            node = self._pointer(node["$ref"])
        return node

    def _pointer(self, ref: str) -> Any:
        if not ref.startswith("#/"):
            raise SpecError(f"only local references are supported, not {ref}")
        node: Any = self.document
        for part in ref[2:].split("/"):
            node = node[part.replace("~1", "/").replace("~0", "~")]
        return node

    def validator(self, schema_name: str) -> jsonschema.protocols.Validator:
        """A draft 2020-12 validator (with format checks) for a component schema."""
        return self._validator_for_ref(f"{_SPEC_URI}#/components/schemas/{schema_name}")

    @functools.lru_cache(maxsize=64)  # noqa: B019 - one Spec lives for the process
    def _validator_for_ref(self, ref: str) -> jsonschema.protocols.Validator:
        cls = jsonschema.Draft202012Validator
        return cls(
            {"$ref": ref}, registry=self._registry, format_checker=cls.FORMAT_CHECKER
        )

    def constraint_errors(self, schema_name: str, instance: Any) -> list[ConstraintError]:
        """Every way ``instance`` breaks ``schema_name``, each with the source of the constraint it breaks."""
        errors = sorted(self.validator(schema_name).iter_errors(instance), key=lambda e: list(e.path))
        out = []
        for e in errors:
            pointer, source = self.source_at(list(e.relative_schema_path), f"#/components/schemas/{schema_name}")
            message = f"{'/'.join(map(str, e.absolute_path)) or '<root>'}: {e.message}"
            out.append(ConstraintError(message, str(e.validator), pointer, source))
        return out

    def validate(self, schema_name: str, instance: Any, *, conventions: bool = True) -> list[str]:
        """Messages for every way ``instance`` breaks ``schema_name`` (empty when valid); with
        ``conventions=False`` only the constraints the pages state (no convention ``x-source``)."""
        if conventions:
            errors = sorted(self.validator(schema_name).iter_errors(instance), key=lambda e: list(e.path))
            return [f"{'/'.join(map(str, e.absolute_path)) or '<root>'}: {e.message}" for e in errors]
        return [e.message for e in self.constraint_errors(schema_name, instance) if not e.is_convention]

    def response_schema_name(self, operation_id: str, status_code: str) -> str | None:
        """The component schema of the resource behind one response's ``application/json`` body
        (``None`` if it has none): the schema it references, or, where the response documents both
        versions (a ``oneOf`` of the bare object and its version 1 envelope), the bare object, which
        is also what version 1 carries as ``data``."""
        name = self._media_schema_name(operation_id, status_code, JSON)
        if name is None:
            return None
        branches = self.version_branches(name)
        return branches.get("2", name) if branches else name

    def version_schema_name(self, operation_id: str, status_code: str, version: str | None) -> str | None:
        """The component schema a body of this response has in API ``version`` (``None``: no
        ``X-API-Version`` header, which is version 1): for a success, the bare object (version 2) or
        its envelope (version 1); for an error, ``Problem`` (version 2, ``application/problem+json``)
        or ``Error`` (version 1, ``application/json``). ``None`` when the response has no such body."""
        wanted = version or DEFAULT_API_VERSION
        for media in self.response_media_types(operation_id, status_code):
            name = self._media_schema_name(operation_id, status_code, media)
            if name is None:
                continue
            branches = self.version_branches(name)
            if branches:
                if wanted in branches:
                    return branches[wanted]
                continue
            declared = self.schema(name).get(VERSION_KEY)
            if declared is None or str(declared) == wanted:
                return name
        return None

    @functools.lru_cache(maxsize=4)  # noqa: B019 - one Spec lives for the process
    def error_schema_name(self, version: str | None) -> str | None:
        """The error body of API ``version`` (``None``: version 1) as the operations' error responses
        document it (``Error`` or ``Problem``): what an error answer outside them is held to too.
        ``None`` when they document none for the version, or disagree."""
        found = {
            self.version_schema_name(op.operation_id, code, version)
            for op in self.operations.values()
            for code in op.responses
            if code[:1] in ("4", "5")
        } - {None}
        return found.pop() if len(found) == 1 else None

    def response_media_types(self, operation_id: str, status_code: str) -> tuple[str, ...]:
        """The media types one response documents, in the spec's order (empty: no body)."""
        response = self.resolve(self.operation(operation_id).responses.get(status_code))
        content = response.get("content", {}) if isinstance(response, Mapping) else {}
        return tuple(content)

    def version_branches(self, schema_name: str) -> dict[str, str]:
        """``{"1": envelope, "2": bare object}`` for a ``oneOf`` of the two versions of one body
        (the branch marked ``x-api-version`` and the one that is not); empty for any other schema."""
        branches = self.schema(schema_name).get("oneOf")
        if not isinstance(branches, list) or not branches:
            return {}
        found: dict[str, str] = {}
        for branch in branches:
            ref = branch.get("$ref", "") if isinstance(branch, Mapping) else ""
            if not ref.startswith(_SCHEMAS):
                return {}
            name = ref.removeprefix(_SCHEMAS)
            found[str(self.schema(name).get(VERSION_KEY, "2"))] = name
        return found if set(found) == {"1", "2"} and len(branches) == 2 else {}

    def _media_schema_name(self, operation_id: str, status_code: str, media: str) -> str | None:
        response = self.resolve(self.operation(operation_id).responses.get(status_code))
        if not isinstance(response, Mapping):
            return None
        schema = response.get("content", {}).get(media, {}).get("schema", {})
        ref = schema.get("$ref", "") if isinstance(schema, Mapping) else ""
        return ref.removeprefix(_SCHEMAS) if ref.startswith(_SCHEMAS) else None

    # --- examples -------------------------------------------------------------------------
    def examples(self) -> Iterator[tuple[str, str, Any]]:
        """Every named example as ``(location, schema name, value)``."""
        for op in [*self.operations.values(), *self.webhooks.values()]:
            yield from self._examples_of(op)

    def _examples_of(self, op: Operation) -> Iterator[tuple[str, str, Any]]:
        where = f"{op.method} {op.path}"
        body = self.resolve(op.definition.get("requestBody", {}))
        yield from self._media_examples(f"{where} request", body)
        for code, response in op.responses.items():
            yield from self._media_examples(f"{where} {code}", self.resolve(response))

    def _media_examples(self, where: str, holder: Mapping[str, Any]) -> Iterator[tuple[str, str, Any]]:
        """The examples of every JSON media type of a body, each with the schema it must match:
        the media type's schema, or for a body documented in both versions the branch of the
        version the example names (``x-api-version``; none: version 2, the bare object)."""
        for media_type, media in holder.get("content", {}).items():
            if not _is_json(media_type):
                continue
            ref = media.get("schema", {}).get("$ref", "")
            schema_name = ref.rsplit("/", 1)[-1]
            branches = self.version_branches(schema_name) if ref.startswith(_SCHEMAS) else {}
            suffix = "" if media_type == JSON else f" {media_type}"
            for name, example in media.get("examples", {}).items():
                resolved = self.resolve(example)
                named = branches.get(str(resolved.get(VERSION_KEY, "2")), schema_name) if branches else schema_name
                yield f"{where}{suffix} example {name}", named, resolved["value"]


def load_spec(path: Path | str | None = None) -> Spec:
    """Load (once per path) and return the spec."""
    return _load(Path(path).resolve() if path else DEFAULT_SPEC_PATH)


@functools.lru_cache(maxsize=8)
def _load(path: Path) -> Spec:
    try:
        document = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise SpecError(f"cannot read spec {path}: {exc.strerror}") from None
    except yaml.YAMLError as exc:
        raise SpecError(f"spec {path} is not valid YAML: {exc}") from None
    if not isinstance(document, dict) or "openapi" not in document:
        raise SpecError(f"{path} is not an OpenAPI document")
    return Spec(document, path)

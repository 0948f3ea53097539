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
HTTP_METHODS = ("get", "put", "post", "delete", "patch", "head", "options", "trace")


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
        """The component schema name behind one response (``None`` if it has no JSON body)."""
        response = self.resolve(self.operation(operation_id).responses.get(status_code))
        if not isinstance(response, Mapping):
            return None
        schema = response.get("content", {}).get("application/json", {}).get("schema", {})
        ref = schema.get("$ref", "")
        return ref.rsplit("/", 1)[-1] if ref.startswith("#/components/schemas/") else None

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
        media = holder.get("content", {}).get("application/json", {})
        ref = media.get("schema", {}).get("$ref", "")
        schema_name = ref.rsplit("/", 1)[-1]
        for name, example in media.get("examples", {}).items():
            yield f"{where} example {name}", schema_name, self.resolve(example)["value"]


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

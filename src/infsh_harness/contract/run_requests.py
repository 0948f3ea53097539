"""Run requests a server must refuse, derived from the spec's request schema.

:func:`invalid_run_requests` derives invalid bodies from the schema the spec gives ``runTask``'s
request (``RunRequest``): per property a value of the wrong JSON type (a scalar and a container),
``null``, and one value breaking each of its constraints (``enum``/``const``, ``minLength``/
``maxLength``, ``minimum``/``maximum``, ``pattern``, ``format``, ``minItems``/``maxItems``, and its
items' for an array); each required property left out; bodies that are not objects; and each
``if``/``then`` whose condition holds while its consequence is broken. Every body is checked invalid
against the schema before it is offered, so a spec change flows to the cases by itself.

A property's constraints may sit in its ``allOf`` (where they carry their own ``x-source``): they
are folded in first. Each case knows the rule its refusal falls under (``invalid-run-refused`` for a
constraint the page states, ``run-constraints-refused`` for one of ours); the checks of the answers
are :mod:`infsh_harness.rules.requests`.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import jsonschema

from infsh_harness.rules.requests import RUN_OPERATION, broken_run_rule, request_schema_name
from infsh_harness.spec import Spec

__all__ = ["InvalidRun", "invalid_run_requests", "request_schema_name", "unknown_app_names"]

# tried in order: the first that has a JSON type the property does not allow is its wrong-typed value
_WRONG_SCALARS: tuple[Any, ...] = ("1", 1, True)
_WRONG_CONTAINERS: tuple[Any, ...] = ([], {})
# strings tried in order for one that breaks a `pattern` or a `format` and, if possible, nothing else;
# the hosts are reserved (.invalid) so that no such value can ever reach a real host
_ODD_STRINGS: tuple[str, ...] = (
    "not valid!",
    "-x",
    "x y",
    "ftp://host.invalid/x",
    "http://bad host.invalid/x",
    "http://",
    "",
)
_PLAIN_URL = "http://host.invalid/"  # lengthened, it breaks only the maxLength of a URL property


@dataclass(frozen=True)
class InvalidRun:
    """One run request body the spec refuses: ``label`` says what it breaks, ``errors`` how, and
    ``rule_id`` which rule a server answering it with anything but a 4xx breaks."""

    label: str
    body: Any
    errors: tuple[str, ...]
    rule_id: str


# --- the spec's run request ---------------------------------------------------------------------
def _folded(spec: Spec, schema: Any) -> dict[str, Any]:
    """A property schema with its ``$ref`` and its ``allOf`` parts' keywords folded into one mapping."""
    node = spec.resolve(schema)
    if not isinstance(node, Mapping):
        return {}
    out = {k: v for k, v in node.items() if k != "allOf"}
    for part in node.get("allOf", ()):
        for key, value in _folded(spec, part).items():
            out.setdefault(key, value)
    if isinstance(out.get("items"), Mapping):
        out["items"] = _folded(spec, out["items"])
    return out


def _schema_errors(spec: Spec, schema_name: str, body: Any) -> list[jsonschema.ValidationError]:
    return list(spec.validator(schema_name).iter_errors(body))


def _keywords_at(errors: Iterable[jsonschema.ValidationError], path: Sequence[Any]) -> set[str]:
    return {str(e.validator) for e in errors if list(e.absolute_path) == list(path)}


def _types(schema: Mapping[str, Any]) -> list[str]:
    declared = schema.get("type", [])
    return [declared] if isinstance(declared, str) else list(declared)


def _valid_value(schema: Mapping[str, Any]) -> Any:
    """A value the (property) schema accepts: an example, the const or first enum value, or a plain one."""
    for key in ("examples", "enum"):
        if schema.get(key):
            return schema[key][0]
    if "const" in schema:
        return schema["const"]
    kind = (_types(schema) or ["string"])[0]
    if kind == "string":
        return "x" * max(1, int(schema.get("minLength", 1)))
    if kind in ("number", "integer"):
        if "minimum" in schema:
            return schema["minimum"]
        return schema["exclusiveMinimum"] + 1 if "exclusiveMinimum" in schema else 1
    return {"boolean": True, "array": [], "object": {}, "null": None}.get(kind, "x")


# --- values breaking one property schema --------------------------------------------------------
def _unlisted(allowed: Sequence[Any]) -> list[Any]:
    """Values of the allowed values' type that are not among them (for ``enum`` and ``const``)."""
    first = allowed[0]
    if isinstance(first, str):
        out = [f"{first}-unlisted", first.upper()]
        return [v for v in out if v not in allowed]
    if isinstance(first, int | float) and not isinstance(first, bool):
        return [max(v for v in allowed if isinstance(v, int | float)) + 1]
    return []


def _constraint_values(schema: Mapping[str, Any]) -> Iterator[tuple[str, Any]]:
    """``(keyword, value)`` candidates meant to break each constraint of ``schema`` (checked later)."""
    valid = _valid_value(schema)
    if "enum" in schema:
        yield from (("enum", v) for v in _unlisted(schema["enum"]))
    if "const" in schema:
        yield from (("const", v) for v in _unlisted([schema["const"]]))
    if schema.get("minLength", 0) >= 1:
        yield "minLength", "x" * (int(schema["minLength"]) - 1)
    if "maxLength" in schema:
        for base in (valid if isinstance(valid, str) else "x", _PLAIN_URL):
            yield "maxLength", base + "x" * max(0, int(schema["maxLength"]) + 1 - len(base))
    for keyword, step in (("minimum", -1), ("maximum", 1), ("exclusiveMinimum", 0), ("exclusiveMaximum", 0)):
        if keyword in schema:
            yield keyword, schema[keyword] + step
    item = _valid_value(schema.get("items", {}))
    if schema.get("minItems", 0) >= 1:
        yield "minItems", [item] * (int(schema["minItems"]) - 1)
    if "maxItems" in schema:
        yield "maxItems", [item] * (int(schema["maxItems"]) + 1)
    for keyword in ("pattern", "format"):
        if keyword in schema:
            yield from ((keyword, v) for v in _ODD_STRINGS)


@dataclass(frozen=True)
class _Slot:
    """Where a value goes: property ``name`` of ``context`` (a body otherwise valid)."""

    spec: Spec
    schema_name: str
    context: Mapping[str, Any]
    name: str

    def body(self, value: Any) -> dict[str, Any]:
        return {**self.context, self.name: value}

    def keywords(self, value: Any, *subpath: Any) -> set[str]:
        """The schema keywords ``value`` breaks at this property (or at ``subpath`` below it)."""
        errors = _schema_errors(self.spec, self.schema_name, self.body(value))
        return _keywords_at(errors, [self.name, *subpath])


def _wrong_typed(slot: _Slot, *subpath: Any) -> Iterator[Any]:
    """A wrong-typed scalar and a wrong-typed container, where the schema refuses them by type."""
    for pool in (_WRONG_SCALARS, _WRONG_CONTAINERS):
        for candidate in pool:
            if "type" in slot.keywords(_nest(candidate, subpath), *subpath):
                yield candidate
                break


def _nest(value: Any, subpath: Sequence[Any]) -> Any:
    return [value] if subpath else value


def _breaking(slot: _Slot, schema: Mapping[str, Any], *subpath: Any) -> Iterator[tuple[str, Any]]:
    """``(what, value)`` per way of breaking ``schema``: wrong type, null, then each constraint."""
    where = f"{slot.name}{''.join(f'[{p}]' for p in subpath)}"
    for value in _wrong_typed(slot, *subpath):
        yield f"{where} of the wrong type ({json.dumps(value)})", value
    if "type" in slot.keywords(_nest(None, subpath), *subpath):
        yield f"{where} null", None
    done: set[str] = set()
    candidates = list(_constraint_values(schema))
    for keyword, value in _best_first(slot, candidates, subpath):
        if keyword in done and keyword not in ("enum", "const"):  # one value per constraint, the best
            continue
        done.add(keyword)
        yield f"{where} breaking {keyword} ({json.dumps(value)[:60]})", value


def _best_first(slot: _Slot, candidates: list[tuple[str, Any]], subpath: Sequence[Any]) -> list[tuple[str, Any]]:
    """The candidates that break their keyword; per keyword, one breaking nothing else comes first."""
    kept: list[tuple[int, int, str, Any]] = []
    for index, (keyword, value) in enumerate(candidates):
        broken = slot.keywords(_nest(value, subpath), *subpath)
        if keyword in broken:
            kept.append((0 if broken == {keyword} else 1, index, keyword, value))
    return [(keyword, value) for _, _, keyword, value in sorted(kept, key=lambda k: (k[0], k[1]))]


# --- the cases ----------------------------------------------------------------------------------
def _conditionals(schema: Mapping[str, Any]) -> list[tuple[Mapping[str, Any], Mapping[str, Any]]]:
    holders = [schema, *schema.get("allOf", [])]
    return [(h["if"], h["then"]) for h in holders if "if" in h and "then" in h]


def _context(spec: Spec, schema_name: str, base: Mapping[str, Any], name: str) -> dict[str, Any]:
    """``base`` with a valid value of property ``name``, plus what an ``if``/``then`` then needs."""
    schema = spec.schema(schema_name)
    props = {k: _folded(spec, v) for k, v in schema.get("properties", {}).items()}
    body = dict(base) if name in base else {**base, name: _valid_value(props.get(name, {}))}
    for condition, consequence in _conditionals(schema):
        if not jsonschema.Draft202012Validator(condition).is_valid(body):
            continue
        for required in consequence.get("required", []):
            wanted = consequence.get("properties", {}).get(required, {})
            if required not in body:
                body[required] = wanted["const"] if "const" in wanted else _valid_value(props.get(required, {}))
    return body if not _schema_errors(spec, schema_name, body) else {**base, name: body[name]}


def _property_cases(spec: Spec, schema_name: str, base: Mapping[str, Any]) -> Iterator[tuple[str, Any]]:
    for name, raw in spec.schema(schema_name).get("properties", {}).items():
        prop = _folded(spec, raw)
        slot = _Slot(spec, schema_name, _context(spec, schema_name, base, name), name)
        for what, value in _breaking(slot, prop):
            yield what, slot.body(value)
        items = prop.get("items") if "array" in _types(prop) else None
        if isinstance(items, Mapping):
            for what, value in _breaking(slot, items, 0):
                yield what, slot.body([value])


def _required_cases(spec: Spec, schema_name: str, base: Mapping[str, Any]) -> Iterator[tuple[str, Any]]:
    for name in spec.schema(schema_name).get("required", []):
        yield f"without {name}", {k: v for k, v in base.items() if k != name}


def _root_cases(base: Mapping[str, Any]) -> Iterator[tuple[str, Any]]:
    yield "a body that is an array of a valid body", [dict(base)]
    yield "a body that is a valid body encoded as a JSON string", json.dumps(dict(base))
    yield "a body that is null", None


def _conditional_cases(spec: Spec, schema_name: str, base: Mapping[str, Any]) -> Iterator[tuple[str, Any]]:
    """Each ``if`` made true with its ``then`` broken: a required property left out, a const changed."""
    schema = spec.schema(schema_name)
    props = {k: _folded(spec, v) for k, v in schema.get("properties", {}).items()}
    for condition, consequence in _conditionals(schema):
        body = dict(base)
        for name in condition.get("required", []):
            body.setdefault(name, _valid_value(props.get(name, {})))
        if not jsonschema.Draft202012Validator(condition).is_valid(body):
            continue
        given = ", ".join(condition.get("required", [])) or "the condition"
        for name in consequence.get("required", []):
            yield f"{given} without {name}", {k: v for k, v in body.items() if k != name}
        for name, wanted in consequence.get("properties", {}).items():
            if "const" not in wanted:
                continue
            others = [e for e in props.get(name, {}).get("examples", []) if e != wanted["const"]]
            for other in others[:1]:
                yield f"{given} with {name} {json.dumps(other)}", {**body, name: other}


def invalid_run_requests(spec: Spec, base: Mapping[str, Any], operation_id: str = RUN_OPERATION) -> list[InvalidRun]:
    """Bodies breaking the operation's request schema, each built from ``base`` (a valid body).

    ``ValueError`` if ``base`` is not itself valid: every case must break the schema in its own way
    only, so that a server refusing it cannot be refusing ``base``.
    """
    schema_name = request_schema_name(spec, operation_id)
    problems = spec.validate(schema_name, dict(base))
    if problems:
        raise ValueError(f"the base run request {dict(base)!r} is not a valid {schema_name}: {problems[0]}")
    cases: dict[str, InvalidRun] = {}
    for source in (_root_cases(base), _required_cases(spec, schema_name, base)):
        _keep(spec, schema_name, cases, source)
    _keep(spec, schema_name, cases, _property_cases(spec, schema_name, base))
    _keep(spec, schema_name, cases, _conditional_cases(spec, schema_name, base))
    return list(cases.values())


def _keep(spec: Spec, schema_name: str, cases: dict[str, InvalidRun], found: Iterable[tuple[str, Any]]) -> None:
    for label, body in found:
        key = json.dumps(body, sort_keys=True)
        errors = spec.validate(schema_name, body)
        broken = broken_run_rule(spec, body)
        if errors and broken is not None and key not in cases:
            cases[key] = InvalidRun(label, body, tuple(errors), broken[0])


def unknown_app_names(spec: Spec, base: Mapping[str, Any], token: str) -> list[str]:
    """App names no server has (``token`` makes them unique), valid against the request schema.

    One in a namespace of its own, one in ``base``'s app namespace, and one with a version suffix
    shaped like the spec's examples. ``token`` must be letters, digits and dashes."""
    schema_name = request_schema_name(spec)
    app = _folded(spec, spec.schema(schema_name)["properties"]["app"])
    names = [f"contract-unknown-{token}/app"]
    known = str(base.get("app", ""))
    if "/" in known:
        names.append(f"{known.split('/', 1)[0]}/contract-unknown-{token}")
    versions = [str(e).split("@", 1)[1] for e in app.get("examples", []) if "@" in str(e)]
    names += [f"{names[0]}@{v}" for v in versions[:1]]
    valid = [n for n in names if not spec.validate(schema_name, {**base, "app": n})]
    if not valid:
        raise ValueError(f"no unknown app name made from {token!r} is valid against {schema_name}")
    return valid

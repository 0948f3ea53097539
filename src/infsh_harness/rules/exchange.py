"""What a check needs to know about one exchange: which documented operation it was, the API version
its request asked for, and its payload (the documented object, taken out of version 1's envelope)."""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping
from typing import Any
from urllib.parse import unquote

from infsh_harness.http.calls import API_VERSION_HEADER
from infsh_harness.http.observation import Observation
from infsh_harness.rules.predicates import is_whole_status
from infsh_harness.spec import API_VERSIONS, DEFAULT_API_VERSION, Spec

__all__ = [
    "applies",
    "documented_path",
    "is_success",
    "operation_of",
    "path_params",
    "payload_of",
    "payload_schema_name",
    "request_json",
    "request_version",
    "status_code",
    "unwrapped",
]


@functools.lru_cache(maxsize=8)
def _templates(spec: Spec) -> tuple[tuple[str, re.Pattern[str], str, tuple[str, ...]], ...]:
    """``(method, path regex, operationId, path parameter names)`` for every documented operation."""
    out = []
    for op in spec.operations.values():
        pattern = re.sub(r"\\\{[^}]+\\\}", "([^/]+)", re.escape(op.path))
        names = tuple(re.findall(r"\{([^}]+)\}", op.path))
        out.append((op.method, re.compile(f"^{pattern}$"), op.operation_id, names))
    return tuple(out)


def operation_of(spec: Spec, obs: Observation) -> str | None:
    """The operationId (or webhook operationId) ``obs`` exercised, ``None`` if undocumented."""
    if obs.operation_id:
        return obs.operation_id
    for method, pattern, operation_id, _ in _templates(spec):
        if obs.method == method and pattern.match(obs.path):
            return operation_id
    return None


def documented_path(spec: Spec, path: str) -> str | None:
    """The spec's path template ``path`` falls under (``/tasks/{id}``), whatever the method; ``None`` if none."""
    for _, pattern, operation_id, _ in _templates(spec):
        if pattern.match(path):
            return spec.operation(operation_id).path
    return None


def path_params(spec: Spec, obs: Observation) -> dict[str, str]:
    """The path parameters of the documented operation ``obs`` exercised (``{"id": ...}``)."""
    operation_id = operation_of(spec, obs)
    for _, pattern, template_id, names in _templates(spec):
        found = pattern.match(obs.path) if template_id == operation_id else None
        if found:
            return {name: unquote(value) for name, value in zip(names, found.groups(), strict=True)}
    return {}


def status_code(value: Any) -> int | None:
    """A JSON ``status`` as a whole number: ``9`` and ``9.0`` alike (JSON Schema's ``integer``), else ``None``."""
    return is_whole_status(value)


def _webhook_ids(spec: Spec) -> frozenset[str]:
    return frozenset(op.operation_id for op in spec.webhooks.values())


def applies(spec: Spec, rule_id: str, obs: Observation) -> bool:
    """Whether the rule's ``applies-to`` names the operation ``obs`` exercised."""
    operation_id = operation_of(spec, obs)
    return operation_id is not None and operation_id in spec.rule(rule_id).applies_to


def is_success(obs: Observation) -> bool:
    return 200 <= obs.status_code < 300


def request_version(obs: Observation) -> str | None:
    """The API version ``obs``'s request asked for: its ``X-API-Version`` (none: version 1, the
    default); ``None`` for a value the pages do not document, whose answer no rule can judge."""
    value = obs.request_headers.get(API_VERSION_HEADER)
    if value is None:
        return DEFAULT_API_VERSION
    return value.strip() if value.strip() in API_VERSIONS else None


@functools.lru_cache(maxsize=64)
def _envelope(spec: Spec, operation_id: str, status: str) -> tuple[tuple[str, ...], str] | None:
    """``(the keys version 1's envelope requires, the one holding the object)`` for a response that
    documents both versions (``None`` for any other)."""
    bare = spec.response_schema_name(operation_id, status)
    wrapped = spec.version_schema_name(operation_id, status, DEFAULT_API_VERSION)
    if bare is None or wrapped is None or wrapped == bare:
        return None
    schema = spec.schema(wrapped)
    holding = [k for k, v in schema.get("properties", {}).items() if v.get("$ref") == f"#/components/schemas/{bare}"]
    return (tuple(schema.get("required", ())), holding[0]) if holding else None


def unwrapped(spec: Spec, operation_id: str | None, status: int, body: Any) -> Any:
    """The documented object of an answer: ``body`` itself, or what version 1's envelope holds when
    ``body`` has that envelope's shape (which version it should have is rule ``version-shape``'s)."""
    envelope = _envelope(spec, operation_id, str(status)) if operation_id and isinstance(body, Mapping) else None
    if envelope is None or not all(key in body for key in envelope[0]):
        return body
    return body[envelope[1]]


def payload_of(spec: Spec, obs: Observation) -> Mapping[str, Any] | None:
    """The task-shaped JSON object of ``obs``: a webhook's request body, or an API call's 2xx answer
    (bare, or out of version 1's ``{"success", "status", "data"}``)."""
    operation_id = operation_of(spec, obs)
    if operation_id in _webhook_ids(spec):
        body = obs.request_body if obs.request_body_is_json else None
    else:
        body = obs.body if obs.body_is_json and is_success(obs) else None
        body = unwrapped(spec, operation_id, obs.status_code, body)
    return body if isinstance(body, Mapping) else None


def payload_schema_name(spec: Spec, obs: Observation) -> str | None:
    """The component schema ``payload_of(obs)`` is documented by: a webhook's request body, else the answer's."""
    operation_id = operation_of(spec, obs)
    if operation_id in _webhook_ids(spec):
        op = next(op for op in spec.webhooks.values() if op.operation_id == operation_id)
        body = spec.resolve(op.definition.get("requestBody", {}))
        ref = body.get("content", {}).get("application/json", {}).get("schema", {}).get("$ref", "")
        return ref.rsplit("/", 1)[-1] if ref.startswith("#/components/schemas/") else None
    if operation_id is None:
        return None
    return spec.response_schema_name(operation_id, str(obs.status_code))


def request_json(obs: Observation) -> Mapping[str, Any] | None:
    """The request's JSON object body, ``None`` if it sent none."""
    body = obs.request_body
    return body if obs.request_body_is_json and isinstance(body, Mapping) else None

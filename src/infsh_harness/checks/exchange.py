"""What a check needs to know about one exchange: which documented operation it was, and its payload."""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping
from typing import Any

from infsh_harness.observation import Observation
from infsh_harness.spec import Spec

__all__ = ["applies", "is_success", "operation_of", "payload_of", "request_json"]


@functools.lru_cache(maxsize=8)
def _templates(spec: Spec) -> tuple[tuple[str, re.Pattern[str], str], ...]:
    """``(method, path regex, operationId)`` for every documented operation."""
    out = []
    for op in spec.operations.values():
        pattern = re.sub(r"\\\{[^}]+\\\}", "[^/]+", re.escape(op.path))
        out.append((op.method, re.compile(f"^{pattern}$"), op.operation_id))
    return tuple(out)


def operation_of(spec: Spec, obs: Observation) -> str | None:
    """The operationId (or webhook operationId) ``obs`` exercised, ``None`` if undocumented."""
    if obs.operation_id:
        return obs.operation_id
    for method, pattern, operation_id in _templates(spec):
        if obs.method == method and pattern.match(obs.path):
            return operation_id
    return None


def _webhook_ids(spec: Spec) -> frozenset[str]:
    return frozenset(op.operation_id for op in spec.webhooks.values())


def applies(spec: Spec, rule_id: str, obs: Observation) -> bool:
    """Whether the rule's ``applies-to`` names the operation ``obs`` exercised."""
    operation_id = operation_of(spec, obs)
    return operation_id is not None and operation_id in spec.rule(rule_id).applies_to


def is_success(obs: Observation) -> bool:
    return 200 <= obs.status_code < 300


def payload_of(spec: Spec, obs: Observation) -> Mapping[str, Any] | None:
    """The task-shaped JSON object of ``obs``: a webhook's request body, or an API call's 2xx answer."""
    if operation_of(spec, obs) in _webhook_ids(spec):
        body = obs.request_body if obs.request_body_is_json else None
    else:
        body = obs.body if obs.body_is_json and is_success(obs) else None
    return body if isinstance(body, Mapping) else None


def request_json(obs: Observation) -> Mapping[str, Any] | None:
    """The request's JSON object body, ``None`` if it sent none."""
    body = obs.request_body
    return body if obs.request_body_is_json and isinstance(body, Mapping) else None

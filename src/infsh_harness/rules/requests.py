"""Rules about requests a server must refuse: invalid runs, unknown apps and tasks, other keys' tasks.

Which rule an invalid run request breaks depends on where the constraint it breaks comes from: a
body breaking what the page states of ``RunRequest`` (a type, a required field, ``infra``'s values,
the session rules) falls under ``invalid-run-refused``; one breaking only a constraint of ours (an
``x-source`` of kind convention: the webhook's scheme, non-empty strings, the app name's shape, the
values of ``wait``) under ``run-constraints-refused``. Each refusal only needs a 4xx; which 4xx
(400 ``invalid_request``) and its body are rules ``error-code-status`` and ``error-shape``'s business.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import Any

from infsh_harness.http.observation import Observation
from infsh_harness.rules import predicates
from infsh_harness.rules.exchange import applies, operation_of, request_json
from infsh_harness.rules.violation import ContractViolation, violation
from infsh_harness.spec import Spec

__all__ = [
    "INVALID_RUN",
    "RUN_CONSTRAINTS",
    "WAIT_VALUES",
    "broken_run_rule",
    "check_isolated",
    "check_isolation_404",
    "check_not_found",
    "check_run_refused",
    "check_runs_refused",
    "check_unknown_app_404",
    "refusal_problem",
    "request_schema_name",
]

INVALID_RUN = "invalid-run-refused"
RUN_CONSTRAINTS = "run-constraints-refused"
WAIT_VALUES = ("true", "false")
RUN_OPERATION = "runTask"


def request_schema_name(spec: Spec, operation_id: str = RUN_OPERATION) -> str:
    """The component schema of an operation's JSON request body (``RunRequest`` for ``runTask``)."""
    body = spec.resolve(spec.operation(operation_id).definition.get("requestBody", {}))
    for media_type, content in body.get("content", {}).items():
        ref = content.get("schema", {}).get("$ref", "") if "json" in media_type else ""
        if ref.startswith("#/components/schemas/"):
            return str(ref.rsplit("/", 1)[-1])
    raise ValueError(f"{operation_id} documents no JSON request body schema")


def broken_run_rule(spec: Spec, body: Any, query: Mapping[str, str] | None = None) -> tuple[str, str] | None:
    """``(rule id, first reason)`` for a run request breaking ``RunRequest`` or ``wait``; ``None`` if valid.

    A body breaking any constraint the page states is ``invalid-run-refused``, even if it breaks
    one of ours too: the page alone already says it must be refused."""
    errors = spec.constraint_errors(request_schema_name(spec), body)
    stated = [e for e in errors if not e.is_convention]
    if stated:
        return INVALID_RUN, stated[0].message
    wait = (query or {}).get("wait")
    if errors:
        return RUN_CONSTRAINTS, errors[0].message
    if wait is not None and wait not in WAIT_VALUES:
        return RUN_CONSTRAINTS, f"wait: {wait!r} is neither true nor false"
    return None


def _clip(value: Any, limit: int = 160) -> str:
    text = json.dumps(value, sort_keys=False, default=str)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def refusal_problem(spec: Spec, obs: Observation) -> tuple[str, str] | None:
    """``(rule id, what is wrong)`` with the answer to a run that breaks ``RunRequest``; ``None`` when it
    was refused with a 4xx, or the request was valid, or it sent no JSON body."""
    if not applies(spec, INVALID_RUN, obs) or not obs.request_body_is_json:
        return None
    broken = broken_run_rule(spec, obs.request_body, obs.query)
    if broken is None or predicates.is_client_error(obs.status_code):
        return None
    rule_id, reason = broken
    reason = reason if len(reason) <= 120 else reason[:119] + "…"
    return rule_id, f"a run breaking RunRequest ({reason}), {_clip(obs.request_body)}, got {obs.status_code}, not a 4xx"


def check_run_refused(spec: Spec, obs: Observation) -> bool:
    """A run breaking ``RunRequest`` got a 4xx (``False`` when ``obs`` is no such run)."""
    if not applies(spec, INVALID_RUN, obs) or not obs.request_body_is_json:
        return False
    if broken_run_rule(spec, obs.request_body, obs.query) is None:
        return False
    problem = refusal_problem(spec, obs)
    if problem is not None:
        raise violation(spec, problem[0], problem[1], obs)
    return True


def check_runs_refused(spec: Spec, answers: Iterable[Observation]) -> list[ContractViolation]:
    """Every violation among ``answers``: at most one per rule, naming the first offending request
    and counting the rest."""
    bad: dict[str, list[tuple[Observation, str]]] = {}
    for obs in answers:
        problem = refusal_problem(spec, obs)
        if problem is not None:
            bad.setdefault(problem[0], []).append((obs, problem[1]))
    found = []
    for rule_id, cases in bad.items():
        first, detail = cases[0]
        if len(cases) > 1:
            others = "; ".join(f"{_clip(obs.request_body, 70)} -> {obs.status_code}" for obs, _ in cases[1:6])
            detail += f" (and {len(cases) - 1} more: {others}{'; …' if len(cases) > 6 else ''})"
        found.append(violation(spec, rule_id, detail, first))
    return found


def check_not_found(spec: Spec, rule_id: str, obs: Observation, what: str) -> bool:
    """``obs`` (about something that does not exist, for ``rule_id``) got 404."""
    if obs.status_code != 404:
        raise violation(spec, rule_id, f"{what} got {obs.status_code}, not 404", obs)
    return True


def check_unknown_app_404(spec: Spec, obs: Observation) -> bool:
    """``obs`` is a run of an app the server does not have: it must be 404."""
    if not applies(spec, "unknown-app-404", obs):
        return False
    request = request_json(obs)
    app = request.get("app") if request is not None else None
    return check_not_found(spec, "unknown-app-404", obs, f"a run of app {app!r}, which does not exist,")


def check_isolated(spec: Spec, obs: Observation, owner: str) -> bool:
    """task-isolation: another key's read or cancel of ``owner``'s task is refused (403 or 404)."""
    if obs.status_code in (403, 404):
        return True
    detail = f"another key's {operation_of(spec, obs)} of task {owner} got {obs.status_code}, not 403 or 404"
    raise violation(spec, "task-isolation", detail, obs)


def check_isolation_404(spec: Spec, obs: Observation, owner: str) -> bool:
    """isolation-404: that refusal is a 404, as for an unknown id."""
    return check_not_found(spec, "isolation-404", obs, f"another key's {operation_of(spec, obs)} of task {owner}")

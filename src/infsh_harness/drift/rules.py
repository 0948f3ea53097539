"""Behaviour the documentation promises in prose (``x-contract-rules``), checked on one task body.

Status numbers come from the spec: a rule's ``status`` parameter, ``TaskStatus``' terminal set and
``status("CANCELLED")``. A status outside the documented enum is left to the enum finding. Each
decision is the rule engine's (:mod:`infsh_harness.rules.predicates`); this module says it as drift.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from infsh_harness.drift.scenarios import Scenario
from infsh_harness.drift.shape import sketch
from infsh_harness.http.observation import Observation
from infsh_harness.rules import predicates
from infsh_harness.spec import Spec

__all__ = ["RuleIssue", "body_rule_issues", "scenario_issues"]


@dataclass(frozen=True)
class RuleIssue:
    key: str
    json_path: str
    expected: str
    observed: str


# rule id -> (the field it is about, the engine's decision (status, value, the rule's status), what it wants)
_BODY_RULES: Mapping[str, tuple[str, Callable[[int | None, Any, int], bool], str]] = {
    "completed-has-output": ("output", predicates.completed_has_output, "an `output` object"),
    "failed-has-error": ("error", predicates.failed_has_error, "a non-empty `error` string"),
}


def _status_label(spec: Spec, code: Any) -> str:
    info = spec.status_info(code) if isinstance(code, int) and not isinstance(code, bool) else None
    return f"{code} ({info.name})" if info else repr(code)


def _documented_status(spec: Spec, document: Any) -> int | None:
    if not isinstance(document, Mapping):
        return None
    status = document.get("status")
    if isinstance(status, bool) or not isinstance(status, int) or status not in spec.status_codes:
        return None
    return status


def body_rule_issues(spec: Spec, operation_id: str, document: Any, prefix: str = "$") -> list[RuleIssue]:
    """What the rules tied to one status (completed has output, failed has error) find wrong."""
    status = _documented_status(spec, document)
    if status is None:
        return []
    assert isinstance(document, Mapping)
    issues = []
    for rule_id, (name, honours, wants) in _BODY_RULES.items():
        rule = spec.rules.get(rule_id)
        if rule is None or operation_id not in rule.applies_to or rule.params.get("status") != status:
            continue
        if not honours(status, document.get(name), rule.params["status"]):
            observed = sketch(document[name]) if name in document else "absent"
            expected = f"{wants} when the status is {_status_label(spec, status)}"
            issues.append(RuleIssue(rule_id, f"{prefix}.{name}", expected, observed))
    return issues


def scenario_issues(
    spec: Spec, scenario: Scenario, obs: Observation, document: Any, prefix: str = "$"
) -> list[RuleIssue]:
    """What a probe scenario's own promise (waiting, cancelling, sessions) finds wrong."""
    status = _documented_status(spec, document)
    if status is None:
        return []
    assert isinstance(document, Mapping)
    cancelled_code = spec.status("CANCELLED")
    terminals = ", ".join(_status_label(spec, c) for c in sorted(spec.terminal_statuses))
    seen = f"status {_status_label(spec, status)}"
    at_status = f"{prefix}.status"
    name = scenario.name
    if name in {"run-default-wait", "run-wait-true"} and not predicates.run_waited(status, spec.terminal_statuses):
        why = (
            "a run waits by default" if name == "run-default-wait" else "a waited run ends before it answers"
        )
        return [RuleIssue(f"terminal:{name}", at_status, f"a terminal status ({terminals}): {why}", seen)]
    if name == "run-fail" and status != spec.status("FAILED"):
        failed = _status_label(spec, spec.status("FAILED"))
        return [RuleIssue("failed:run-fail", at_status, f"status {failed}: the app fails", seen)]
    if name == "run-no-wait" and not predicates.run_did_not_wait(status, spec.terminal_statuses):
        return [
            RuleIssue(
                "not-terminal:run-no-wait",
                at_status,
                "a non-terminal status: `wait=false` does not wait",
                seen,
            )
        ]
    if name in {"cancel-running", "get-after-cancel", "get-settled"} and status != cancelled_code:
        return [
            RuleIssue(f"cancelled:{name}", at_status, f"status {_status_label(spec, cancelled_code)}", seen)
        ]
    if name in {"cancel-running", "cancel-terminal"} and "cancelled" in document:
        wants = status == cancelled_code
        if not predicates.cancel_flag_matches(status, document["cancelled"], cancelled_code):
            return [
                RuleIssue(
                    f"cancelled-flag:{name}",
                    f"{prefix}.cancelled",
                    f"{str(wants).lower()} for {seen}",
                    sketch(document["cancelled"]),
                )
            ]
    if name in {"session-new", "session-continue"}:
        return _session_issues(name, obs, document, prefix)
    return []


def _session_issues(name: str, obs: Observation, document: Mapping[str, Any], prefix: str) -> list[RuleIssue]:
    session_id = document.get("session_id")
    at = f"{prefix}.session_id"
    if not predicates.session_id_given(session_id):
        observed = sketch(session_id) if "session_id" in document else "absent"
        return [RuleIssue(f"session-id:{name}", at, "a session id", observed)]
    sent = obs.request_body.get("session") if isinstance(obs.request_body, Mapping) else None
    if name == "session-continue" and not predicates.same_session(sent, session_id):
        return [
            RuleIssue(
                "session-id:session-continue", at, "the session id the run continued", "another session id"
            )
        ]
    return []

"""Rules that one exchange can break on its own, each a small function ``(spec, obs) -> None``.

Every function looks only at exchanges its rule ``applies-to`` (read from the spec), returns quietly
when the exchange says nothing about the rule, and raises :class:`ContractViolation` when it breaks
it. :data:`RESPONSE_RULES` lists them by rule id: schemathesis registers each as a check, and the
lifecycle tests call the same functions.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

from infsh_harness.http.observation import Observation
from infsh_harness.rules.exchange import (
    applies,
    is_success,
    operation_of,
    payload_of,
    payload_schema_name,
    request_json,
    status_code,
)
from infsh_harness.rules.violation import violation
from infsh_harness.spec import Spec

__all__ = [
    "RESPONSE_RULES",
    "ResponseRule",
    "check_auth_required",
    "check_cancel_flag",
    "check_completed_has_output",
    "check_failed_has_error",
    "check_input_echoed",
    "check_json_content_type",
    "check_run_waits_by_default",
    "check_session_continue",
    "check_session_new",
    "check_session_timeout_bounds",
    "check_session_timeout_with_new_only",
    "check_status_known",
    "check_timestamps",
    "error_body_problems",
    "parse_timestamp",
    "same_value",
    "status_label",
    "timestamp_fields",
]

ResponseRule = Callable[[Spec, Observation], None]
_JSON = "application/json"


def status_label(spec: Spec, status: Any) -> str:
    """``7 (Running)`` for a documented code, the raw value otherwise."""
    code = status_code(status)
    info = spec.status_info(code) if code is not None else None
    return f"{status} ({info.name})" if info else repr(status)


def _status(payload: Mapping[str, Any]) -> int | None:
    return status_code(payload.get("status"))


def check_status_known(spec: Spec, obs: Observation) -> None:
    if not applies(spec, "status-known", obs):
        return
    payload = payload_of(spec, obs)
    if payload is None:
        return
    status = payload.get("status")
    if _status(payload) not in spec.status_codes:
        documented = ", ".join(map(str, spec.status_codes))
        raise violation(spec, "status-known", f"status is {status!r}, not one of {documented}", obs)


def check_completed_has_output(spec: Spec, obs: Observation) -> None:
    payload = payload_of(spec, obs) if applies(spec, "completed-has-output", obs) else None
    if payload is None or _status(payload) != spec.status("COMPLETED"):
        return
    output = payload.get("output")
    if not isinstance(output, Mapping):
        raise violation(
            spec, "completed-has-output", f"task {payload.get('id')} is Completed with output {output!r}", obs
        )


def check_failed_has_error(spec: Spec, obs: Observation) -> None:
    payload = payload_of(spec, obs) if applies(spec, "failed-has-error", obs) else None
    if payload is None or _status(payload) != spec.status("FAILED"):
        return
    error = payload.get("error")
    if not isinstance(error, str) or not error.strip():
        raise violation(spec, "failed-has-error", f"task {payload.get('id')} is Failed with error {error!r}", obs)


def parse_timestamp(spec: Spec, value: Any) -> datetime | None:
    """The instant of a documented ``Timestamp`` string, ``None`` if it is not one."""
    if spec.validate("Timestamp", value):
        return None
    try:
        return datetime.fromisoformat(str(value).replace("z", "Z"))
    except ValueError:
        return None


@functools.lru_cache(maxsize=8)
def timestamp_fields(spec: Spec) -> tuple[str, ...]:
    """Every property the spec's schemas declare as a ``Timestamp``."""
    names = {
        name
        for schema in spec.document.get("components", {}).get("schemas", {}).values()
        for name, prop in schema.get("properties", {}).items()
        if isinstance(prop, Mapping) and prop.get("$ref") == "#/components/schemas/Timestamp"
    }
    return tuple(sorted(names))


def same_value(spec: Spec, name: str, before: Any, now: Any) -> bool:
    """Whether two readings of field ``name`` agree; a timestamp by its instant (``Z`` equals ``+00:00``)."""
    if before == now:
        return True
    if name not in timestamp_fields(spec):
        return False
    instants = parse_timestamp(spec, before), parse_timestamp(spec, now)
    return None not in instants and instants[0] == instants[1]


def _required_timestamps(spec: Spec, obs: Observation) -> tuple[str, ...]:
    """The timestamp fields the schema documenting ``obs``'s payload requires."""
    schema_name = payload_schema_name(spec, obs)
    required = spec.schema(schema_name).get("required", ()) if schema_name else ()
    return tuple(name for name in timestamp_fields(spec) if name in required)


def check_timestamps(spec: Spec, obs: Observation) -> None:
    payload = payload_of(spec, obs) if applies(spec, "timestamps-iso8601", obs) else None
    if payload is None:
        return
    for name in _required_timestamps(spec, obs):
        if name not in payload:
            raise violation(spec, "timestamps-iso8601", f"task {payload.get('id')} has no {name}", obs)
    for name in timestamp_fields(spec):
        if name in payload and parse_timestamp(spec, payload[name]) is None:
            raise violation(spec, "timestamps-iso8601", f"{name} of task {payload.get('id')} is {payload[name]!r}", obs)


def check_json_content_type(spec: Spec, obs: Observation) -> None:
    if not applies(spec, "json-content-type", obs) or obs.body is None:
        return
    if obs.content_type != _JSON:
        shown = obs.content_type or "no content type"
        raise violation(spec, "json-content-type", f"a {obs.status_code} answer has a body of {shown}", obs)


def _wait_requested(obs: Observation) -> bool:
    return obs.query.get("wait", "true") != "false"


def check_run_waits_by_default(spec: Spec, obs: Observation) -> None:
    payload = payload_of(spec, obs) if applies(spec, "run-waits-by-default", obs) else None
    if payload is None or not _wait_requested(obs):
        return
    status = _status(payload)
    if status not in spec.terminal_statuses:
        raise violation(
            spec,
            "run-waits-by-default",
            f"a run without wait=false returned task {payload.get('id')} in status {status_label(spec, status)}",
            obs,
        )


def check_input_echoed(spec: Spec, obs: Observation) -> None:
    """The run's answer carries the ``input`` the request sent (part of ``stable-fields``)."""
    payload = payload_of(spec, obs) if operation_of(spec, obs) == "runTask" else None
    request = request_json(obs)
    if payload is None or request is None or not isinstance(request.get("input"), Mapping):
        return
    if payload.get("input") != request["input"]:
        raise violation(
            spec,
            "stable-fields",
            f"task {payload.get('id')} has input {payload.get('input')!r}, the run sent {request['input']!r}",
            obs,
        )


def check_cancel_flag(spec: Spec, obs: Observation) -> None:
    """``cancelled`` is true exactly when the status after the call is Cancelled."""
    payload = payload_of(spec, obs) if applies(spec, "cancel-idempotent", obs) else None
    if payload is None or "cancelled" not in payload:
        return
    is_cancelled = _status(payload) == spec.status("CANCELLED")
    if payload["cancelled"] is not is_cancelled:
        raise violation(
            spec,
            "cancel-idempotent",
            f"cancel answered cancelled={payload['cancelled']!r} with status "
            f"{status_label(spec, payload.get('status'))}",
            obs,
        )


def _session_request(obs: Observation) -> Mapping[str, Any] | None:
    request = request_json(obs)
    return request if request is not None and "session" in request else None


def check_session_new(spec: Spec, obs: Observation) -> None:
    payload = payload_of(spec, obs) if applies(spec, "session-new", obs) else None
    request = _session_request(obs)
    if payload is None or request is None or request["session"] != "new":
        return
    session_id = payload.get("session_id")
    if not isinstance(session_id, str) or not session_id:
        raise violation(spec, "session-new", f'a run with session "new" returned session_id {session_id!r}', obs)


def check_session_continue(spec: Spec, obs: Observation) -> None:
    payload = payload_of(spec, obs) if applies(spec, "session-continue", obs) else None
    request = _session_request(obs)
    if payload is None or request is None or request["session"] == "new":
        return
    if payload.get("session_id") != request["session"]:
        raise violation(
            spec,
            "session-continue",
            f"a run continuing session {request['session']!r} returned session_id {payload.get('session_id')!r}",
            obs,
        )


def check_session_timeout_bounds(spec: Spec, obs: Observation) -> None:
    request = request_json(obs)
    if not applies(spec, "session-timeout-bounds", obs) or not is_success(obs) or request is None:
        return
    timeout = request.get("session_timeout")
    if timeout is None or isinstance(timeout, bool) or not isinstance(timeout, int | float):
        return
    rule = spec.rule("session-timeout-bounds")
    low, high = rule.params["minimum"], rule.params["maximum"]
    if not low <= timeout <= high:
        raise violation(
            spec,
            "session-timeout-bounds",
            f"a run with session_timeout {timeout!r} (outside {low}-{high}) was accepted with {obs.status_code}",
            obs,
        )


def check_session_timeout_with_new_only(spec: Spec, obs: Observation) -> None:
    request = request_json(obs)
    if not applies(spec, "session-timeout-with-new-only", obs) or not is_success(obs) or request is None:
        return
    if "session_timeout" in request and request.get("session") != "new":
        raise violation(
            spec,
            "session-timeout-with-new-only",
            f"a run with session_timeout and session {request.get('session')!r} was accepted with {obs.status_code}",
            obs,
        )


def error_body_problems(spec: Spec, obs: Observation) -> list[str]:
    """How an error answer's body breaks the schema the spec documents for its status (empty if it fits)."""
    operation_id = operation_of(spec, obs)
    schema_name = spec.response_schema_name(operation_id, str(obs.status_code)) if operation_id else None
    if schema_name is None:
        return []
    if not obs.body_is_json:
        return [f"the body is not JSON but {obs.content_type or 'untyped'}: {str(obs.body)[:80]!r}"]
    return spec.validate(schema_name, obs.body)


def check_auth_required(spec: Spec, obs: Observation) -> None:
    """A request without an ``Authorization`` header is never served."""
    if not applies(spec, "auth-required", obs) or "authorization" in obs.request_headers:
        return
    if obs.status_code != 401:
        raise violation(spec, "auth-required", f"a request without a key got {obs.status_code}, not 401", obs)


RESPONSE_RULES: Mapping[str, ResponseRule] = {
    "status-known": check_status_known,
    "completed-has-output": check_completed_has_output,
    "failed-has-error": check_failed_has_error,
    "timestamps-iso8601": check_timestamps,
    "json-content-type": check_json_content_type,
    "run-waits-by-default": check_run_waits_by_default,
    "stable-fields": check_input_echoed,
    "cancel-idempotent": check_cancel_flag,
    "session-new": check_session_new,
    "session-continue": check_session_continue,
    "session-timeout-bounds": check_session_timeout_bounds,
    "session-timeout-with-new-only": check_session_timeout_with_new_only,
    "auth-required": check_auth_required,
}

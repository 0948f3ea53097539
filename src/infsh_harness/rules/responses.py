"""Rules that one exchange can break on its own, each a small function ``(spec, obs) -> bool``.

A check looks only at exchanges its rule ``applies-to`` (read from the spec). It answers ``False``
when the exchange says nothing about the rule, ``True`` when it checked the exchange and the rule
held, and raises :class:`ContractViolation` when the exchange breaks it. The answer is the evidence
a verdict counts: a rule is honoured only if its checks ran. :data:`RESPONSE_RULES` lists them by
rule id: schemathesis registers each as a check, and the suite's tests call the same functions. The
decisions themselves are :mod:`~infsh_harness.rules.predicates`.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any

from infsh_harness.http.observation import Observation
from infsh_harness.rules import predicates
from infsh_harness.rules.exchange import (
    applies,
    documented_path,
    is_success,
    operation_of,
    payload_of,
    payload_schema_name,
    request_json,
    request_version,
    status_code,
    unwrapped,
)
from infsh_harness.rules.violation import violation
from infsh_harness.spec import Spec

__all__ = [
    "RESPONSE_RULES",
    "ResponseRule",
    "check_allow_header",
    "check_auth_required",
    "check_cancel_flag",
    "check_completed_has_output",
    "check_documented_response",
    "check_error_body",
    "check_failed_has_error",
    "check_input_echoed",
    "check_json_content_type",
    "check_no_server_error",
    "check_response_shape",
    "check_run_waits_by_default",
    "check_session_continue",
    "check_session_new",
    "check_session_timeout_bounds",
    "check_session_timeout_with_new_only",
    "check_status_known",
    "check_timestamps",
    "check_timestamps_offset",
    "error_body_problems",
    "error_schema_for",
    "parse_timestamp",
    "same_value",
    "status_label",
    "timestamp_fields",
]

ResponseRule = Callable[[Spec, Observation], bool]


def status_label(spec: Spec, status: Any) -> str:
    """``7 (Running)`` for a documented code, the raw value otherwise."""
    code = status_code(status)
    info = spec.status_info(code) if code is not None else None
    return f"{status} ({info.name})" if info else repr(status)


def _status(payload: Mapping[str, Any]) -> int | None:
    return status_code(payload.get("status"))


def _rule_status(spec: Spec, rule_id: str) -> int:
    """The status a rule is about, from its ``status`` parameter in the spec."""
    return int(spec.rule(rule_id).params["status"])


# --- statuses, output, error -------------------------------------------------------------------
def check_status_known(spec: Spec, obs: Observation) -> bool:
    payload = payload_of(spec, obs) if applies(spec, "status-known", obs) else None
    if payload is None:
        return False
    if not predicates.status_known(payload.get("status"), spec.status_codes):
        documented = ", ".join(map(str, spec.status_codes))
        detail = f"status is {payload.get('status')!r}, not one of {documented}"
        raise violation(spec, "status-known", detail, obs)
    return True


def check_completed_has_output(spec: Spec, obs: Observation) -> bool:
    payload = payload_of(spec, obs) if applies(spec, "completed-has-output", obs) else None
    completed = _rule_status(spec, "completed-has-output")
    if payload is None or _status(payload) != completed:
        return False
    if not predicates.completed_has_output(completed, payload.get("output"), completed):
        detail = f"task {payload.get('id')} is {status_label(spec, completed)} with output {payload.get('output')!r}"
        raise violation(spec, "completed-has-output", detail, obs)
    return True


def check_failed_has_error(spec: Spec, obs: Observation) -> bool:
    payload = payload_of(spec, obs) if applies(spec, "failed-has-error", obs) else None
    failed = _rule_status(spec, "failed-has-error")
    if payload is None or _status(payload) != failed:
        return False
    if not predicates.failed_has_error(failed, payload.get("error"), failed):
        detail = f"task {payload.get('id')} is {status_label(spec, failed)} with error {payload.get('error')!r}"
        raise violation(spec, "failed-has-error", detail, obs)
    return True


# --- timestamps ---------------------------------------------------------------------------------
def parse_timestamp(spec: Spec, value: Any) -> datetime | None:
    """The instant of an ISO 8601 timestamp (one without an offset read as UTC), ``None`` if it is not one."""
    if not predicates.is_iso8601(value):
        return None
    instant = datetime.fromisoformat(str(value).replace("z", "Z"))
    return instant if instant.tzinfo is not None else instant.replace(tzinfo=UTC)


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
    required = spec.required(schema_name) if schema_name else ()
    return tuple(name for name in timestamp_fields(spec) if name in required)


def check_timestamps(spec: Spec, obs: Observation) -> bool:
    """timestamps-iso8601: the required timestamps are there, and every timestamp is ISO 8601."""
    payload = payload_of(spec, obs) if applies(spec, "timestamps-iso8601", obs) else None
    if payload is None:
        return False
    for name in _required_timestamps(spec, obs):
        if name not in payload:
            raise violation(spec, "timestamps-iso8601", f"task {payload.get('id')} has no {name}", obs)
    present = [name for name in timestamp_fields(spec) if name in payload]
    for name in present:
        if not predicates.is_iso8601(payload[name]):
            detail = f"{name} of task {payload.get('id')} is {payload[name]!r}"
            raise violation(spec, "timestamps-iso8601", detail, obs)
    return bool(present)


def check_timestamps_offset(spec: Spec, obs: Observation) -> bool:
    """timestamps-offset: every ISO 8601 timestamp is an RFC 3339 ``date-time`` (with its offset)."""
    payload = payload_of(spec, obs) if applies(spec, "timestamps-offset", obs) else None
    if payload is None:
        return False
    present = [n for n in timestamp_fields(spec) if n in payload and predicates.is_iso8601(payload[n])]
    for name in present:
        if spec.validate("Timestamp", payload[name]):
            detail = f"{name} of task {payload.get('id')} is {payload[name]!r}, not an RFC 3339 date-time"
            raise violation(spec, "timestamps-offset", detail, obs)
    return bool(present)


# --- waiting, echo, cancel -------------------------------------------------------------------------
def _wait_requested(obs: Observation) -> bool:
    return obs.query.get("wait", "true") != "false"


def check_run_waits_by_default(spec: Spec, obs: Observation) -> bool:
    payload = payload_of(spec, obs) if applies(spec, "run-waits-by-default", obs) else None
    if payload is None or not _wait_requested(obs):
        return False
    status = _status(payload)
    if not predicates.run_waited(status, spec.terminal_statuses):
        detail = f"a run without wait=false returned task {payload.get('id')} in status {status_label(spec, status)}"
        raise violation(spec, "run-waits-by-default", detail, obs)
    return True


def check_input_echoed(spec: Spec, obs: Observation) -> bool:
    """The run's answer carries the ``input`` the request sent (part of ``stable-fields``)."""
    payload = payload_of(spec, obs) if operation_of(spec, obs) == "runTask" else None
    request = request_json(obs)
    if payload is None or request is None or not isinstance(request.get("input"), Mapping):
        return False
    if payload.get("input") != request["input"]:
        detail = f"task {payload.get('id')} has input {payload.get('input')!r}, the run sent {request['input']!r}"
        raise violation(spec, "stable-fields", detail, obs)
    return True


def check_cancel_flag(spec: Spec, obs: Observation) -> bool:
    """cancel-flag: ``cancelled`` is true exactly when the status after the call is Cancelled."""
    payload = payload_of(spec, obs) if applies(spec, "cancel-flag", obs) else None
    if payload is None or "cancelled" not in payload:
        return False
    if not predicates.cancel_flag_matches(_status(payload), payload["cancelled"], spec.status("CANCELLED")):
        shown = status_label(spec, payload.get("status"))
        detail = f"cancel answered cancelled={payload['cancelled']!r} with status {shown}"
        raise violation(spec, "cancel-flag", detail, obs)
    return True


# --- sessions -----------------------------------------------------------------------------------
def _session_request(obs: Observation) -> Mapping[str, Any] | None:
    request = request_json(obs)
    return request if request is not None and "session" in request else None


def check_session_new(spec: Spec, obs: Observation) -> bool:
    payload = payload_of(spec, obs) if applies(spec, "session-new", obs) else None
    request = _session_request(obs)
    if payload is None or request is None or request["session"] != "new":
        return False
    if not predicates.session_id_given(payload.get("session_id")):
        detail = f'a run with session "new" returned session_id {payload.get("session_id")!r}'
        raise violation(spec, "session-new", detail, obs)
    return True


def check_session_continue(spec: Spec, obs: Observation) -> bool:
    payload = payload_of(spec, obs) if applies(spec, "session-continue", obs) else None
    request = _session_request(obs)
    if payload is None or request is None or request["session"] == "new":
        return False
    if not predicates.same_session(request["session"], payload.get("session_id")):
        detail = f"a run continuing session {request['session']!r} returned session_id {payload.get('session_id')!r}"
        raise violation(spec, "session-continue", detail, obs)
    return True


def check_session_timeout_bounds(spec: Spec, obs: Observation) -> bool:
    request = request_json(obs)
    if not applies(spec, "session-timeout-bounds", obs) or request is None:
        return False
    timeout = request.get("session_timeout")
    if timeout is None or isinstance(timeout, bool) or not isinstance(timeout, int | float):
        return False
    rule = spec.rule("session-timeout-bounds")
    low, high = rule.params["minimum"], rule.params["maximum"]
    if is_success(obs) and not predicates.timeout_within(timeout, low, high):
        detail = f"a run with session_timeout {timeout!r} (outside {low}-{high}) was accepted with {obs.status_code}"
        raise violation(spec, "session-timeout-bounds", detail, obs)
    return True


def check_session_timeout_with_new_only(spec: Spec, obs: Observation) -> bool:
    request = request_json(obs)
    if not applies(spec, "session-timeout-with-new-only", obs) or request is None or "session_timeout" not in request:
        return False
    if is_success(obs) and request.get("session") != "new":
        session = request.get("session")
        detail = f"a run with session_timeout and session {session!r} was accepted with {obs.status_code}"
        raise violation(spec, "session-timeout-with-new-only", detail, obs)
    return True


# --- HTTP and bodies -------------------------------------------------------------------------------
def check_auth_required(spec: Spec, obs: Observation) -> bool:
    """auth-required: a request without an ``Authorization`` header gets 401."""
    if not applies(spec, "auth-required", obs) or "authorization" in obs.request_headers:
        return False
    if obs.status_code != 401:
        raise violation(spec, "auth-required", f"a request without a key got {obs.status_code}, not 401", obs)
    return True


def check_json_content_type(spec: Spec, obs: Observation) -> bool:
    """json-content-type: an answer of a documented operation that has a body says a JSON media type."""
    if not applies(spec, "json-content-type", obs) or obs.body is None:
        return False
    if not predicates.is_json_media_type(obs.content_type):
        shown = obs.content_type or "no content type"
        raise violation(spec, "json-content-type", f"a {obs.status_code} answer has a body of {shown}", obs)
    return True


def check_no_server_error(spec: Spec, obs: Observation) -> bool:
    """no-server-error: no answer is a 5xx (every answer counts, documented operation or not)."""
    if obs.source == "webhook" or operation_of(spec, obs) in {op.operation_id for op in spec.webhooks.values()}:
        return False
    if predicates.is_server_error(obs.status_code):
        raise violation(spec, "no-server-error", f"{obs.method} {obs.path} got {obs.status_code}", obs)
    return True


def check_allow_header(spec: Spec, obs: Observation) -> bool:
    """method-not-allowed: a 405 names the methods the path has in ``Allow``."""
    if obs.status_code != 405:
        return False
    if not predicates.allow_header_present(obs.status_code, obs.response_headers):
        raise violation(spec, "method-not-allowed", f"{obs.method} {obs.path} got 405 without an Allow header", obs)
    return True


def error_schema_for(spec: Spec, obs: Observation) -> str | None:
    """The error body an error answer should have, for the API version its request asked for: the
    one its operation documents for the status (``Error`` in version 1, ``Problem`` in version 2), else
    the API's error body of that version. ``None``: the request named an undocumented version."""
    version = request_version(obs)
    if version is None:
        return None
    operation_id = operation_of(spec, obs)
    named = spec.version_schema_name(operation_id, str(obs.status_code), version) if operation_id else None
    return named or spec.error_schema_name(version)


def error_body_problems(spec: Spec, obs: Observation) -> list[str]:
    """How an error answer's body breaks the error body of its request's version (empty if it fits,
    or if no rule can say which body it owes)."""
    schema_name = error_schema_for(spec, obs)
    if schema_name is None:
        return []
    if not obs.body_is_json:
        return [f"the body is not JSON but {obs.content_type or 'untyped'}: {str(obs.body)[:80]!r}"]
    return [f"not a {schema_name}: {problem}" for problem in spec.validate(schema_name, obs.body)]


def check_error_body(spec: Spec, obs: Observation) -> bool:
    """error-body: a 4xx or 5xx answer to a request that reaches no documented operation (an unknown
    path, a method a path lacks) has the error body of its version, as the operations' errors do.
    Those are rule ``error-shape``'s."""
    if obs.status_code < 400 or obs.source == "webhook" or operation_of(spec, obs) is not None:
        return False
    if error_schema_for(spec, obs) is None:
        return False
    problems = error_body_problems(spec, obs)
    if problems:
        asked = f"version {request_version(obs)}"
        detail = f"{obs.method} {obs.path} ({asked}) got {obs.status_code} without the documented error body: "
        raise violation(spec, "error-body", detail + "; ".join(problems[:2]), obs)
    return True


def _documented_media(spec: Spec, operation_id: str, status: int) -> tuple[str, ...] | None:
    """The media types the spec lists for one answer (``None``: the status is not listed)."""
    response = spec.resolve(spec.operation(operation_id).responses.get(str(status)))
    if not isinstance(response, Mapping):
        return None
    return tuple(response.get("content", {}))


def _unsupported_method(spec: Spec, obs: Observation) -> bool:
    """A method the spec does not list for a documented path (HEAD beside GET, and OPTIONS, aside:
    RFC 9110 has every server answer them)."""
    template = documented_path(spec, obs.path) if operation_of(spec, obs) is None else None
    if template is None:
        return False
    allowed = spec.allowed_methods(template)
    return obs.method not in allowed and obs.method != "OPTIONS" and not (obs.method == "HEAD" and "GET" in allowed)


def check_documented_response(spec: Spec, obs: Observation) -> bool:
    """documented-responses: the status is one the spec lists for the operation, with its content type;
    a method the path does not have gets 405."""
    if obs.source != "webhook" and _unsupported_method(spec, obs):
        if obs.status_code != 405:
            detail = f"{obs.method} {obs.path}, a method the path does not have, got {obs.status_code}, not 405"
            raise violation(spec, "documented-responses", detail, obs)
        return True
    operation_id = operation_of(spec, obs) if applies(spec, "documented-responses", obs) else None
    if operation_id is None:
        return False
    media = _documented_media(spec, operation_id, obs.status_code)
    if media is None:
        listed = ", ".join(spec.operation(operation_id).status_codes())
        detail = f"{operation_id} answered {obs.status_code}, which the spec does not list (it lists {listed})"
        raise violation(spec, "documented-responses", detail, obs)
    if obs.body is not None and media and obs.content_type not in media:
        detail = f"{operation_id} answered {obs.status_code} as {obs.content_type or 'untyped'}, not {', '.join(media)}"
        raise violation(spec, "documented-responses", detail, obs)
    return True


def check_response_shape(spec: Spec, obs: Observation) -> bool:
    """response-shape: a 2xx answer is valid against its schema, as far as the page states it."""
    operation_id = operation_of(spec, obs) if applies(spec, "response-shape", obs) else None
    schema_name = spec.response_schema_name(operation_id, str(obs.status_code)) if operation_id else None
    if schema_name is None or not is_success(obs) or not obs.body_is_json:
        return False
    problems = spec.validate(schema_name, unwrapped(spec, operation_id, obs.status_code, obs.body), conventions=False)
    if problems:
        shown = "; ".join(problems[:3])
        detail = f"{operation_id} answered {obs.status_code} with a body that is not a {schema_name}: {shown}"
        raise violation(spec, "response-shape", detail, obs)
    return True


RESPONSE_RULES: Mapping[str, ResponseRule] = {
    "status-known": check_status_known,
    "completed-has-output": check_completed_has_output,
    "failed-has-error": check_failed_has_error,
    "timestamps-iso8601": check_timestamps,
    "timestamps-offset": check_timestamps_offset,
    "json-content-type": check_json_content_type,
    "run-waits-by-default": check_run_waits_by_default,
    "stable-fields": check_input_echoed,
    "cancel-flag": check_cancel_flag,
    "session-new": check_session_new,
    "session-continue": check_session_continue,
    "session-timeout-bounds": check_session_timeout_bounds,
    "session-timeout-with-new-only": check_session_timeout_with_new_only,
    "auth-required": check_auth_required,
    "no-server-error": check_no_server_error,
    "method-not-allowed": check_allow_header,
    "error-body": check_error_body,
    "documented-responses": check_documented_response,
    "response-shape": check_response_shape,
}

"""The Sessions pages' rules: the session object, its endpoints, its errors and its scopes.

Each rule's decision is a small function on plain values (the predicates first); the checks after
them judge exchanges, ``(spec, obs, ...) -> bool`` as everywhere in ``rules/``: ``False`` when the
exchange says nothing about the rule, ``True`` when it held, a raised
:class:`~infsh_harness.rules.violation.ContractViolation` when it is broken. An error's code is read
out of either version's body (version 1's ``error.code``, the last segment of version 2's
``type``) and compared ignoring case, as rule ``session-errors`` says.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from typing import Any

from infsh_harness.http.observation import Observation
from infsh_harness.rules.exchange import operation_of, unwrapped
from infsh_harness.rules.responses import parse_timestamp
from infsh_harness.rules.violation import violation
from infsh_harness.spec import Spec

__all__ = [
    "EXPIRY_TOLERANCE_S",
    "answer_time",
    "call_span",
    "check_app_match",
    "check_idle_timeout",
    "check_keepalive",
    "check_lease_refused",
    "check_same_worker",
    "check_scope_allowed",
    "check_scope_refused",
    "check_session_code",
    "check_session_end",
    "check_session_error_status",
    "check_session_gone",
    "check_session_list",
    "check_session_object",
    "check_session_unknown",
    "check_sliding_expiry",
    "code_is",
    "code_status_matches",
    "error_code",
    "expires_after",
    "keepalive_kept_count",
    "session_of",
    "sessions_listed",
]

EXPIRY_TOLERANCE_S = 2.5  # a server's Date header has whole seconds, and a waited run takes a while


# --- values --------------------------------------------------------------------------------------
def error_code(body: Any) -> str | None:
    """The code of an error body: version 1's ``error.code``, or the last segment of version 2's ``type``."""
    if not isinstance(body, Mapping):
        return None
    inner = body.get("error")
    if isinstance(inner, Mapping) and isinstance(inner.get("code"), str):
        return str(inner["code"]) or None
    kind = body.get("type")
    if isinstance(kind, str) and kind.strip("/"):
        return kind.rstrip("/").rsplit("/", 1)[-1]
    return None


def session_of(spec: Spec, obs: Observation) -> Mapping[str, Any] | None:
    """The session of a 200 answer of ``getSession`` / ``keepaliveSession`` (bare, or out of version 1's envelope)."""
    operation_id = operation_of(spec, obs)
    if obs.status_code != 200 or not obs.body_is_json:
        return None
    body = unwrapped(spec, operation_id, obs.status_code, obs.body)
    return body if isinstance(body, Mapping) else None


def sessions_listed(spec: Spec, obs: Observation) -> list[Any] | None:
    """The list a 200 answer of ``GET /sessions`` carries (bare or out of version 1's envelope)."""
    if obs.status_code != 200 or not obs.body_is_json:
        return None
    body = unwrapped(spec, "listSessions", obs.status_code, obs.body)
    return body if isinstance(body, list) else None


def call_span(obs: Observation) -> tuple[datetime, datetime] | None:
    """``(when the call started, when it was answered)`` by the server's clock: its ``Date``, less
    the time the call took."""
    answered = answer_time(obs)
    if answered is None:
        return None
    return answered - timedelta(milliseconds=obs.elapsed_ms or 0.0), answered


def answer_time(obs: Observation) -> datetime | None:
    """When the server answered, by its own clock: the ``Date`` header (whole seconds; the first, when
    a proxy on the way added its own)."""
    value = obs.response_headers.get("date", "")
    first = value.split("GMT", 1)[0] + "GMT" if "GMT" in value else value
    try:
        instant = parsedate_to_datetime(first) if first else None
    except (TypeError, ValueError, IndexError):
        return None
    return instant.replace(tzinfo=UTC) if instant is not None and instant.tzinfo is None else instant


# --- the decisions -------------------------------------------------------------------------------
def code_is(code: str | None, expected: str) -> bool:
    """session-errors: codes are compared ignoring case (the pages spell them in both)."""
    return code is not None and code.casefold() == expected.casefold()


def code_status_matches(code: str | None, status: int, table: Mapping[str, int]) -> bool:
    """session-errors: an answer carrying a session error code has that code's HTTP status."""
    wanted = next((s for c, s in table.items() if code_is(code, c)), None)
    return wanted is None or wanted == status


def expires_after(
    expires_at: datetime, call: tuple[datetime, datetime], idle_timeout: float, tolerance_s: float
) -> bool:
    """session-sliding-expiry: ``expires_at`` is the idle timeout after a moment of the call (from
    its start to its answer, ``call``), within a tolerance."""
    started, answered = call
    lead = (expires_at - started).total_seconds() - idle_timeout
    lag = (expires_at - answered).total_seconds() - idle_timeout
    return lead >= -tolerance_s and lag <= tolerance_s


def keepalive_kept_count(before: Any, after: Any) -> bool:
    """session-keepalive: a keepalive runs nothing, so ``call_count`` stays."""
    return isinstance(before, int) and before == after


def listed_active(sessions: Sequence[Any]) -> bool:
    """session-list-active: every listed session is ``active``."""
    return all(isinstance(s, Mapping) and s.get("status") == "active" for s in sessions)


def worker_kept(workers: Sequence[Any]) -> bool:
    """session-worker-lease: every read of a session names the same worker."""
    return bool(workers) and isinstance(workers[0], str) and bool(workers[0]) and len(set(workers)) == 1


# --- the checks ----------------------------------------------------------------------------------
def _stamp(spec: Spec, session: Mapping[str, Any] | None, name: str = "expires_at") -> datetime | None:
    return parse_timestamp(spec, session.get(name)) if session is not None else None


def _show(obs: Observation) -> str:
    return f"{obs.status_code} {error_code(obs.body) or ''}".strip()


def check_session_object(spec: Spec, obs: Observation, session_id: str) -> bool:
    """session-object: reading (or keeping alive) a session of the key answers the ``Session`` of that id."""
    session = session_of(spec, obs)
    if session is None:
        detail = f"{obs.method} {obs.path} of session {session_id} answered {_show(obs)}"
        raise violation(spec, "session-object", detail, obs)
    # the types are response-shape's; the statuses are this rule's own list
    problems = [p for p in spec.validate("Session", dict(session), conventions=False) if not p.startswith("status:")]
    statuses = spec.rule("session-object").params.get("session-statuses", ["active", "ended", "expired"])
    if session.get("status") not in statuses:
        problems.insert(0, f"status {session.get('status')!r} is none of {', '.join(statuses)}")
    if session.get("id") != session_id:
        problems.insert(0, f"its id is {session.get('id')!r}, not {session_id!r}")
    if problems:
        raise violation(spec, "session-object", "; ".join(problems)[:400], obs)
    return True


def check_session_list(spec: Spec, obs: Observation, session_id: str, listed: bool) -> bool:
    """session-list-active: ``GET /sessions`` answers a list of active sessions, the key's session
    ``session_id`` among them exactly when it is active (``listed``)."""
    sessions = sessions_listed(spec, obs)
    if sessions is None:
        raise violation(spec, "session-list-active", f"GET /sessions answered {_show(obs)}, not a list", obs)
    if not listed_active(sessions):
        shown = [s.get("status") if isinstance(s, Mapping) else s for s in sessions]
        raise violation(spec, "session-list-active", f"it lists sessions that are not active: {shown[:5]}", obs)
    ids = {s.get("id") for s in sessions if isinstance(s, Mapping)}
    if (session_id in ids) != listed:
        state = "active" if listed else "ended"
        detail = f"the key's {state} session {session_id} is {'missing' if listed else 'still listed'}"
        raise violation(spec, "session-list-active", detail, obs)
    return True


def check_keepalive(spec: Spec, obs: Observation, before: Mapping[str, Any] | None) -> bool:
    """session-keepalive: the keepalive of an active session answers it, ``expires_at`` later than
    ``before``'s and ``call_count`` unchanged (``False`` when there is no ``before`` to compare with)."""
    session = session_of(spec, obs)
    if session is None:
        raise violation(spec, "session-keepalive", f"keepalive of an active session answered {_show(obs)}", obs)
    if before is None:
        return False
    earlier, later = _stamp(spec, before), _stamp(spec, session)
    if earlier is None or later is None or later <= earlier:
        detail = f"expires_at went from {before.get('expires_at')!r} to {session.get('expires_at')!r}"
        raise violation(spec, "session-keepalive", detail, obs)
    if not keepalive_kept_count(before.get("call_count"), session.get("call_count")):
        detail = f"call_count went from {before.get('call_count')!r} to {session.get('call_count')!r}"
        raise violation(spec, "session-keepalive", detail, obs)
    return True


def check_sliding_expiry(spec: Spec, call: Observation, read: Observation, before: Mapping[str, Any]) -> bool:
    """session-sliding-expiry: after ``call`` (a run in the session or a keepalive), the session
    ``read`` expires its ``idle_timeout`` after the call, later than ``before`` did. ``False`` when
    the server gave no time to compare with (no ``Date``) or the session could not be read."""
    session, called = session_of(spec, read), call_span(call)
    expires, earlier = _stamp(spec, session), _stamp(spec, before)
    idle = session.get("idle_timeout") if session is not None else None
    if session is None or expires is None or earlier is None or called is None or not isinstance(idle, int | float):
        return False
    what = "a keepalive" if operation_of(spec, call) == "keepaliveSession" else "a run in the session"
    if expires <= earlier:
        raise violation(spec, "session-sliding-expiry", f"after {what} expires_at stayed {session['expires_at']!r}",
                        read)  # fmt: skip
    if not expires_after(expires, called, float(idle), EXPIRY_TOLERANCE_S):
        when = called[1].isoformat()
        detail = f"after {what} answered at {when}, expires_at is {session['expires_at']!r}, not {idle} s on"
        raise violation(spec, "session-sliding-expiry", detail, read)
    return True


def check_idle_timeout(spec: Spec, started: Observation, read: Observation, expected: float) -> bool:
    """session-idle-timeout-default: the session ``started`` started reads ``idle_timeout``
    ``expected`` (the rule's 60 without ``session_timeout``) and expires that long after the run."""
    session, called = session_of(spec, read), call_span(started)
    if session is None:
        return False
    idle = session.get("idle_timeout")
    if isinstance(idle, bool) or not isinstance(idle, int | float) or idle != expected:
        raise violation(spec, "session-idle-timeout-default", f"idle_timeout is {idle!r}, not {expected:g}", read)
    expires = _stamp(spec, session)
    if expires is not None and called is not None and not expires_after(expires, called, expected, EXPIRY_TOLERANCE_S):
        when, expires_at = called[1].isoformat(), session.get("expires_at")
        detail = f"started by a run answered at {when}, it expires {expires_at!r}, not {expected:g} s on"
        raise violation(spec, "session-idle-timeout-default", detail, read)
    return True


def check_session_code(spec: Spec, rule_id: str, obs: Observation, status: int, code: str, what: str) -> bool:
    """``rule_id``: ``obs`` (``what``) answered ``status`` with ``code`` (any case)."""
    if obs.status_code != status or not code_is(error_code(obs.body), code):
        raise violation(spec, rule_id, f"{what} answered {_show(obs)}, not {status} {code}", obs)
    return True


def check_session_unknown(spec: Spec, obs: Observation) -> bool:
    """session-unknown-404: ``obs``, naming a session that does not exist, answered 404 ``SESSION_NOT_FOUND``."""
    run = operation_of(spec, obs) == "runTask"
    what = "a run naming an unknown session" if run else f"{obs.method} of an unknown session"
    return check_session_code(spec, "session-unknown-404", obs, 404, "SESSION_NOT_FOUND", what)


def check_session_gone(spec: Spec, obs: Observation, code: str) -> bool:
    """session-gone-410: a run or keepalive in a session that ended or expired answered 410 ``code``."""
    state = "ended" if code_is(code, "SESSION_ENDED") else "expired"
    what = f"{'a run' if operation_of(spec, obs) == 'runTask' else 'a keepalive'} in an {state} session"
    return check_session_code(spec, "session-gone-410", obs, 410, code, what)


def check_session_error_status(spec: Spec, obs: Observation) -> bool:
    """session-errors: an answer carrying a session error code has that code's status (``False`` for
    any other answer)."""
    table: Mapping[str, int] = spec.rule("session-errors").params.get("codes", {})
    code = error_code(obs.body) if obs.status_code >= 400 else None
    if code is None or not any(code_is(code, c) for c in table):
        return False
    if not code_status_matches(code, obs.status_code, table):
        wanted = next(s for c, s in table.items() if code_is(code, c))
        raise violation(spec, "session-errors", f"{code} came with {obs.status_code}, not {wanted}", obs)
    return True


def check_session_end(spec: Spec, obs: Observation) -> bool:
    """session-end: ``DELETE /sessions/{id}`` of an active session answered 204 with no body."""
    if obs.status_code != 204 or obs.has_body:
        shown = " and a body" if obs.has_body else ""
        raise violation(spec, "session-end", f"ending an active session answered {_show(obs)}{shown}, not 204", obs)
    return True


def check_same_worker(spec: Spec, reads: Sequence[Observation]) -> bool:
    """session-worker-lease: every read of an active session names one worker. ``False`` with fewer than two reads."""
    sessions = [s for s in (session_of(spec, o) for o in reads) if s is not None and s.get("status") == "active"]
    workers = [s.get("worker_id") for s in sessions]
    if len(workers) < 2:
        return False
    if not worker_kept(workers):
        raise violation(spec, "session-worker-lease", f"its reads name workers {workers}", reads[-1])
    return True


def check_lease_refused(spec: Spec, obs: Observation, worker: str) -> bool:
    """session-worker-lease: a run naming ``worker``, held by another active session, answered 409 ``WORKER_LEASED``."""
    what = f"a run naming worker {worker}, leased by another session,"
    return check_session_code(spec, "session-worker-lease", obs, 409, "WORKER_LEASED", what)


def check_app_match(spec: Spec, obs: Observation, code: str) -> bool:
    """session-app-match: a run continuing a session with another app (``APP_MISMATCH``) or another
    version of it (``VERSION_MISMATCH``) answered 400 with that code."""
    app = obs.request_body.get("app") if isinstance(obs.request_body, Mapping) else None
    what = f"continuing a session with {'another app' if code_is(code, 'APP_MISMATCH') else 'another version'} ({app})"
    return check_session_code(spec, "session-app-match", obs, 400, code, what)


def check_scope_refused(spec: Spec, obs: Observation) -> bool:
    """session-scopes: a key without ``apps:execute`` keeping a session alive or ending it got 403 ``forbidden``."""
    return check_session_code(spec, "session-scopes", obs, 403, "forbidden",
                              f"{obs.method} {obs.path} with a key of apps:read only")  # fmt: skip


def check_scope_allowed(spec: Spec, obs: Observation, statuses: Collection[int]) -> bool:
    """session-scopes: a key with ``apps:read`` reading sessions is served (one of ``statuses``)."""
    if obs.status_code not in statuses:
        detail = f"{obs.method} {obs.path} with a key of apps:read answered {_show(obs)}"
        raise violation(spec, "session-scopes", detail, obs)
    return True

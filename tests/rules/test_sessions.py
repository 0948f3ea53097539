"""The Sessions pages' rules on hand-made exchanges: each passes what the pages allow and names its rule otherwise."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from infsh_harness.http.observation import Observation
from infsh_harness.rules import ContractViolation
from infsh_harness.rules.sessions import (
    answer_time,
    call_span,
    check_app_match,
    check_idle_timeout,
    check_keepalive,
    check_lease_refused,
    check_same_worker,
    check_scope_allowed,
    check_scope_refused,
    check_session_end,
    check_session_error_status,
    check_session_gone,
    check_session_list,
    check_session_object,
    check_session_unknown,
    check_sliding_expiry,
    code_is,
    code_status_matches,
    error_code,
    expires_after,
    keepalive_kept_count,
)
from infsh_harness.spec import load_spec

SPEC = load_spec()
AT = datetime(2024, 1, 15, 10, 30, tzinfo=UTC)
DATE = "Mon, 15 Jan 2024 10:30:00 GMT"  # AT, as a Date header


def session(**fields: Any) -> dict[str, Any]:
    base = {
        "id": "sess_abc123", "app_id": "my-app", "app_version_id": "my-app@1.0.0", "worker_id": "worker_1",
        "status": "active", "expires_at": "2024-01-15T10:31:00Z", "idle_timeout": 60, "call_count": 1,
        "task_id": "task_abc123",
    }  # fmt: skip
    return {**base, **fields}


def answer(
    method: str, path: str, status: int, body: Any = None, *, date: str = DATE, request: Any = None, **headers: str
) -> Observation:
    problem = isinstance(body, dict) and "type" in body
    return Observation(
        method=method, url=f"http://t{path}", path=path, status_code=status, request_headers=headers,
        request_body=request, request_body_is_json=request is not None,
        response_headers={"date": date} if date else {},
        content_type="application/problem+json" if problem else "application/json" if body is not None else "",
        body=body, body_is_json=body is not None,
    )  # fmt: skip


def read(body: Any, status: int = 200, **kw: Any) -> Observation:
    return answer("GET", "/sessions/sess_abc123", status, body, **kw)


def problem(status: int, code: str) -> dict[str, Any]:
    return {"type": f"https://api.inference.sh/errors/{code}", "title": "x", "status": status, "detail": "x"}


def v1_error(status: int, code: str) -> dict[str, Any]:
    return {"success": False, "status": status, "error": {"code": code, "message": "x"}}


def test_error_code_reads_both_versions() -> None:
    assert error_code(problem(404, "SESSION_NOT_FOUND")) == "SESSION_NOT_FOUND"
    assert error_code(v1_error(410, "session_ended")) == "session_ended"
    assert error_code({"error": "x", "code": "y"}) is None and error_code("text") is None
    assert code_is("session_ended", "SESSION_ENDED") and not code_is(None, "SESSION_ENDED")


def test_session_object() -> None:
    assert check_session_object(SPEC, read(session()), "sess_abc123")
    wrapped = {"success": True, "status": 200, "data": session(status="ended", worker_id=None)}
    assert check_session_object(SPEC, read(wrapped), "sess_abc123")
    with pytest.raises(ContractViolation, match="session-object.*'ACTIVE' is none of active, ended, expired"):
        check_session_object(SPEC, read(session(status="ACTIVE")), "sess_abc123")
    with pytest.raises(ContractViolation, match="its id is 'sess_other'"):
        check_session_object(SPEC, read(session(id="sess_other")), "sess_abc123")
    with pytest.raises(ContractViolation, match="answered 404"):
        check_session_object(SPEC, read(problem(404, "not_found"), 404), "sess_abc123")


def test_session_list() -> None:
    listed = answer("GET", "/sessions", 200, [session()])
    assert check_session_list(SPEC, listed, "sess_abc123", True)
    with pytest.raises(ContractViolation, match="still listed"):
        check_session_list(SPEC, listed, "sess_abc123", False)
    with pytest.raises(ContractViolation, match="is missing"):
        check_session_list(SPEC, answer("GET", "/sessions", 200, []), "sess_abc123", True)
    with pytest.raises(ContractViolation, match="not active"):
        check_session_list(SPEC, answer("GET", "/sessions", 200, [session(status="ended")]), "sess_x", False)
    with pytest.raises(ContractViolation, match="answered 404"):
        check_session_list(SPEC, answer("GET", "/sessions", 404, problem(404, "not_found")), "sess_x", False)


def test_keepalive() -> None:
    before = session()
    kept = answer("POST", "/sessions/sess_abc123/keepalive", 200, session(expires_at="2024-01-15T10:32:00Z"))
    assert check_keepalive(SPEC, kept, before) and not check_keepalive(SPEC, kept, None)
    ran = answer("POST", "/sessions/sess_abc123/keepalive", 200, session(expires_at="2024-01-15T10:32:00Z",
                                                                        call_count=2))  # fmt: skip
    with pytest.raises(ContractViolation, match="call_count went from 1 to 2"):
        check_keepalive(SPEC, ran, before)
    with pytest.raises(ContractViolation, match="expires_at went from"):
        check_keepalive(SPEC, answer("POST", "/sessions/sess_abc123/keepalive", 200, session()), before)
    assert keepalive_kept_count(3, 3) and not keepalive_kept_count(None, None)


def test_sliding_expiry_uses_the_servers_clock() -> None:
    before = session(expires_at="2024-01-15T10:29:30Z")
    call = answer("POST", "/run", 200, {"id": "t"}, date=DATE)
    assert check_sliding_expiry(SPEC, call, read(session()), before)  # 10:30:00 + 60 s
    with pytest.raises(ContractViolation, match="not 60 s on"):
        check_sliding_expiry(SPEC, call, read(session(expires_at="2024-01-15T10:35:00Z")), before)
    with pytest.raises(ContractViolation, match="stayed"):
        check_sliding_expiry(SPEC, call, read(session(expires_at="2024-01-15T10:29:30Z")), before)
    assert not check_sliding_expiry(SPEC, answer("POST", "/run", 200, {}, date=""), read(session()), before)
    assert answer_time(answer("GET", "/", 200, date=f"{DATE}, {DATE}")) == AT  # a proxy added its own
    assert expires_after(AT + timedelta(seconds=61), (AT, AT), 60, 2.5)
    assert not expires_after(AT + timedelta(seconds=64), (AT, AT), 60, 2.5)
    # a run that took 10 s may slide the window at its start: 60 s after it started is within the call
    assert expires_after(AT + timedelta(seconds=50), (AT - timedelta(seconds=10), AT), 60, 2.5)
    assert not expires_after(AT + timedelta(seconds=45), (AT - timedelta(seconds=10), AT), 60, 2.5)


def test_a_long_call_is_judged_from_its_start_to_its_answer() -> None:
    before = session(expires_at="2024-01-15T10:29:00Z")
    slow = answer("POST", "/run", 200, {"id": "t"}, date=DATE)
    slow = dataclasses.replace(slow, elapsed_ms=10_000)  # the run began at 10:29:50
    assert check_sliding_expiry(SPEC, slow, read(session(expires_at="2024-01-15T10:30:50Z")), before)
    assert call_span(slow) == (AT - timedelta(seconds=10), AT)


def test_idle_timeout() -> None:
    started = answer("POST", "/run", 200, {"id": "t"})
    assert check_idle_timeout(SPEC, started, read(session()), 60)
    with pytest.raises(ContractViolation, match="session-idle-timeout-default.*idle_timeout is 300, not 60"):
        check_idle_timeout(SPEC, started, read(session(idle_timeout=300)), 60)
    with pytest.raises(ContractViolation, match="not 60 s on"):
        check_idle_timeout(SPEC, started, read(session(expires_at="2024-01-15T10:40:00Z")), 60)
    assert not check_idle_timeout(SPEC, started, read(problem(404, "x"), 404), 60)


@pytest.mark.parametrize("body", [problem(410, "SESSION_ENDED"), v1_error(410, "session_ended")])
def test_session_codes_ignore_case_and_version(body: dict[str, Any]) -> None:
    gone = answer("POST", "/run", 410, body)
    assert check_session_gone(SPEC, gone, "SESSION_ENDED")
    assert check_session_error_status(SPEC, gone)
    with pytest.raises(ContractViolation, match="session-gone-410.*answered 410 .*not 410 SESSION_EXPIRED"):
        check_session_gone(SPEC, gone, "SESSION_EXPIRED")


def test_session_error_status() -> None:
    with pytest.raises(ContractViolation, match="session-errors.*SESSION_ENDED came with 404, not 410"):
        check_session_error_status(SPEC, answer("POST", "/run", 404, problem(404, "SESSION_ENDED")))
    assert not check_session_error_status(SPEC, answer("GET", "/tasks/x", 404, problem(404, "not_found")))
    table = SPEC.rule("session-errors").params["codes"]
    assert code_status_matches("worker_leased", 409, table) and not code_status_matches("WORKER_LEASED", 400, table)


def test_unknown_end_lease_match_scopes() -> None:
    assert check_session_unknown(SPEC, read(problem(404, "SESSION_NOT_FOUND"), 404))
    with pytest.raises(ContractViolation, match="session-unknown-404.*answered 404 not_found"):
        check_session_unknown(SPEC, read(problem(404, "not_found"), 404))
    assert check_session_end(SPEC, answer("DELETE", "/sessions/sess_abc123", 204))
    with pytest.raises(ContractViolation, match="session-end.*answered 200 and a body, not 204"):
        check_session_end(SPEC, answer("DELETE", "/sessions/sess_abc123", 200, {"ended": True}))
    assert check_lease_refused(SPEC, answer("POST", "/run", 409, problem(409, "WORKER_LEASED")), "worker_1")
    with pytest.raises(ContractViolation, match="session-worker-lease"):
        check_lease_refused(SPEC, answer("POST", "/run", 200, {"id": "t"}), "worker_1")
    mismatch = answer("POST", "/run", 400, problem(400, "APP_MISMATCH"), request={"app": "other"})
    assert check_app_match(SPEC, mismatch, "APP_MISMATCH")
    with pytest.raises(ContractViolation, match=r"another version \(other\) answered 400 APP_MISMATCH"):
        check_app_match(SPEC, mismatch, "VERSION_MISMATCH")
    assert check_scope_refused(SPEC, answer("DELETE", "/sessions/s", 403, v1_error(403, "forbidden")))
    with pytest.raises(ContractViolation, match="session-scopes"):
        check_scope_refused(SPEC, answer("DELETE", "/sessions/s", 204))
    assert check_scope_allowed(SPEC, read(problem(404, "SESSION_NOT_FOUND"), 404), {200, 404})
    with pytest.raises(ContractViolation, match="session-scopes.*answered 403 forbidden"):
        check_scope_allowed(SPEC, read(problem(403, "forbidden"), 403), {200, 404})


def test_same_worker() -> None:
    assert check_same_worker(SPEC, [read(session()), read(session(call_count=2))])
    with pytest.raises(ContractViolation, match="workers"):
        check_same_worker(SPEC, [read(session()), read(session(worker_id="worker_2"))])
    assert not check_same_worker(SPEC, [read(session())])
    assert not check_same_worker(SPEC, [read(session(status="ended")), read(session(status="ended"))])

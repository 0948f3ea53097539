"""The contract checks on hand-made exchanges: each passes what the spec allows and names its rule otherwise."""

from __future__ import annotations

from typing import Any

import pytest

from infsh_harness.contract.summary import named_rules
from infsh_harness.http.observation import Observation
from infsh_harness.rules import ContractViolation, TaskLedger, check_one_webhook, check_webhook_matches_task
from infsh_harness.rules.exchange import operation_of, path_params, payload_of, status_code
from infsh_harness.rules.responses import (
    RESPONSE_RULES,
    check_allow_header,
    check_auth_required,
    check_cancel_flag,
    check_completed_has_output,
    check_documented_response,
    check_error_body,
    check_failed_has_error,
    check_input_echoed,
    check_json_content_type,
    check_no_server_error,
    check_response_shape,
    check_run_waits_by_default,
    check_session_continue,
    check_session_new,
    check_session_timeout_bounds,
    check_session_timeout_with_new_only,
    check_status_known,
    check_timestamps,
    check_timestamps_offset,
    error_body_problems,
)
from infsh_harness.spec import load_spec

SPEC = load_spec()
COMPLETED, FAILED, CANCELLED = SPEC.status("COMPLETED"), SPEC.status("FAILED"), SPEC.status("CANCELLED")
RUNNING, QUEUED = SPEC.status("RUNNING"), SPEC.status("QUEUED")
PATHS = {"runTask": ("POST", "/run"), "getTask": ("GET", "/tasks/t1"), "cancelTask": ("POST", "/tasks/t1/cancel")}
WHEN = "2024-01-15T10:30:00Z"


def task(status: int, **fields: Any) -> dict[str, Any]:
    body = {"id": "t1", "status": status, "input": {"p": 1}, "created_at": WHEN, "session_id": None}
    if status == COMPLETED:
        body["output"] = {"echo": 1}
    if status == FAILED:
        body["error"] = "boom"
    return {**body, **fields}


def exchange(
    operation_id: str,
    body: Any,
    *,
    status_code: int = 200,
    request: Any = None,
    query: str = "",
    content_type: str = "application/json",
    auth: bool = True,
    tag: bool = True,
    headers: dict[str, str] | None = None,
    method: str | None = None,
    request_headers: dict[str, str] | None = None,
) -> Observation:
    documented, path = PATHS[operation_id]
    method = method or documented
    return Observation(
        method=method,
        url=f"http://127.0.0.1:1{path}{query}",
        path=path,
        status_code=status_code,
        request_headers={**({"authorization": "Bearer [REDACTED]"} if auth else {}), **(request_headers or {})},
        request_body=request,
        request_body_is_json=request is not None,
        response_headers=headers or {},
        content_type=content_type,
        body=body,
        body_is_json=content_type.endswith("json") and body is not None,
        operation_id=operation_id if tag else None,
    )


def webhook(payload: Any) -> Observation:
    return Observation(
        method="POST", url="http://127.0.0.1:2/hooks/x", path="/hooks/x", status_code=200,
        request_body=payload, request_body_is_json=True, operation_id="taskCompleted",
    )  # fmt: skip


def assert_names(rule_id: str, excinfo: pytest.ExceptionInfo[ContractViolation]) -> None:
    assert excinfo.value.rule_id == rule_id
    assert str(excinfo.value).startswith(SPEC.rule(rule_id).describe())


# --- exchanges --------------------------------------------------------------------------------
def test_exchange_finds_the_operation_from_method_and_path() -> None:
    assert operation_of(SPEC, exchange("cancelTask", {}, tag=False)) == "cancelTask"
    assert operation_of(SPEC, exchange("getTask", {}, tag=False)) == "getTask"
    assert payload_of(SPEC, exchange("getTask", task(COMPLETED), status_code=404)) is None
    assert payload_of(SPEC, webhook({"id": "t1"})) == {"id": "t1"}


def test_the_payload_is_the_documented_object_in_either_version() -> None:
    bare = task(COMPLETED)
    wrapped = {"success": True, "status": 200, "data": bare}  # version 1's envelope
    assert payload_of(SPEC, exchange("getTask", wrapped)) == bare == payload_of(SPEC, exchange("getTask", bare))
    assert check_status_known(SPEC, exchange("getTask", wrapped))  # the envelope's 200 is no task status
    assert check_response_shape(SPEC, exchange("getTask", wrapped))
    with pytest.raises(ContractViolation):  # what the envelope holds is still held to the page
        check_response_shape(SPEC, exchange("getTask", {**wrapped, "data": {"id": "t1", "status": "done"}}))
    not_quite = {"status": 200, "data": bare}  # no envelope without all its fields: read as it is
    assert payload_of(SPEC, exchange("getTask", not_quite)) == not_quite


def test_exchange_reads_path_parameters_and_whole_number_statuses() -> None:
    assert path_params(SPEC, exchange("cancelTask", {}, tag=False)) == {"id": "t1"}
    assert path_params(SPEC, exchange("runTask", {})) == {}
    # JSON Schema's integer: 3.0 is the number 3; "3", 3.5 and true are no status at all
    assert [status_code(v) for v in (3, 3.0, "3", 3.5, True, None)] == [3, 3, None, None, None, None]


def test_error_bodies_are_held_to_the_body_of_their_version() -> None:
    documented = {"success": False, "status": 404, "error": {"code": "not_found", "message": "not found"}}
    problem = {"type": "https://api.inference.sh/errors/not_found", "title": "Not Found", "status": 404, "detail": "x"}
    v2 = {"x-api-version": "2"}
    assert error_body_problems(SPEC, exchange("getTask", documented, status_code=404)) == []  # no header: version 1
    assert error_body_problems(SPEC, exchange("getTask", problem, status_code=404, request_headers=v2)) == []
    assert error_body_problems(SPEC, exchange("getTask", documented, status_code=404, request_headers=v2))
    assert error_body_problems(SPEC, exchange("getTask", problem, status_code=404))
    assert error_body_problems(SPEC, exchange("getTask", {"error": "not found", "code": "x"}, status_code=404))
    assert error_body_problems(SPEC, exchange("getTask", {"message": "task not found"}, status_code=404))
    assert error_body_problems(SPEC, exchange("getTask", "not found", status_code=404, content_type="text/plain"))
    assert error_body_problems(SPEC, exchange("getTask", {"message": "x"}, status_code=418))  # any error answer
    # a version the pages do not name: no rule says which body it owes
    assert error_body_problems(SPEC, exchange("getTask", {"message": "x"}, status_code=404,
                                              request_headers={"x-api-version": "7"})) == []  # fmt: skip


def test_error_body_judges_only_answers_outside_the_documented_operations() -> None:
    mock_body = {"error": "method not allowed", "code": "method_not_allowed"}
    documented = {"success": False, "status": 405, "error": {"code": "method_not_allowed", "message": "no"}}
    assert check_error_body(SPEC, exchange("getTask", mock_body, status_code=404)) is False  # error-shape's
    assert check_error_body(SPEC, exchange("getTask", documented, status_code=405, tag=False, method="PUT"))
    with pytest.raises(ContractViolation) as excinfo:
        check_error_body(SPEC, exchange("getTask", mock_body, status_code=405, tag=False, method="PUT"))
    assert_names("error-body", excinfo)
    assert "version 1" in str(excinfo.value) and "not a Error" in str(excinfo.value)


def test_every_response_rule_is_a_documented_rule() -> None:
    assert set(RESPONSE_RULES) <= set(SPEC.rules)


# --- one exchange ------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("check", "rule_id", "good", "bad"),
    [
        (check_status_known, "status-known", exchange("getTask", task(RUNNING)), exchange("getTask", task(12))),
        (check_status_known, "status-known", webhook(task(COMPLETED)), webhook(task(0))),
        (
            check_status_known,
            "status-known",
            exchange("getTask", task(float(COMPLETED))),
            exchange("getTask", task(str(COMPLETED))),
        ),
        (
            check_completed_has_output,
            "completed-has-output",
            webhook(task(COMPLETED)),
            webhook(task(float(COMPLETED), output=None)),
        ),
        (
            check_completed_has_output,
            "completed-has-output",
            exchange("getTask", task(COMPLETED)),
            exchange("getTask", task(COMPLETED, output=None)),
        ),
        (
            check_failed_has_error,
            "failed-has-error",
            exchange("runTask", task(FAILED)),
            exchange("runTask", task(FAILED, error="  ")),
        ),
        (
            check_timestamps,
            "timestamps-iso8601",
            webhook(task(COMPLETED, updated_at=WHEN)),
            webhook(task(COMPLETED, updated_at="15/01/2024 10:30")),
        ),
        (
            check_timestamps,
            "timestamps-iso8601",
            exchange("getTask", task(RUNNING, created_at="2024-01-15T10:30:00.5+01:00")),
            exchange("getTask", {k: v for k, v in task(RUNNING).items() if k != "created_at"}),
        ),
        (
            check_json_content_type,
            "json-content-type",
            exchange("getTask", {"error": "x"}, status_code=404),
            exchange("getTask", "not found", status_code=404, content_type="text/plain"),
        ),
        (
            check_run_waits_by_default,
            "run-waits-by-default",
            exchange("runTask", task(RUNNING), query="?wait=false"),
            exchange("runTask", task(RUNNING)),
        ),
        (
            check_input_echoed,
            "stable-fields",
            exchange("runTask", task(COMPLETED), request={"app": "a", "input": {"p": 1}}),
            exchange("runTask", task(COMPLETED), request={"app": "a", "input": {"p": 2}}),
        ),
        (
            check_cancel_flag,
            "cancel-flag",
            exchange("cancelTask", {"id": "t1", "status": COMPLETED, "cancelled": False}),
            exchange("cancelTask", {"id": "t1", "status": COMPLETED, "cancelled": True}),
        ),
        (
            check_session_new,
            "session-new",
            exchange("runTask", task(COMPLETED, session_id="s1"), request={"session": "new"}),
            exchange("runTask", task(COMPLETED), request={"session": "new"}),
        ),
        (
            check_session_continue,
            "session-continue",
            exchange("runTask", task(COMPLETED, session_id="s1"), request={"session": "s1"}),
            exchange("runTask", task(COMPLETED, session_id="s2"), request={"session": "s1"}),
        ),
        (
            check_session_timeout_bounds,
            "session-timeout-bounds",
            exchange("runTask", {"error": "x"}, status_code=422, request={"session": "new", "session_timeout": 0}),
            exchange("runTask", task(COMPLETED), request={"session": "new", "session_timeout": 3601}),
        ),
        (
            check_session_timeout_with_new_only,
            "session-timeout-with-new-only",
            exchange("runTask", task(COMPLETED), request={"session": "new", "session_timeout": 5}),
            exchange("runTask", task(COMPLETED), request={"session_timeout": 5}),
        ),
        (
            check_auth_required,
            "auth-required",
            exchange("getTask", {"error": "x"}, status_code=401, auth=False),
            exchange("getTask", task(COMPLETED), auth=False),
        ),
        (
            check_timestamps_offset,
            "timestamps-offset",
            exchange("getTask", task(RUNNING, created_at="2024-01-15T10:30:00.123456+00:00")),
            exchange("getTask", task(RUNNING, created_at="2024-01-15T10:30:00")),
        ),
        (
            check_json_content_type,
            "json-content-type",
            exchange("getTask", {"type": "x", "title": "Not Found"}, status_code=404,
                     content_type="application/problem+json"),
            exchange("getTask", task(RUNNING), content_type="text/plain"),
        ),  # fmt: skip
        (
            check_error_body,
            "error-body",
            exchange("getTask", {"success": False, "status": 405, "error": {"code": "x", "message": "x"}},
                     status_code=405, tag=False, method="PATCH"),
            exchange("getTask", {"error": {"code": "not_found", "message": "x"}}, status_code=405, tag=False,
                     method="PATCH"),  # the earlier overview page's body
        ),  # fmt: skip
        (
            check_no_server_error,
            "no-server-error",
            exchange("getTask", {"error": "x"}, status_code=404),
            exchange("getTask", {"error": "x"}, status_code=503),
        ),
        (
            check_documented_response,
            "documented-responses",
            exchange("cancelTask", {"error": "x"}, status_code=404),
            exchange("cancelTask", {"error": {"code": "invalid_transition"}}, status_code=409),
        ),
        (
            check_documented_response,
            "documented-responses",
            exchange("getTask", "Method Not Allowed", status_code=405, content_type="text/plain", tag=False,
                     headers={"allow": "GET"}, method="PUT"),
            exchange("getTask", task(RUNNING), status_code=200, tag=False, method="PUT"),
        ),  # fmt: skip
        (
            check_response_shape,
            "response-shape",
            exchange("getTask", task(RUNNING, created_at="2024-01-15T10:30:00")),  # a convention, not the shape
            exchange("getTask", {k: v for k, v in task(RUNNING).items() if k != "input"}),
        ),
        (
            check_allow_header,
            "method-not-allowed",
            exchange("getTask", "no", status_code=405, content_type="text/plain", headers={"allow": "GET"}),
            exchange("getTask", "no", status_code=405, content_type="text/plain"),
        ),
    ],
)
def test_response_rule_passes_the_good_and_names_its_rule_for_the_bad(
    check: Any, rule_id: str, good: Observation, bad: Observation
) -> None:
    check(SPEC, good)
    with pytest.raises(ContractViolation) as excinfo:
        check(SPEC, bad)
    assert_names(rule_id, excinfo)
    assert excinfo.value.evidence is bad


# rules about every answer (its status, its error body): an error answer is what they look at
EVERY_ANSWER = {"no-server-error", "documented-responses", "error-body", "json-content-type"}


def test_response_rules_ignore_exchanges_they_do_not_apply_to() -> None:
    for rule_id, check in RESPONSE_RULES.items():
        if rule_id not in EVERY_ANSWER:
            assert check(SPEC, exchange("getTask", "not found", status_code=404)) is False, rule_id
    cancel = exchange("cancelTask", {"id": "t1", "status": COMPLETED, "cancelled": False})
    assert check_completed_has_output(SPEC, cancel) is False


def test_a_check_answers_whether_it_applied() -> None:
    assert check_status_known(SPEC, exchange("getTask", task(RUNNING))) is True
    assert check_status_known(SPEC, exchange("getTask", {"error": "x"}, status_code=404)) is False
    # another method on a documented path is no documented operation, whatever schemathesis tagged
    other_method = exchange("getTask", "x", status_code=405, content_type="text/plain", tag=False, method="PUT")
    assert check_json_content_type(SPEC, other_method) is False


# --- across reads ------------------------------------------------------------------------------
def feed(*bodies: tuple[Any, ...], rules: set[str] | None = None) -> TaskLedger:
    ledger = TaskLedger(SPEC)
    for operation_id, body, *status in bodies:
        ledger.record(exchange(operation_id, body, status_code=status[0] if status else 200), rules=rules)
    return ledger


def cancel_answer(status: int) -> tuple[str, dict[str, Any]]:
    return "cancelTask", {"id": "t1", "status": status, "cancelled": status == CANCELLED}


def test_ledger_accepts_a_documented_walk_with_skips_cancel_and_repeats() -> None:
    feed(
        ("runTask", task(QUEUED)),
        ("getTask", task(QUEUED)),
        ("getTask", task(RUNNING)),
        cancel_answer(CANCELLED),
        ("getTask", task(CANCELLED)),
        cancel_answer(CANCELLED),
        cancel_answer(CANCELLED),
    )
    feed(("runTask", task(RUNNING)), cancel_answer(COMPLETED), ("getTask", task(COMPLETED)))  # ended first: a race
    # the same instant written another way, and whole-number statuses sent as JSON floats
    feed(("runTask", task(RUNNING)), ("getTask", task(float(COMPLETED), created_at="2024-01-15T10:30:00+00:00")))


@pytest.mark.parametrize(
    ("rule_id", "bodies"),
    [
        ("status-order", [("getTask", task(RUNNING)), ("getTask", task(QUEUED))]),
        ("terminal-final", [("getTask", task(COMPLETED)), ("getTask", task(RUNNING))]),
        ("terminal-final", [("getTask", task(FAILED)), cancel_answer(CANCELLED)]),
        ("cancel-running", [("getTask", task(RUNNING)), cancel_answer(CANCELLED), ("getTask", task(RUNNING))]),
        ("cancel-running", [("getTask", task(QUEUED)), cancel_answer(RUNNING)]),
        ("cancel-idempotent", [("getTask", task(COMPLETED)), cancel_answer(CANCELLED)]),
        ("cancel-idempotent", [("getTask", task(COMPLETED)), ("cancelTask", {"error": "already ended"}, 409)]),
        (
            "cancel-idempotent",
            [("getTask", task(RUNNING)), cancel_answer(CANCELLED), cancel_answer(CANCELLED), cancel_answer(COMPLETED)],
        ),
        (
            "stable-fields",
            [("getTask", task(RUNNING)), ("getTask", task(COMPLETED, created_at="2024-01-15T10:31:00Z"))],
        ),
        ("stable-fields", [("runTask", task(RUNNING, session_id="s1")), ("getTask", task(RUNNING))]),
        ("stable-fields", [("runTask", task(RUNNING)), ("getTask", task(RUNNING, id="t2"))]),  # another task
        ("terminal-final", [("getTask", task(float(COMPLETED))), ("getTask", task(float(RUNNING)))]),
    ],
)
def test_ledger_names_the_rule_a_sequence_of_reads_breaks(rule_id: str, bodies: list[tuple[Any, ...]]) -> None:
    with pytest.raises(ContractViolation) as excinfo:
        feed(*bodies, rules={rule_id})
    assert_names(rule_id, excinfo)


def test_ledger_reports_only_the_rules_asked_for() -> None:
    feed(("getTask", task(RUNNING)), ("getTask", task(QUEUED)), rules={"terminal-final"})


def test_ledger_counts_the_comparisons_it_made() -> None:
    ledger = feed(
        ("runTask", task(QUEUED)), ("getTask", task(RUNNING)), ("getTask", task(COMPLETED)),
        ("getTask", task(COMPLETED)), cancel_answer(COMPLETED),
    )  # fmt: skip
    assert ledger.checks["status-order"] == 4 and ledger.checks["terminal-final"] == 2
    assert ledger.checks["cancel-idempotent"] == 1 and ledger.checks["stable-fields"] == 3


# --- webhooks ----------------------------------------------------------------------------------
def hook(**fields: Any) -> dict[str, Any]:
    return {**task(COMPLETED), "updated_at": "2024-01-15T10:30:05Z", **fields}


def test_one_webhook_wants_exactly_one() -> None:
    check_one_webhook(SPEC, "t1", [webhook(hook())], 10)
    for deliveries in ([], [webhook(hook()), webhook(hook())]):
        with pytest.raises(ContractViolation) as excinfo:
            check_one_webhook(SPEC, "t1", deliveries, 10)
        assert_names("one-webhook", excinfo)


@pytest.mark.parametrize(
    "payload",
    [
        hook(status=RUNNING),
        hook(status=CANCELLED),
        {k: v for k, v in hook().items() if k != "updated_at"},
        hook(updated_at="2024-01-15T10:29:00Z"),
        hook(id="t2"),
        hook(created_at="2024-01-15T10:29:59Z"),
        hook(session_id="s2"),
        "not an object",
    ],
)
def test_webhook_must_match_the_task(payload: Any) -> None:
    check_webhook_matches_task(SPEC, task(COMPLETED), webhook(hook()))
    same = hook(status=float(COMPLETED), created_at="2024-01-15T10:30:00+00:00")  # the same state, written otherwise
    check_webhook_matches_task(SPEC, task(COMPLETED), webhook(same))
    with pytest.raises(ContractViolation) as excinfo:
        check_webhook_matches_task(SPEC, task(COMPLETED), webhook(payload))
    assert_names("webhook-matches-task", excinfo)


# --- running schemathesis ------------------------------------------------------------------------
def test_schemathesis_command_runs_every_phase_and_check_and_never_carries_the_key(tmp_path: Any) -> None:
    from infsh_harness.contract.schemathesis_run import PHASES, SchemathesisSettings, build_command

    settings = SchemathesisSettings(
        spec_path=tmp_path / "s.yaml", base_url="http://127.0.0.1:9", report_dir=tmp_path, seed=3
    )
    command = " ".join(build_command(settings, tmp_path / "st.toml"))
    for part in (f"--phases {','.join(PHASES)}", "--checks all", "--mode all", "--seed 3", "--report junit,har"):
        assert part in command
    assert "inf_" not in command and "Authorization" not in command


def test_schemathesis_reports_are_read_back(tmp_path: Any) -> None:
    from infsh_harness.contract.schemathesis_run import parse_junit, parse_phases

    junit = tmp_path / "junit.xml"
    junit.write_text(
        '<testsuites><testsuite name="schemathesis">'
        '<testcase name="POST /run"><failure message="ST901">- Custom check failed: `status_known`\n\n'
        "[status-known] ...</failure></testcase>"
        '<testcase name="Stateful tests"/></testsuite></testsuites>',
        encoding="utf-8",
    )
    labels, failures, errors = parse_junit(junit)
    assert labels == ["POST /run", "Stateful tests"] and not errors
    assert named_rules(SPEC, failures["POST /run"][0]) == ["status-known"]
    console = (
        "Test Phases:\n  \u2705 Examples\n  \u274c Coverage\n  \u2705 Fuzzing\n  \U0001f6ab Stateful\n\nFailures:\n"
    )
    assert parse_phases(console) == {
        "examples": "\u2705",
        "coverage": "\u274c",
        "fuzzing": "\u2705",
        "stateful": "\U0001f6ab",
    }

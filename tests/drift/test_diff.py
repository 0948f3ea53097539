"""``diff(spec, observations)`` on hand-built observations: one test (at least) per kind of finding.

The wire-shaped bodies follow /work's reference of what production speaks (an envelope around every
object, problem+json errors, status 10 for a completed task, 26-character ids, ``POST /apps/run``);
the documented ones come from the spec's own examples.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import pytest

from infsh_harness.drift.diff import diff
from infsh_harness.drift.model import Finding, Kind, Severity
from infsh_harness.drift.shape import compare
from infsh_harness.http.observation import Observation
from infsh_harness.spec import load_spec

SPEC = load_spec()
BASE = "https://api.example.test"
WIRE_ID = "2khet8d1p6z26krbtvn9d7rkth"
OTHER_WIRE_ID = "9zq1m3x7c2v5b8n4k6j0h1g2f3"


def observe(
    method: str,
    path: str,
    status: int,
    body: Any = None,
    *,
    scenario: str | None = None,
    operation_id: str | None = None,
    content_type: str = "application/json",
    request_body: Any = None,
    text: bool = False,
    version: str | None = "2",
) -> Observation:
    """An exchange; ``version`` is the ``X-API-Version`` the request sent (``None``: none, version 1).
    The default is version 2, the bare bodies the Tasks page shows and the official clients ask for."""
    headers = {"authorization": "Bearer [REDACTED]", **({"x-api-version": version} if version else {})}
    return Observation(
        method=method,
        url=BASE + path,
        path=path.split("?", 1)[0],
        status_code=status,
        request_headers=headers,
        request_body=request_body,
        request_body_is_json=request_body is not None,
        content_type=content_type if body is not None else "",
        body=body,
        body_is_json=body is not None and not text,
        scenario=scenario,
        operation_id=operation_id,
        source="test",
    )


def webhook(payload: Any, content_type: str = "application/json") -> Observation:
    return Observation(
        method="POST",
        url="http://127.0.0.1:9/drift-webhook",
        path="/drift-webhook",
        status_code=200,
        request_headers={"content-type": content_type},
        request_body=payload,
        request_body_is_json=not isinstance(payload, str),
        scenario="webhook-delivery",
        operation_id="taskCompleted",
        source="webhook",
    )


def documented_task(task_id: str = "task_abc123", status: int | None = None, **extra: Any) -> dict[str, Any]:
    task: dict[str, Any] = {
        "id": task_id,
        "status": SPEC.status("COMPLETED") if status is None else status,
        "input": {"prompt": "a sunset"},
        "output": {"image": {"uri": "https://example.test/a.png"}},
        "error": None,
        "session_id": None,
        "created_at": "2024-01-15T10:30:00Z",
    }
    return {**task, **extra}


def wire_task(task_id: str = WIRE_ID, status: int = 10, status_text: str = "completed", **extra: Any) -> dict[str, Any]:
    """The slim run result production sends (no ``input``), with a microsecond timestamp."""
    task: dict[str, Any] = {
        "id": task_id,
        "short_id": task_id[:8],
        "status": status,
        "status_text": status_text,
        "output": {"echo": {"prompt": "hi"}},
        "error": None,
        "session_id": None,
        "created_at": "2026-09-15T17:27:55.308496Z",
        "updated_at": "2026-09-15T17:27:56.100001Z",
        "run_at": None,
    }
    return {**task, **extra}


def envelope(data: Any) -> dict[str, Any]:
    return {"success": True, "data": data, "messages": []}


def problem(code: str, title: str, detail: str) -> dict[str, Any]:
    """A problem document as the official clients' wire has it (no ``status``)."""
    return {"type": f"https://api.inference.sh/errors/{code}", "title": title, "detail": detail}


def documented_problem(status: int, code: str, detail: str) -> dict[str, Any]:
    """A version 2 error as the overview documents it."""
    return {"type": f"https://api.inference.sh/errors/{code}", "title": "Error", "status": status, "detail": detail}


def documented_error(status: int, code: str, message: str) -> dict[str, Any]:
    """A version 1 error as the overview documents it."""
    return {"success": False, "status": status, "error": {"code": code, "message": message}}


def only(findings: list[Finding], kind: Kind, **where: str | None) -> list[Finding]:
    def fits(f: Finding) -> bool:
        return f.kind is kind and all(getattr(f.location, k) == v for k, v in where.items())

    return [f for f in findings if fits(f)]


def one(findings: list[Finding], kind: Kind, **where: str | None) -> Finding:
    matching = only(findings, kind, **where)
    assert len(matching) == 1, f"expected one {kind} at {where}, got {[f.title for f in findings]}"
    return matching[0]


# --- the documented contract diffs clean --------------------------------------------------------
def _example_observations() -> list[Observation]:
    """Every documented example as the answer to a request of the example's version."""
    observations = []
    for location, schema, value in SPEC.examples():
        method, path, code = location.split(" ")[:3]
        media = location.split(" ")[3] if location.split(" ")[3].startswith("application/") else "application/json"
        version = "1" if SPEC.schema(schema).get("x-api-version") == "1" else "2"
        if path in SPEC.webhooks:
            observations.append(webhook(value))
        elif code.isdigit():
            if "cancel" in path and code == "200":  # another task than the completed one the webhook reports
                value = _with_id(value, "task_cancelled")
            concrete = path.replace("{id}", "sess_abc123" if "sessions" in path else "task_abc123")
            observations.append(
                observe(method, concrete, int(code), value, content_type=media, version=None if version == "1" else "2")
            )
    return observations


def _with_id(value: Any, task_id: str) -> Any:
    if isinstance(value, dict) and isinstance(value.get("data"), dict):
        return {**value, "data": {**value["data"], "id": task_id}}
    return {**value, "id": task_id}


def test_diff_of_every_documented_example_is_empty() -> None:
    observations = _example_observations()
    assert len(observations) >= 60  # every operation, both versions, errors and the webhook have examples
    assert {o.request_headers.get("x-api-version") for o in observations} == {None, "2"}
    assert diff(SPEC, observations) == []


def test_each_example_in_the_other_version_is_a_version_shape() -> None:
    """The same answers to requests of the other version: every one has the wrong shape or media type."""
    for obs in _example_observations():
        if obs.operation_id == "taskCompleted" or obs.scenario == "webhook-delivery":
            continue
        other = None if obs.request_headers.get("x-api-version") == "2" else "2"
        flipped = observe(obs.method, obs.path, obs.status_code, obs.body, content_type=obs.content_type, version=other)
        kinds = {f.kind for f in diff(SPEC, [flipped])}
        assert Kind.VERSION_SHAPE in kinds, (obs.method, obs.path, obs.status_code, obs.content_type, kinds)


def test_diff_of_a_documented_probe_run_is_empty() -> None:
    completed, cancelled = SPEC.status("COMPLETED"), SPEC.status("CANCELLED")
    observations = [
        observe("POST", "/run", 200, documented_task("t1"), scenario="run-default-wait", operation_id="runTask"),
        observe(
            "POST",
            "/run?wait=false",
            200,
            documented_task("t2", SPEC.status("RECEIVED"), output=None),
            scenario="run-no-wait",
            operation_id="runTask",
        ),
        observe(
            "POST",
            "/tasks/t2/cancel",
            200,
            {"id": "t2", "status": cancelled, "cancelled": True},
            scenario="cancel-running",
            operation_id="cancelTask",
        ),
        observe(
            "POST",
            "/tasks/t1/cancel",
            200,
            {"id": "t1", "status": completed, "cancelled": False},
            scenario="cancel-terminal",
            operation_id="cancelTask",
        ),
        observe(
            "POST",
            "/run",
            200,
            documented_task("t3", session_id="sess_1"),
            scenario="session-new",
            operation_id="runTask",
        ),
        observe(
            "POST",
            "/run",
            200,
            documented_task("t4", session_id="sess_1"),
            scenario="session-continue",
            operation_id="runTask",
            request_body={"app": "a", "input": {}, "session": "sess_1"},
        ),
        observe(
            "GET",
            "/tasks/nope",
            404,
            documented_problem(404, "not_found", "task not found: nope"),
            scenario="unknown-id-get",
            operation_id="getTask",
            content_type="application/problem+json",
        ),
        observe(
            "GET",
            "/tasks/nope",
            401,
            documented_error(401, "unauthorized", "missing key"),
            scenario="no-auth",
            operation_id="getTask",
            version=None,
        ),
        observe("POST", "/run", 200, documented_task("t5"), scenario="webhook-run", operation_id="runTask"),
        webhook(
            {
                "id": "t5",
                "status": completed,
                "output": {"x": 1},
                "error": "",
                "session_id": None,
                "created_at": "2024-01-15T10:30:00Z",
                "updated_at": "2024-01-15T10:30:05Z",
            }
        ),
    ]
    assert diff(SPEC, observations) == []


def test_diff_is_pure_and_repeatable() -> None:
    observations = [observe("GET", f"/tasks/{WIRE_ID}", 200, envelope(wire_task()), operation_id="getTask")]
    first = diff(SPEC, observations)
    assert first and diff(SPEC, observations) == first


# --- operations ---------------------------------------------------------------------------------
def test_run_answered_404_by_the_router_is_a_missing_operation_and_nothing_else_about_run() -> None:
    not_found = problem("not_found", "Not Found", "no such endpoint: /run")
    observations = [
        observe(
            "POST",
            "/run",
            404,
            not_found,
            scenario=s,
            operation_id="runTask",
            content_type="application/problem+json",
        )
        for s in ("run-default-wait", "run-no-wait", "unknown-app", "bad-json")
    ]
    findings = diff(SPEC, observations)
    missing = one(findings, Kind.MISSING_OPERATION, operation="runTask")
    assert missing.level is Severity.BREAKING
    assert missing.location.endpoint == "POST /run"
    assert "404" in missing.observed
    assert [f.kind for f in findings] == [Kind.MISSING_OPERATION]  # the 404 bodies are not judged as errors


def test_a_405_is_a_missing_operation_even_without_a_scenario() -> None:
    observations = [observe("POST", "/tasks/abc/cancel", 405, {"error": "method not allowed"})]
    assert one(diff(SPEC, observations), Kind.MISSING_OPERATION, operation="cancelTask")


def test_one_success_clears_an_operation_of_being_missing() -> None:
    observations = [
        observe("POST", "/tasks/abc/cancel", 405, {"error": "method not allowed"}),
        observe(
            "POST",
            "/tasks/abc/cancel",
            200,
            {"id": "abc", "status": SPEC.status("CANCELLED"), "cancelled": True},
        ),
    ]
    assert only(diff(SPEC, observations), Kind.MISSING_OPERATION) == []


def test_a_documented_404_for_an_unknown_app_is_behaviour_not_a_missing_operation() -> None:
    body = documented_problem(404, "not_found", "app not found: infsh/echo")
    findings = diff(
        SPEC,
        [
            observe(
                "POST", "/run", 404, body, scenario="run-default-wait", operation_id="runTask",
                content_type="application/problem+json",
            )
        ],
    )  # fmt: skip
    assert only(findings, Kind.MISSING_OPERATION) == []
    behaviour = one(findings, Kind.BEHAVIOUR, operation="runTask", status_code="404")
    assert behaviour.expected.startswith("200")


def test_undocumented_operations_seen_in_traffic_are_info_with_a_template() -> None:
    observations = [
        observe("POST", "/apps/run", 200, envelope(wire_task())),
        observe("GET", f"/tasks/{WIRE_ID}/status", 200, envelope({"id": WIRE_ID, "status": 10})),
        observe("GET", f"/tasks/{OTHER_WIRE_ID}/status", 200, envelope({"id": OTHER_WIRE_ID, "status": 7})),
        observe("PATCH", "/sessions/sess_1a2b3c", 200, envelope({"id": "sess_1a2b3c", "status": "ended"})),
        observe("DELETE", f"/tasks/{WIRE_ID}", 200, envelope({})),
    ]
    findings = only(diff(SPEC, observations), Kind.UNDOCUMENTED_OPERATION)
    by_endpoint = {f.location.endpoint: f for f in findings}
    assert set(by_endpoint) == {
        "POST /apps/run",
        "GET /tasks/{id}/status",
        "PATCH /sessions/{id}",
        "DELETE /tasks/{id}",
    }
    assert "documents only GET, DELETE" in by_endpoint["PATCH /sessions/{id}"].expected
    assert by_endpoint["GET /tasks/{id}/status"].count == 2
    assert all(f.level is Severity.INFO and f.location.operation is None for f in findings)
    assert "documents only GET" in by_endpoint["DELETE /tasks/{id}"].expected
    assert "data: {id, short_id, status" in by_endpoint["POST /apps/run"].observed


def test_requests_nothing_served_are_not_undocumented_operations() -> None:
    observations = [
        observe("PUT", "/run", 405, {"error": "method not allowed"}),
        observe("GET", "/favicon.ico", 404, "not found", content_type="text/plain", text=True),
        observe("OPTIONS", "/run", 204, request_body=None),
    ]
    observations[2] = Observation(
        **{**observations[2].__dict__, "request_headers": {"access-control-request-method": "POST"}}
    )
    assert only(diff(SPEC, observations), Kind.UNDOCUMENTED_OPERATION) == []


# --- status codes and content types ---------------------------------------------------------------
def test_undocumented_status_code_is_a_warning_keyed_by_the_code() -> None:
    observations = [
        observe("GET", "/tasks/abc", 502, {"error": "boom"}, operation_id="getTask"),
        observe("GET", "/tasks/abc", 418, {"error": "teapot"}, operation_id="getTask"),
    ]
    findings = only(diff(SPEC, observations), Kind.UNDOCUMENTED_STATUS)
    assert {f.location.status_code for f in findings} == {"502", "418"}
    assert all(f.level is Severity.WARNING and "200, 401, 403, 404, 429, 500" in f.expected for f in findings)


def test_the_wires_problem_lacks_status_in_version_2_and_is_the_wrong_media_type_in_version_1() -> None:
    body = problem("not_found", "Not Found", "task not found: abc")
    media = "application/problem+json"
    v2 = diff(SPEC, [observe("GET", "/tasks/abc", 404, body, scenario="unknown-id-get", content_type=media)])
    missing = one(v2, Kind.MISSING_FIELD, json_path="$.status")
    assert missing.level is Severity.BREAKING and "Problem" in missing.expected
    assert [f.kind for f in v2] == [Kind.MISSING_FIELD]
    v1 = diff(
        SPEC, [observe("GET", "/tasks/abc", 404, body, scenario="unknown-id-get", content_type=media, version=None)]
    )
    shape = one(v1, Kind.VERSION_SHAPE, operation="getTask", status_code="404")
    assert (shape.expected, shape.observed, shape.rule) == (
        "version 1 (no X-API-Version): application/json",
        "application/problem+json",
        "error-shape",
    )
    assert {f.location.json_path for f in only(v1, Kind.MISSING_FIELD)} == {"$.success", "$.status", "$.error"}
    assert only(v1, Kind.UNDOCUMENTED_CONTENT_TYPE) == []  # problem+json is documented, for version 2


def test_a_version_1_request_answered_bare_is_one_version_shape_finding() -> None:
    findings = diff(SPEC, [observe("GET", "/tasks/t1", 200, documented_task("t1"), version=None)])
    [shape] = findings
    assert shape.kind is Kind.VERSION_SHAPE and shape.rule == "version-shape" and shape.level is Severity.BREAKING
    assert "TaskEnvelope" in shape.expected and "version 2's Task" in shape.observed


def test_a_version_2_request_answered_wrapped_is_a_version_shape_and_its_inside_still_diffed() -> None:
    wrapped = {"success": True, "status": 200, "data": documented_task("t1", status=99)}
    findings = diff(SPEC, [observe("GET", "/tasks/t1", 200, wrapped)])
    assert (
        one(findings, Kind.VERSION_SHAPE).observed
        == "version 1's TaskEnvelope, the object wrapped as {success, status, data}"
    )
    assert one(findings, Kind.ENUM_VIOLATION).location.json_path == "$.data.status"


def test_a_version_2_error_as_version_1_json_is_a_version_shape() -> None:
    body = documented_error(404, "not_found", "task not found: t1")
    [shape] = diff(SPEC, [observe("GET", "/tasks/t1", 404, body, scenario="unknown-id-get")])
    assert shape.kind is Kind.VERSION_SHAPE and "Problem" in shape.expected and "Error" in shape.observed


def test_an_undocumented_version_value_is_read_as_version_1() -> None:
    assert (
        diff(SPEC, [observe("GET", "/tasks/t1", 200, documented_task("t1"), version="3")])[0].kind is Kind.VERSION_SHAPE
    )
    wrapped = {"success": True, "status": 200, "data": documented_task("t1")}
    assert diff(SPEC, [observe("GET", "/tasks/t1", 200, wrapped, version="3")]) == []


def test_text_where_json_is_documented_is_a_type_mismatch_of_the_whole_body() -> None:
    obs = observe("GET", "/tasks/abc", 404, "task not found", content_type="text/plain", text=True)
    findings = diff(SPEC, [obs])
    assert one(findings, Kind.UNDOCUMENTED_CONTENT_TYPE).observed == "text/plain"
    assert one(findings, Kind.TYPE_MISMATCH, json_path="$").expected == "a JSON document"


def test_a_bare_json_string_error_is_a_type_mismatch() -> None:
    findings = diff(SPEC, [observe("GET", "/tasks/abc", 404, "task not found")])
    mismatch = one(findings, Kind.TYPE_MISMATCH, json_path="$")
    assert (mismatch.expected, mismatch.observed) == ("object", '"task not found"')


def test_an_empty_body_where_json_is_documented_is_a_type_mismatch() -> None:
    mismatch = one(diff(SPEC, [observe("GET", "/tasks/abc", 200)]), Kind.TYPE_MISMATCH)
    assert (mismatch.location.json_path, mismatch.observed) == ("$", "an empty body")


def test_a_truncated_har_body_is_not_judged() -> None:
    obs = observe("GET", "/tasks/abc", 200, '{"id": "abc", "sta', text=True)
    obs = Observation(**{**obs.__dict__, "body_truncated": True})
    assert diff(SPEC, [obs]) == []


# --- fields, types, formats, enums, nulls ----------------------------------------------------------
def test_undocumented_fields_are_info_and_name_the_schema() -> None:
    body = documented_task(short_id="task_abc", status_text="completed")
    findings = diff(SPEC, [observe("GET", "/tasks/abc", 200, body)])
    assert {f.location.json_path for f in findings} == {"$.short_id", "$.status_text"}
    assert all(f.kind is Kind.UNDOCUMENTED_FIELD and f.level is Severity.INFO for f in findings)
    assert "Task" in findings[0].expected


def test_free_form_objects_have_no_undocumented_fields() -> None:
    body = documented_task(input={"anything": 1}, output={"deep": {"x": [1, 2]}})
    assert diff(SPEC, [observe("GET", "/tasks/abc", 200, body)]) == []


def test_documented_field_missing_is_breaking() -> None:
    body = {k: v for k, v in documented_task().items() if k != "input"}
    missing = one(diff(SPEC, [observe("GET", "/tasks/abc", 200, body)]), Kind.MISSING_FIELD)
    assert (missing.location.json_path, missing.level) == ("$.input", Severity.BREAKING)


def test_type_mismatch_names_both_types() -> None:
    body = documented_task(status="completed", cancelled=None)
    findings = diff(SPEC, [observe("GET", "/tasks/abc", 200, body)])
    mismatch = one(findings, Kind.TYPE_MISMATCH, json_path="$.status")
    assert (mismatch.expected, mismatch.observed, mismatch.level) == (
        "integer",
        '"completed"',
        Severity.BREAKING,
    )


def test_date_time_format_mismatch_is_a_warning() -> None:
    body = documented_task(created_at="15/01/2024 10:30")
    mismatch = one(diff(SPEC, [observe("GET", "/tasks/abc", 200, body)]), Kind.FORMAT_MISMATCH)
    assert (mismatch.location.json_path, mismatch.level) == ("$.created_at", Severity.WARNING)
    assert "date-time" in mismatch.expected


def test_microsecond_utc_timestamps_are_valid_date_times() -> None:
    body = documented_task(created_at="2026-09-15T17:27:55.308496Z")
    assert diff(SPEC, [observe("GET", "/tasks/abc", 200, body)]) == []


@pytest.mark.parametrize(
    ("value", "ok"),
    [
        ("https://example.test/hook", True),
        ("urn:isbn:123", True),
        ("not a uri", False),
        ("/relative/path", False),
    ],
)
def test_uri_format(value: str, ok: bool) -> None:
    issues = compare(SPEC, {"type": "string", "format": "uri"}, value)
    assert [i.kind for i in issues] == ([] if ok else [Kind.FORMAT_MISMATCH])


def test_a_status_outside_the_documented_enum_is_breaking_and_keyed_by_value() -> None:
    undocumented = max(SPEC.status_codes) + 1
    observations = [
        observe("GET", "/tasks/a", 200, documented_task("a", undocumented)),
        observe("GET", "/tasks/b", 200, documented_task("b", undocumented)),
        observe("GET", "/tasks/c", 200, documented_task("c", undocumented + 1)),
    ]
    findings = only(diff(SPEC, observations), Kind.ENUM_VIOLATION)
    assert sorted((f.observed, f.count) for f in findings) == [
        (str(undocumented), 2),
        (str(undocumented + 1), 1),
    ]
    assert all(f.level is Severity.BREAKING for f in findings)
    cancelled = SPEC.status_info(SPEC.status("CANCELLED"))
    assert cancelled is not None and f"({cancelled.name})" in findings[0].expected


def test_null_where_the_spec_does_not_allow_it_is_nullability() -> None:
    body = documented_task(input=None)
    finding = one(diff(SPEC, [observe("GET", "/tasks/abc", 200, body)]), Kind.NULLABILITY)
    assert (finding.location.json_path, finding.observed, finding.level) == (
        "$.input",
        "null",
        Severity.WARNING,
    )


def test_documented_nulls_are_fine() -> None:
    running = documented_task(status=SPEC.status("RUNNING"), output=None, error=None, session_id=None)
    assert diff(SPEC, [observe("GET", "/tasks/abc", 200, running)]) == []


# --- envelopes ----------------------------------------------------------------------------------
def test_the_documented_object_under_data_is_an_envelope_and_its_inside_is_still_diffed() -> None:
    obs = observe("GET", f"/tasks/{WIRE_ID}", 200, envelope(wire_task(input={"prompt": "hi"})), operation_id="getTask")
    findings = diff(SPEC, [obs])
    wrapped = one(findings, Kind.ENVELOPE, json_path="$")
    assert wrapped.level is Severity.BREAKING
    assert "'data'" in wrapped.observed and "success" in wrapped.observed and "messages" in wrapped.observed
    undocumented = {f.location.json_path for f in only(findings, Kind.UNDOCUMENTED_FIELD)}
    assert undocumented == {"$.data.short_id", "$.data.status_text", "$.data.updated_at", "$.data.run_at"}
    assert "$.success" not in undocumented  # the wrapper's keys are the envelope finding's business


def test_the_slim_run_result_in_an_envelope_misses_input() -> None:
    obs = observe("POST", "/run", 200, envelope(wire_task()), operation_id="runTask")
    findings = diff(SPEC, [obs])
    assert one(findings, Kind.ENVELOPE)
    assert one(findings, Kind.MISSING_FIELD).location.json_path == "$.data.input"


def test_cancel_answered_with_the_wrapped_task_misses_cancelled() -> None:
    body = envelope(wire_task(status=8, status_text="cancelling"))
    findings = diff(SPEC, [observe("POST", f"/tasks/{WIRE_ID}/cancel", 200, body)])
    assert one(findings, Kind.ENVELOPE, operation="cancelTask")
    assert one(findings, Kind.MISSING_FIELD).location.json_path == "$.data.cancelled"


# --- behaviour ----------------------------------------------------------------------------------
def _behaviour(observations: list[Observation]) -> list[Finding]:
    return only(diff(SPEC, observations), Kind.BEHAVIOUR)


def test_a_default_run_that_does_not_wait_is_behaviour_drift() -> None:
    running = documented_task(status=SPEC.status("RUNNING"), output=None)
    [finding] = _behaviour([observe("POST", "/run", 200, running, scenario="run-default-wait")])
    assert finding.rule == "run-waits-by-default" and finding.location.json_path == "$.status"
    assert finding.level is Severity.BREAKING and "Running" in finding.observed


def test_a_waited_run_that_is_not_terminal_is_behaviour_drift() -> None:
    running = documented_task(status=SPEC.status("RUNNING"), output=None)
    [finding] = _behaviour([observe("POST", "/run?wait=true", 200, running, scenario="run-wait-true")])
    assert "waited run" in finding.expected


def test_wait_false_that_waits_is_behaviour_drift() -> None:
    [finding] = _behaviour([observe("POST", "/run?wait=false", 200, documented_task(), scenario="run-no-wait")])
    assert finding.rule == "run-no-wait"


def test_cancel_that_does_not_cancel_is_behaviour_drift() -> None:
    body = {"id": "t", "status": SPEC.status("RUNNING"), "cancelled": False}
    findings = _behaviour([observe("POST", "/tasks/t/cancel", 200, body, scenario="cancel-running")])
    assert [f.rule for f in findings] == ["cancel-running"]


def test_cancelled_flag_must_match_the_status() -> None:
    body = {"id": "t", "status": SPEC.status("COMPLETED"), "cancelled": True}
    [finding] = _behaviour([observe("POST", "/tasks/t/cancel", 200, body, scenario="cancel-terminal")])
    assert finding.location.json_path == "$.cancelled" and finding.rule == "cancel-idempotent"


def test_sessions_must_start_and_continue() -> None:
    findings = _behaviour(
        [
            observe("POST", "/run", 200, documented_task("a"), scenario="session-new"),
            observe(
                "POST",
                "/run",
                200,
                documented_task("b", session_id="sess_other"),
                scenario="session-continue",
                request_body={"app": "x", "input": {}, "session": "sess_mine"},
            ),
        ]
    )
    assert sorted(f.rule or "" for f in findings) == ["session-continue", "session-new"]


def test_an_unexpected_status_for_a_scenario_is_behaviour_drift_with_its_rule() -> None:
    findings = _behaviour([observe("GET", "/tasks/abc", 200, documented_task(), scenario="no-auth")])
    assert [(f.rule, f.location.status_code) for f in findings] == [("auth-required", "200")]


def test_status_shift_shows_as_a_failed_task_without_an_error() -> None:
    # production's 10 is "completed"; the documentation's 10 is Failed, which must carry an error
    body = envelope(wire_task(status=SPEC.status("FAILED"), input={"prompt": "hi"}))
    [finding] = _behaviour([observe("GET", f"/tasks/{WIRE_ID}", 200, body)])
    assert finding.rule == "failed-has-error" and finding.location.json_path == "$.data.error"


def test_a_completed_task_without_output_is_behaviour_drift() -> None:
    [finding] = _behaviour([observe("GET", "/tasks/abc", 200, documented_task(output=None))])
    assert finding.rule == "completed-has-output"


def test_a_failing_app_must_end_failed() -> None:
    completed = documented_task(status=SPEC.status("COMPLETED"))
    [finding] = _behaviour([observe("POST", "/run", 200, completed, scenario="run-fail")])
    assert "Failed" in finding.expected


# --- webhooks -----------------------------------------------------------------------------------
def _payload(**changes: Any) -> dict[str, Any]:
    payload = {
        "id": "t1",
        "status": SPEC.status("COMPLETED"),
        "output": {"x": 1},
        "error": "",
        "session_id": None,
        "created_at": "2024-01-15T10:30:00Z",
        "updated_at": "2024-01-15T10:30:05Z",
    }
    return {k: v for k, v in {**payload, **changes}.items() if v is not ...}


def test_webhook_payload_drift_carries_the_shape_aspect_and_its_severity() -> None:
    payload = _payload(updated_at=..., status_text="completed", status=max(SPEC.status_codes) + 1)
    findings = only(diff(SPEC, [webhook(payload)]), Kind.WEBHOOK_PAYLOAD)
    aspects = {(f.aspect, f.location.json_path, f.level) for f in findings}
    assert aspects == {
        (Kind.MISSING_FIELD, "$.updated_at", Severity.BREAKING),
        (Kind.UNDOCUMENTED_FIELD, "$.status_text", Severity.INFO),
        (Kind.ENUM_VIOLATION, "$.status", Severity.BREAKING),
    }
    assert all(f.location.endpoint == "WEBHOOK taskCompleted" for f in findings)


def test_webhook_with_a_non_terminal_status_violates_its_narrowed_enum() -> None:
    finding = one(diff(SPEC, [webhook(_payload(status=SPEC.status("RUNNING")))]), Kind.WEBHOOK_PAYLOAD)
    assert finding.aspect is Kind.ENUM_VIOLATION
    assert "9 (Completed)" in finding.expected and "1 (Received)" not in finding.expected


def test_webhook_that_is_not_json_is_payload_drift() -> None:
    findings = diff(SPEC, [webhook("id=t1&status=9", content_type="application/x-www-form-urlencoded")])
    assert {f.aspect for f in findings} == {Kind.UNDOCUMENTED_CONTENT_TYPE, Kind.TYPE_MISMATCH}


def test_webhook_shift_shows_as_a_failed_task_without_an_error() -> None:
    wire_payload = wire_task(task_id="t1")
    findings = only(diff(SPEC, [webhook(wire_payload)]), Kind.WEBHOOK_PAYLOAD)
    behaviour = [f for f in findings if f.aspect is Kind.BEHAVIOUR]
    assert [f.rule for f in behaviour] == ["failed-has-error"]


def test_a_run_with_a_webhook_and_no_delivery_is_behaviour_drift() -> None:
    run = observe("POST", "/run", 200, documented_task("t1"), scenario="webhook-run")
    [finding] = _behaviour([run])
    assert (finding.rule, finding.observed) == ("one-webhook", "none arrived")
    assert _behaviour([run, webhook(_payload())]) == []


def test_a_fallback_run_with_a_webhook_and_no_delivery_is_also_drift() -> None:
    run = observe("POST", "/apps/run", 200, envelope(wire_task("t1")), scenario="webhook-run-fallback")
    assert [f.rule for f in _behaviour([run])] == ["one-webhook"]


def test_two_deliveries_for_one_task_is_behaviour_drift() -> None:
    [finding] = _behaviour([webhook(_payload()), webhook(_payload())])
    assert finding.rule == "one-webhook" and finding.observed == "2 deliveries"


def test_webhook_status_must_match_the_final_status_read() -> None:
    failed = documented_task("t1", SPEC.status("FAILED"), output=None, error="boom")
    observations = [observe("GET", "/tasks/t1", 200, failed), webhook(_payload())]
    [finding] = _behaviour(observations)
    assert finding.rule == "webhook-matches-task"


# --- identity, counting, evidence -------------------------------------------------------------------
def test_finding_ids_ignore_values_that_change_from_run_to_run() -> None:
    def run(task_id: str, stamp: str) -> list[Finding]:
        body = envelope(wire_task(task_id, created_at=stamp, input={}))
        return diff(SPEC, [observe("GET", f"/tasks/{task_id}", 200, body)])

    first = run(WIRE_ID, "2026-09-15T17:27:55.308496Z")
    second = run(OTHER_WIRE_ID, "2027-01-01T00:00:00.000001Z")
    assert first and [f.id for f in first] == [f.id for f in second]


def test_repeated_drift_is_one_finding_with_a_count_and_the_first_evidence() -> None:
    observations = [observe("GET", f"/tasks/t{n}", 200, documented_task(f"t{n}", short_id="x")) for n in range(3)]
    [finding] = diff(SPEC, observations)
    assert finding.count == 3
    assert finding.evidence is not None and finding.evidence["request"]["url"].endswith("/tasks/t0")


def test_findings_are_sorted_most_severe_first() -> None:
    body = envelope(wire_task(status=99, extra_field=1))
    findings = diff(SPEC, [observe("GET", "/tasks/x", 200, body), observe("GET", "/tasks/x", 502, {"error": "e"})])
    ranks = [f.level.rank for f in findings]
    assert ranks == sorted(ranks) and {Severity.BREAKING, Severity.WARNING, Severity.INFO} <= {
        f.level for f in findings
    }


def test_evidence_never_carries_an_api_key() -> None:
    raw = Observation(
        method="GET",
        url=f"{BASE}/tasks/x?key=inf_live_secret",
        path="/tasks/x",
        status_code=502,
        request_headers={"authorization": "Bearer inf_live_secret"},
        content_type="application/json",
        body={"error": "bad key inf_live_secret"},
        body_is_json=True,
    ).redact()
    [finding] = diff(SPEC, [raw])
    assert "inf_live_secret" not in json.dumps(finding.to_dict())


def test_finding_json_has_the_documented_keys() -> None:
    [finding] = diff(SPEC, [observe("GET", "/tasks/x", 502, {"error": "e"})])
    data: Mapping[str, Any] = finding.to_dict()
    assert {"id", "kind", "severity", "location", "expected", "observed", "count", "evidence"} <= set(data)
    assert data["location"] == {
        "endpoint": "GET /tasks/{id}",
        "operation": "getTask",
        "status_code": "502",
        "json_path": None,
    }

"""The load scenarios' response checks: every failure is named, every number comes from the spec."""

from __future__ import annotations

from typing import Any

import orjson
import pytest

from infsh_harness.load.checks import ResponseChecks
from infsh_harness.spec import load_spec

SPEC = load_spec()
CHECKS = ResponseChecks(SPEC)
COMPLETED, RUNNING, CANCELLED = SPEC.status("COMPLETED"), SPEC.status("RUNNING"), SPEC.status("CANCELLED")
QUEUED = SPEC.status("QUEUED")


def task(**changes: Any) -> dict[str, Any]:
    body = {"id": "task_1", "status": COMPLETED, "input": {"prompt": "x"}, "output": {"echo": {"prompt": "x"}},
            "error": None, "session_id": None, "created_at": "2024-01-15T10:30:00.123Z"}  # fmt: skip
    body.update(changes)
    return body


def test_checks_accept_a_documented_task() -> None:
    body, failure = CHECKS.response("getTask", 200, "application/json", orjson.dumps(task()))
    assert failure is None
    assert body["id"] == "task_1"


def test_checks_name_an_undocumented_http_status() -> None:
    assert 502 not in CHECKS.documented("getTask")
    body, failure = CHECKS.response("getTask", 502, "application/json", b'{"error": "boom"}')
    assert body is None
    assert failure == "getTask 502: undocumented HTTP status"


def test_checks_name_the_schema_and_the_field_a_body_breaks() -> None:
    undocumented = max(SPEC.status_codes) + 1
    _, failure = CHECKS.response("getTask", 200, "application/json", orjson.dumps(task(status=undocumented)))
    assert failure is not None
    assert failure.startswith("getTask 200: body breaks Task: status:")


def test_checks_name_the_rule_of_a_wrong_content_type() -> None:
    _, failure = CHECKS.response("runTask", 200, "text/plain", orjson.dumps(task()))
    assert failure == "[json-content-type] runTask 200: content type text/plain"


def test_checks_report_a_documented_error_without_its_task_id() -> None:
    error = b'{"code": "not_found", "message": "task not found: task_abc123"}'
    body = b'{"success": false, "status": 404, "error": ' + error + b"}"
    _, failure = CHECKS.response("getTask", 404, "application/json", body)
    assert failure is not None and failure.startswith("getTask 404: ")
    assert "task_abc123" not in failure  # the task id stays out: one row per kind of failure


def test_checks_name_an_undocumented_error_body() -> None:
    body = b'{"error": "task not found: task_abc123", "code": "task_not_found"}'
    _, failure = CHECKS.response("getTask", 404, "application/json", body)
    assert failure is not None and failure.startswith("getTask 404: body breaks Error")


def test_checks_report_a_body_that_is_not_json() -> None:
    _, failure = CHECKS.response("cancelTask", 200, "application/json", b"<html>")
    assert failure == "cancelTask 200: body is not JSON"


def test_run_waited_needs_a_terminal_task() -> None:
    assert CHECKS.run_waited(task()) is None
    failure = CHECKS.run_waited(task(status=RUNNING))
    assert failure is not None and failure.startswith("[run-waits-by-default]")
    assert f"{RUNNING} (Running)" in failure


def test_advance_refuses_a_status_going_back_or_leaving_a_terminal_one() -> None:
    assert CHECKS.advance(QUEUED, RUNNING) is None
    assert CHECKS.advance(RUNNING, RUNNING) is None
    backwards = CHECKS.advance(RUNNING, QUEUED)
    assert backwards is not None and backwards.startswith("[status-order]")
    reopened = CHECKS.advance(CANCELLED, COMPLETED)
    assert reopened is not None and reopened.startswith("[terminal-final]") and "terminal" in reopened


def test_cancel_answer_must_be_terminal_and_flag_cancelled_exactly_when_cancelled() -> None:
    assert CHECKS.cancel_answer({"id": "t", "status": CANCELLED, "cancelled": True}) is None
    assert CHECKS.cancel_answer({"id": "t", "status": COMPLETED, "cancelled": False}) is None
    wrong_flag = CHECKS.cancel_answer({"id": "t", "status": COMPLETED, "cancelled": True})
    assert wrong_flag is not None and wrong_flag.startswith("[cancel-flag]")
    still_running = CHECKS.cancel_answer({"id": "t", "status": RUNNING, "cancelled": False})
    assert still_running is not None and still_running.startswith("[cancel-running]")


def test_same_task_catches_another_tasks_answer() -> None:
    assert CHECKS.same_task("getTask", task(), "task_1") is None
    assert CHECKS.same_task("getTask", task(), "task_2") == "[stable-fields] getTask 200: answered another task's id"


@pytest.mark.parametrize(
    ("payload", "expected"),
    [
        (b"not json", "payload is not JSON"),
        (orjson.dumps({"id": "t", "status": RUNNING, "created_at": "2024-01-15T10:30:00Z",
                       "updated_at": "2024-01-15T10:30:01Z"}), "payload breaks WebhookPayload: status"),  # fmt: skip
        (orjson.dumps({"id": "t", "status": COMPLETED, "created_at": "2024-01-15T10:30:00Z"}),
         "payload breaks WebhookPayload: <root>"),  # fmt: skip
    ],
)
def test_webhook_payload_failures_are_named(payload: bytes, expected: str) -> None:
    data, failure = CHECKS.webhook(payload)
    assert data is None
    assert failure is not None and failure.startswith("[webhook-matches-task] taskCompleted: ")
    assert expected in failure


def test_webhook_timestamp_is_epoch_seconds() -> None:
    payload = {"id": "t", "status": COMPLETED, "created_at": "2024-01-15T10:30:00Z",
               "updated_at": "2024-01-15T10:30:05.250Z"}  # fmt: skip
    data, failure = CHECKS.webhook(orjson.dumps(payload))
    assert failure is None
    assert CHECKS.timestamp(data["updated_at"]) - CHECKS.timestamp(data["created_at"]) == pytest.approx(5.25)


def test_a_body_that_breaks_only_a_convention_is_no_failure() -> None:
    """A timestamp without its offset is ISO 8601 (the page) but not RFC 3339 (ours): the suite says differs."""
    naive = orjson.dumps(task(created_at="2024-01-15T10:30:00"))
    body, failure = CHECKS.response("getTask", 200, "application/json", naive)
    assert failure is None and body is not None
    _, broken = CHECKS.response("getTask", 200, "application/json", orjson.dumps(task(status=12)))
    assert broken is not None and "body breaks Task" in broken


def test_terminal_statuses_come_from_the_spec() -> None:
    assert CHECKS.terminal == SPEC.terminal_statuses
    assert CHECKS.cancelled == CANCELLED

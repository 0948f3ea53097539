"""The REST overview's rules on hand-made exchanges: the two versions, the error model, rate limits."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest

from infsh_harness.http.observation import Observation
from infsh_harness.rules import ContractViolation
from infsh_harness.rules.rate_limits import (
    check_limit_enforced,
    check_rate_limit_headers,
    check_rate_limited_429,
    check_rate_limits,
    check_retry_after,
    none_left,
    rate_limit_header_problems,
    retry_after_valid,
    whole_number,
)
from infsh_harness.rules.versions import (
    body_status_matches,
    check_error_body_status,
    check_error_code_status,
    check_error_shape,
    check_problem_type_code,
    check_same_fields,
    check_version_shape,
    check_webhook_unversioned,
    code_status_matches,
    error_code,
    error_shape,
    not_spoken_reason,
    spoken_versions,
    success_shape,
    type_code,
)
from infsh_harness.spec import load_spec

SPEC = load_spec()
COMPLETED = SPEC.status("COMPLETED")
WHEN = "2024-01-15T10:30:00Z"
NOW = 1_700_000_000.0
TASK = {"id": "t1", "status": COMPLETED, "input": {"p": 1}, "output": {"x": 1}, "created_at": WHEN, "session_id": None}
PATHS = {"runTask": ("POST", "/run"), "getTask": ("GET", "/tasks/t1"), "cancelTask": ("POST", "/tasks/t1/cancel")}
LIMIT_HEADERS = {"x-ratelimit-remaining": "95", "x-ratelimit-reset": str(int(NOW) + 30)}


def wrapped(body: Any) -> dict[str, Any]:
    return {"success": True, "status": 200, "data": body}


def v1_error(status: int, code: str) -> dict[str, Any]:
    return {"success": False, "status": status, "error": {"code": code, "message": "no"}}


def problem(status: int, code: str) -> dict[str, Any]:
    return {"type": f"https://api.inference.sh/errors/{code}", "title": "No", "status": status, "detail": "no"}


def answer(
    body: Any,
    *,
    version: str | None = "2",
    status: int = 200,
    operation_id: str = "getTask",
    content_type: str | None = None,
    headers: dict[str, str] | None = None,
) -> Observation:
    method, path = PATHS[operation_id]
    media = content_type or ("application/problem+json" if status >= 400 and version == "2" else "application/json")
    return Observation(
        method=method, url=f"http://127.0.0.1:1{path}", path=path, status_code=status,
        request_headers={"authorization": "Bearer [REDACTED]", **({"x-api-version": version} if version else {})},
        response_headers=headers or {}, content_type=media, body=body, body_is_json=True, operation_id=operation_id,
    )  # fmt: skip


def broken(rule_id: str, check: Any, *args: Any) -> ContractViolation:
    with pytest.raises(ContractViolation) as excinfo:
        check(SPEC, *args)
    assert excinfo.value.rule_id == rule_id
    assert str(excinfo.value).startswith(SPEC.rule(rule_id).describe())
    return excinfo.value


# --- shapes and codes on plain values ---------------------------------------------------------------
def test_success_shape_tells_the_envelope_from_the_bare_object_or_array() -> None:
    assert (success_shape(wrapped(TASK)), success_shape(TASK), success_shape([TASK])) == ("1", "2", "2")
    assert (success_shape("text"), success_shape(None)) == (None, None)


def test_error_shape_tells_a_problem_from_the_version_1_wrapper() -> None:
    assert error_shape(problem(404, "not_found"), "application/problem+json") == "2"
    assert error_shape(problem(404, "not_found"), "application/json") == "2"  # the four fields of one
    assert error_shape(v1_error(404, "not_found"), "application/json") == "1"
    assert error_shape({"error": "no", "code": "not_found"}, "application/json") is None


def test_error_code_reads_either_version_and_the_earlier_page() -> None:
    assert error_code(v1_error(401, "unauthorized")) == "unauthorized"
    assert error_code(problem(401, "unauthorized")) == "unauthorized"
    assert error_code({"error": {"code": "invalid_request", "message": "x"}}) == "invalid_request"
    assert error_code({"error": "no", "code": "x"}) is None
    assert (type_code("https://x/errors/not_found/"), type_code("about:blank"), type_code("")) == (
        "not_found", "about:blank", None,
    )  # fmt: skip


def test_code_and_body_status() -> None:
    codes = SPEC.rule("error-code-status").params["codes"]
    assert code_status_matches("not_found", 404, codes) and not code_status_matches("invalid_request", 422, codes)
    assert code_status_matches("invalid_transition", 409, codes)  # not documented: says nothing
    assert body_status_matches(404.0, 404) and not body_status_matches(400, 404) and not body_status_matches("404", 404)


# --- which versions a server speaks ---------------------------------------------------------------
def test_a_server_speaking_both_versions() -> None:
    seen = [answer(TASK), answer(wrapped(TASK), version=None)]
    assert spoken_versions(SPEC, seen) == {"1", "2"}


def test_a_server_ignoring_the_header_speaks_one_version() -> None:
    always_bare = [answer(TASK), answer(TASK, version=None)]
    always_wrapped = [answer(wrapped(TASK)), answer(wrapped(TASK), version=None)]
    assert spoken_versions(SPEC, always_bare) == {"2"}
    assert spoken_versions(SPEC, always_wrapped) == {"1"}
    assert "does not speak version 1" in not_spoken_reason("1", {"2"})


def test_wrapped_errors_alone_show_version_1_spoken() -> None:
    seen = [answer(TASK), answer(TASK, version=None), answer(v1_error(404, "not_found"), version=None, status=404)]
    assert spoken_versions(SPEC, seen) == {"1", "2"}


# --- version-shape, version-same-fields ---------------------------------------------------------------
def test_version_shape_holds_each_spoken_version_to_its_shape() -> None:
    assert check_version_shape(SPEC, answer(TASK), {"1", "2"})
    assert check_version_shape(SPEC, answer(wrapped(TASK), version=None), {"1", "2"})
    found = broken("version-shape", check_version_shape, answer(TASK, version=None), {"1", "2"})
    assert "got a bare body" in found.detail
    broken("version-shape", check_version_shape, answer(wrapped(TASK)), {"1", "2"})
    bad = {"success": True, "status": 201, "data": TASK}
    broken("version-shape", check_version_shape, answer(bad, version=None), {"1", "2"})


def test_version_shape_does_not_judge_a_version_the_server_does_not_speak() -> None:
    assert not check_version_shape(SPEC, answer(TASK, version=None), {"2"})
    assert not check_version_shape(SPEC, answer(TASK, version="3"), {"1", "2"})  # an undocumented version


def test_same_fields_compares_version_1_data_with_version_2() -> None:
    assert check_same_fields(SPEC, answer(wrapped(TASK), version=None), answer(TASK))
    same_instant = {**TASK, "created_at": "2024-01-15T10:30:00+00:00"}
    assert check_same_fields(SPEC, answer(wrapped(same_instant), version=None), answer(TASK))
    found = broken("version-same-fields", check_same_fields, answer(wrapped({**TASK, "input": {}}), version=None),
                   answer(TASK))  # fmt: skip
    assert "differs in input" in found.detail
    less = {k: v for k, v in TASK.items() if k != "session_id"}
    broken("version-same-fields", check_same_fields, answer(wrapped(less), version=None), answer(TASK))
    assert not check_same_fields(SPEC, answer(TASK, version=None), answer(TASK))  # no envelope: version-shape's


# --- error-shape, problem-type-code, error-code-status, error-body-status ---------------------------------
def test_error_shape_by_version() -> None:
    assert check_error_shape(SPEC, answer(problem(404, "not_found"), status=404), {"1", "2"})
    assert check_error_shape(SPEC, answer(v1_error(404, "not_found"), version=None, status=404), {"1", "2"})
    plain = answer(problem(404, "not_found"), status=404, content_type="application/json")
    assert "not application/problem+json" in broken("error-shape", check_error_shape, plain, {"2"}).detail
    broken("error-shape", check_error_shape, answer({"error": "no", "code": "x"}, status=404), {"2"})
    broken("error-shape", check_error_shape, answer(problem(404, "not_found"), version=None, status=404), {"1"})
    assert not check_error_shape(SPEC, answer({"error": "no"}, version=None, status=404), {"2"})


def test_problem_type_ends_with_the_version_1_code() -> None:
    v1 = answer(v1_error(404, "not_found"), version=None, status=404)
    assert check_problem_type_code(SPEC, answer(problem(404, "not_found"), status=404), v1)
    blank = {**problem(404, "not_found"), "type": "about:blank"}
    assert "does not end with 'not_found'" in broken("problem-type-code", check_problem_type_code,
                                                      answer(blank, status=404), v1).detail  # fmt: skip
    # without version 1 to compare: a documented code of its status counts, anything else says nothing
    assert check_problem_type_code(SPEC, answer(problem(404, "not_found"), status=404))
    assert not check_problem_type_code(SPEC, answer(blank, status=404))


def test_error_code_status_and_body_status() -> None:
    assert check_error_code_status(SPEC, answer(problem(400, "invalid_request"), status=400, operation_id="runTask"))
    refused = answer(v1_error(422, "invalid_request"), version=None, status=422, operation_id="runTask")
    found = broken("error-code-status", check_error_code_status, refused)
    assert "came with 422" in found.detail
    assert not check_error_code_status(SPEC, answer(problem(409, "invalid_transition"), status=409))
    assert check_error_body_status(SPEC, answer(problem(404, "not_found"), status=404))
    broken("error-body-status", check_error_body_status, answer(v1_error(400, "not_found"), version=None, status=404))


def test_webhook_unversioned() -> None:
    payload = {k: v for k, v in TASK.items() if k != "input"} | {"updated_at": WHEN, "error": ""}
    hook = Observation(method="POST", url="http://127.0.0.1:2/hooks/x", path="/hooks/x", status_code=200,
                       request_body=payload, request_body_is_json=True, operation_id="taskCompleted")  # fmt: skip
    assert check_webhook_unversioned(SPEC, hook, "1")
    wrapped_hook = dataclasses.replace(hook, request_body=wrapped(payload))
    assert "wrapped" in broken("webhook-unversioned", check_webhook_unversioned, wrapped_hook, "1").detail
    in_data = dataclasses.replace(hook, request_body={"data": payload})
    broken("webhook-unversioned", check_webhook_unversioned, in_data, "2")
    invalid = dataclasses.replace(hook, request_body={"id": "t1"})  # bare, if not valid: webhook-matches-task's
    assert check_webhook_unversioned(SPEC, invalid, "2")


# --- rate limits ------------------------------------------------------------------------------------
def test_rate_limit_header_values() -> None:
    assert whole_number(" 95 ") == 95 and whole_number("-1") is None and whole_number("9.5") is None
    assert rate_limit_header_problems(LIMIT_HEADERS, NOW) == []
    assert rate_limit_header_problems({}, NOW) == ["no X-RateLimit-Remaining", "no X-RateLimit-Reset"]
    delta = {**LIMIT_HEADERS, "x-ratelimit-reset": "30"}  # seconds to wait, not a Unix time
    millis = {**LIMIT_HEADERS, "x-ratelimit-reset": str(int(NOW * 1000))}
    assert all(len(rate_limit_header_problems(h, NOW)) == 1 for h in (delta, millis))


def test_retry_after_is_seconds_or_an_http_date() -> None:
    for good in ("30", "0", "Wed, 21 Oct 2015 07:28:00 GMT", "Sun Nov  6 08:49:37 1994"):
        assert retry_after_valid(good), good
    for bad in ("in a minute", "30s", "-5", "1.5", ""):
        assert not retry_after_valid(bad), bad


def test_rate_limit_checks() -> None:
    ok = answer(TASK, headers=LIMIT_HEADERS)
    assert check_rate_limit_headers(SPEC, ok, NOW) and check_rate_limits(SPEC, ok)
    broken("rate-limit-headers", check_rate_limit_headers, answer(TASK), NOW)
    assert not check_rate_limit_headers(SPEC, answer(TASK, operation_id="cancelTask"), NOW)  # not rate limited
    over = answer(TASK, headers={**LIMIT_HEADERS, "x-ratelimit-remaining": "5000"})
    assert "over its limit of 1000" in broken("rate-limits", check_rate_limits, over).detail
    limited = answer(problem(429, "rate_limited"), status=429, headers={**LIMIT_HEADERS, "retry-after": "30"})
    assert check_rate_limited_429(SPEC, limited, NOW) and check_retry_after(SPEC, limited)
    broken("rate-limited-429", check_rate_limited_429, answer(problem(429, "rate_limited"), status=429), NOW)
    other_code = answer(v1_error(429, "too_many"), version=None, status=429, headers=LIMIT_HEADERS)
    broken("rate-limited-429", check_rate_limited_429, other_code, NOW)
    blank = answer({**problem(429, "x"), "type": "about:blank"}, status=429, headers=LIMIT_HEADERS)
    assert check_rate_limited_429(SPEC, blank, NOW)  # a problem's type is problem-type-code's
    text = answer(problem(429, "rate_limited"), status=429, headers={"retry-after": "soon"})
    broken("retry-after-valid", check_retry_after, text)
    assert not check_retry_after(SPEC, answer(problem(429, "rate_limited"), status=429))  # none given: nothing to judge


def test_a_read_after_none_was_left_is_refused() -> None:
    zero = {**LIMIT_HEADERS, "x-ratelimit-remaining": "0"}
    assert none_left(zero, NOW) and not none_left(LIMIT_HEADERS, NOW)
    assert not none_left(zero, NOW + 30)  # the window has reset
    before = answer(TASK, headers=zero)
    limited = answer(problem(429, "rate_limited"), status=429, headers=zero)
    assert check_limit_enforced(SPEC, before, limited, NOW)
    found = broken("rate-limited-429", check_limit_enforced, before, answer(TASK, headers=zero), NOW)
    assert "X-RateLimit-Remaining 0" in found.detail
    assert not check_limit_enforced(SPEC, before, answer(TASK, operation_id="runTask"), NOW)  # another operation

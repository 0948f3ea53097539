"""Invalid run requests derived from the spec, and the checks of `invalid-run-refused` and `unknown-app-404`."""

from __future__ import annotations

import copy
import json
from typing import Any

import httpx
import pytest

from infsh_harness.contract.run_requests import (
    check_invalid_run_refused,
    check_invalid_runs_refused,
    check_unknown_app_404,
    invalid_run_requests,
    request_schema_name,
    unknown_app_names,
)
from infsh_harness.http.driver import Driver
from infsh_harness.http.observation import Observation
from infsh_harness.rules import ContractViolation
from infsh_harness.spec import Spec, load_spec

SPEC = load_spec()
BASE = {"app": "infsh/echo", "input": {"prompt": "hi"}}
SCHEMA = request_schema_name(SPEC)
# the documented version 1 error body (the suite sends no X-API-Version)
REFUSED = {"success": False, "status": 400, "error": {"code": "invalid_request", "message": "bad request"}}


def run_exchange(request: Any, status_code: int, body: Any = None, *, json_body: bool = True) -> Observation:
    return Observation(
        method="POST",
        url="http://127.0.0.1:1/run",
        path="/run",
        status_code=status_code,
        request_headers={"authorization": "Bearer [REDACTED]"},
        request_body=request,
        request_body_is_json=True,
        content_type="application/json" if json_body else "text/plain",
        body=body,
        body_is_json=json_body and body is not None,
        operation_id="runTask",
    )


def assert_names(rule_id: str, excinfo: pytest.ExceptionInfo[ContractViolation]) -> None:
    assert excinfo.value.rule_id == rule_id
    assert str(excinfo.value).startswith(SPEC.rule(rule_id).describe())


# --- the invalid bodies ---------------------------------------------------------------------------
CASES = invalid_run_requests(SPEC, BASE)


def test_request_schema_is_read_from_the_operation() -> None:
    assert SCHEMA == "RunRequest"


def test_every_case_breaks_the_schema_and_is_sent_once() -> None:
    assert 20 <= len(CASES) <= 80  # a few dozen requests, not a fuzzing run
    for case in CASES:
        assert SPEC.validate(SCHEMA, case.body) == list(case.errors) != [], case.label
    assert len({json.dumps(c.body, sort_keys=True) for c in CASES}) == len(CASES)


def test_cases_cover_every_property_required_field_root_and_condition() -> None:
    schema = SPEC.schema(SCHEMA)
    bodies = [c.body for c in CASES]
    for name in schema["properties"]:
        with_name = [b for b in bodies if isinstance(b, dict) and name in b]
        assert any(b[name] is None for b in with_name), f"{name}: no null"
        assert any(f"{name} of the wrong type" in c.label for c in CASES), f"{name}: no wrong type"
    for name in schema["required"]:
        assert {k: v for k, v in BASE.items() if k != name} in bodies
    assert [b for b in bodies if not isinstance(b, dict)], "no body that is not an object"
    # the spec's if/then: session_timeout without session "new"
    assert any(isinstance(b, dict) and "session_timeout" in b and "session" not in b for b in bodies)


def test_cases_break_each_constraint_of_the_spec() -> None:
    labels = " | ".join(c.label for c in CASES)
    for expected in (
        "infra breaking enum",
        "session breaking minLength",
        "app breaking pattern",
        "webhook breaking format",
        "session_timeout breaking minimum",
        "session_timeout breaking maximum",
        "workers[0] breaking minLength",
    ):
        assert expected in labels
    by_label = {c.label.split(" (")[0]: c for c in CASES}
    # a constraint broken alone where a value can do it: a server checking only the pattern still fails
    assert by_label["webhook breaking format"].errors[0].endswith("is not a 'uri'")
    assert len(by_label["webhook breaking format"].errors) == 1
    assert len(by_label["webhook breaking maxLength"].errors) == 1


def test_a_type_error_is_not_hidden_behind_the_session_condition() -> None:
    # session_timeout's cases come with session "new", so they break its type or bounds, not the if/then
    timeouts = [c for c in CASES if c.label.startswith("session_timeout of the wrong type")]
    assert timeouts and all(c.body.get("session") == "new" and len(c.errors) == 1 for c in timeouts)


def test_cases_follow_the_spec() -> None:
    document = copy.deepcopy(dict(SPEC.document))
    props = document["components"]["schemas"]["RunRequest"]["properties"]
    props["priority"] = {"type": "integer", "minimum": 1, "maximum": 5}
    props["infra"]["enum"] = ["cloud", "private", "edge"]
    cases = invalid_run_requests(Spec(document), BASE)
    bodies = [c.body for c in cases]
    assert {**BASE, "priority": 6} in bodies and {**BASE, "priority": 0} in bodies
    assert {**BASE, "priority": "1"} in bodies and {**BASE, "priority": None} in bodies
    assert {**BASE, "infra": "edge"} not in bodies


def test_an_invalid_base_is_refused() -> None:
    with pytest.raises(ValueError, match="not a valid RunRequest"):
        invalid_run_requests(SPEC, {"app": "infsh/echo", "input": "x"})


def test_unknown_app_names_are_valid_and_unique() -> None:
    names = unknown_app_names(SPEC, BASE, "abc123")
    assert len(names) == len(set(names)) == 3
    assert all("abc123" in n and SPEC.validate(SCHEMA, {**BASE, "app": n}) == [] for n in names)
    assert any(n.startswith("infsh/") for n in names) and any("@" in n for n in names)


# --- invalid-run-refused ----------------------------------------------------------------------------
def test_refusals_pass() -> None:
    for status in (400, 404, 409, 422):
        check_invalid_run_refused(SPEC, run_exchange({**BASE, "infra": "moon"}, status, REFUSED))
    check_invalid_run_refused(SPEC, run_exchange(None, 400, REFUSED))
    # a valid body is not this rule's business, whatever it got
    check_invalid_run_refused(SPEC, run_exchange(BASE, 500, "oops", json_body=False))


@pytest.mark.parametrize(
    ("status", "body", "json_body", "says"),
    [
        (200, {"id": "t1"}, True, "got 200, not a 4xx"),
        (500, REFUSED, True, "got 500, not a 4xx"),
        (422, {"message": "bad"}, True, "without the Error body"),
        (409, {"message": "bad"}, True, "without the Error body"),  # undocumented 4xx: the shared schema
        (422, "bad", False, "not JSON"),
    ],
)
def test_an_accepted_or_badly_refused_invalid_run_names_the_rule(
    status: int, body: Any, json_body: bool, says: str
) -> None:
    obs = run_exchange({**BASE, "session": ""}, status, body, json_body=json_body)
    with pytest.raises(ContractViolation) as excinfo:
        check_invalid_run_refused(SPEC, obs)
    assert_names("invalid-run-refused", excinfo)
    assert says in str(excinfo.value) and '"session": ""' in str(excinfo.value)
    assert excinfo.value.evidence is obs


def test_many_accepted_runs_name_the_first_and_count_the_rest() -> None:
    answers = [run_exchange(c.body, 200, {"id": "t"}) for c in CASES[:4]]
    answers.insert(0, run_exchange(CASES[5].body, 422, REFUSED))
    with pytest.raises(ContractViolation) as excinfo:
        check_invalid_runs_refused(SPEC, answers)
    assert_names("invalid-run-refused", excinfo)
    assert excinfo.value.evidence is answers[1]
    assert "and 3 more" in str(excinfo.value)
    check_invalid_runs_refused(SPEC, answers[:1])


# --- unknown-app-404 ------------------------------------------------------------------------------
def test_unknown_app_404() -> None:
    request = {**BASE, "app": "nobody/nothing"}
    not_found = {"success": False, "status": 404, "error": {"code": "not_found", "message": "app not found"}}
    check_unknown_app_404(SPEC, run_exchange(request, 404, not_found))
    for status, body in ((200, {"id": "t1"}), (422, REFUSED), (404, {"message": "nope"})):
        with pytest.raises(ContractViolation) as excinfo:
            check_unknown_app_404(SPEC, run_exchange(request, status, body))
        assert_names("unknown-app-404", excinfo)
        assert "nobody/nothing" in str(excinfo.value)


# --- the driver ---------------------------------------------------------------------------------
def test_target_sends_any_json_body() -> None:
    seen: list[httpx.Request] = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(400, json=REFUSED)

    with Driver("http://127.0.0.1:1", "inf_k", SPEC, transport=httpx.MockTransport(answer)) as target:
        obs = target.run_raw(None, wait=False)
    assert seen[0].content == b"null" and seen[0].headers["content-type"] == "application/json"
    assert seen[0].url.params["wait"] == "false"
    assert obs.request_body is None and obs.request_body_is_json and obs.status_code == 400
    check_invalid_run_refused(SPEC, obs)

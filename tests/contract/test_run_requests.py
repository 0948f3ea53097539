"""Invalid run requests derived from the spec (each with the rule its constraint falls under), and their checks."""

from __future__ import annotations

import copy
import json
from typing import Any

import httpx
import pytest

from infsh_harness.contract.run_requests import invalid_run_requests, request_schema_name, unknown_app_names
from infsh_harness.http.driver import Driver
from infsh_harness.http.observation import Observation
from infsh_harness.rules import ContractViolation
from infsh_harness.rules.requests import (
    INVALID_RUN,
    RUN_CONSTRAINTS,
    check_run_refused,
    check_runs_refused,
    check_unknown_app_404,
)
from infsh_harness.spec import Spec, load_spec

SPEC = load_spec()
BASE = {"app": "infsh/echo", "input": {"prompt": "hi"}}
SCHEMA = request_schema_name(SPEC)
# a documented error body (version 1's; which body is rule error-shape's business)
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


# --- invalid-run-refused, run-constraints-refused -------------------------------------------------
def test_each_case_knows_its_rule() -> None:
    by_label = {c.label.split(" (")[0]: c.rule_id for c in CASES}
    assert by_label["without app"] == by_label["infra breaking enum"] == INVALID_RUN
    assert by_label["webhook breaking pattern"] == by_label["workers[0] breaking minLength"] == RUN_CONSTRAINTS
    assert {c.rule_id for c in CASES} == {INVALID_RUN, RUN_CONSTRAINTS}


def test_refusals_pass() -> None:
    for status in (400, 404, 409, 422):  # any 4xx: which one is rule error-code-status' business
        assert check_run_refused(SPEC, run_exchange({**BASE, "infra": "moon"}, status, REFUSED))
    assert check_run_refused(SPEC, run_exchange(None, 400, REFUSED))
    # a valid body is not this rule's business, whatever it got
    assert not check_run_refused(SPEC, run_exchange(BASE, 500, "oops", json_body=False))


@pytest.mark.parametrize(
    ("body", "status", "rule"),
    [
        ({**BASE, "infra": "moon"}, 200, INVALID_RUN),
        ({**BASE, "infra": "moon"}, 500, INVALID_RUN),
        ({**BASE, "session": ""}, 200, RUN_CONSTRAINTS),
    ],
)
def test_an_accepted_invalid_run_names_the_rule_of_its_constraint(body: Any, status: int, rule: str) -> None:
    obs = run_exchange(body, status, {"id": "t1"})
    with pytest.raises(ContractViolation) as excinfo:
        check_run_refused(SPEC, obs)
    assert_names(rule, excinfo)
    assert f"got {status}, not a 4xx" in str(excinfo.value) and excinfo.value.evidence is obs


def test_many_accepted_runs_name_the_first_and_count_the_rest() -> None:
    cases = [c for c in CASES if c.rule_id == INVALID_RUN]
    answers = [run_exchange(c.body, 200, {"id": "t"}) for c in cases[:4]]
    answers.insert(0, run_exchange(cases[5].body, 422, REFUSED))
    [found] = check_runs_refused(SPEC, answers)
    assert found.rule_id == INVALID_RUN and found.evidence is answers[1]
    assert "and 3 more" in str(found)
    assert check_runs_refused(SPEC, answers[:1]) == []


# --- unknown-app-404 ------------------------------------------------------------------------------
def test_unknown_app_404() -> None:
    request = {**BASE, "app": "nobody/nothing"}
    assert check_unknown_app_404(SPEC, run_exchange(request, 404, {"message": "a body is error-shape's business"}))
    for status, body in ((200, {"id": "t1"}), (400, REFUSED)):
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
    assert check_run_refused(SPEC, obs)

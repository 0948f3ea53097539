"""Refusals: which rule an invalid run falls under depends on where the constraint it breaks comes from."""

from __future__ import annotations

from typing import Any

import pytest

from infsh_harness.http.observation import Observation
from infsh_harness.rules import ContractViolation
from infsh_harness.rules.requests import (
    INVALID_RUN,
    RUN_CONSTRAINTS,
    broken_run_rule,
    check_isolated,
    check_isolation_404,
    check_run_refused,
    check_runs_refused,
    check_unknown_app_404,
)
from infsh_harness.spec import load_spec

SPEC = load_spec()
BASE = {"app": "infsh/echo", "input": {"p": 1}}


def run(request: Any, status: int, query: str = "") -> Observation:
    return Observation(
        method="POST", url=f"http://127.0.0.1:1/run{query}", path="/run", status_code=status,
        request_headers={"authorization": "Bearer [REDACTED]"}, request_body=request, request_body_is_json=True,
        content_type="application/json", body={"error": "x"}, body_is_json=True, operation_id="runTask",
    )  # fmt: skip


@pytest.mark.parametrize(
    ("body", "query", "rule"),
    [
        ({**BASE, "webhook": "ftp://host.invalid/x"}, {}, RUN_CONSTRAINTS),  # the pattern is ours
        ({**BASE, "workers": [""]}, {}, RUN_CONSTRAINTS),
        ({**BASE, "app": "not valid!"}, {}, RUN_CONSTRAINTS),
        ({**BASE, "session": ""}, {}, RUN_CONSTRAINTS),
        (BASE, {"wait": "maybe"}, RUN_CONSTRAINTS),
        ({"input": {}}, {}, INVALID_RUN),  # "app | string | Yes"
        ({**BASE, "infra": "edge"}, {}, INVALID_RUN),
        ({**BASE, "webhook": "http://bad host.invalid/x"}, {}, INVALID_RUN),  # no URL at all
        ({**BASE, "session_timeout": 30}, {}, INVALID_RUN),  # only with session "new"
        ({"input": {}, "workers": [""]}, {}, INVALID_RUN),  # a stated break is enough, whatever else
        ([BASE], {}, INVALID_RUN),
    ],
)
def test_an_invalid_run_falls_under_the_rule_of_its_constraint(body: Any, query: dict[str, str], rule: str) -> None:
    broken = broken_run_rule(SPEC, body, query)
    assert broken is not None and broken[0] == rule


def test_a_valid_run_breaks_nothing() -> None:
    assert broken_run_rule(SPEC, BASE, {"wait": "false"}) is None
    assert check_run_refused(SPEC, run(BASE, 200)) is False


def test_accepting_an_invalid_run_names_its_rule_and_a_refusal_is_enough() -> None:
    assert check_run_refused(SPEC, run({"input": {}}, 400)) is True
    assert check_run_refused(SPEC, run({**BASE, "workers": [""]}, 409)) is True  # any 4xx: which one is not this rule's
    for body, rule in (({"input": {}}, INVALID_RUN), ({**BASE, "workers": [""]}, RUN_CONSTRAINTS)):
        with pytest.raises(ContractViolation) as excinfo:
            check_run_refused(SPEC, run(body, 200))
        assert excinfo.value.rule_id == rule and excinfo.value.source.kind == SPEC.rule(rule).source.kind


def test_many_accepted_runs_give_one_violation_per_rule() -> None:
    answers = [run({"input": {}}, 200), run({"input": 1}, 500), run({**BASE, "session": ""}, 200)]
    found = check_runs_refused(SPEC, answers)
    assert sorted(v.rule_id for v in found) == [INVALID_RUN, RUN_CONSTRAINTS]
    assert "and 1 more" in next(str(v) for v in found if v.rule_id == INVALID_RUN)


def test_unknown_app_and_other_keys_tasks() -> None:
    assert check_unknown_app_404(SPEC, run({**BASE, "app": "nobody/nothing"}, 404)) is True
    with pytest.raises(ContractViolation, match="unknown-app-404"):
        check_unknown_app_404(SPEC, run({**BASE, "app": "nobody/nothing"}, 200))
    forbidden = Observation(method="GET", url="http://127.0.0.1:1/tasks/t1", path="/tasks/t1", status_code=403,
                            operation_id="getTask")  # fmt: skip
    assert check_isolated(SPEC, forbidden, "t1") is True  # refused: the documented part holds
    with pytest.raises(ContractViolation) as excinfo:
        check_isolation_404(SPEC, forbidden, "t1")  # but not as an unknown id: the convention differs
    assert excinfo.value.rule.is_convention

"""schemathesis' findings folded into rules by their codes, and the three reports written from one result."""

from __future__ import annotations

import json
from pathlib import Path
from xml.etree import ElementTree

import pytest

from infsh_harness.contract.schemathesis_fold import StFinding, fold, parse_findings, rule_of
from infsh_harness.contract.schemathesis_run import SchemathesisResult
from infsh_harness.contract.summary import ItemOutcome, RunInfo, SuiteResult, junit_xml, render_summary, summary_data
from infsh_harness.rules import Tally, exit_code, violation
from infsh_harness.spec import load_spec

SPEC = load_spec()
JUNIT_TEXT = """1. Test Case ID: abc

- ST103 Undocumented status code

    Received: 409
    Documented: 200, 401, 404

- ST901 Custom check failed: `json_content_type`

    [json-content-type] Answers with a body are JSON: a 409 answer has a body of text/plain (POST /x -> 409)

[409] Conflict:

    `already ended`

Reproduce with:

    curl -X POST http://127.0.0.1:1/tasks/t/cancel

2. Test Case ID: def

- ST101 Server error

[500] Internal Server Error:
"""


def st_result(tmp_path: Path, failures: dict[str, list[str]]) -> SchemathesisResult:
    return SchemathesisResult(0, 1.0, tmp_path / "j.xml", tmp_path / "h.har", tmp_path / "o.txt", failures, {},
                              list(failures))  # fmt: skip


def test_findings_are_read_with_their_codes_and_statuses(tmp_path: Path) -> None:
    found = parse_findings(st_result(tmp_path, {"POST /tasks/{id}/cancel": [JUNIT_TEXT]}))
    assert [(f.code, f.status) for f in found] == [("ST103", 409), ("ST901", 409), ("ST101", 500)]
    assert found[0].details.startswith("Received: 409")


@pytest.mark.parametrize(
    ("code", "title", "details", "status", "rule"),
    [
        ("ST103", "Undocumented status code", "Received: 409", 409, "documented-responses"),  # a convention
        ("ST101", "Server error", "", 500, "no-server-error"),  # http
        ("ST105", "Undocumented Content-Type", "Received: application/problem+json", 404, "documented-responses"),
        ("ST105", "Undocumented Content-Type", "Received: text/plain; charset=utf-8", 404, "json-content-type"),
        ("ST204", "Unsupported methods", "DELETE returned 405 without required `Allow` header", 405,
         "method-not-allowed"),
        ("ST204", "Unsupported methods", "DELETE returned 404, expected 405 Method Not Allowed", 404,
         "documented-responses"),
        ("ST108", "Response violates schema", "...", 200, "response-shape"),
        ("ST108", "Response violates schema", "...", 404, "error-body"),
        ("ST901", "Custom check failed: `status_known`", "[status-known] A task's ...", 200, "status-known"),
        ("ST901", "Custom check failed: `task_history`", "[terminal-final] Terminal ...", 200, "terminal-final"),
        ("ST999", "Something new", "", 200, None),
    ],
)  # fmt: skip
def test_each_finding_is_folded_into_the_rule_it_is_evidence_about(
    code: str, title: str, details: str, status: int, rule: str | None
) -> None:
    assert rule_of(SPEC, StFinding("POST /run", code, title, details, status)) == rule


def test_a_folded_finding_is_judged_by_its_rule_s_source() -> None:
    found, unknown = fold(SPEC, [StFinding("POST /run", "ST103", "Undocumented status code", "Received: 409", 409),
                                 StFinding("POST /run", "ST999", "new", "", None)])  # fmt: skip
    [undocumented] = found
    assert undocumented.rule.is_convention and "ST103" in str(undocumented) and [f.code for f in unknown] == ["ST999"]


def a_result(mode: str = "default", interrupted: bool = False) -> SuiteResult:
    tally = Tally(SPEC, mode)
    for rule_id in ("status-known", "cancel-idempotent", "task-isolation"):
        tally.tested_by(rule_id, f"suite/test_x.py::test_{rule_id}")
    tally.ran("status-known", 4)
    tally.saw(violation(SPEC, "cancel-idempotent", "cancelling task t, already 9 (Completed), got 409"))
    tally.unchecked("task-isolation", "needs a second key: set INFSH_API_KEY_2")
    results = tally.results()
    info = RunInfo("http://127.0.0.1:1", "quick", 7, 2.5, mode=mode, interrupted=interrupted,
                   stopped_test="suite/test_x.py::test_status-known" if interrupted else None)  # fmt: skip
    code = exit_code(results, interrupted=interrupted)
    return SuiteResult(info, results, code, [ItemOutcome("suite/test_x.py::test_status-known", "passed")])


def test_the_three_reports_say_the_same() -> None:
    result = a_result()
    data = summary_data(result)
    assert (data["mode"], data["exit_code"], data["verdict"]) == ("default", 0, "pass")
    assert [(r["id"], r["verdict"]) for r in data["rules"]] == [
        ("status-known", "honoured"), ("cancel-idempotent", "differs"), ("task-isolation", "unchecked")
    ]  # fmt: skip
    assert data["rules"][2]["reason"] == "needs a second key: set INFSH_API_KEY_2"
    assert json.loads(json.dumps(data)) == data
    text = render_summary(result)
    assert "**No rule broken.**" in text and "1 unchecked: task-isolation." in text
    assert "1 convention(s) done differently: cancel-idempotent." in text
    assert "**documented**" in text and "**differs**" in text  # the sources and verdicts explained
    suite = ElementTree.fromstring(junit_xml(result)).find("testsuite")
    assert suite is not None
    cases = {c.get("name"): c for c in suite.iter("testcase")}
    assert cases["cancel-idempotent"].get("classname") == "contract.convention"
    assert cases["task-isolation"].find("skipped") is not None and cases["status-known"].find("failure") is None
    assert suite.get("failures") == "0" and suite.get("skipped") == "1"


def test_strict_mode_fails_the_convention_in_every_report() -> None:
    result = a_result("strict")
    assert summary_data(result)["broken"] == ["cancel-idempotent"] and result.exit_code == 1
    assert "broken (strict: conventions count): cancel-idempotent" in render_summary(result)
    suite = ElementTree.fromstring(junit_xml(result)).find("testsuite")
    assert suite is not None and suite.get("failures") == "1"


def test_an_interrupted_run_says_so_and_where() -> None:
    result = a_result(interrupted=True)
    data = summary_data(result)
    assert (data["verdict"], data["exit_code"], data["interrupted"]) == ("interrupted", 130, True)
    assert "**Interrupted** during `test_status-known`" in render_summary(result)
    assert 'type="interrupted"' in junit_xml(result)

"""The part readers: each summary format read into what the page shows, optional keys tolerated."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from infsh_harness.report.model import Missing
from infsh_harness.report.read_contract import ContractPart, read_contract
from infsh_harness.report.read_drift import DriftPart, read_drift
from infsh_harness.report.read_load import LoadPart, read_load
from infsh_harness.report.read_run import read_run
from infsh_harness.report.redact import REDACTED, Redactor

FIXTURES = Path(__file__).resolve().parent / "fixtures"
NO_KEYS = Redactor()


def _contract(tmp_path: Path, document: object) -> Path:
    (tmp_path / "summary.json").write_text(json.dumps(document), encoding="utf-8")
    return tmp_path


def test_contract_rules_of_the_new_summary_with_their_sources_worst_first() -> None:
    part = read_contract(FIXTURES / "contract", NO_KEYS)
    assert isinstance(part, ContractPart)
    assert [r.id for r in part.rules] == ["status-order", "json-content-type", "one-webhook", "stable-fields",
                                          "unknown-task-404"]  # fmt: skip
    order = {r.id: r for r in part.rules}
    assert order["status-order"].source.kind == "documented" and order["status-order"].source.quote.startswith("Stat")
    assert order["unknown-task-404"].source.cite == "RFC 9110 §15.5.5"
    assert order["json-content-type"].verdict == "differs" and order["json-content-type"].evidence == 17
    # a rule with only id, title and verdict: no source stated, no evidence count, no tests
    bare = order["stable-fields"]
    assert (bare.source.kind, bare.evidence, bare.tests, bare.reason) == ("not stated", None, (), "")
    assert part.sources == ("documented", "http", "convention", "not stated")
    assert part.verdict.word == "fail" and "1 of 5 rules broken: status-order" in part.verdict.text
    assert "1 differs from our conventions" in part.verdict.text and "1 could not be checked" in part.verdict.text
    assert part.schemathesis == (("POST /run", True), ("GET /tasks/{id}", True), ("Stateful tests", False))


def test_contract_verdict_follows_the_exit_code_and_the_mode(tmp_path: Path) -> None:
    rules = [{"id": "a", "verdict": "honoured"}, {"id": "b", "verdict": "differs"}]
    passed = read_contract(_contract(tmp_path, {"mode": "strict", "exit_code": 0, "rules": rules}), NO_KEYS)
    assert isinstance(passed, ContractPart) and passed.verdict.word == "pass"
    assert "strict mode: they fail the run" in passed.verdict.text
    crashed = read_contract(_contract(tmp_path, {"exit_code": 2, "rules": rules}), NO_KEYS)
    assert crashed.verdict.word == "could not run" and "exit 2" in crashed.verdict.text
    odd_rules = [{"id": "a", "verdict": "sideways"}, {"title": "no id"}]
    odd = read_contract(_contract(tmp_path, {"rules": odd_rules}), NO_KEYS)
    assert isinstance(odd, ContractPart) and [(r.id, r.verdict) for r in odd.rules] == [("a", "unchecked")]


def test_contract_summary_of_the_earlier_shape_is_read_too(tmp_path: Path) -> None:
    document = {
        "exit_status": 1,
        "rules": {
            "status-order": {"verdict": "BROKEN", "tests": ["t.py::test_status_order"]},
            "status-known": {"verdict": "honoured", "tests": []},
            "one-webhook": {"verdict": "not checked (test error)", "tests": []},
        },
        "schemathesis": None,
    }
    part = read_contract(_contract(tmp_path, document), NO_KEYS)
    assert isinstance(part, ContractPart)
    assert [(r.id, r.verdict, r.reason) for r in part.rules] == [
        ("status-order", "broken", ""), ("one-webhook", "unchecked", "not checked (test error)"),
        ("status-known", "honoured", ""),
    ]  # fmt: skip
    assert part.rules[0].title == "A task's statuses only advance in the documented order"  # from the spec
    assert part.verdict.word == "fail" and part.schemathesis is None


def test_a_missing_or_broken_summary_is_a_part_that_could_not_run(tmp_path: Path) -> None:
    missing = read_contract(tmp_path, NO_KEYS, exit_code=2)
    assert isinstance(missing, Missing) and missing.verdict.word == "could not run"
    assert "exited 2" in missing.verdict.text and "summary.json was not written" in missing.verdict.text
    (tmp_path / "summary.json").write_text("{not json", encoding="utf-8")
    assert "is not JSON" in read_load(tmp_path, NO_KEYS).verdict.text
    (tmp_path / "drift.json").write_text("[]", encoding="utf-8")
    assert "is not a JSON object" in read_drift(tmp_path, NO_KEYS).verdict.text


def test_load_scenarios_arrival_validity_comparison_and_history() -> None:
    part = read_load(FIXTURES / "load", NO_KEYS)
    assert isinstance(part, LoadPart)
    assert part.verdict.word == "error" and part.history_runs == 2
    wait, poll, cancel = part.scenarios
    assert (wait.verdict.word, poll.verdict.word, cancel.verdict.word) == ("pass", "invalid", "could not run")
    assert poll.verdict.text == "the generator was saturated: 480 starts dropped"
    assert "ConnectionRefusedError" in cancel.verdict.text and cancel.charts == ()
    assert wait.arrival is not None and (wait.arrival.asked_rate, wait.arrival.dropped_starts) == (400.0, 0)
    regression, steady = part.comparisons
    assert regression.regression is True and round(regression.change or 0, 1) == 3.4
    assert round(regression.relative or 0, 2) == 0.17 and steady.regression is False
    charts = {c.key: c for c in wait.charts}
    # every custom metric and the requests together; an HTTP entry only because an objective bounds it
    assert set(charts) == {"requests", "POST /run", "time_to_terminal"}
    ttt = charts["time_to_terminal"]
    assert sum(ttt.histogram.values()) == next(e.count for e in wait.entries if e.key == "time_to_terminal")
    assert ttt.per_second and ttt.per_second[0][0] == 0
    assert [(c.statistic, c.limit) for c in ttt.ceilings] == [("p50", 40.0), ("p95", 150.0), ("p99", 500.0)]
    assert [p.label for p in ttt.history] == ["2026-11-29T10:00:00Z", "2026-11-30T10:00:00Z", "2026-12-01T19:10:09Z"]
    assert ttt.history[-1].current and ttt.history[-1].values["p95"] == 23.4
    assert charts["POST /run"].per_second == () and charts["POST /run"].panels == ("distribution", "history")


def test_load_summary_without_the_optional_fields(tmp_path: Path) -> None:
    summary = json.loads((FIXTURES / "load" / "summary.json").read_text())
    for key in ("validity", "comparison", "history"):
        del summary[key]
    for s in summary["scenarios"]:
        s.pop("arrival", None)
        s.pop("validity", None)
    summary["verdict"] = "pass"
    (tmp_path / "summary.json").write_text(json.dumps(summary), encoding="utf-8")
    part = read_load(tmp_path, NO_KEYS)  # no stats or timeline files either: charts with no samples
    assert isinstance(part, LoadPart) and part.verdict.word == "pass"
    assert (part.comparisons, part.history_runs, part.notes) == ((), 0, ())
    assert all(s.arrival is None for s in part.scenarios) and part.scenarios[1].verdict.word == "pass"
    chart = part.scenarios[0].charts[0]
    assert chart.histogram == {} and chart.per_second == () and chart.history == ()


def test_an_unreadable_history_is_said_not_fatal(tmp_path: Path) -> None:
    shutil.copytree(FIXTURES / "load", tmp_path, dirs_exist_ok=True)
    (tmp_path / "history.jsonl").write_text("{broken\n", encoding="utf-8")
    part = read_load(tmp_path, NO_KEYS)
    assert isinstance(part, LoadPart) and part.history_runs == 0
    assert part.notes and "history.jsonl could not be read" in part.notes[0]


def test_drift_findings_grouped_by_severity_with_redacted_evidence() -> None:
    part = read_drift(FIXTURES / "drift", Redactor(["custom-secret-value"]))
    assert isinstance(part, DriftPart) and part.verdict.word == "fail"
    assert [(severity, len(found)) for severity, found in part.groups] == [("breaking", 2), ("warning", 1), ("info", 1)]
    first, accepted = part.groups[0][1]
    assert (first.status, accepted.status) == ("fails", "accepted") and (part.new, part.accepted) == (3, 1)
    assert first.where == "runTask (POST /run)" and '"scenario": "run-default-wait"' in first.evidence
    assert "inf_fixture_secret_key" not in first.evidence and "custom-secret-value" not in first.evidence
    assert f"Bearer {REDACTED}" in first.evidence and f"token={REDACTED}" in first.evidence
    assert part.resolved == ("envelope-0123456789ab",) and part.notes == ("a note from the probe",)
    informational = read_drift(FIXTURES / "drift", NO_KEYS, exit_code=1, informational=True)
    assert informational.verdict.word == "drift (informational)" and informational.verdict.tone == "warn"


def test_the_run_record_and_its_verdict(tmp_path: Path) -> None:
    steps = [
        {"name": "contract", "exit_code": 0, "seconds": 3.0, "gating": True, "log": "logs/contract.log"},
        {"name": "load", "exit_code": 2, "gating": True},
        {"name": "drift-wire", "part": "drift", "exit_code": 1, "gating": False},
    ]
    (tmp_path / "run.json").write_text(json.dumps({"target": "http://x", "steps": steps, "skipped": ["drift"]}))
    run = read_run(tmp_path, NO_KEYS)
    assert [(s.name, s.part, s.verdict.word) for s in run.steps] == [
        ("contract", "contract", "pass"), ("load", "load", "could not run"),
        ("drift-wire", "drift", "exit 1 (informational)"), ("drift", "drift", "not run"),
    ]  # fmt: skip
    assert run.verdict.word == "fail" and run.verdict.text == "1 of 2 steps did not pass: load could not run."
    assert read_run(tmp_path / "nowhere", NO_KEYS).verdict.word == "could not run"


def test_redaction_of_key_shapes_and_given_keys() -> None:
    redactor = Redactor(["s3cr3t-value", None, "short"])
    assert redactor.text("Bearer inf_abc-123 and s3cr3t-value, short") == f"Bearer {REDACTED} and {REDACTED}, short"
    assert redactor.json({"inf_key_as_name": ["x inf_y", 3, None]}) == {REDACTED: [f"x {REDACTED}", 3, None]}
    assert "s3cr3t" not in repr(redactor) and "winf_x" == redactor.text("winf_x")

"""The part readers: each summary format read into what the page shows, optional keys tolerated."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from infsh_harness.load.history import list_runs, measures_of
from infsh_harness.load.results import read_timeline
from infsh_harness.report.model import Missing
from infsh_harness.report.read_contract import ContractPart, read_contract
from infsh_harness.report.read_drift import DriftPart, read_drift
from infsh_harness.report.read_load import LoadPart, read_load
from infsh_harness.report.read_run import read_run, step_verdict
from infsh_harness.report.redact import REDACTED, Redactor

FIXTURES = Path(__file__).resolve().parent / "fixtures"
NO_KEYS = Redactor()


def _write(folder: Path, document: object) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "summary.json").write_text(json.dumps(document), encoding="utf-8")
    return folder


def _fixture(part: str) -> dict[str, Any]:
    document: dict[str, Any] = json.loads((FIXTURES / part / "summary.json").read_text(encoding="utf-8"))
    return document


def test_contract_rules_of_a_real_summary_with_their_sources_worst_first() -> None:
    summary = _fixture("contract")  # infsh-harness contract --profile quick, one seeded bug (fixtures/regenerate.py)
    part = read_contract(FIXTURES / "contract", NO_KEYS)
    assert isinstance(part, ContractPart)
    assert [part.count(v) for v in ("broken", "differs", "unchecked", "honoured")] == [1, 5, 1, 25]
    assert {v: part.count(v) for v in summary["counts"]} == summary["counts"]
    ranks = [r.rank for r in part.rules]
    assert ranks == sorted(ranks) and part.rules[0].id == "completed-has-output"
    written = {r["id"]: r for r in summary["rules"]}
    for row in part.rules:
        raw = written[row.id]
        assert (row.title, row.verdict, row.evidence, row.reason, list(row.tests)) == (
            raw["title"], raw["verdict"], raw["evidence"], raw["reason"], raw["tests"])  # fmt: skip
        assert row.source.kind == raw["source"]["kind"] and list(row.violations) == raw["violations"][:5]
    rules = {r.id: r for r in part.rules}
    broken = rules["completed-has-output"]
    assert broken.source.page == "tasks-api-docs.md" and broken.source.quotes == tuple(
        written["completed-has-output"]["source"]["quote"])  # a documented rule resting on two sentences
    assert rules["unknown-task-404"].source.quotes == ("| `not_found` | 404 | Resource not found |",)
    assert rules["no-server-error"].source.cite.startswith("RFC 9110 §15.6")
    assert rules["cancel-flag"].source.reason.startswith("The page's one example")
    assert len(written["error-body"]["violations"]) > 5 and len(rules["error-body"].violations) == 5
    assert part.sources == ("documented", "http", "convention")
    assert part.verdict.word == "fail" and part.verdict.text == (
        "1 of 32 rules broken: completed-has-output; 5 differ from our conventions; 1 could not be checked.")
    assert (part.mode, part.profile, part.seed) == ("default", "quick", 7)
    assert part.schemathesis == tuple(summary["schemathesis"]["scenarios"].items())


def test_contract_verdict_follows_the_exit_code_a_stop_and_an_interruption(tmp_path: Path) -> None:
    summary = _fixture("contract")
    interrupted = read_contract(_write(tmp_path / "i", {**summary, "interrupted": True, "exit_code": 130}), NO_KEYS)
    assert interrupted.verdict.word == "interrupted" and "what was judged before" in interrupted.verdict.text
    stop = {"reason": "the target stopped answering", "test": "test_cancel.py::test_cancel_running",
            "rules": ["cancel-running"]}  # fmt: skip
    stopped = read_contract(_write(tmp_path / "s", {**summary, "exit_code": 2, "stopped": stop}), NO_KEYS)
    assert stopped.verdict.word == "could not run"
    assert stopped.verdict.text.startswith("The suite could not complete: the target stopped answering while "
                                           "checking cancel-running; 5 differ")  # fmt: skip
    crashed = read_contract(_write(tmp_path / "c", {**summary, "exit_code": 2}), NO_KEYS)
    assert crashed.verdict.word == "could not run" and "exit 2" in crashed.verdict.text
    mended = [{**r, "verdict": "honoured"} if r["verdict"] == "broken" else r for r in summary["rules"]]
    passed = read_contract(_write(tmp_path / "p", {**summary, "exit_code": 0, "rules": mended}), NO_KEYS)
    assert passed.verdict.word == "pass" and passed.verdict.text.startswith("No rule broken: 26 of 32 honoured")
    strict = read_contract(_write(tmp_path / "t", {**summary, "mode": "strict"}), NO_KEYS)
    assert "rules broken (strict mode: our conventions count)" in strict.verdict.text
    odd_rules = [{"id": "a", "verdict": "sideways"}, {"title": "no id"}, "not a rule"]
    odd = read_contract(_write(tmp_path / "o", {"exit_code": 0, "rules": odd_rules}), NO_KEYS)
    assert isinstance(odd, ContractPart) and [(r.id, r.verdict, r.source.kind) for r in odd.rules] == [
        ("a", "unchecked", "not stated")]  # fmt: skip


def test_a_contract_summary_of_another_shape_is_said_not_guessed(tmp_path: Path) -> None:
    earlier = {"exit_status": 1, "rules": {"status-order": {"verdict": "BROKEN", "tests": []}}}
    part = read_contract(_write(tmp_path, earlier), NO_KEYS, exit_code=1)
    assert isinstance(part, Missing) and part.verdict.word == "could not run"
    assert "it is not a contract summary of this version" in part.verdict.text


def test_a_missing_or_broken_summary_is_a_part_that_could_not_run(tmp_path: Path) -> None:
    missing = read_contract(tmp_path, NO_KEYS, exit_code=2)
    assert isinstance(missing, Missing) and missing.verdict.word == "could not run"
    assert "exited 2" in missing.verdict.text and "summary.json was not written" in missing.verdict.text
    (tmp_path / "summary.json").write_text("{not json", encoding="utf-8")
    assert "is not JSON" in read_load(tmp_path, NO_KEYS).verdict.text
    (tmp_path / "drift.json").write_text("[]", encoding="utf-8")
    assert "is not a JSON object" in read_drift(tmp_path, NO_KEYS).verdict.text


def test_a_summary_written_before_the_step_started_is_an_earlier_runs(tmp_path: Path) -> None:
    shutil.copytree(FIXTURES / "load", tmp_path / "load")
    written = (tmp_path / "load" / "summary.json").stat().st_mtime
    stale = read_load(tmp_path / "load", NO_KEYS, exit_code=2, not_before=written + 60)
    assert isinstance(stale, Missing) and "summary.json is from an earlier run" in stale.verdict.text
    assert isinstance(read_load(tmp_path / "load", NO_KEYS, exit_code=1, not_before=written - 60), LoadPart)


def test_load_scenarios_arrival_validity_comparison_and_history() -> None:
    # the third of three real runs, compared with the second through --baseline last, against a mock 25 ms slower
    summary = _fixture("load")
    part = read_load(FIXTURES / "load", NO_KEYS)
    assert isinstance(part, LoadPart)
    assert part.verdict.word == "fail" and part.verdict.text == "1 objective breached, 7 regressions against run 2."
    assert part.load == "open model: 20 tasks started per second per scenario" and part.invalid == ()
    wait, poll = part.scenarios
    assert (wait.verdict.word, poll.verdict.word) == ("pass", "fail") and poll.verdict.text == (
        "1 objective of 9 breached.")  # fmt: skip
    assert [(c.measure, c.quantile) for c in wait.regressions] == [
        ("POST /run", "p50"), ("time_to_terminal", "p50"), ("requests", "p50")]  # fmt: skip
    for view, raw in zip(part.scenarios, summary["scenarios"], strict=True):
        arrivals = raw["arrivals"]
        assert view.arrival is not None and (view.arrival.asked_rate, view.arrival.started, view.arrival.dropped,
                                             view.arrival.late, view.arrival.lag_ms["max"]) == (
            arrivals["asked_rate"], arrivals["started"], arrivals["dropped"], arrivals["late"],
            arrivals["lag_ms"]["max"])  # fmt: skip
        assert [p.node for p in view.generator] == [p["node"] for p in raw["generator"]["processes"]]
    # the baseline: every comparison the load part made, read into its own Comparison
    assert part.baseline is not None and part.baseline.run_id == 2
    assert [c.as_json()["message"] for c in part.comparisons] == [c["message"] for c in
                                                                  summary["baseline"]["comparisons"]]  # fmt: skip
    first = part.comparisons[0]
    assert (first.verdict, first.judged, first.change, round(first.relative or 0, 2)) == ("regression", True, 24.8,
                                                                                          1.36)  # fmt: skip
    assert [c.describe() for c in part.baseline.regressions] == summary["regressions"]
    assert {c.verdict for c in part.comparisons} >= {"regression", "same"}
    # the charts: each custom metric, the requests together, and an HTTP entry an objective bounds
    assert [c.key for c in wait.charts] == ["requests", "POST /run", "time_to_terminal"]
    assert [c.key for c in poll.charts] == ["requests", "GET /tasks/{id}", "polls_to_terminal", "time_to_terminal"]
    timeline = read_timeline(FIXTURES / "load" / "run_wait_timeline.json")
    assert timeline is not None
    for chart in wait.charts:
        measured = next(m for m in (wait.requests, *wait.entries) if m is not None and m.key == chart.key)
        assert sum(chart.histogram.values()) == measured.succeeded == 120
        assert chart.per_second[0][0] == 0 and len(chart.per_second) == len({s.second for s in timeline})
        assert sum(sum(h.values()) for _, h in chart.per_second) == 120
        assert chart.panels == ("run", "distribution", "history")
    ttt = next(c for c in wait.charts if c.key == "time_to_terminal")
    assert [(c.statistic, c.limit) for c in ttt.ceilings] == [("p50", 50.0), ("p95", 150.0), ("p99", 500.0)]
    # across runs: the two earlier runs from the SQLite history, then this one
    history = FIXTURES / "load" / summary["history"]["file"]
    earlier = list_runs(history)[:2]
    assert part.history_runs == 2 and [p.label for p in ttt.history] == [
        *(r.started_at for r in earlier), summary["settings"]["started_at"]]  # fmt: skip
    recorded = {m.measure: m for m in measures_of(history, earlier[0].id) if m.scenario == "run_wait"}
    assert ttt.history[0].values["p50"] == recorded["time_to_terminal"].quantiles["p50"]
    assert ttt.history[-1].current and ttt.history[-1].values["p95"] == summary["scenarios"][0]["entries"][1]["p95"]


def test_load_scenarios_not_valid_and_could_not_run() -> None:
    # a real run: starts dropped in run_wait (at most 2 tasks in flight), the mock gone before run_poll
    summary = _fixture("load-degraded")
    part = read_load(FIXTURES / "load-degraded", NO_KEYS)
    assert isinstance(part, LoadPart) and part.verdict.word == "could not run"
    assert part.verdict.text == ("The load run could not be made: run_poll: none of the 120 requests got an HTTP "
                                 "answer. The measurement of run_wait is not valid either.")  # fmt: skip
    wait, poll = part.scenarios
    reasons = summary["scenarios"][0]["validity"]["reasons"]
    assert wait.verdict.word == "not valid" and wait.verdict.text == reasons[0] and "72 starts dropped" in reasons[0]
    assert part.invalid == tuple(summary["validity"]["reasons"]) and wait.charts
    assert wait.arrival is not None and (wait.arrival.dropped, wait.arrival.achieved_rate) == (72, 16.0)
    assert poll.verdict.word == "could not run" and poll.charts == ()
    assert poll.requests is not None and poll.requests.unanswered == poll.requests.count == 120
    assert poll.failures == (("POST /run?wait=false", "runTask: no answer (ConnectionRefusedError)", 120),)


def test_load_summary_without_the_optional_fields(tmp_path: Path) -> None:
    summary = _fixture("load")
    for key in ("validity", "baseline", "history", "regressions", "objectives_judged"):
        del summary[key]
    for s in summary["scenarios"]:
        for key in ("arrivals", "generator", "validity"):
            del s[key]
        s["passed"] = True
        s["slo"] = [c | {"passed": True} for c in s["slo"]]
    summary["verdict"] = "pass"
    part = read_load(_write(tmp_path, summary), NO_KEYS)  # no timeline beside it either: charts with no samples
    assert isinstance(part, LoadPart) and part.verdict.word == "pass"
    assert part.verdict.text == "All 14 objectives met in 2 scenarios."
    assert (part.comparisons, part.history_runs, part.notes, part.baseline, part.history) == ((), 0, (), None, None)
    assert all(s.arrival is None and s.generator == () and s.verdict.word == "pass" for s in part.scenarios)
    chart = part.scenarios[0].charts[0]
    assert chart.histogram == {} and chart.per_second == () and chart.history == ()


def test_the_history_file_is_found_beside_the_summary_or_from_where_load_ran(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = tmp_path / "reports" / "load"
    shutil.copytree(FIXTURES / "load", folder)
    (folder / "history.sqlite").rename(tmp_path / "history.sqlite")
    absent = read_load(folder, NO_KEYS)
    assert isinstance(absent, LoadPart) and absent.history_runs == 0
    assert absent.notes == ("The history file history.sqlite was not found: no earlier run is drawn.",)
    monkeypatch.chdir(tmp_path)  # where `infsh-harness load --history history.sqlite` ran
    found = read_load(folder, NO_KEYS)
    assert isinstance(found, LoadPart) and found.history_runs == 2 and found.notes == ()


def test_an_unreadable_history_is_said_not_fatal(tmp_path: Path) -> None:
    shutil.copytree(FIXTURES / "load", tmp_path, dirs_exist_ok=True)
    (tmp_path / "history.sqlite").write_bytes(b"not a database at all" * 100)
    part = read_load(tmp_path, NO_KEYS)
    assert isinstance(part, LoadPart) and part.history_runs == 0
    assert part.notes and part.notes[0].startswith("The history file history.sqlite could not be read:")
    assert all(c.history == () for s in part.scenarios for c in s.charts)
    summary = _fixture("load")
    summary["history"] = {"file": "history.sqlite", "run_id": None, "error": "database is locked"}
    shutil.copy(FIXTURES / "load" / "history.sqlite", tmp_path / "history.sqlite")
    part = read_load(_write(tmp_path, summary), NO_KEYS)  # every recorded run is an earlier one
    assert isinstance(part, LoadPart) and part.history_runs == 3
    assert part.notes == ("This run was not recorded in history.sqlite: database is locked.",)


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
        {"name": "contract", "exit_code": 0, "seconds": 3.0, "gating": True, "log": "logs/contract.log",
         "started_at": "2026-12-01T20:00:00.250Z"},
        {"name": "load", "exit_code": 2, "gating": True},
        {"name": "drift-wire", "part": "drift", "exit_code": 1, "gating": False},
    ]  # fmt: skip
    (tmp_path / "run.json").write_text(json.dumps({"target": "http://x", "steps": steps, "skipped": ["drift"]}))
    run = read_run(tmp_path, NO_KEYS)
    assert [(s.name, s.part, s.verdict.word) for s in run.steps] == [
        ("contract", "contract", "pass"), ("load", "load", "could not run"),
        ("drift-wire", "drift", "exit 1 (informational)"), ("drift", "drift", "not run"),
    ]  # fmt: skip
    assert run.steps[0].started_at == 1796155200.25 and run.steps[1].started_at is None
    assert run.verdict.word == "could not run" and run.verdict.text == "1 of 2 steps did not pass: load could not run."
    steps[1]["exit_code"] = 3  # load: the measurement is not valid
    (tmp_path / "run.json").write_text(json.dumps({"target": "http://x", "steps": steps}))
    run = read_run(tmp_path, NO_KEYS)
    assert run.verdict.word == "fail" and run.verdict.text == "1 of 2 steps did not pass: load not valid."
    assert read_run(tmp_path / "nowhere", NO_KEYS).verdict.word == "could not run"


def test_a_step_verdict_follows_its_exit_code() -> None:
    words = {code: step_verdict("load", code).word for code in (None, 0, 1, 2, 3, 130, -9)}
    assert words == {None: "not run", 0: "pass", 1: "fail", 2: "could not run", 3: "not valid", 130: "interrupted",
                     -9: "could not run"}  # fmt: skip
    assert step_verdict("contract", 3).word == "could not run"  # only the load step says "not valid"
    assert step_verdict("drift", 2, gating=False).word == "exit 2 (informational)"


def test_redaction_of_key_shapes_and_given_keys() -> None:
    redactor = Redactor(["s3cr3t-value", None, "short"])
    assert redactor.text("Bearer inf_abc-123 and s3cr3t-value, short") == f"Bearer {REDACTED} and {REDACTED}, short"
    assert redactor.json({"inf_key_as_name": ["x inf_y", 3, None]}) == {REDACTED: [f"x {REDACTED}", 3, None]}
    assert "s3cr3t" not in repr(redactor) and "winf_x" == redactor.text("winf_x")

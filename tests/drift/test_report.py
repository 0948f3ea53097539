"""Findings, their ids and merging; the baseline; the Markdown, JSON and JUnit writers."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest

from infsh_harness.drift.baseline import BaselineError, load_baseline, write_baseline
from infsh_harness.drift.model import DriftReport, Finding, Kind, Location, Severity, merge
from infsh_harness.drift.writers import render_json, render_junit, render_markdown, write_reports

GET = Location("GET /tasks/{id}", "getTask", "200", "$.status")


def finding(
    kind: Kind = Kind.ENUM_VIOLATION,
    location: Location = GET,
    observed: str = "12",
    key: str = "12",
    **extra: Any,
) -> Finding:
    extra.setdefault("sources", ("probe",))
    return Finding(kind, location, "one of 1..11", observed, key=key, **extra)


# --- model --------------------------------------------------------------------------------------
def test_severity_follows_the_kind_and_an_aspect_overrides_it() -> None:
    assert finding().level is Severity.BREAKING
    assert finding(Kind.UNDOCUMENTED_FIELD).level is Severity.INFO
    assert finding(Kind.FORMAT_MISMATCH).level is Severity.WARNING
    assert finding(Kind.WEBHOOK_PAYLOAD, aspect=Kind.UNDOCUMENTED_FIELD).level is Severity.INFO


def test_id_depends_on_kind_location_and_key_only() -> None:
    base = finding()
    assert finding(observed="something else entirely", count=7).id == base.id
    assert finding(key="13").id != base.id
    assert finding(location=Location("GET /tasks/{id}", "getTask", "200", "$.data.status")).id != base.id
    assert finding(Kind.TYPE_MISMATCH).id != base.id
    assert base.id.startswith("enum-violation-")


def test_markdown_details_carry_the_evidence() -> None:
    text = render_markdown(DriftReport((finding(evidence={"request": {"url": "http://h/tasks/1"}}),)))
    assert "<details>" in text and "http://h/tasks/1" in text


def test_merge_adds_counts_keeps_first_evidence_and_joins_sources() -> None:
    first = finding(evidence={"n": 1})
    second = finding(evidence={"n": 2}, count=2, sources=("har:a.har",))
    [merged] = merge([first, second])
    assert merged.count == 3 and merged.evidence == {"n": 1} and merged.sources == ("probe", "har:a.har")


def _report(accepted: frozenset[str] = frozenset(), fail_on: Severity = Severity.INFO) -> DriftReport:
    findings = merge(
        [
            finding(
                Kind.UNDOCUMENTED_FIELD,
                Location("GET /tasks/{id}", "getTask", "200", "$.short_id"),
                key="short_id",
            ),
            finding(),
            finding(
                Kind.UNDOCUMENTED_CONTENT_TYPE, Location("GET /tasks/{id}", "getTask", "404"), key="problem"
            ),
        ]
    )
    return DriftReport(tuple(findings), accepted, fail_on, ("a note",), ("probe",))


def test_report_judges_new_failing_and_resolved_findings() -> None:
    enum_id = finding().id
    report = _report(accepted=frozenset({enum_id, "gone-123"}), fail_on=Severity.WARNING)
    assert [f.level for f in report.findings] == [Severity.BREAKING, Severity.WARNING, Severity.INFO]
    assert [f.kind for f in report.new_findings] == [Kind.UNDOCUMENTED_CONTENT_TYPE, Kind.UNDOCUMENTED_FIELD]
    assert [f.kind for f in report.failing] == [Kind.UNDOCUMENTED_CONTENT_TYPE]  # info is below --fail-on
    assert report.resolved == ["gone-123"]
    assert report.summary()["by_severity"] == {"breaking": 1, "warning": 1, "info": 1}


# --- baseline -------------------------------------------------------------------------------------
def test_baseline_round_trip(tmp_path: Path) -> None:
    report = _report()
    path = tmp_path / "drift-baseline.json"
    assert write_baseline(path, report.findings) == 3
    assert load_baseline(path) == {f.id for f in report.findings}


def test_a_json_report_is_also_a_baseline(tmp_path: Path) -> None:
    path = tmp_path / "drift.json"
    path.write_text(render_json(_report()))
    assert load_baseline(path) == {f.id for f in _report().findings}


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (None, "does not exist"),
        ("not json", "not JSON"),
        ('{"accepted": []}', "no findings list"),
        ('{"findings": [{"kind": "x"}]}', "needs a string id"),
    ],
)
def test_bad_baselines_are_refused_with_a_reason(tmp_path: Path, text: str | None, message: str) -> None:
    path = tmp_path / "baseline.json"
    if text is not None:
        path.write_text(text)
    with pytest.raises(BaselineError, match=message):
        load_baseline(path)


# --- writers ------------------------------------------------------------------------------------
def test_markdown_lists_most_severe_first_and_marks_what_is_new() -> None:
    accepted = frozenset({finding().id, "gone-123"})
    text = render_markdown(_report(accepted))
    rows = [line for line in text.splitlines() if line.startswith("| ") and line[2].isdigit()]
    assert [r.split(" | ")[1] for r in rows] == ["breaking", "warning", "info"]
    assert "accepted" in rows[0] and "**new**" in rows[1]
    assert "`gone-123`" in text and "a note" in text and "## Details" in text
    assert "**2 failing**" in text


def test_markdown_escapes_table_cells() -> None:
    tricky = finding(observed="a | b\nc")
    text = render_markdown(DriftReport((tricky,)))
    assert "a \\| b c" in text


def test_markdown_says_so_when_there_is_no_drift() -> None:
    assert "No drift" in render_markdown(DriftReport(()))


def test_json_has_the_interface_shape() -> None:
    data = json.loads(render_json(_report(frozenset({finding().id}))))
    assert [f["kind"] for f in data["findings"]] == [
        "enum-violation",
        "undocumented-content-type",
        "undocumented-field",
    ]
    first = data["findings"][0]
    assert {"id", "kind", "severity", "location", "expected", "observed", "count", "evidence", "new"} <= set(
        first
    )
    assert first["new"] is False and data["findings"][1]["new"] is True
    assert data["summary"]["failing"] == 2


def test_junit_has_one_case_a_finding_failed_skipped_or_passed() -> None:
    report = _report(frozenset({finding().id}), fail_on=Severity.WARNING)
    root = ET.fromstring(render_junit(report))
    cases = root.findall("./testsuite/testcase")
    assert len(cases) == 3
    outcome = [
        (
            "failure"
            if c.find("failure") is not None
            else "skipped"
            if c.find("skipped") is not None
            else "passed"
        )
        for c in cases
    ]
    assert outcome == ["skipped", "failure", "passed"]
    assert root.attrib["tests"] == "3" and root.attrib["failures"] == "1" and root.attrib["skipped"] == "1"
    assert cases[1].attrib["classname"] == "drift.getTask"


def test_write_reports_writes_each_format(tmp_path: Path) -> None:
    written = write_reports(_report(), tmp_path / "out", ["md", "json", "junit"])
    assert [p.name for p in written] == ["drift.md", "drift.json", "drift.xml"]
    assert all(p.stat().st_size > 0 for p in written)

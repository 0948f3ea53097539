"""Where the pages contradict each other: the conflicts data quotes its pages exactly, becomes
``doc-conflict`` findings that every report shows and none fails by default, and docs/pages.md
lists them as the data says."""

from __future__ import annotations

import dataclasses
import json
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from infsh_harness.drift.conflicts import (
    ConflictError,
    PageConflict,
    conflict_findings,
    conflicts_markdown,
    load_conflicts,
    misquoted,
)
from infsh_harness.drift.model import DriftReport, Finding, Kind, Location, Severity
from infsh_harness.drift.writers import render_json, render_junit, render_markdown
from infsh_harness.spec.pages import DOCUMENTATION_PAGES, WIRE_PAGE

CONFLICTS = load_conflicts()
DOCS = Path(__file__).resolve().parents[2] / "docs" / "pages.md"
DRIFT = Finding(Kind.ENUM_VIOLATION, Location("GET /tasks/{id}", "getTask", "200", "$.status"), "1..11", "12", key="12")


def test_every_quote_is_on_its_page() -> None:
    assert misquoted(CONFLICTS) == []
    assert sum(len(side.quotes) for c in CONFLICTS for side in c.sides) >= 30


def test_a_misquote_is_named() -> None:
    first = CONFLICTS[0]
    side = dataclasses.replace(first.sides[0], quotes=("Completed | 12 | Done",))
    broken = dataclasses.replace(first, sides=(side, *first.sides[1:]))
    assert misquoted((broken,)) == [f"{first.id}: {side.page}: Completed | 12 | Done"]


def test_the_conflicts_the_issue_names_are_there() -> None:
    ids = {c.id for c in CONFLICTS}
    assert {"status-numbering", "examples-version", "error-body-generations", "error-code-case"} <= ids
    status = next(c for c in CONFLICTS if c.id == "status-numbering")
    assert {"tasks-api-docs.md", "docs-rest-overview.md", "docs-streaming-sessions.md"} <= set(status.pages)


@pytest.mark.parametrize("conflict", CONFLICTS, ids=[c.id for c in CONFLICTS])
def test_each_conflict_trusts_documentation_and_says_why(conflict: PageConflict) -> None:
    assert conflict.trust in DOCUMENTATION_PAGES and conflict.trust in conflict.pages
    assert len(conflict.why.split()) >= 10
    if conflict.between == "documentation":  # pages of the documentation disagree among themselves
        assert len({p for p in conflict.pages if p != WIRE_PAGE}) >= 2 or len(conflict.sides) >= 2
    else:
        assert WIRE_PAGE in conflict.pages


def test_conflicts_are_warning_findings_of_their_own_kind() -> None:
    findings = conflict_findings(CONFLICTS)
    assert [f.key for f in findings] == [c.id for c in CONFLICTS]
    assert {f.kind for f in findings} == {Kind.DOC_CONFLICT} and {f.level for f in findings} == {Severity.WARNING}
    assert len({f.id for f in findings}) == len(findings)
    assert [f.id for f in conflict_findings(CONFLICTS)] == [f.id for f in findings]  # stable
    first = findings[0]
    assert first.expected.startswith(f"trust {CONFLICTS[0].trust}: ") and first.sources == CONFLICTS[0].pages
    assert first.evidence is not None and first.evidence["sides"][0]["quotes"]


def _report(**extra: object) -> DriftReport:
    return DriftReport((DRIFT,), conflicts=tuple(conflict_findings(CONFLICTS)), **extra)  # type: ignore[arg-type]


def test_conflicts_fail_no_run_by_default_and_fail_one_when_asked() -> None:
    quiet = _report()
    assert quiet.failing == [DRIFT]
    assert DriftReport((), conflicts=quiet.conflicts).failing == []
    loud = _report(fail_on_conflicts=True)
    assert len(loud.failing) == 1 + len(CONFLICTS)
    accepted = _report(accepted=frozenset({DRIFT.id}))
    assert accepted.failing == []  # --fail-on and the baseline judge the server's drift alone


def test_every_report_shows_the_conflicts() -> None:
    report = _report()
    markdown = render_markdown(report)
    assert "## Where the documentation contradicts itself" in markdown
    assert all(f"`{c.id}`" in markdown for c in CONFLICTS)
    assert f"contradicts itself in {len(CONFLICTS)} places" in markdown
    document = json.loads(render_json(report))
    assert [c["kind"] for c in document["doc_conflicts"]] == ["doc-conflict"] * len(CONFLICTS)
    assert [c["fails"] for c in document["doc_conflicts"]] == [False] * len(CONFLICTS)
    assert [f["kind"] for f in document["findings"]] == ["enum-violation"]  # the server's drift stays apart
    assert document["summary"]["doc_conflicts"] == len(CONFLICTS) and document["summary"]["failing"] == 1
    root = ET.fromstring(render_junit(report))
    suites = {s.get("name"): s for s in root.iter("testsuite")}
    assert set(suites) == {"drift", "doc-conflicts"}
    assert (
        suites["doc-conflicts"].get("tests") == str(len(CONFLICTS)) and suites["doc-conflicts"].get("failures") == "0"
    )
    assert root.get("failures") == "1"
    loud = ET.fromstring(render_junit(_report(fail_on_conflicts=True)))
    assert loud.get("failures") == str(1 + len(CONFLICTS))


def test_a_report_without_conflicts_has_no_conflict_section() -> None:
    report = DriftReport((DRIFT,))
    assert "contradicts" not in render_markdown(report)
    assert json.loads(render_json(report))["doc_conflicts"] == []
    assert [s.get("name") for s in ET.fromstring(render_junit(report)).iter("testsuite")] == ["drift"]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("conflicts: [", "not valid YAML"),
        ("other: []\n", "malformed"),
        ("conflicts: [{id: a, title: t, between: nowhere, sides: [], trust: x.md, why: w}]\n", "malformed"),
        (
            "conflicts: [{id: a, title: t, between: documentation, trust: x.md, why: w,"
            " sides: [{page: tasks-api-docs.md, quote: q, says: s}]}]\n",
            "malformed",
        ),
    ],
    ids=["bad-yaml", "no-list", "bad-between", "trust-no-side"],
)
def test_malformed_conflicts_are_refused(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "conflicts.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ConflictError, match=message):
        load_conflicts(path)


def test_docs_list_the_conflicts_as_the_data_says() -> None:
    text = DOCS.read_text(encoding="utf-8")
    start, end = "<!-- conflicts: generated from data/page-conflicts.yaml -->", "<!-- end of conflicts -->"
    assert start in text and end in text
    listed = text.split(start, 1)[1].split(end, 1)[0].strip()
    assert listed == conflicts_markdown(CONFLICTS).strip(), "regenerate with: python -m infsh_harness.drift.conflicts"

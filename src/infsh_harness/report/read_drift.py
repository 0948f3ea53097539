"""The drift part as the page reads it, from ``drift.json`` (``drift/writers.py`` ``render_json``).

Expected keys::

    summary: {findings, new, failing, accepted, resolved, by_severity: {severity: n}, fail_on}
    findings: [{id, kind, aspect, severity: "breaking" | "warning" | "info",
                location: {endpoint, operation, status_code, json_path},
                expected, observed, rule, count, sources: [str], evidence: {...} | null, new, fails}]
    resolved: [id]    notes: [str]    sources: [str]

Findings are grouped by severity, most severe first; an unknown severity comes last.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from infsh_harness.report.fields import Unreadable, integer, load_document, mapping, sequence, text
from infsh_harness.report.model import Missing, Verdict, could_not_run
from infsh_harness.report.redact import Redactor

__all__ = ["SEVERITIES", "DriftPart", "FindingView", "read_drift"]

SUMMARY = "drift.json"
SEVERITIES = ("breaking", "warning", "info")


@dataclass(frozen=True)
class FindingView:
    id: str
    severity: str
    kind: str
    where: str
    expected: str
    observed: str
    rule: str
    count: int
    sources: tuple[str, ...]
    status: str  # fails | new | accepted
    evidence: str  # the first exchange, as indented JSON ("" when none)


@dataclass(frozen=True)
class DriftPart:
    verdict: Verdict
    groups: tuple[tuple[str, tuple[FindingView, ...]], ...]  # (severity, findings), most severe first
    fail_on: str
    new: int
    accepted: int
    resolved: tuple[str, ...]
    notes: tuple[str, ...]
    sources: tuple[str, ...]

    kind = "drift"
    part = "drift"

    @property
    def findings(self) -> int:
        return sum(len(found) for _, found in self.groups)


def _where(location: Mapping[str, Any]) -> str:
    endpoint, operation = text(location, "endpoint"), text(location, "operation")
    head = f"{operation} ({endpoint})" if operation else endpoint
    return " ".join(p for p in (head, text(location, "status_code"), text(location, "json_path")) if p)


def _finding(raw: Mapping[str, Any]) -> FindingView:
    kind = text(raw, "kind")
    aspect = text(raw, "aspect")
    status = "fails" if raw.get("fails") is True else ("accepted" if raw.get("new") is False else "new")
    evidence = raw.get("evidence")
    return FindingView(
        id=text(raw, "id"),
        severity=text(raw, "severity", "info"),
        kind=f"{kind} ({aspect})" if aspect else kind,
        where=_where(mapping(raw, "location")),
        expected=text(raw, "expected"),
        observed=text(raw, "observed"),
        rule=text(raw, "rule"),
        count=integer(raw, "count") or 1,
        sources=tuple(str(s) for s in sequence(raw, "sources")),
        status=status,
        evidence="" if evidence is None else json.dumps(evidence, indent=2, ensure_ascii=False),
    )


def _groups(findings: list[FindingView]) -> tuple[tuple[str, tuple[FindingView, ...]], ...]:
    order = [*SEVERITIES, *sorted({f.severity for f in findings} - set(SEVERITIES))]
    return tuple(
        (severity, tuple(f for f in findings if f.severity == severity))
        for severity in order
        if any(f.severity == severity for f in findings)
    )


def _verdict(findings: list[FindingView], fail_on: str, informational: bool) -> Verdict:
    failing = sum(1 for f in findings if f.status == "fails")
    if not findings:
        return Verdict("pass", "good", "No drift: every observation matches the documented contract.")
    counts = ", ".join(f"{sum(1 for f in findings if f.severity == s)} {s}" for s in SEVERITIES)
    if failing:
        tone: Any = "warn" if informational else "bad"
        word = "drift (informational)" if informational else "fail"
        return Verdict(word, tone, f"{failing} new findings of severity {fail_on} or worse ({counts}).")
    return Verdict("pass", "good", f"Nothing new of severity {fail_on} or worse ({counts}).")


def read_drift(
    folder: Path, redactor: Redactor, exit_code: int | None = None, informational: bool = False,
    not_before: float | None = None,
) -> DriftPart | Missing:
    """The drift part of ``folder``; ``informational``: its findings do not fail the run; ``not_before``: a
    report written before this time is an earlier run's, not read."""
    try:
        document = load_document(folder / SUMMARY, redactor, not_before)
    except Unreadable as exc:
        why = f"The drift report left no readable findings: {exc}."
        if exit_code is not None:
            why = f"The drift report exited {exit_code}. {why}"
        return could_not_run("drift", why)
    findings = [_finding(f) for f in sequence(document, "findings") if isinstance(f, Mapping)]
    summary = mapping(document, "summary")
    fail_on = text(summary, "fail_on", "info")
    verdict = _verdict(findings, fail_on, informational)
    stopped = summary.get("stopped")
    if summary.get("verdict") == "interrupted" or exit_code == 130:
        verdict = Verdict("interrupted", "warn", "Interrupted before its end: the findings below are of what was "
                          "observed before (a partial report, not a pass).")  # fmt: skip
    elif isinstance(stopped, str) and stopped:
        verdict = Verdict("could not run", "bad", f"Stopped before its end ({redactor.text(stopped)}): the "
                          "findings below are of what was observed before.")  # fmt: skip
    elif exit_code not in (None, 0, 1):
        verdict = Verdict("could not run", "bad", f"The drift report exited {exit_code}; what it wrote is below.")
    return DriftPart(
        verdict=verdict,
        groups=_groups(findings),
        fail_on=fail_on,
        new=sum(1 for f in findings if f.status != "accepted"),
        accepted=sum(1 for f in findings if f.status == "accepted"),
        resolved=tuple(str(r) for r in sequence(document, "resolved")),
        notes=tuple(str(n) for n in sequence(document, "notes")),
        sources=tuple(str(s) for s in sequence(document, "sources")),
    )

"""The report in three forms: Markdown (a CI step summary), JSON (for tools), JUnit XML (for CI UIs).

Every writer shows the findings most severe first and marks which are new, which fail the run and
which the baseline accepts; JUnit has one test case a finding (failed, passed or skipped). Each
also shows where the documentation contradicts itself (``report.conflicts``), apart from the
server's drift: JSON under ``doc_conflicts``, JUnit as a second test suite.
"""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path

from infsh_harness.drift.model import DriftReport, Finding

__all__ = ["FORMATS", "render_json", "render_junit", "render_markdown", "write_reports"]


def _status(report: DriftReport, finding: Finding) -> str:
    if not report.is_new(finding):
        return "accepted"
    return "**new**" if report.fails(finding) else "new (below --fail-on)"


def _cell(text: str, limit: int = 110) -> str:
    text = " ".join(text.split()).replace("|", "\\|")
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _headline(report: DriftReport) -> str:
    summary = report.summary()
    counts = ", ".join(f"{n} {severity}" for severity, n in summary["by_severity"].items())
    conflicts = (
        f" The documentation contradicts itself in {len(report.conflicts)} places (below)." if report.conflicts else ""
    )
    if report.interrupted or report.stopped is not None:
        why = (
            "**Interrupted** before its end" if report.interrupted else f"**Stopped** before its end ({report.stopped})"
        )
        return (
            f"{why}: the {summary['findings']} findings below are "
            "of what was observed before (a partial report, not a pass)."
        ) + conflicts
    if not report.findings:
        return "No drift: every observation matches the documented contract." + conflicts
    verdict = f"**{summary['failing']} failing**" if summary["failing"] else "nothing failing"
    return (
        f"{verdict}: {summary['findings']} findings ({counts}), {summary['new']} new, "
        f"{summary['accepted']} accepted in the baseline. The run fails on new findings of severity "
        f"{summary['fail_on']} or worse."
    ) + conflicts


def render_markdown(report: DriftReport) -> str:
    lines = ["# API drift report", "", _headline(report), ""]
    if report.sources:
        lines += ["Observed: " + ", ".join(f"`{s}`" for s in report.sources), ""]
    if report.findings:
        lines += [
            "| # | severity | kind | where | expected | observed | seen | status |",
            "|---|---|---|---|---|---|---|---|",
        ]
        for n, f in enumerate(report.findings, 1):
            kind = f"{f.kind} ({f.aspect})" if f.aspect else str(f.kind)
            lines.append(
                f"| {n} | {f.level} | {kind} | `{_cell(str(f.location))}` | {_cell(f.expected)} | "
                f"{_cell(f.observed)} | {f.count} | {_status(report, f)} |"
            )
        lines += ["", "## Details", ""]
        for n, f in enumerate(report.findings, 1):
            lines += _details(n, f)
    if report.resolved:
        lines += ["## Accepted drift no longer seen", "", "The baseline can drop these ids:", ""]
        lines += [f"- `{finding_id}`" for finding_id in report.resolved] + [""]
    if report.notes:
        lines += ["## Notes", ""] + [f"- {note}" for note in report.notes] + [""]
    lines += _conflicts_section(report)
    return "\n".join(lines).rstrip() + "\n"


def _conflicts_section(report: DriftReport) -> list[str]:
    if not report.conflicts:
        return []
    verdict = "they fail this run" if report.fail_on_conflicts else "they fail no run: the pages need fixing"
    lines = [
        "## Where the documentation contradicts itself",
        "",
        f"{len(report.conflicts)} conflicts between the pages the spec is written from ({verdict}).",
        "",
        "| # | conflict | pages | trust |",
        "|---|---|---|---|",
    ]
    for n, f in enumerate(report.conflicts, 1):
        evidence = f.evidence or {}
        pages = ", ".join(f"`{p}`" for p in f.sources)
        lines.append(
            f"| {n} | `{f.key}`: {_cell(str(evidence.get('title', '')))} | {pages} | `{evidence.get('trust')}` |"
        )
    lines.append("")
    for n, f in enumerate(report.conflicts, 1):
        evidence = f.evidence or {}
        lines += [f"### {n}. {f.key}", "", f"- id: `{f.id}`"]
        lines += [f"- `{side['page']}`: {side['says']}" for side in evidence.get("sides", [])]
        lines += [f"- trust `{evidence.get('trust')}`: {evidence.get('why')}", ""]
    return lines


def _details(n: int, f: Finding) -> list[str]:
    lines = [
        f"### {n}. {f.level}: {f.title}",
        "",
        f"- id: `{f.id}`",
        f"- expected: {f.expected}",
        f"- observed: {f.observed}",
        f"- seen {f.count} time{'s' if f.count != 1 else ''}" + (f" in {', '.join(f.sources)}" if f.sources else ""),
    ]
    if f.rule:
        lines.append(f"- rule: `{f.rule}`")
    if f.evidence is not None:
        evidence = json.dumps(f.evidence, indent=2, ensure_ascii=False)
        lines += [
            "",
            "<details><summary>evidence (first exchange)</summary>",
            "",
            "```json",
            evidence,
            "```",
            "",
            "</details>",
        ]
    return [*lines, ""]


def render_json(report: DriftReport) -> str:
    findings = [{**f.to_dict(), "new": report.is_new(f), "fails": report.fails(f)} for f in report.findings]
    document = {
        "summary": report.summary(),
        "findings": findings,
        "resolved": report.resolved,
        "notes": list(report.notes),
        "sources": list(report.sources),
        "doc_conflicts": [{**f.to_dict(), "fails": report.fails(f)} for f in report.conflicts],
    }
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"


def render_junit(report: DriftReport) -> str:
    failing = [f for f in report.findings if report.fails(f)]
    partial = report.interrupted or report.stopped is not None
    skipped = len(report.findings) - len(report.new_findings)
    counts = {
        "tests": str(len(report.findings) + partial),
        "failures": str(len(failing)),
        "errors": str(int(partial)),
        "skipped": str(skipped),
    }
    conflict_failures = sum(report.fails(f) for f in report.conflicts)
    totals = {
        **counts,
        "tests": str(len(report.findings) + partial + len(report.conflicts)),
        "failures": str(len(failing) + conflict_failures),
    }
    root = ET.Element("testsuites", {"name": "infsh-harness drift", **totals})
    suite = ET.SubElement(root, "testsuite", {"name": "drift", **counts, "time": "0"})
    for f in report.findings:
        case = ET.SubElement(
            suite,
            "testcase",
            {
                "classname": f"drift.{f.location.operation or 'undocumented'}",
                "name": f"{f.title} [{f.id}]",
                "time": "0",
            },
        )
        text = _case_text(f)
        if not report.is_new(f):
            ET.SubElement(case, "skipped", {"message": "accepted in the baseline"})
        elif report.fails(f):
            failure = ET.SubElement(case, "failure", {"type": str(f.kind), "message": f"{f.level}: {f.observed}"})
            failure.text = text
        else:
            ET.SubElement(case, "system-out").text = text
    if partial:
        case = ET.SubElement(suite, "testcase", {"classname": "drift", "name": "the run", "time": "0"})
        kind, why = ("interrupted", "interrupted") if report.interrupted else ("stopped", str(report.stopped))
        ET.SubElement(case, "error", {"type": kind, "message": f"{why}: the findings are partial"})
    if report.conflicts:
        _conflict_suite(root, report, conflict_failures)
    ET.indent(root)
    return ET.tostring(root, encoding="unicode", xml_declaration=True) + "\n"


def _conflict_suite(root: ET.Element, report: DriftReport, failures: int) -> None:
    counts = {"tests": str(len(report.conflicts)), "failures": str(failures), "errors": "0", "skipped": "0"}
    suite = ET.SubElement(root, "testsuite", {"name": "doc-conflicts", **counts, "time": "0"})
    for f in report.conflicts:
        case = ET.SubElement(
            suite, "testcase", {"classname": "doc-conflicts", "name": f"{f.key} [{f.id}]", "time": "0"}
        )
        text = "\n".join([f"pages: {', '.join(f.sources)}", f"observed: {f.observed}", f"expected: {f.expected}"])
        if report.fails(f):
            ET.SubElement(case, "failure", {"type": str(f.kind), "message": f"{f.level}: {f.key}"}).text = text
        else:
            ET.SubElement(case, "system-out").text = text


def _case_text(f: Finding) -> str:
    lines = [
        f"severity: {f.level}",
        f"where: {f.location}",
        f"expected: {f.expected}",
        f"observed: {f.observed}",
    ]
    if f.rule:
        lines.append(f"rule: {f.rule}")
    if f.evidence is not None:
        lines.append("evidence: " + json.dumps(f.evidence, ensure_ascii=False))
    return "\n".join(lines)


FORMATS: Mapping[str, tuple[str, Callable[[DriftReport], str]]] = {
    "md": ("drift.md", render_markdown),
    "json": ("drift.json", render_json),
    "junit": ("drift.xml", render_junit),
}


def write_reports(report: DriftReport, out: Path, formats: Iterable[str]) -> list[Path]:
    """Write each format's file into ``out``; returns the paths written."""
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for name in formats:
        filename, render = FORMATS[name]
        path = out / filename
        path.write_text(render(report), encoding="utf-8")
        written.append(path)
    return written

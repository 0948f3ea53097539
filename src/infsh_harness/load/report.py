"""The run's report: ``summary.json`` for machines, ``summary.md`` for people, both from one dict.

Neither writer sees the API key: the host is shown without any user-info, and :func:`scrub_files`
replaces the key wherever locust or a server may have echoed it (CSV, HTML, JSON, logs).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from infsh_harness.load.metrics import METRICS
from infsh_harness.load.results import EntryStats, ScenarioResult
from infsh_harness.load.slo import Check

__all__ = ["REDACTED", "ScenarioReport", "build_summary", "public_url", "render_markdown", "scrub_files"]

REDACTED = "[REDACTED]"
_TEXT_SUFFIXES = frozenset({".csv", ".html", ".json", ".log", ".md", ".txt"})
_MIN_SECRET_LENGTH = 6  # shorter "keys" would corrupt the files they are scrubbed from


@dataclass
class ScenarioReport:
    """One scenario's run: how it ended, what it measured, how it met its objectives."""

    scenario: str
    status: str  # completed | interrupted | error
    exit_code: int | None
    seconds: float
    result: ScenarioResult
    checks: list[Check] = field(default_factory=list)
    files: dict[str, Any] = field(default_factory=dict)
    message: str = ""

    @property
    def breaches(self) -> list[Check]:
        return [c for c in self.checks if not c.passed]


def public_url(url: str) -> str:
    """``url`` without user-info, which could hold a credential."""
    parts = urlsplit(url)
    if parts.username is None and parts.password is None:
        return url
    host = parts.hostname or ""
    netloc = f"[{host}]" if ":" in host else host
    if parts.port is not None:
        netloc += f":{parts.port}"
    return urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))


def verdict_of(reports: Sequence[ScenarioReport], interrupted: bool) -> str:
    if interrupted:
        return "interrupted"
    if any(r.status == "error" for r in reports):
        return "error"
    return "fail" if any(r.breaches for r in reports) else "pass"


def build_summary(
    reports: Sequence[ScenarioReport], settings: Mapping[str, Any], target: Mapping[str, Any], interrupted: bool
) -> dict[str, Any]:
    return {
        "verdict": verdict_of(reports, interrupted),
        "target": dict(target),
        "settings": dict(settings),
        "metrics": {m.name: {"unit": m.unit, "scenario": m.scenario, "description": m.description}
                    for m in METRICS.values()},  # fmt: skip
        "scenarios": [_scenario_json(r) for r in reports],
        "breaches": [c.describe() for r in reports for c in r.breaches],
    }


def _scenario_json(report: ScenarioReport) -> dict[str, Any]:
    targets = report.result.targets()
    requests = targets.pop("requests")
    return {
        "scenario": report.scenario,
        "status": report.status,
        "exit_code": report.exit_code,
        "seconds": round(report.seconds, 3),
        "message": report.message,
        "requests": requests.as_json(),
        "entries": [t.as_json() for t in targets.values()],
        "failures": [f.as_json() for f in report.result.failures],
        "slo": [c.as_json() for c in report.checks],
        "passed": not report.breaches and report.status == "completed",
        "files": report.files,
    }


def _cell(value: Any, digits: int = 1) -> str:
    if value is None:
        return "–"
    if isinstance(value, float):
        return f"{value:.{digits}f}".rstrip("0").rstrip(".") if digits else f"{value:.0f}"
    return str(value)


def _row(label: str, e: Mapping[str, Any]) -> str:
    cells = [
        label, e["unit"], _cell(e["count"]), _cell(e["failures"]), f"{e['error_rate']:.2%}",
        _cell(e["p50"]), _cell(e["p95"]), _cell(e["p99"]), _cell(e["max"]), _cell(e["rps"], 1),
    ]  # fmt: skip
    return "| " + " | ".join(cells) + " |"


def render_markdown(summary: Mapping[str, Any]) -> str:
    settings, target = summary["settings"], summary["target"]
    lines = [
        f"# Load run: {summary['verdict'].upper()}",
        "",
        f"Target `{target['host']}`{' (embedded mock)' if target.get('embedded_mock') else ''}; "
        f"{settings['users']} users, spawn rate {settings['spawn_rate']}/s, {settings['run_time_s']:g} s per "
        f"scenario, {settings['workers']} worker processes; SLO file: {settings.get('slo_file') or 'none'}.",
        "",
    ]
    if summary["breaches"]:
        lines += ["## Breached objectives", "", *[f"- {b}" for b in summary["breaches"]], ""]
    for s in summary["scenarios"]:
        lines += _scenario_markdown(s)
    lines += ["## Measures", "", "| metric | unit | scenario | what |", "|---|---|---|---|"]
    lines += [f"| {name} | {m['unit']} | {m['scenario']} | {m['description']} |"
              for name, m in summary["metrics"].items()]  # fmt: skip
    return "\n".join(lines) + "\n"


def _scenario_markdown(s: Mapping[str, Any]) -> list[str]:
    verdict = "pass" if s["passed"] else ("FAIL" if s["status"] == "completed" else s["status"])
    lines = [f"## {s['scenario']}: {verdict}", ""]
    if s["message"]:
        lines += [s["message"], ""]
    lines += [
        "| measure | unit | count | failures | error rate | p50 | p95 | p99 | max | per s |",
        "|---|---|---|---|---|---|---|---|---|---|",
        _row("all HTTP requests", s["requests"]),
        *[_row(f"`{e['key']}`", e) for e in s["entries"]],
        "",
    ]
    if s["slo"]:
        lines += ["Objectives:", ""]
        lines += [f"- {'ok' if c['passed'] else '**BREACH**'}: {c['message']}" for c in s["slo"]]
        lines.append("")
    if s["failures"]:
        lines += ["| failed entry | error | occurrences |", "|---|---|---|"]
        lines += [f"| {f['type']} {f['name']} | {f['error'].replace('|', '/')} | {f['occurrences']} |"
                  for f in s["failures"]]  # fmt: skip
        lines.append("")
    files = s["files"]
    links = [f"[{label}]({files[key]})" for key, label in (("html", "HTML report"), ("csv", "CSV")) if key in files]
    links += [f"[{Path(p).stem}]({p})" for p in files.get("plots", [])]
    if links:
        lines += ["Files: " + " · ".join(links), ""]
    return lines


def write_summary(out: Path, summary: Mapping[str, Any]) -> tuple[Path, Path]:
    json_path, md_path = out / "summary.json", out / "summary.md"
    json_path.write_text(json.dumps(summary, indent=2, sort_keys=False) + "\n", encoding="utf-8")
    md_path.write_text(render_markdown(summary), encoding="utf-8")
    return json_path, md_path


def scrub_files(paths: Iterable[Path], secrets: Iterable[str]) -> list[Path]:
    """Replace every secret in these text files; returns the files that had to be changed."""
    words = [s for s in secrets if len(s) >= _MIN_SECRET_LENGTH]
    changed = []
    for path in paths:
        if path.suffix not in _TEXT_SUFFIXES or not path.is_file():
            continue
        try:
            text = path.read_text(encoding="utf-8", errors="surrogateescape")
        except OSError:
            continue
        scrubbed = text
        for word in words:
            scrubbed = scrubbed.replace(word, REDACTED)
        if scrubbed != text:
            path.write_text(scrubbed, encoding="utf-8", errors="surrogateescape")
            changed.append(path)
    return changed


def entry_line(entry: EntryStats) -> str:
    """A one-line digest for the console: ``time_to_terminal: 120 samples, p50 201 ms, p95 204 ms``."""
    p50, p95 = entry.quantile(0.5), entry.quantile(0.95)
    failed = f", {entry.failures} failed" if entry.failures else ""
    if p50 is None or p95 is None:
        return f"{entry.key}: {entry.count} samples{failed}"
    return f"{entry.key}: {entry.count} samples{failed}, p50 {p50:g} {entry.unit}, p95 {p95:g} {entry.unit}"

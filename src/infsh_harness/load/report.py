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
from infsh_harness.load.results import EntryStats, GeneratorReport, ScenarioResult
from infsh_harness.load.slo import Check
from infsh_harness.load.validity import LATE_MS, Validity

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
    validity: Validity = field(default_factory=lambda: Validity(True))

    @property
    def breaches(self) -> list[Check]:
        return [c for c in self.checks if not c.passed]

    @property
    def passed(self) -> bool:
        return self.status == "completed" and self.validity.valid and not self.breaches


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


VERDICTS = ("pass", "unjudged", "fail", "invalid", "error", "interrupted")


def verdict_of(reports: Sequence[ScenarioReport], interrupted: bool, *, regressions: int = 0,
               judged: bool = True) -> str:  # fmt: skip
    """interrupted > error (could not run) > invalid (the generator) > fail (an objective, a regression)
    > unjudged (nothing was asked to be judged) > pass."""
    if interrupted:
        return "interrupted"
    if not reports or any(r.status == "error" for r in reports):
        return "error"
    if any(not r.validity.valid for r in reports):
        return "invalid"
    if regressions or any(r.breaches for r in reports):
        return "fail"
    return "pass" if judged else "unjudged"


def build_summary(
    reports: Sequence[ScenarioReport], settings: Mapping[str, Any], target: Mapping[str, Any], interrupted: bool,
    *, judged: bool = True,
) -> dict[str, Any]:  # fmt: skip
    invalid = [reason for r in reports for reason in r.validity.reasons]
    return {
        "verdict": verdict_of(reports, interrupted, judged=judged),
        "target": dict(target),
        "settings": dict(settings),
        "metrics": {m.name: {"unit": m.unit, "scenario": m.scenario, "description": m.description}
                    for m in METRICS.values()},  # fmt: skip
        "scenarios": [_scenario_json(r) for r in reports],
        "breaches": [c.describe() for r in reports for c in r.breaches],
        "objectives_judged": sum(len(r.checks) for r in reports),
        "validity": {"valid": not invalid, "reasons": invalid},
        "regressions": [],
    }


def arrivals_json(report: GeneratorReport | None) -> dict[str, Any] | None:
    """The open model's schedule: asked and achieved rate, late, dropped and unfinished starts."""
    arrivals = report.arrivals if report is not None else None
    if arrivals is None:
        return None
    achieved = arrivals.achieved_rate

    def lag(q: float) -> float | None:
        return arrivals.lag_quantile(q)

    return {
        "asked_rate": round(arrivals.rate, 6),
        "achieved_rate": None if achieved is None else round(achieved, 3),
        "planned": arrivals.planned,
        "due": arrivals.due,
        "started": arrivals.started,
        "late": arrivals.late(LATE_MS),
        "late_threshold_ms": LATE_MS,
        "dropped": arrivals.dropped,
        "unfinished": arrivals.unfinished,
        "lag_ms": {"p50": lag(0.5), "p99": lag(0.99), "max": lag(1.0)},
    }


def generator_json(report: GeneratorReport | None) -> dict[str, Any] | None:
    """Each locust process' CPU share of one core (and busy: CPU plus waiting for a core), over its seconds."""
    if report is None:
        return None
    return {
        "model": report.model,
        "processes": [
            {"node": p.node, "runs_users": p.runs_users, "seconds": len(p.cpu),
             "cpu_mean": round(sum(p.cpu) / len(p.cpu), 3) if p.cpu else None,
             "cpu_max": max(p.cpu) if p.cpu else None,
             "busy_mean": round(sum(p.busy) / len(p.busy), 3) if p.busy else None,
             "busy_max": max(p.busy) if p.busy else None}
            for p in report.processes
        ],
    }  # fmt: skip


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
        "passed": report.passed,
        "arrivals": arrivals_json(report.result.generator),
        "generator": generator_json(report.result.generator),
        "validity": report.validity.as_json(),
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


def _load_line(settings: Mapping[str, Any]) -> str:
    if settings.get("model") == "open":
        return f"open model: {settings['rate']:g} tasks started per second per scenario"
    return f"closed loop: {settings['users']} users, spawn rate {settings['spawn_rate']:g}/s"


def render_markdown(summary: Mapping[str, Any]) -> str:
    settings, target = summary["settings"], summary["target"]
    lines = [
        f"# Load run: {summary['verdict'].upper()}",
        "",
        f"Target `{target['host']}`{' (embedded mock)' if target.get('embedded_mock') else ''}; "
        f"{_load_line(settings)}, {settings['run_time_s']:g} s per scenario, {settings['workers']} worker "
        f"processes; SLO file: {settings.get('slo_file') or 'none'}; {summary.get('objectives_judged', 0)} "
        "objectives judged.",
        "",
    ]
    validity = summary.get("validity") or {}
    if validity.get("reasons"):
        lines += ["## The measurement is not valid", "",
                  "The load generator, not the server, limited what was measured:", "",
                  *[f"- {r}" for r in validity["reasons"]], ""]  # fmt: skip
    if summary["breaches"]:
        lines += ["## Breached objectives", "", *[f"- {b}" for b in summary["breaches"]], ""]
    lines += _baseline_markdown(summary.get("baseline"))
    for s in summary["scenarios"]:
        lines += _scenario_markdown(s)
    lines += ["## Measures", "", "| metric | unit | scenario | what |", "|---|---|---|---|"]
    lines += [f"| {name} | {m['unit']} | {m['scenario']} | {m['description']} |"
              for name, m in summary["metrics"].items()]  # fmt: skip
    history = summary.get("history")
    if history:
        lines += ["", f"Recorded as run {history['run_id']} in `{history['file']}`."]
    return "\n".join(lines) + "\n"


def _baseline_markdown(baseline: Mapping[str, Any] | None) -> list[str]:
    if not baseline:
        return []
    if baseline.get("run_id") is None:
        return ["## Baseline", "", baseline.get("message", ""), ""]
    lines = [f"## Compared with run {baseline['run_id']}", ""]
    lines += [f"- note: {n}" for n in baseline.get("notes", [])]
    regressions = [c for c in baseline["comparisons"] if c["verdict"] == "regression" and c["judged"]]
    lines += [f"- **REGRESSION**: {c['message']}" for c in regressions]
    if not regressions:
        lines.append("- no regression")
    lines += ["", "| scenario | measure | quantile | baseline | this run | change | verdict |",
              "|---|---|---|---|---|---|---|"]  # fmt: skip
    for c in baseline["comparisons"]:
        lines.append(f"| {c['scenario']} | `{c['measure']}` | {c['quantile']} | {_cell(c['baseline'])} | "
                     f"{_cell(c['current'])} | {_change_cell(c)} | {c['verdict']}"
                     f"{'' if c['judged'] else ' (not judged)'} |")  # fmt: skip
    return [*lines, ""]


def _change_cell(c: Mapping[str, Any]) -> str:
    if c["change"] is None:
        return "–"
    relative = f" ({c['relative']:+.0%})" if c["relative"] is not None else ""
    return f"{c['change']:+.3g}{relative}"


def _arrivals_line(a: Mapping[str, Any]) -> str:
    achieved = "–" if a["achieved_rate"] is None else f"{a['achieved_rate']:g}/s"
    lag = a["lag_ms"]
    return (f"Schedule: asked {a['asked_rate']:g}/s, achieved {achieved}; {a['started']} of {a['due']} due starts "
            f"made, {a['late']} late (> {a['late_threshold_ms']:g} ms), {a['dropped']} dropped, "
            f"{a['unfinished']} unfinished; start lag p50 {_cell(lag['p50'])} ms, max {_cell(lag['max'])} ms.")


def _scenario_markdown(s: Mapping[str, Any]) -> list[str]:
    if s["passed"]:
        verdict = "pass" if s["slo"] else "measured, no objective judged"
    elif s["status"] != "completed":
        verdict = s["status"]
    else:
        verdict = "NOT VALID" if not s["validity"]["valid"] else "FAIL"
    lines = [f"## {s['scenario']}: {verdict}", ""]
    if s["message"]:
        lines += [s["message"], ""]
    if s.get("arrivals"):
        lines += [_arrivals_line(s["arrivals"]), ""]
    for reason in s["validity"]["reasons"]:
        lines += [f"Not valid: {reason}", ""]
    lines += [
        "Percentiles and rates count successful samples only; failures are counted apart.",
        "",
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

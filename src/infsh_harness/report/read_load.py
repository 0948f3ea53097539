"""The load part as the page reads it, from ``load/summary.json`` and the files beside it.

Expected keys of ``summary.json`` (``load/report.py``; optional ones may be absent)::

    verdict: "pass" | "fail" | "invalid" | "error" | "interrupted"
    target: {host, embedded_mock}     settings: {users, spawn_rate, run_time_s, workers, slo_file, started_at, ...}
    breaches: [str]
    scenarios: [{scenario, status, message, seconds, passed,
                 requests: <measure>, entries: [<measure>],       # measure: {key, kind, unit, count,
                 slo: [{target, objective, limit, observed,       #   failures, error_rate, p50, p95, p99,
                        unit, passed, message}],                  #   max, rps}
                 failures: [{type, name, error, occurrences}],
                 files: {html, csv, json, history_csv, failures_csv, logs: [..], plots: [..]},
                 arrival?: {asked_rate, achieved_rate, late_starts, dropped_starts},
                 validity?: "valid" | "invalid" | {verdict, reason}}]
    validity?: "valid" | "invalid" | {verdict, reason}
    comparison?: {against, metrics: [{scenario, target, statistic, baseline, value, regression}]}
    history?: [<run>] or the path (relative to the folder) of a JSON list or JSON-lines file of runs;
              a run is {started_at | label, scenarios: [{scenario, requests?, entries: [{key, p50, p95, p99}]}]},
              so any earlier summary.json is one.

The charts' samples come from locust's files through the load harness' own readers
(``load/results.py``: ``SCENARIO_stats.json`` histograms, ``SCENARIO_timeline.json`` per second), the
files ``summary.json`` was built from.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from infsh_harness.load.metrics import CUSTOM_TYPES
from infsh_harness.load.results import ScenarioResult, Second, read_result
from infsh_harness.load.slo import CEILINGS, REQUESTS
from infsh_harness.report.fields import Unreadable, boolean, integer, load_document, mapping, number, sequence, text
from infsh_harness.report.model import Missing, Tone, Verdict, could_not_run
from infsh_harness.report.redact import Redactor

__all__ = [
    "QUANTILES", "Arrival", "Ceiling", "Chartable", "Check", "Comparison", "HistoryPoint", "LoadPart",
    "Measure", "ScenarioView", "read_load",
]  # fmt: skip

SUMMARY = "summary.json"
QUANTILES = ("p50", "p95", "p99")
_VERDICTS: Mapping[str, tuple[Tone, str]] = {
    "pass": ("good", "Every objective met."),
    "fail": ("bad", "An objective was breached."),
    "invalid": ("warn", "The load generator could not keep up: the numbers describe it, not the server."),
    "error": ("bad", "A scenario could not be run."),
    "interrupted": ("warn", "The run was interrupted; what was measured until then is below."),
}


@dataclass(frozen=True)
class Measure:
    """One row of a scenario's table: an HTTP entry, a custom metric, or every request together."""

    key: str
    kind: str  # http | metric | count
    unit: str
    count: int | None
    failures: int | None
    error_rate: float | None
    p50: float | None
    p95: float | None
    p99: float | None
    max: float | None
    rps: float | None


@dataclass(frozen=True)
class Check:
    target: str
    objective: str
    limit: float | None
    observed: float | None
    unit: str
    passed: bool
    message: str


@dataclass(frozen=True)
class Ceiling:
    statistic: str  # p50 | p90 | p95 | p99 | max
    limit: float
    passed: bool | None


@dataclass(frozen=True)
class HistoryPoint:
    label: str
    values: Mapping[str, float | None]  # p50, p95, p99
    current: bool = False


@dataclass(frozen=True)
class Chartable:
    """One measure as the charts draw it: over the run, its distribution, across runs."""

    scenario: str
    key: str
    unit: str
    quantiles: Mapping[str, float | None]  # p50, p95, p99 of the whole run (the summary's)
    histogram: Mapping[float, int]  # every sample of the run
    per_second: tuple[tuple[int, Mapping[float, int]], ...]  # (second of the run, its samples); () for HTTP entries
    ceilings: tuple[Ceiling, ...]
    history: tuple[HistoryPoint, ...]

    @property
    def id(self) -> str:
        return f"{self.scenario}:{self.key}"

    @property
    def panels(self) -> tuple[str, ...]:
        """What its figure shows: ``run`` (per second), ``distribution``, ``history`` (across runs)."""
        return (*(("run",) if self.per_second else ()), "distribution", *(("history",) if self.history else ()))


@dataclass(frozen=True)
class Arrival:
    asked_rate: float | None
    achieved_rate: float | None
    late_starts: int | None
    dropped_starts: int | None


@dataclass(frozen=True)
class Comparison:
    scenario: str
    target: str
    statistic: str
    baseline: float | None
    value: float | None
    regression: bool | None

    @property
    def change(self) -> float | None:
        return None if self.baseline is None or self.value is None else self.value - self.baseline

    @property
    def relative(self) -> float | None:
        change = self.change
        return None if change is None or not self.baseline else change / self.baseline


@dataclass(frozen=True)
class ScenarioView:
    name: str
    status: str
    verdict: Verdict
    message: str
    seconds: float | None
    requests: Measure | None
    entries: tuple[Measure, ...]
    checks: tuple[Check, ...]
    failures: tuple[tuple[str, str, int], ...]  # (entry, error, occurrences)
    arrival: Arrival | None
    charts: tuple[Chartable, ...]
    files: tuple[tuple[str, str], ...]  # (label, path relative to the load folder)


@dataclass(frozen=True)
class LoadPart:
    verdict: Verdict
    target: str
    embedded_mock: bool
    settings: Mapping[str, Any]
    scenarios: tuple[ScenarioView, ...]
    breaches: tuple[str, ...]
    comparison_against: str
    comparisons: tuple[Comparison, ...]
    history_runs: int
    notes: tuple[str, ...]

    kind = "load"
    part = "load"


def _measure(raw: Any) -> Measure | None:
    if not isinstance(raw, Mapping):
        return None
    return Measure(
        key=text(raw, "key") or text(raw, "name"),
        kind=text(raw, "kind", "http"),
        unit=text(raw, "unit"),
        count=integer(raw, "count"),
        failures=integer(raw, "failures"),
        error_rate=number(raw, "error_rate"),
        **{q: number(raw, q) for q in ("p50", "p95", "p99", "max", "rps")},
    )


def _check(raw: Mapping[str, Any]) -> Check:
    return Check(
        target=text(raw, "target"),
        objective=text(raw, "objective"),
        limit=number(raw, "limit"),
        observed=number(raw, "observed"),
        unit=text(raw, "unit"),
        passed=raw.get("passed") is True,
        message=text(raw, "message"),
    )


def _validity(raw: Any) -> tuple[str, str] | None:
    """``(verdict, reason)`` from ``"invalid"`` or ``{"verdict": "invalid", "reason": ...}``."""
    if isinstance(raw, str) and raw:
        return raw, ""
    if isinstance(raw, Mapping) and text(raw, "verdict"):
        return text(raw, "verdict"), text(raw, "reason")
    return None


def _arrival(raw: Any) -> Arrival | None:
    if not isinstance(raw, Mapping) or not raw:
        return None
    return Arrival(
        number(raw, "asked_rate"), number(raw, "achieved_rate"), integer(raw, "late_starts"),
        integer(raw, "dropped_starts"),
    )  # fmt: skip


def _scenario_verdict(raw: Mapping[str, Any], validity: tuple[str, str] | None) -> Verdict:
    status = text(raw, "status", "completed")
    if validity is not None and validity[0] == "invalid":
        return Verdict("invalid", "warn", validity[1] or _VERDICTS["invalid"][1])
    if status == "completed":
        if raw.get("passed") is True:
            return Verdict("pass", "good")
        return Verdict("fail", "bad", "An objective was breached.")
    if status == "interrupted":
        return Verdict("interrupted", "warn", text(raw, "message"))
    return Verdict("could not run", "bad", text(raw, "message"))


def _files(raw: Mapping[str, Any], folder: Path) -> tuple[tuple[str, str], ...]:
    """The scenario's files that exist, labelled (a scenario that could not run has few or none)."""
    labels = (("html", "locust's report"), ("csv", "statistics (CSV)"), ("history_csv", "per-second CSV"),
              ("failures_csv", "failures (CSV)"), ("json", "histograms (JSON)"))  # fmt: skip
    found = [(label, text(raw, key)) for key, label in labels if text(raw, key)]
    found += [(f"log {Path(str(p)).name}", str(p)) for p in sequence(raw, "logs")]
    found += [(f"plot {Path(str(p)).stem}", str(p)) for p in sequence(raw, "plots")]
    return tuple((label, path) for label, path in found if (folder / path).is_file())


def _per_second(
    timeline: Sequence[Second], kind: str, key: str, start: int
) -> tuple[tuple[int, Mapping[float, int]], ...]:
    if kind == "http" and key != REQUESTS:
        return ()  # the scenarios keep seconds for the metrics and the requests together only

    def wanted(s: Second) -> bool:
        if key == REQUESTS:
            return s.method == "" and s.name == REQUESTS
        return s.method in CUSTOM_TYPES and s.name == key

    return tuple((s.second - start, s.histogram) for s in sorted(timeline, key=lambda s: s.second) if wanted(s))


def _charts(
    name: str, measures: Sequence[Measure], checks: Sequence[Check], result: ScenarioResult,
    history: Sequence[tuple[str, Mapping[str, Any]]], current: str,
) -> tuple[Chartable, ...]:  # fmt: skip
    targets = result.targets()
    start = min((s.second for s in result.timeline), default=0)
    charts = []
    for m in measures:
        ceilings = tuple(
            Ceiling(c.objective, c.limit, c.passed)
            for c in checks
            if c.target == m.key and c.objective in CEILINGS and c.limit is not None
        )
        # every custom metric and the requests together; an HTTP entry when an objective bounds it
        if m.kind == "http" and m.key != REQUESTS and not ceilings:
            continue
        entry = targets.get(m.key)
        charts.append(
            Chartable(
                scenario=name,
                key=m.key,
                unit=m.unit,
                quantiles={q: getattr(m, q) for q in QUANTILES},
                histogram=dict(entry.histogram) if entry is not None else {},
                per_second=_per_second(result.timeline, m.kind, m.key, start),
                ceilings=ceilings,
                history=_history_points(history, name, m, current),
            )
        )
    return tuple(charts)


def _history_points(
    runs: Sequence[tuple[str, Mapping[str, Any]]], scenario: str, measure: Measure, current: str
) -> tuple[HistoryPoint, ...]:
    if not runs:
        return ()
    points = []
    for label, run in runs:
        if label == current:
            continue  # this run is drawn from the summary itself
        for s in sequence(run, "scenarios"):
            if not isinstance(s, Mapping) or text(s, "scenario") != scenario:
                continue
            rows = [s.get("requests"), *sequence(s, "entries")]
            for row in rows:
                if isinstance(row, Mapping) and (text(row, "key") or text(row, "name")) == measure.key:
                    points.append(HistoryPoint(label, {q: number(row, q) for q in QUANTILES}))
    points.append(HistoryPoint(current or "this run", {q: getattr(measure, q) for q in QUANTILES}, current=True))
    return tuple(points) if len(points) > 1 else ()


def _history(
    document: Mapping[str, Any], folder: Path, redactor: Redactor
) -> tuple[list[tuple[str, Mapping[str, Any]]], str]:
    """The earlier runs as ``(label, run)`` and a note when the history could not be read."""
    raw = document.get("history")
    note = ""
    if isinstance(raw, str) and raw:
        path = folder / raw
        try:
            body = path.read_text(encoding="utf-8").strip()
            lines = [line for line in body.splitlines() if line.strip()]
            raw = json.loads(body) if body.startswith("[") else [json.loads(line) for line in lines]
        except (OSError, ValueError) as exc:
            return [], f"The history file {raw} could not be read: {exc}."
    runs: list[tuple[str, Mapping[str, Any]]] = []
    for run in raw if isinstance(raw, list) else []:
        if isinstance(run, Mapping):
            run = redactor.json(dict(run))
            label = text(run, "label") or text(run, "started_at") or text(mapping(run, "settings"), "started_at")
            runs.append((label or f"run {len(runs) + 1}", run))
    return runs, note


def _comparisons(raw: Mapping[str, Any]) -> tuple[Comparison, ...]:
    found = []
    for item in sequence(raw, "metrics"):
        if isinstance(item, Mapping):
            found.append(
                Comparison(
                    text(item, "scenario"), text(item, "target") or text(item, "metric"), text(item, "statistic"),
                    number(item, "baseline"), number(item, "value"), boolean(item, "regression"),
                )  # fmt: skip
            )
    return tuple(found)


def _scenario(raw: Mapping[str, Any], folder: Path, history: Sequence[tuple[str, Mapping[str, Any]]],
              current: str) -> ScenarioView:  # fmt: skip
    name = text(raw, "scenario")
    requests = _measure(raw.get("requests"))
    entries = tuple(m for m in (_measure(e) for e in sequence(raw, "entries")) if m is not None)
    checks = tuple(_check(c) for c in sequence(raw, "slo") if isinstance(c, Mapping))
    validity = _validity(raw.get("validity"))
    result = read_result(name, folder / name) if name else ScenarioResult(name, [])
    measures = [*([requests] if requests is not None else []), *entries]
    failures = tuple(
        (f"{text(f, 'type')} {text(f, 'name')}".strip(), text(f, "error"), integer(f, "occurrences") or 0)
        for f in sequence(raw, "failures")
        if isinstance(f, Mapping)
    )
    return ScenarioView(
        name=name,
        status=text(raw, "status", "completed"),
        verdict=_scenario_verdict(raw, validity),
        message=text(raw, "message"),
        seconds=number(raw, "seconds"),
        requests=requests,
        entries=entries,
        checks=checks,
        failures=failures,
        arrival=_arrival(raw.get("arrival")),
        charts=_charts(name, measures, checks, result, history, current),
        files=_files(mapping(raw, "files"), folder),
    )


def _verdict(document: Mapping[str, Any], scenarios: Sequence[ScenarioView], breaches: Sequence[str]) -> Verdict:
    word = text(document, "verdict", "error")
    validity = _validity(document.get("validity"))
    if validity is not None and validity[0] == "invalid" and word in ("pass", "fail"):
        word = "invalid"
    tone, sentence = _VERDICTS.get(word, ("bad", f"Verdict {word}."))
    if word == "fail" and breaches:
        sentence = f"{len(breaches)} objective{'s' if len(breaches) != 1 else ''} breached."
    elif word == "invalid" and validity is not None and validity[1]:
        sentence = validity[1]
    elif word == "pass":
        met = sum(len(s.checks) for s in scenarios)
        sentence = f"All {met} objectives met in {len(scenarios)} scenarios." if met else "No objective was set."
    return Verdict(word, tone, sentence)


def read_load(folder: Path, redactor: Redactor, exit_code: int | None = None) -> LoadPart | Missing:
    """The load part of ``folder``; ``exit_code`` is the command's, said when no summary was written."""
    try:
        document = load_document(folder / SUMMARY, redactor)
    except Unreadable as exc:
        why = f"The load run left no readable summary: {exc}."
        if exit_code is not None:
            why = f"The load run exited {exit_code}. {why}"
        return could_not_run("load", why)
    settings = mapping(document, "settings")
    current = text(settings, "started_at")
    history, note = _history(document, folder, redactor)
    scenarios = tuple(_scenario(s, folder, history, current) for s in sequence(document, "scenarios")
                      if isinstance(s, Mapping))  # fmt: skip
    breaches = tuple(str(b) for b in sequence(document, "breaches"))
    comparison = mapping(document, "comparison")
    target = mapping(document, "target")
    return LoadPart(
        verdict=_verdict(document, scenarios, breaches),
        target=text(target, "host"),
        embedded_mock=target.get("embedded_mock") is True,
        settings=settings,
        scenarios=scenarios,
        breaches=breaches,
        comparison_against=text(comparison, "against"),
        comparisons=_comparisons(comparison),
        history_runs=len(history),
        notes=(note,) if note else (),
    )

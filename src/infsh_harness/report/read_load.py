"""The load part as the page reads it, from ``load/summary.json`` and the files beside it.

The keys of ``summary.json`` as ``infsh-harness load`` writes them (``load/report.py``,
``docs/load.md``); a key a reader does not find is shown as absent, never guessed::

    verdict: pass | unjudged | fail | invalid | error | interrupted
    target: {host, embedded_mock}
    settings: {scenarios, model: open | closed, rate, users, spawn_rate, max_in_flight, drain_s, run_time_s,
               workers, remote_workers, poll_interval_ms, slo_file, locust_args, started_at, seconds}
    breaches: [str]    regressions: [str]    objectives_judged: int    validity: {valid, reasons: [str]}
    scenarios: [{scenario, status: completed | interrupted | error, exit_code, seconds, message, passed,
                 requests: <measure>, entries: [<measure>],
                 failures: [{type, name, error, occurrences}],
                 slo: [{scenario, target, objective, limit, observed, unit, passed, excess, message}],
                 arrivals: {asked_rate, achieved_rate, planned, due, started, late, late_threshold_ms,
                            dropped, unfinished, lag_ms: {p50, p99, max}} | null (the closed loop),
                 generator: {model, processes: [{node, runs_users, seconds, cpu_mean, cpu_max,
                                                 busy_mean, busy_max}]} | null,
                 validity: {valid, reasons: [str]},
                 files: {html, csv, history_csv, failures_csv, json, timeline, generator, logs: [..], plots: [..]}}]
    baseline?, history?                                   (read_load_history)

    <measure>: {type, name, key, kind: http | metric | count, unit, count, failures, unanswered,
                error_rate, rps, mean, min, p50, p90, p95, p99, max}   (percentiles: successful samples only)

The charts' samples come from the files the summary was built from, through the load part's own
reader (``load/results.py``): ``SCENARIO_timeline.json``, each measure's successful samples second
by second. Earlier runs come from the history file (``read_load_history``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from infsh_harness.load.baseline import Comparison
from infsh_harness.load.results import ScenarioResult, read_result
from infsh_harness.load.slo import CEILINGS, REQUESTS
from infsh_harness.report.fields import Unreadable, boolean, integer, load_document, mapping, number, sequence, text
from infsh_harness.report.model import Missing, Verdict, could_not_run
from infsh_harness.report.read_load_history import Baseline, History, earlier_values, read_baseline, read_history
from infsh_harness.report.redact import Redactor

__all__ = [
    "QUANTILES", "Arrival", "Ceiling", "Chartable", "Check", "GeneratorProcess", "HistoryPoint", "LoadPart",
    "Measure", "ScenarioView", "read_load",
]  # fmt: skip

SUMMARY = "summary.json"
QUANTILES = ("p50", "p95", "p99")
_FILES = (
    ("html", "locust's report"), ("csv", "statistics (CSV)"), ("history_csv", "per-second CSV"),
    ("failures_csv", "failures (CSV)"), ("json", "locust's statistics (JSON)"),
    ("timeline", "samples second by second (JSON)"), ("generator", "the load generator (JSON)"),
)  # fmt: skip


@dataclass(frozen=True)
class Measure:
    """One row of a scenario's table: an HTTP entry, a custom metric, or every request together."""

    key: str
    kind: str  # http | metric | count
    unit: str
    count: int | None
    failures: int | None
    unanswered: int | None  # requests that got no HTTP answer (among the failures)
    error_rate: float | None
    p50: float | None
    p95: float | None
    p99: float | None
    max: float | None
    rps: float | None

    @property
    def succeeded(self) -> int | None:
        return None if self.count is None else self.count - (self.failures or 0)


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
    histogram: Mapping[float, int]  # every successful sample of the run
    per_second: tuple[tuple[int, Mapping[float, int]], ...]  # (second of the run, its successful samples)
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
    """The open model's schedule of one scenario: starts asked, made, late, dropped."""

    asked_rate: float | None
    achieved_rate: float | None
    planned: int | None
    due: int | None
    started: int | None
    late: int | None
    late_threshold_ms: float | None
    dropped: int | None
    unfinished: int | None
    lag_ms: Mapping[str, float | None]  # p50, p99, max


@dataclass(frozen=True)
class GeneratorProcess:
    """One locust process: its CPU, and CPU plus waiting for a core (busy), as shares of one core."""

    node: str
    runs_users: bool
    seconds: int | None
    cpu_mean: float | None
    cpu_max: float | None
    busy_mean: float | None
    busy_max: float | None


@dataclass(frozen=True)
class ScenarioView:
    name: str
    status: str  # completed | interrupted | error
    verdict: Verdict
    message: str
    seconds: float | None
    requests: Measure | None
    entries: tuple[Measure, ...]
    checks: tuple[Check, ...]
    failures: tuple[tuple[str, str, int], ...]  # (entry, error, occurrences)
    arrival: Arrival | None
    generator: tuple[GeneratorProcess, ...]
    invalid: tuple[str, ...]  # why the measurement is not valid
    charts: tuple[Chartable, ...]
    files: tuple[tuple[str, str], ...]  # (label, path relative to the load folder)
    regressions: tuple[Comparison, ...] = ()  # against the baseline (its objectives may all be met)


@dataclass(frozen=True)
class LoadPart:
    verdict: Verdict
    target: str
    embedded_mock: bool
    settings: Mapping[str, Any]
    load: str  # the load asked, in words
    scenarios: tuple[ScenarioView, ...]
    breaches: tuple[str, ...]
    regressions: tuple[str, ...]
    invalid: tuple[str, ...]  # why the measurement is not valid (every scenario's reasons)
    objectives_judged: int | None
    baseline: Baseline | None
    history: History | None
    notes: tuple[str, ...]

    kind = "load"
    part = "load"

    @property
    def comparisons(self) -> tuple[Comparison, ...]:
        return self.baseline.comparisons if self.baseline is not None else ()

    @property
    def history_runs(self) -> int:
        """Earlier runs read from the history file."""
        return len(self.history.earlier) if self.history is not None else 0


def _measure(raw: Any) -> Measure | None:
    if not isinstance(raw, Mapping) or not text(raw, "key"):
        return None
    return Measure(
        key=text(raw, "key"), kind=text(raw, "kind", "http"), unit=text(raw, "unit"), count=integer(raw, "count"),
        failures=integer(raw, "failures"), unanswered=integer(raw, "unanswered"),
        error_rate=number(raw, "error_rate"), **{q: number(raw, q) for q in ("p50", "p95", "p99", "max", "rps")},
    )  # fmt: skip


def _check(raw: Mapping[str, Any]) -> Check:
    return Check(text(raw, "target"), text(raw, "objective"), number(raw, "limit"), number(raw, "observed"),
                 text(raw, "unit"), raw.get("passed") is True, text(raw, "message"))  # fmt: skip


def _reasons(raw: Any) -> tuple[str, ...]:
    """Why ``validity`` (``{valid, reasons}``) says the measurement is not valid; () when it is."""
    if not isinstance(raw, Mapping) or raw.get("valid") is not False:
        return ()
    return tuple(str(r) for r in sequence(raw, "reasons")) or ("the load generator could not keep up",)


def _arrival(raw: Any) -> Arrival | None:
    if not isinstance(raw, Mapping):
        return None
    counts = {k: integer(raw, k) for k in ("planned", "due", "started", "late", "dropped", "unfinished")}
    lag = mapping(raw, "lag_ms")
    return Arrival(asked_rate=number(raw, "asked_rate"), achieved_rate=number(raw, "achieved_rate"),
                   late_threshold_ms=number(raw, "late_threshold_ms"),
                   lag_ms={q: number(lag, q) for q in ("p50", "p99", "max")}, **counts)  # fmt: skip


def _generator(raw: Any) -> tuple[GeneratorProcess, ...]:
    if not isinstance(raw, Mapping):
        return ()
    return tuple(
        GeneratorProcess(text(p, "node"), boolean(p, "runs_users") is True, integer(p, "seconds"),
                         *(number(p, k) for k in ("cpu_mean", "cpu_max", "busy_mean", "busy_max")))
        for p in sequence(raw, "processes") if isinstance(p, Mapping)
    )  # fmt: skip


def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'s' if n != 1 else ''}"


def _scenario_verdict(raw: Mapping[str, Any], checks: Sequence[Check], invalid: Sequence[str]) -> Verdict:
    status = text(raw, "status")
    message = text(raw, "message")
    if status == "error":
        return Verdict("could not run", "bad", message or "The scenario could not be run.")
    if status == "interrupted":
        return Verdict("interrupted", "warn", message or "Interrupted: what was measured until then is below.")
    if invalid:
        return Verdict("not valid", "warn", "; ".join(invalid))
    breached = [c for c in checks if not c.passed]
    if breached:
        return Verdict("fail", "bad", f"{_plural(len(breached), 'objective')} of {len(checks)} breached.")
    if raw.get("passed") is True and checks:
        return Verdict("pass", "good", f"{_plural(len(checks), 'objective')} met.")
    if raw.get("passed") is True:
        return Verdict("unjudged", "none", "No objective was judged: measured only.")
    return Verdict("fail", "bad", message or "The scenario did not pass.")


def _files(raw: Mapping[str, Any], folder: Path) -> tuple[tuple[str, str], ...]:
    """The scenario's files that exist, labelled (a scenario that could not run has few or none)."""
    found = [(label, text(raw, key)) for key, label in _FILES if text(raw, key)]
    found += [(f"log {Path(str(p)).name}", str(p)) for p in sequence(raw, "logs")]
    found += [(f"plot {Path(str(p)).stem}", str(p)) for p in sequence(raw, "plots")]
    return tuple((label, path) for label, path in found if (folder / path).is_file())


def _history_points(history: History | None, scenario: str, measure: Measure, current: str) -> tuple[HistoryPoint, ...]:
    points = [HistoryPoint(run.started_at or f"run {run.id}", values)
              for run, values in earlier_values(history, scenario, measure.key, QUANTILES)]  # fmt: skip
    if not points:
        return ()
    return (*points, HistoryPoint(current or "this run", {q: getattr(measure, q) for q in QUANTILES}, current=True))


def _charts(name: str, measures: Sequence[Measure], checks: Sequence[Check], result: ScenarioResult,
            history: History | None, current: str) -> tuple[Chartable, ...]:  # fmt: skip
    """Every custom metric and the requests together; an HTTP entry when an objective bounds it."""
    targets = result.targets()
    generator = result.generator
    seconds = [s.second for s in result.timeline]
    start = int(generator.started_at) if generator is not None and generator.started_at > 0 else min(seconds, default=0)
    charts = []
    for m in measures:
        ceilings = tuple(Ceiling(c.objective, c.limit, c.passed) for c in checks
                         if c.target == m.key and c.objective in CEILINGS and c.limit is not None)  # fmt: skip
        if m.kind == "http" and m.key != REQUESTS and not ceilings:
            continue
        entry = targets.get(m.key)
        charts.append(Chartable(
            scenario=name, key=m.key, unit=m.unit, quantiles={q: getattr(m, q) for q in QUANTILES},
            histogram=dict(entry.histogram) if entry is not None else {},
            per_second=tuple((second - start, h) for second, h in result.seconds_by_second(m.key)),
            ceilings=ceilings, history=_history_points(history, name, m, current),
        ))  # fmt: skip
    return tuple(charts)


def _scenario(raw: Mapping[str, Any], folder: Path, history: History | None, current: str,
              baseline: Baseline | None) -> ScenarioView:  # fmt: skip
    name = text(raw, "scenario")
    requests = _measure(raw.get("requests"))
    entries = tuple(m for m in (_measure(e) for e in sequence(raw, "entries")) if m is not None)
    checks = tuple(_check(c) for c in sequence(raw, "slo") if isinstance(c, Mapping))
    invalid = _reasons(raw.get("validity"))
    status = text(raw, "status")
    measures = [*([requests] if requests is not None else []), *entries]
    # a scenario that could not run has no numbers worth drawing
    result = read_result(name, folder / name) if name and status != "error" else None
    failures = tuple(
        (f"{text(f, 'type')} {text(f, 'name')}".strip(), text(f, "error"), integer(f, "occurrences") or 0)
        for f in sequence(raw, "failures") if isinstance(f, Mapping)
    )  # fmt: skip
    return ScenarioView(
        name=name, status=status, verdict=_scenario_verdict(raw, checks, invalid), message=text(raw, "message"),
        seconds=number(raw, "seconds"), requests=requests, entries=entries, checks=checks, failures=failures,
        arrival=_arrival(raw.get("arrivals")), generator=_generator(raw.get("generator")), invalid=invalid,
        charts=_charts(name, measures, checks, result, history, current) if result is not None else (),
        files=_files(mapping(raw, "files"), folder),
        regressions=tuple(c for c in baseline.regressions if c.scenario == name) if baseline is not None else (),
    )  # fmt: skip


def _load_words(settings: Mapping[str, Any]) -> str:
    model, rate, users = text(settings, "model"), number(settings, "rate"), integer(settings, "users")
    if model == "open" and rate is not None:
        return f"open model: {rate:g} tasks started per second per scenario"
    if users is not None:
        spawn = number(settings, "spawn_rate")
        return f"closed loop: {_plural(users, 'user')}" + (f", spawn rate {spawn:g}/s" if spawn is not None else "")
    return ""


def _verdict(document: Mapping[str, Any], scenarios: Sequence[ScenarioView], baseline: Baseline | None,
             invalid: Sequence[str]) -> Verdict:  # fmt: skip
    word = text(document, "verdict")
    breaches = sequence(document, "breaches")
    against = f" against run {baseline.run_id}" if baseline is not None and baseline.run_id is not None else ""
    if word == "interrupted":
        return Verdict("interrupted", "warn", "The run was interrupted: what was measured until then is below.")
    if word == "error":
        failed = [s for s in scenarios if s.status == "error"]
        said = "; ".join(f"{s.name}: {s.verdict.text}" for s in failed)
        history_error = text(mapping(document, "history"), "error")
        why = said or (f"the history: {history_error}" if history_error else "a scenario could not be run")
        also = [s.name for s in scenarios if s.invalid]
        tail = f" The measurement of {', '.join(also)} is not valid either." if also else ""
        return Verdict("could not run", "bad", f"The load run could not be made: {why}.{tail}")
    if word == "invalid":
        return Verdict("not valid", "warn", "The load generator, not the server, limited what was measured: "
                       + "; ".join(invalid) + ".")  # fmt: skip
    if word == "fail":
        parts = [f"{_plural(len(breaches), 'objective')} breached"] if breaches else []
        regressions = baseline.regressions if baseline is not None else ()
        if regressions:
            parts.append(f"{_plural(len(regressions), 'regression')}{against}")
        return Verdict("fail", "bad", (", ".join(parts) or "The run did not pass") + ".")
    if word == "pass":
        judged = integer(document, "objectives_judged") or sum(len(s.checks) for s in scenarios)
        compared = f"; no regression{against}" if against else ""
        return Verdict("pass", "good", f"All {judged} objectives met in {_plural(len(scenarios), 'scenario')}"
                       f"{compared}.")  # fmt: skip
    if word == "unjudged":
        return Verdict("unjudged", "none", "No objective was judged (--no-slo, or none set): measured only.")
    return Verdict("could not run", "bad", f"The summary's verdict {word!r} is not one of the load part's.")


def read_load(folder: Path, redactor: Redactor, exit_code: int | None = None,
              not_before: float | None = None) -> LoadPart | Missing:  # fmt: skip
    """The load part of ``folder``; ``exit_code`` is the command's, said when no summary was written;
    ``not_before``: a summary written before this time is an earlier run's, not read."""
    try:
        document = load_document(folder / SUMMARY, redactor, not_before)
    except Unreadable as exc:
        why = f"The load run left no readable summary: {exc}."
        if exit_code is not None:
            why = f"The load run exited {exit_code}. {why}"
        return could_not_run("load", why)
    settings = mapping(document, "settings")
    history = read_history(document, folder)
    baseline = read_baseline(document)
    scenarios = tuple(_scenario(s, folder, history, text(settings, "started_at"), baseline)
                      for s in sequence(document, "scenarios") if isinstance(s, Mapping))  # fmt: skip
    invalid = _reasons(document.get("validity"))
    target = mapping(document, "target")
    return LoadPart(
        verdict=_verdict(document, scenarios, baseline, invalid),
        target=text(target, "host"),
        embedded_mock=target.get("embedded_mock") is True,
        settings=settings,
        load=_load_words(settings),
        scenarios=scenarios,
        breaches=tuple(str(b) for b in sequence(document, "breaches")),
        regressions=tuple(str(r) for r in sequence(document, "regressions")),
        invalid=invalid,
        objectives_judged=integer(document, "objectives_judged"),
        baseline=baseline,
        history=history,
        notes=history.notes if history is not None else (),
    )

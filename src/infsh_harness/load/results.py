"""What one scenario run measured, read back from the files its locust processes wrote.

The scenarios write ``PREFIX_timeline.json``: per entry and per second, the histogram of the
successful samples, the failures and the requests that got no HTTP answer (``scenarios/common.py``),
complete at exit, also with master and workers. Entries, percentiles and rates are built from it,
so a failed request (a refused connection takes a millisecond) never counts toward a latency or
a throughput. ``PREFIX_generator.json`` tells how the load generator itself fared (its CPU, its
schedules). Locust's own ``PREFIX_stats.json`` (``--json-file``) stands in for the timeline only
for a locustfile that writes none (its histograms include failures), and ``PREFIX_failures.csv``
and ``PREFIX_exceptions.csv`` name what went wrong.
"""

from __future__ import annotations

import ast
import csv
import json
import re
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from infsh_harness.load.arrivals import ArrivalCounts
from infsh_harness.load.metrics import COUNT, CUSTOM_TYPES, METRIC, METRICS, percentile
from infsh_harness.load.slo import REQUESTS

__all__ = [
    "EntryStats",
    "Failure",
    "GeneratorReport",
    "ProcessReport",
    "ScenarioResult",
    "Second",
    "entries_of",
    "read_exceptions",
    "read_failures",
    "read_generator",
    "read_result",
    "read_stats",
    "read_timeline",
]


@dataclass(frozen=True)
class EntryStats:
    """One locust entry (or the requests together): counts and the histogram of its samples."""

    method: str
    name: str
    count: int
    failures: int
    histogram: Mapping[float, int]
    total: float
    minimum: float | None
    maximum: float
    start: float
    last: float
    unanswered: int = 0  # requests that got no HTTP answer at all (among the failures)

    @property
    def kind(self) -> str:
        if self.method == METRIC:
            return "metric"
        if self.method == COUNT:
            return "count"
        return "http"

    @property
    def key(self) -> str:
        """The name an SLO uses: the metric's own name, or ``METHOD name`` for a request entry."""
        return self.name if self.kind != "http" or self.name == REQUESTS else f"{self.method} {self.name}"

    @property
    def unit(self) -> str:
        if self.kind == "count":
            info = METRICS.get(self.name)
            return info.unit if info else ""
        return "ms"

    @property
    def error_rate(self) -> float:
        return self.failures / self.count if self.count else 0.0

    @property
    def duration(self) -> float:
        return max(self.last - self.start, 0.0)

    @property
    def succeeded(self) -> int:
        return self.count - self.failures

    @property
    def rps(self) -> float:
        """Successful samples per second of the run (failures never count as throughput)."""
        return self.succeeded / self.duration if self.duration > 0 else 0.0

    @property
    def mean(self) -> float | None:
        timed = sum(self.histogram.values())
        return self.total / timed if timed else None

    def quantile(self, q: float) -> float | None:
        return percentile(self.histogram, q)

    def with_span(self, start: float, last: float) -> EntryStats:
        """The same samples over a given time span (rates of one run share one span)."""
        return EntryStats(
            self.method, self.name, self.count, self.failures, self.histogram, self.total,
            self.minimum, self.maximum, start, last, self.unanswered,
        )  # fmt: skip

    def as_json(self) -> dict[str, Any]:
        return {
            "type": self.method,
            "name": self.name,
            "key": self.key,
            "kind": self.kind,
            "unit": self.unit,
            "count": self.count,
            "failures": self.failures,
            "unanswered": self.unanswered,
            "error_rate": round(self.error_rate, 6),
            "rps": round(self.rps, 3),
            "mean": None if self.mean is None else round(self.mean, 3),
            "min": self.minimum if self.histogram else None,
            **{f"p{int(q * 100)}": self.quantile(q) for q in (0.5, 0.9, 0.95, 0.99)},
            "max": self.maximum if self.histogram else None,
        }


def merge(method: str, name: str, entries: Iterable[EntryStats]) -> EntryStats:
    """Several entries as one (the requests of a scenario together)."""
    histogram: Counter[float] = Counter()
    count = failures = unanswered = 0
    total = maximum = 0.0
    minimum: float | None = None
    start, last = float("inf"), 0.0
    for e in entries:
        histogram.update(e.histogram)
        count += e.count
        failures += e.failures
        unanswered += e.unanswered
        total += e.total
        maximum = max(maximum, e.maximum)
        if e.minimum is not None:
            minimum = e.minimum if minimum is None else min(minimum, e.minimum)
        start, last = min(start, e.start), max(last, e.last)
    return EntryStats(method, name, count, failures, dict(histogram), total, minimum, maximum,
                      start if count else 0.0, last, unanswered)  # fmt: skip


@dataclass(frozen=True)
class Failure:
    method: str
    name: str
    error: str
    occurrences: int

    def as_json(self) -> dict[str, Any]:
        return {"type": self.method, "name": self.name, "error": self.error, "occurrences": self.occurrences}


@dataclass(frozen=True)
class Second:
    """The samples of one entry in one second of the run (a row of ``PREFIX_timeline.json``)."""

    method: str  # METRIC, COUNT, or the HTTP method
    name: str
    second: int
    histogram: Mapping[float, int]  # successful samples
    failures: int = 0
    unanswered: int = 0

    @property
    def key(self) -> str:
        return self.name if self.method in CUSTOM_TYPES else f"{self.method} {self.name}"


@dataclass(frozen=True)
class ProcessReport:
    """How one locust process fared each second, as shares of one core: the CPU it used, and that plus
    the time it waited for a core while ready to run (``busy``); and its schedules' counts."""

    node: str
    runs_users: bool
    cpu: Sequence[float]
    arrivals: ArrivalCounts | None
    busy: Sequence[float] = ()


@dataclass(frozen=True)
class GeneratorReport:
    """``PREFIX_generator.json``: the load model and every locust process (``scenarios/monitor.py``)."""

    model: str
    started_at: float
    stopped_at: float
    processes: Sequence[ProcessReport]

    @property
    def arrivals(self) -> ArrivalCounts | None:
        """The schedules of every process together (``None`` in the closed loop)."""
        found = [p.arrivals for p in self.processes if p.arrivals is not None]
        if not found:
            return None
        total = found[0]
        for counts in found[1:]:
            total = total.merge(counts)
        return total


@dataclass
class ScenarioResult:
    scenario: str
    entries: list[EntryStats]
    failures: list[Failure] = field(default_factory=list)
    timeline: list[Second] = field(default_factory=list)
    exceptions: list[Failure] = field(default_factory=list)  # errors in the locustfile's own code
    generator: GeneratorReport | None = None

    @property
    def requests(self) -> EntryStats:
        """Every HTTP request of the scenario together (locust's "Aggregated" row, metrics left out)."""
        return merge("", REQUESTS, (e for e in self.entries if e.kind == "http"))

    @property
    def span(self) -> tuple[float, float]:
        if self.generator is not None and self.generator.stopped_at > self.generator.started_at > 0:
            return self.generator.started_at, self.generator.stopped_at
        measured = [e for e in self.entries if e.count]
        if not measured:
            return 0.0, 0.0
        return min(e.start for e in measured), max(e.last for e in measured)

    def targets(self) -> dict[str, EntryStats]:
        """Every entry by its SLO key, plus ``requests``; all rates over the run's one time span."""
        start, last = self.span
        found = {e.key: e.with_span(start, last) for e in self.entries}
        found[REQUESTS] = self.requests.with_span(start, last)
        return found

    def seconds_by_second(self, key: str) -> list[tuple[int, dict[float, int]]]:
        """The successful samples of one target (an SLO key, or ``requests``), second by second."""
        by_second: dict[int, dict[float, int]] = {}
        for row in self.timeline:
            if row.key == key or (key == REQUESTS and row.method not in CUSTOM_TYPES):
                histogram = by_second.setdefault(row.second, {})
                for value, n in row.histogram.items():
                    histogram[value] = histogram.get(value, 0) + n
        return [(second, by_second[second]) for second in sorted(by_second)]


def entries_of(timeline: Iterable[Second]) -> list[EntryStats]:
    """One entry per measure from its seconds (successful samples only in the histogram)."""
    grouped: dict[tuple[str, str], list[Second]] = {}
    for row in timeline:
        grouped.setdefault((row.method, row.name), []).append(row)
    entries = []
    for (method, name), rows in grouped.items():
        histogram: Counter[float] = Counter()
        for row in rows:
            histogram.update(row.histogram)
        failures = sum(r.failures for r in rows)
        unanswered = sum(r.unanswered for r in rows)
        count = sum(histogram.values()) + failures
        first, last = min(r.second for r in rows), max(r.second for r in rows) + 1
        entries.append(EntryStats(
            method, name, count, failures, dict(histogram), sum(v * n for v, n in histogram.items()),
            min(histogram, default=None), max(histogram, default=0.0), float(first), float(last), unanswered,
        ))  # fmt: skip
    return _ordered(entries)


def _ordered(entries: list[EntryStats]) -> list[EntryStats]:
    """Requests first, then the custom metrics, each group by name."""
    return sorted(entries, key=lambda e: (e.method in CUSTOM_TYPES, e.name, e.method))


def _number(value: Any) -> float:
    return float(value) if value is not None else 0.0


def read_stats(path: Path) -> list[EntryStats]:
    """Entries of a ``--json-file`` output (an empty list when it is missing)."""
    try:
        raw: Sequence[Mapping[str, Any]] = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return []
    entries = []
    for item in raw:
        histogram = {float(k): int(v) for k, v in (item.get("response_times") or {}).items()}
        entries.append(
            EntryStats(
                method=str(item.get("method") or ""),
                name=str(item.get("name") or ""),
                count=int(item.get("num_requests") or 0),
                failures=int(item.get("num_failures") or 0),
                histogram=histogram,
                total=_number(item.get("total_response_time")),
                minimum=None if item.get("min_response_time") is None else float(item["min_response_time"]),
                maximum=_number(item.get("max_response_time")),
                start=_number(item.get("start_time")),
                last=_number(item.get("last_request_timestamp")),
            )
        )
    return _ordered(entries)


_WRAPPED = re.compile(r"^[A-Za-z_][\w.]*\((.*)\)$", re.DOTALL)


def _unwrap(error: str) -> str:
    """``CatchResponseError('message')`` (how locust stores a failure) -> ``message``."""
    match = _WRAPPED.match(error)
    if match:
        try:
            inner = ast.literal_eval(match.group(1))
        except (ValueError, SyntaxError):
            return error
        if isinstance(inner, str):
            return inner
    return error


def read_failures(path: Path) -> list[Failure]:
    try:
        with path.open(encoding="utf-8", newline="") as f:
            rows = list(csv.DictReader(f))
    except OSError:
        return []
    return [
        Failure(row.get("Method", ""), row.get("Name", ""), _unwrap(row.get("Error", "")),
                int(row.get("Occurrences") or 0))  # fmt: skip
        for row in rows
    ]


def read_timeline(path: Path) -> list[Second] | None:
    """The per-second rows the scenarios write; ``None`` when the file is missing or unreadable."""
    try:
        rows = json.loads(path.read_text(encoding="utf-8"))
        return [Second(str(kind), str(name), int(second), {float(v): int(n) for v, n in pairs}, int(failed),
                       int(unanswered))
                for kind, name, second, pairs, failed, unanswered in rows]  # fmt: skip
    except (OSError, ValueError, TypeError):
        return None


def read_exceptions(path: Path) -> list[Failure]:
    """Errors raised in the locustfile's own code (locust's ``PREFIX_exceptions.csv``)."""
    try:
        with path.open(encoding="utf-8", newline="") as f:
            rows = list(csv.DictReader(f))
    except OSError:
        return []
    return [Failure("", "", (row.get("Message") or "").strip()[:300], int(row.get("Count") or 0)) for row in rows]


def read_generator(path: Path) -> GeneratorReport | None:
    """``PREFIX_generator.json`` (``None`` when missing or not what the scenarios write)."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        processes = [
            ProcessReport(str(p["node"]), bool(p["runs_users"]), [float(c) for c in p["cpu"]],
                          None if p.get("arrivals") is None else ArrivalCounts.from_json(p["arrivals"]),
                          [float(b) for b in p.get("busy") or p["cpu"]])
            for p in data["processes"]
        ]  # fmt: skip
        return GeneratorReport(str(data["model"]), float(data["started_at"] or 0.0), float(data["stopped_at"] or 0.0),
                               processes)  # fmt: skip
    except (OSError, ValueError, TypeError, KeyError):
        return None


def read_result(scenario: str, prefix: Path) -> ScenarioResult:
    """Everything locust wrote for one run under ``prefix`` (``out/run_wait`` -> ``out/run_wait_*``)."""

    def file(suffix: str) -> Path:
        return prefix.with_name(prefix.name + suffix)

    timeline = read_timeline(file("_timeline.json"))
    entries = entries_of(timeline) if timeline is not None else read_stats(file("_stats.json"))
    return ScenarioResult(
        scenario,
        entries,
        read_failures(file("_failures.csv")),
        timeline or [],
        read_exceptions(file("_exceptions.csv")),
        read_generator(file("_generator.json")),
    )

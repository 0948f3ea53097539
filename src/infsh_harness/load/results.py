"""What one scenario run measured, read back from locust's own output files.

Locust writes ``PREFIX_stats.json`` (every entry's histogram, from ``--json-file``, complete at
exit, also with master and workers) and ``PREFIX_failures.csv``: the summary reads these, so it
agrees with locust's own reports. The scenarios add ``PREFIX_timeline.json``, per-second
histograms for the plots.
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

from infsh_harness.load.metrics import COUNT, CUSTOM_TYPES, METRIC, METRICS, percentile
from infsh_harness.load.slo import REQUESTS

__all__ = [
    "EntryStats",
    "Failure",
    "Second",
    "ScenarioResult",
    "read_failures",
    "read_timeline",
    "read_result",
    "read_stats",
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
    def rps(self) -> float:
        return self.count / self.duration if self.duration > 0 else 0.0

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
            self.minimum, self.maximum, start, last,
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
            "error_rate": round(self.error_rate, 6),
            "rps": round(self.rps, 3),
            "mean": None if self.mean is None else round(self.mean, 3),
            "min": self.minimum,
            **{f"p{int(q * 100)}": self.quantile(q) for q in (0.5, 0.9, 0.95, 0.99)},
            "max": self.maximum if self.count else None,
        }


def merge(method: str, name: str, entries: Iterable[EntryStats]) -> EntryStats:
    """Several entries as one (the requests of a scenario together)."""
    histogram: Counter[float] = Counter()
    count = failures = 0
    total = maximum = 0.0
    minimum: float | None = None
    start, last = float("inf"), 0.0
    for e in entries:
        histogram.update(e.histogram)
        count += e.count
        failures += e.failures
        total += e.total
        maximum = max(maximum, e.maximum)
        if e.minimum is not None:
            minimum = e.minimum if minimum is None else min(minimum, e.minimum)
        start, last = min(start, e.start), max(last, e.last)
    return EntryStats(method, name, count, failures, dict(histogram), total, minimum, maximum,
                      start if count else 0.0, last)  # fmt: skip


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
    """The samples of one measure in one second of the run (from ``PREFIX_timeline.json``)."""

    method: str  # METRIC, COUNT, or "" for every HTTP request together
    name: str
    second: int
    histogram: Mapping[float, int]


@dataclass
class ScenarioResult:
    scenario: str
    entries: list[EntryStats]
    failures: list[Failure] = field(default_factory=list)
    timeline: list[Second] = field(default_factory=list)

    @property
    def requests(self) -> EntryStats:
        """Every HTTP request of the scenario together (locust's "Aggregated" row, metrics left out)."""
        return merge("", REQUESTS, (e for e in self.entries if e.kind == "http"))

    @property
    def span(self) -> tuple[float, float]:
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
    # requests first, then the custom metrics, each group by name
    return sorted(entries, key=lambda e: (e.method in CUSTOM_TYPES, e.name, e.method))


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


def read_timeline(path: Path) -> list[Second]:
    """The per-second histograms the scenarios write (an empty list when missing or unreadable)."""
    try:
        rows = json.loads(path.read_text(encoding="utf-8"))
        return [Second(str(kind), str(name), int(second), {float(v): int(n) for v, n in pairs})
                for kind, name, second, pairs in rows]  # fmt: skip
    except (OSError, ValueError, TypeError):
        return []


def read_result(scenario: str, prefix: Path) -> ScenarioResult:
    """Everything locust wrote for one run under ``prefix`` (``out/run_wait`` -> ``out/run_wait_*``)."""
    return ScenarioResult(
        scenario,
        read_stats(prefix.with_name(prefix.name + "_stats.json")),
        read_failures(prefix.with_name(prefix.name + "_failures.csv")),
        read_timeline(prefix.with_name(prefix.name + "_timeline.json")),
    )

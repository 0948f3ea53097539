"""The load scenarios' measures: what they are called, their units, how their samples are kept.

A scenario reports two sorts of numbers through locust's ``request`` event: HTTP requests (one
entry per method and URL template, e.g. ``GET /tasks/{id}``) and custom metrics, each its own
entry whose ``request_type`` is :data:`METRIC` (milliseconds) or :data:`COUNT` (a plain number).
Custom metrics are kept out of locust's "Aggregated" row, so the request totals, error rate and
throughput describe HTTP requests only.

Locust keeps samples in a histogram keyed by a rounded value; its default rounding (to two
significant digits: 147 ms becomes 150 ms) is too coarse to compare a 200 ms truth within 2 ms, so
the scenarios install :func:`fine_bucket` (0.1 ms below one second, four significant digits above).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

__all__ = [
    "COUNT",
    "CUSTOM_TYPES",
    "METRIC",
    "METRICS",
    "MetricInfo",
    "fine_bucket",
    "percentile",
]

METRIC = "METRIC"
COUNT = "COUNT"
CUSTOM_TYPES = frozenset({METRIC, COUNT})


@dataclass(frozen=True)
class MetricInfo:
    name: str
    unit: str
    scenario: str
    description: str


METRICS: Mapping[str, MetricInfo] = {
    m.name: m
    for m in (
        MetricInfo("time_to_terminal", "ms", "run_wait, run_poll", "run submitted -> terminal task received"),
        MetricInfo("polls_to_terminal", "polls", "run_poll", "GET /tasks/{id} calls until a terminal status"),
        MetricInfo("cancel_to_cancelled", "ms", "run_cancel", "cancel sent -> status Cancelled observed"),
        MetricInfo("webhook_turnaround", "ms", "webhook", "webhook received - payload updated_at"),
        MetricInfo("webhook_end_to_end", "ms", "webhook", "run submitted -> webhook received"),
    )
}


def fine_bucket(value: float) -> float:
    """The histogram key of one sample: to 0.1 below 1000, to four significant digits above."""
    if value < 1000:
        return round(value, 1)
    digits = len(str(int(value))) - 4
    return int(round(value, -digits))


def percentile(histogram: Mapping[float, int], q: float) -> float | None:
    """The ``q`` quantile (0..1) of a histogram, the way locust computes it; ``None`` when empty.

    Locust walks the keys from the top and stops when no more than ``int(n * q)`` samples are left
    below; using the same walk keeps the summary and locust's own CSV and HTML in agreement.
    """
    count = sum(histogram.values())
    if count == 0:
        return None
    keep_below = int(count * q)
    seen = 0
    for value in sorted(histogram, reverse=True):
        seen += histogram[value]
        if count - seen <= keep_below:
            return value
    return min(histogram)

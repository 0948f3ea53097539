"""One PNG per measure: its p50, p95 and p99 in each second of the run; and one measure across runs.

Drawn from the per-second histograms of successful samples the scenarios keep
(``PREFIX_timeline.json``): every custom metric of the scenario, and every HTTP request together.
:func:`plot_history` draws a measure's quantiles across the runs of a history file.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from infsh_harness.load.metrics import percentile
from infsh_harness.load.results import ScenarioResult
from infsh_harness.load.slo import REQUESTS

__all__ = ["RunPoint", "plot_history", "plot_result"]

_LINES = (("p50", 0.50, "-"), ("p95", 0.95, "--"), ("p99", 0.99, ":"))


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9]+", "_", text).strip("_").lower() or "entry"


def plot_result(result: ScenarioResult, out: Path) -> list[Path]:
    """Write ``SCENARIO_<metric>.png`` per custom metric and ``SCENARIO_requests.png``; their paths."""
    if not result.timeline:
        return []
    plt = _pyplot()
    start = min(s.second for s in result.timeline)
    written = []
    for entry in result.entries:
        if entry.kind != "http":
            path = out / f"{result.scenario}_{_slug(entry.name)}.png"
            points = result.seconds_by_second(entry.key)
            written.append(_plot(plt, points, start, f"{result.scenario}: {entry.name}", entry.unit, path))
    path = out / f"{result.scenario}_requests.png"
    points = result.seconds_by_second(REQUESTS)
    written.append(_plot(plt, points, start, f"{result.scenario}: every HTTP request", "ms", path))
    return written


def _pyplot() -> Any:
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot as plt

    return plt


def _plot(plt: Any, points: Sequence[tuple[int, Mapping[float, int]]], start: int, title: str, unit: str,
          path: Path) -> Path:  # fmt: skip
    figure, axes = plt.subplots(figsize=(8, 4), dpi=100)
    try:
        elapsed = [second - start for second, _ in points]
        for label, q, style in _LINES:
            axes.plot(elapsed, [percentile(h, q) for _, h in points], style, marker=".", label=label)
        counts = axes.twinx()
        counts.bar(elapsed, [sum(h.values()) for _, h in points], width=0.8, alpha=0.12, color="grey")
        counts.set_ylabel("successful samples per second")
        axes.set_zorder(counts.get_zorder() + 1)
        axes.patch.set_visible(False)
        axes.set_title(title)
        axes.set_xlabel("second of the run")
        axes.set_ylabel(unit)
        axes.set_ylim(bottom=0)
        axes.grid(True, alpha=0.3)
        if points:
            axes.legend(loc="upper left")
        else:
            axes.text(0.5, 0.5, "no samples", ha="center", va="center", transform=axes.transAxes)
        figure.tight_layout()
        figure.savefig(path)
    finally:
        plt.close(figure)
    return path


@dataclass(frozen=True)
class RunPoint:
    """One recorded run of one measure, for :func:`plot_history`."""

    run_id: int
    label: str  # e.g. the run id and the commit's first characters
    values: Mapping[str, float | None]  # quantile name -> value


def plot_history(points: Sequence[RunPoint], title: str, unit: str, path: Path) -> Path:
    """One line per quantile across recorded runs, oldest on the left."""
    plt = _pyplot()
    figure, axes = plt.subplots(figsize=(max(6.0, 0.5 * len(points) + 3), 4), dpi=100)
    try:
        xs = list(range(len(points)))
        names = list(dict.fromkeys(name for p in points for name in p.values))
        styles = ["-", "--", ":", "-."]
        for i, name in enumerate(names):
            ys = [p.values.get(name) for p in points]
            axes.plot(xs, [float("nan") if y is None else y for y in ys], styles[i % len(styles)], marker="o",
                      label=name)  # fmt: skip
        axes.set_xticks(xs, [p.label for p in points], rotation=45, ha="right", fontsize=8)
        axes.set_title(title)
        axes.set_xlabel("recorded run")
        axes.set_ylabel(unit)
        axes.set_ylim(bottom=0)
        axes.grid(True, alpha=0.3)
        if names:
            axes.legend(loc="upper left")
        figure.tight_layout()
        figure.savefig(path)
    finally:
        plt.close(figure)
    return path

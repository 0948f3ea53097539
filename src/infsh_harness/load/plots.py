"""One PNG per measure: its p50, p95 and p99 in each second of the run.

Drawn from the per-second histograms the scenarios keep (``PREFIX_timeline.json``): every custom
metric of the scenario, and every HTTP request together.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from infsh_harness.load.metrics import percentile
from infsh_harness.load.results import ScenarioResult, Second

__all__ = ["plot_result"]

_LINES = (("p50", 0.50, "-"), ("p95", 0.95, "--"), ("p99", 0.99, ":"))


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9]+", "_", text).strip("_").lower() or "entry"


def plot_result(result: ScenarioResult, out: Path) -> list[Path]:
    """Write ``SCENARIO_<metric>.png`` per custom metric and ``SCENARIO_requests.png``; their paths."""
    if not result.timeline:
        return []
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot as plt

    start = min(s.second for s in result.timeline)
    series: dict[tuple[str, str], list[Second]] = {}
    for second in result.timeline:
        series.setdefault((second.method, second.name), []).append(second)
    written = []
    for entry in result.entries:
        if entry.kind != "http":
            path = out / f"{result.scenario}_{_slug(entry.name)}.png"
            points = series.get((entry.method, entry.name), [])
            written.append(_plot(plt, points, start, f"{result.scenario}: {entry.name}", entry.unit, path))
    points = series.get(("", "requests"), [])
    path = out / f"{result.scenario}_requests.png"
    written.append(_plot(plt, points, start, f"{result.scenario}: every HTTP request", "ms", path))
    return written


def _plot(plt: Any, points: Sequence[Second], start: int, title: str, unit: str, path: Path) -> Path:
    figure, axes = plt.subplots(figsize=(8, 4), dpi=100)
    try:
        ordered = sorted(points, key=lambda p: p.second)
        elapsed = [p.second - start for p in ordered]
        for label, q, style in _LINES:
            axes.plot(elapsed, [percentile(p.histogram, q) for p in ordered], style, marker=".", label=label)
        counts = axes.twinx()
        counts.bar(elapsed, [sum(p.histogram.values()) for p in ordered], width=0.8, alpha=0.12, color="grey")
        counts.set_ylabel("samples per second")
        axes.set_zorder(counts.get_zorder() + 1)
        axes.patch.set_visible(False)
        axes.set_title(title)
        axes.set_xlabel("second of the run")
        axes.set_ylabel(unit)
        axes.set_ylim(bottom=0)
        axes.grid(True, alpha=0.3)
        if ordered:
            axes.legend(loc="upper left")
        else:
            axes.text(0.5, 0.5, "no samples", ha="center", va="center", transform=axes.transAxes)
        figure.tight_layout()
        figure.savefig(path)
    finally:
        plt.close(figure)
    return path

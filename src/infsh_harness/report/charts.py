"""The load charts, drawn with matplotlib as SVG text to inline in the page.

Why matplotlib SVG: the load harness already depends on matplotlib; an inline SVG needs no script,
no network and no file beside the page, prints, and its text stays text (``svg.fonttype: none``),
so the page reads the same with JavaScript off. A Vega-Lite chart (Altair) would need Vega's
JavaScript inlined (about a megabyte) and shows nothing without JavaScript.

One figure per measure: its p50/p95/p99 in each second of the run (with the samples per second
behind), the distribution of every sample (on a log axis when a long tail would hide the rest),
and, with a history, the measure across runs. Each SLO
ceiling is a dashed line in the colour of its quantile; a ceiling far above the samples is named
at the top instead of flattening them.
"""

from __future__ import annotations

import io
from collections.abc import Mapping, Sequence
from typing import Any

import matplotlib
import numpy
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter, MaxNLocator

from infsh_harness.load.metrics import percentile
from infsh_harness.report.read_load import QUANTILES, Ceiling, Chartable

__all__ = ["draw"]

COLOURS: Mapping[str, str] = {"p50": "#1f77b4", "p90": "#7f7f7f", "p95": "#e08214", "p99": "#c0392b", "max": "#555555"}
_LINES = {"p50": "-", "p95": "--", "p99": ":"}
_Q = {"p50": 0.50, "p95": 0.95, "p99": 0.99}
_FAR = 4.0  # a ceiling more than this many times above the samples is named, not drawn
_BARS = 40  # up to this many distinct values get a bar each; more are binned
_BINS = 40
_LONG_TAIL = 20.0  # largest / smallest sample beyond which the distribution's axis is logarithmic
_STYLE: dict[str, Any] = {
    "svg.fonttype": "none",  # text stays text: smaller, selectable, searchable
    "font.size": 8.5,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.grid": True,
    "grid.alpha": 0.3,
    "legend.fontsize": 7.5,
    "legend.frameon": False,
}


def draw(chart: Chartable) -> str:
    """The figure of one measure as an ``<svg>`` element (no XML prolog)."""
    panels = chart.panels
    ratios = {"run": 3.0, "distribution": 2.2, "history": 2.2}
    # a salt per chart keeps the ids matplotlib gives clip paths unique within the page
    style: Any = {**_STYLE, "svg.hashsalt": chart.id}
    with matplotlib.rc_context(style):
        figure = Figure(figsize=(4.2 * len(panels) + 1.6, 3.3), layout="constrained")
        axes = figure.subplots(1, len(panels), width_ratios=[ratios[p] for p in panels], squeeze=False)[0]
        for panel, ax in zip(panels, axes, strict=True):
            if panel == "run":
                _over_the_run(ax, chart)
            elif panel == "distribution":
                _distribution(ax, chart)
            else:
                _across_runs(ax, chart)
        buffer = io.StringIO()
        figure.savefig(buffer, format="svg", metadata={"Date": None})
    svg = buffer.getvalue()
    return svg[svg.index("<svg") :]


def _unit(chart: Chartable) -> str:
    return chart.unit or "value"


def _ceiling_label(c: Ceiling, unit: str) -> str:
    return f"{c.statistic} ceiling {c.limit:g} {unit}".rstrip()


def _limits(top: float, ceilings: Sequence[Ceiling]) -> tuple[float, list[Ceiling], list[Ceiling]]:
    """The axis top, the ceilings drawn and the ceilings named (too far above the samples)."""
    reach = top * _FAR if top > 0 else float("inf")
    drawn = [c for c in ceilings if c.limit <= reach]
    far = [c for c in ceilings if c.limit > reach]
    highest = max([top, *(c.limit for c in drawn)])
    return (highest * 1.12) or 1.0, drawn, far


def _name_far(ax: Axes, far: Sequence[Ceiling], unit: str) -> None:
    """A legend entry (no line on the chart) for each ceiling too far above the samples to draw."""
    for c in far:
        ax.plot([], [], color=COLOURS.get(c.statistic, "#555555"), linestyle=(0, (6, 3)), linewidth=1.4,
                label=f"{_ceiling_label(c, unit)} (above the chart)")  # fmt: skip


def _legend(ax: Axes) -> None:
    """Below the panel, where it covers nothing."""
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.2), ncols=3)


def _hlines(ax: Axes, ceilings: Sequence[Ceiling], unit: str) -> None:
    for c in ceilings:
        ax.axhline(c.limit, color=COLOURS.get(c.statistic, "#555555"), linestyle=(0, (6, 3)), linewidth=1.4,
                   label=_ceiling_label(c, unit))  # fmt: skip


def _no_samples(ax: Axes) -> None:
    ax.text(0.5, 0.5, "no samples", ha="center", va="center", transform=ax.transAxes, color="#555555")


def _over_the_run(ax: Axes, chart: Chartable) -> None:
    unit = _unit(chart)
    ax.set_title(f"{chart.key}: p50 / p95 / p99 each second", loc="left")
    ax.set_xlabel("second of the run")
    ax.set_ylabel(unit)
    seconds = [s for s, _ in chart.per_second]
    counts = ax.twinx()
    counts.bar(seconds, [sum(h.values()) for _, h in chart.per_second], width=0.8, alpha=0.12, color="grey")
    counts.set_ylabel("samples per second", color="#777777")
    counts.grid(False)
    counts.spines["right"].set_visible(True)
    ax.set_zorder(counts.get_zorder() + 1)
    ax.patch.set_visible(False)
    top = 0.0
    for q in QUANTILES:
        values = [percentile(h, _Q[q]) for _, h in chart.per_second]
        shown = [v for v in values if v is not None]
        top = max([top, *shown])
        ax.plot(seconds, [float("nan") if v is None else v for v in values], _LINES[q], marker=".",
                color=COLOURS[q], label=q)  # fmt: skip
    high, drawn, far = _limits(top, chart.ceilings)
    _hlines(ax, drawn, unit)
    _name_far(ax, far, unit)
    ax.set_ylim(0, high)
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    _legend(ax)


def _distribution(ax: Axes, chart: Chartable) -> None:
    unit = _unit(chart)
    total = sum(chart.histogram.values())
    ax.set_title(f"distribution of {total} samples", loc="left")
    ax.set_xlabel(unit)
    ax.set_ylabel("samples")
    if not total:
        _no_samples(ax)
        return
    values = sorted(chart.histogram)
    weights = [chart.histogram[v] for v in values]
    right, drawn, far = _limits(values[-1], chart.ceilings)
    # a long tail (a few slow samples among fast ones) is read on a log axis, else it hides the rest
    logarithmic = values[0] > 0 and values[-1] / values[0] > _LONG_TAIL
    if logarithmic:
        ax.hist(values, bins=list(numpy.geomspace(values[0], values[-1], _BINS + 1)), weights=weights,
                color="#8fa9c8")  # fmt: skip
        ax.set_xscale("log")
        ax.xaxis.set_major_formatter(FuncFormatter(lambda value, _: f"{value:g}"))
        ax.set_xlabel(f"{unit} (log scale)")
    elif len(values) <= _BARS:
        gaps = [b - a for a, b in zip(values, values[1:], strict=False)]
        width = 0.8 * min(gaps) if gaps else max(values[0] * 0.1, 0.8)
        ax.bar(values, weights, width=width, color="#8fa9c8")
    else:
        ax.hist(values, bins=_BINS, weights=weights, color="#8fa9c8")
    for q in QUANTILES:
        value = chart.quantiles.get(q)
        if value is not None:
            ax.axvline(value, color=COLOURS[q], linestyle=_LINES[q], linewidth=1.1, label=f"{q} {value:g}")
    for c in drawn:
        ax.axvline(c.limit, color=COLOURS.get(c.statistic, "#555555"), linestyle=(0, (6, 3)), linewidth=1.4,
                   label=_ceiling_label(c, unit))  # fmt: skip
    _name_far(ax, far, unit)
    ax.set_xlim(values[0] / 1.25 if logarithmic else 0, right)
    _legend(ax)


def _across_runs(ax: Axes, chart: Chartable) -> None:
    unit = _unit(chart)
    ax.set_title(f"across {len(chart.history)} runs", loc="left")
    ax.set_ylabel(unit)
    xs = list(range(len(chart.history)))
    top = 0.0
    for q in QUANTILES:
        values = [p.values.get(q) for p in chart.history]
        top = max([top, *(v for v in values if v is not None)])
        ax.plot(xs, [float("nan") if v is None else v for v in values], _LINES[q], marker="o", markersize=3,
                color=COLOURS[q], label=q)  # fmt: skip
    current = [i for i, p in enumerate(chart.history) if p.current]
    for i in current:
        ax.axvspan(i - 0.3, i + 0.3, color="#f1c40f", alpha=0.18, label="this run")
    high, drawn, far = _limits(top, chart.ceilings)
    _hlines(ax, drawn, unit)
    _name_far(ax, far, unit)
    ax.set_ylim(0, high)
    ax.set_xticks(xs, [_short(p.label) for p in chart.history], rotation=30, ha="right")
    _legend(ax)


def _short(label: str) -> str:
    """``2026-12-01T19:10:09Z`` -> ``12-01 19:10``; anything else is kept (cut to 16 characters)."""
    if len(label) >= 16 and label[4] == "-" and label[10] == "T":
        return f"{label[5:10]} {label[11:16]}"
    return label[:16]

"""This run against a recorded one, measure by measure: a regression only when it is real.

A shared CI machine is noisy: a neighbour's job can slow a few seconds of a run, or a whole run by
some per cent. So a change counts as a regression only when both of these hold, for a measure's
median (p50; ``Thresholds.quantiles`` can add p95):

- **it is more than noise**: each run's seconds give one sample each (that second's p50, or p95),
  and the 99% bootstrap confidence interval of the difference between the two runs' medians of
  those per-second samples (:data:`RESAMPLES` resamples, a fixed seed: the same data always gives
  the same verdict) lies wholly above zero. The median over seconds is not moved by a few noisy
  seconds, and the interval is wide when the seconds disagree.
- **it is large enough to matter**: the whole-run value and the median of the per-second values
  both rose by at least the larger of ``min_relative`` (25%) of the baseline and an absolute floor
  (10 ms for times, 1 for counts).

A measure with fewer than :data:`MIN_SECONDS` usable seconds (at least
:data:`MIN_SAMPLES_PER_SECOND` samples each) in either run is not compared, and says so. The
same test the other way names improvements, which never fail a run.

The p95 is compared too, but by default only shown, not judged: with a few dozen samples a
second, a second's p95 is nearly its slowest sample, and a neighbour's load on a shared machine
can double it while the median stays put (measured: the same build run twice, the second while
two other load runs shared the machine, p95 21 -> 42 ms with a bootstrap interval above zero,
the p50 within its floor). Tail latencies are held by the SLO's ceilings.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from infsh_harness.load.records import MeasureRecord

__all__ = ["Comparison", "Thresholds", "compare"]

QUANTILES_COMPARED = ("p50", "p95")
MIN_SECONDS = 5
MIN_SAMPLES_PER_SECOND = 3
RESAMPLES = 2000
CONFIDENCE = 0.99
_SEED = 14


@dataclass(frozen=True)
class Thresholds:
    min_relative: float = 0.25
    min_ms: float = 10.0
    min_count: float = 1.0
    judged: tuple[str, ...] = ("p50",)  # quantiles whose regression fails a run (of QUANTILES_COMPARED)

    def floor(self, unit: str, baseline: float) -> float:
        absolute = self.min_ms if unit == "ms" else self.min_count
        return max(absolute, self.min_relative * abs(baseline))


@dataclass(frozen=True)
class Comparison:
    scenario: str
    measure: str
    quantile: str
    unit: str
    baseline: float | None
    current: float | None
    verdict: str  # regression | improvement | same | not compared
    shift: float | None = None  # median of this run's per-second values minus the baseline's
    interval: tuple[float, float] | None = None  # its confidence interval
    seconds: tuple[int, int] = (0, 0)  # usable seconds: baseline, this run
    note: str = ""
    judged: bool = True  # False: shown only; its regression fails nothing

    @property
    def change(self) -> float | None:
        if self.baseline is None or self.current is None:
            return None
        return self.current - self.baseline

    @property
    def relative(self) -> float | None:
        change = self.change
        return None if change is None or not self.baseline else change / self.baseline

    def describe(self) -> str:
        head = f"{self.scenario} {self.measure} {self.quantile}"
        if self.verdict == "not compared":
            return f"{head}: not compared ({self.note})"
        unit = f" {self.unit}" if self.unit else ""
        relative = f", {self.relative:+.0%}" if self.relative is not None else ""
        text = f"{head}: {self.baseline:g}{unit} -> {self.current:g}{unit} ({self.change:+.3g}{unit}{relative})"
        if self.shift is not None and self.interval is not None:
            low, high = self.interval
            text += (f"; per-second median {self.shift:+.3g}{unit}, {CONFIDENCE:.0%} CI [{low:+.3g}, {high:+.3g}]"
                     f" over {self.seconds[0]} and {self.seconds[1]} s")  # fmt: skip
        return f"{text}: {self.verdict}" + ("" if self.judged else " (shown, not judged)")

    def as_json(self) -> dict[str, Any]:
        return {
            "scenario": self.scenario, "measure": self.measure, "quantile": self.quantile, "unit": self.unit,
            "baseline": self.baseline, "current": self.current, "change": self.change, "relative": self.relative,
            "per_second_shift": self.shift, "interval": list(self.interval) if self.interval else None,
            "seconds": list(self.seconds), "verdict": self.verdict, "judged": self.judged, "message": self.describe(),
        }  # fmt: skip


def _median_shift(base: Sequence[float], current: Sequence[float]) -> tuple[float, float, float]:
    """The difference of medians and its percentile-bootstrap confidence interval."""
    b, c = np.asarray(base, dtype=float), np.asarray(current, dtype=float)
    rng = np.random.default_rng(_SEED)
    b_samples = b[rng.integers(0, len(b), (RESAMPLES, len(b)))]
    c_samples = c[rng.integers(0, len(c), (RESAMPLES, len(c)))]
    diffs = np.median(c_samples, axis=1) - np.median(b_samples, axis=1)
    tail = (1.0 - CONFIDENCE) / 2
    low, high = np.quantile(diffs, [tail, 1.0 - tail])
    return float(np.median(c) - np.median(b)), float(low), float(high)


def _compare_one(base: MeasureRecord, cur: MeasureRecord, quantile: str, thresholds: Thresholds) -> Comparison:
    b_value, c_value = base.quantiles.get(quantile), cur.quantiles.get(quantile)
    head = (cur.scenario, cur.measure, quantile, cur.unit, b_value, c_value)
    judged = quantile in thresholds.judged
    if b_value is None or c_value is None:
        return Comparison(*head, "not compared", note="no successful sample in one of the runs", judged=judged)
    b_seconds = base.per_second(quantile, MIN_SAMPLES_PER_SECOND)
    c_seconds = cur.per_second(quantile, MIN_SAMPLES_PER_SECOND)
    seconds = (len(b_seconds), len(c_seconds))
    if min(seconds) < MIN_SECONDS:
        note = f"{min(seconds)} usable seconds, {MIN_SECONDS} needed"
        return Comparison(*head, "not compared", seconds=seconds, note=note, judged=judged)
    shift, low, high = _median_shift(b_seconds, c_seconds)
    floor = thresholds.floor(cur.unit, float(np.median(b_seconds)))
    change = c_value - b_value
    if low > 0 and shift >= floor and change >= floor:
        verdict = "regression"
    elif high < 0 and -shift >= floor and -change >= floor:
        verdict = "improvement"
    else:
        verdict = "same"
    return Comparison(*head, verdict, shift, (low, high), seconds, judged=judged)


def compare(baseline: Sequence[MeasureRecord], current: Sequence[MeasureRecord],
            thresholds: Thresholds = Thresholds()) -> list[Comparison]:  # fmt: skip
    """Every measure both runs have (same scenario, same name and unit), at p50 and p95."""
    recorded = {(r.scenario, r.measure): r for r in baseline}
    found = []
    for cur in current:
        base = recorded.get((cur.scenario, cur.measure))
        if base is None or base.unit != cur.unit:
            continue
        found += [_compare_one(base, cur, q, thresholds) for q in QUANTILES_COMPARED]
    return found

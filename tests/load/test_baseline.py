"""Baseline comparisons: a real shift is a regression naming the measure, the two values and the
change; noise, a few slow seconds, or too small a change is not; too few seconds is not compared."""

from __future__ import annotations

import random

from infsh_harness.load.baseline import Thresholds, compare
from infsh_harness.load.records import MeasureRecord


def record(p50s: list[float], p95s: list[float] | None = None, measure: str = "time_to_terminal",
           unit: str = "ms", samples: int = 20) -> MeasureRecord:  # fmt: skip
    p95s = p95s or [v * 1.2 for v in p50s]
    seconds = [(1000 + i, samples, p50, p95) for i, (p50, p95) in enumerate(zip(p50s, p95s, strict=True))]
    ordered = sorted(p50s)
    quantiles = {"p50": ordered[len(ordered) // 2], "p90": None, "p95": sorted(p95s)[len(p95s) // 2], "p99": None,
                 "max": max(p95s)}  # fmt: skip
    return MeasureRecord("run_wait", measure, unit, samples * len(p50s), 0, quantiles, None, None, seconds)


def noisy(center: float, n: int = 10, spread: float = 0.1, seed: int = 1) -> list[float]:
    rng = random.Random(seed)
    return [center * (1 + rng.uniform(-spread, spread)) for _ in range(n)]


def only(comparisons: list, quantile: str = "p50"):  # type: ignore[no-untyped-def]
    (found,) = [c for c in comparisons if c.quantile == quantile]
    return found


def test_the_same_distribution_is_no_regression() -> None:
    c = only(compare([record(noisy(20.0, seed=1))], [record(noisy(20.0, seed=2))]))
    assert c.verdict == "same" and c.judged
    assert c.interval is not None and c.interval[0] <= 0 <= c.interval[1]


def test_forty_ms_more_is_a_regression_naming_measure_values_and_change() -> None:
    c = only(compare([record(noisy(20.0, seed=1))], [record(noisy(60.0, seed=2))]))
    assert c.verdict == "regression"
    assert c.change is not None and 35 < c.change < 45 and c.relative is not None and c.relative > 1.5
    text = c.describe()
    assert text.startswith(f"run_wait time_to_terminal p50: {c.baseline:g} ms -> {c.current:g} ms (+")
    assert "99% CI [+" in text and text.endswith(": regression")


def test_a_few_slow_seconds_are_noise_not_a_regression() -> None:
    slow_seconds = noisy(20.0, seed=2)
    slow_seconds[2] = slow_seconds[5] = 200.0  # a neighbour's job slowed two seconds of ten
    assert only(compare([record(noisy(20.0, seed=1))], [record(slow_seconds)])).verdict == "same"


def test_a_significant_but_small_change_is_below_the_minimum_effect() -> None:
    # 20 -> 24 ms in every second: surely real, but under 25% and 10 ms
    c = only(compare([record(noisy(20.0, spread=0.01, seed=1))], [record(noisy(24.0, spread=0.01, seed=2))]))
    assert c.interval is not None and c.interval[0] > 0 and c.verdict == "same"
    loose = Thresholds(min_relative=0.1, min_ms=2.0)
    assert only(compare([record(noisy(20.0, spread=0.01, seed=1))], [record(noisy(24.0, spread=0.01, seed=2))],
                        loose)).verdict == "regression"  # fmt: skip


def test_faster_is_an_improvement_and_counts_use_their_own_floor() -> None:
    assert only(compare([record(noisy(60.0, seed=1))], [record(noisy(20.0, seed=2))])).verdict == "improvement"
    polls = only(compare([record([1.0] * 8, measure="polls", unit="polls")],
                         [record([3.0] * 8, measure="polls", unit="polls")]))  # fmt: skip
    assert polls.verdict == "regression"


def test_the_tail_is_shown_but_judged_only_when_asked() -> None:
    base, slower_tail = record([20.0] * 10, [22.0] * 10), record([20.0] * 10, [60.0] * 10)
    tail = only(compare([base], [slower_tail]), "p95")
    assert tail.verdict == "regression" and not tail.judged and tail.describe().endswith("(shown, not judged)")
    assert only(compare([base], [slower_tail], Thresholds(judged=("p50", "p95"))), "p95").judged


def test_too_few_seconds_or_no_sample_is_not_compared() -> None:
    c = only(compare([record(noisy(20.0, n=3))], [record(noisy(60.0, n=3))]))
    assert c.verdict == "not compared" and "3 usable seconds, 5 needed" in c.describe()
    sparse = only(compare([record(noisy(20.0), samples=2)], [record(noisy(60.0), samples=2)]))
    assert sparse.verdict == "not compared"  # seconds with 2 samples each say too little
    empty = MeasureRecord("run_wait", "time_to_terminal", "ms", 5, 5, {"p50": None, "p95": None}, None, None, [])
    assert only(compare([record(noisy(20.0))], [empty])).verdict == "not compared"


def test_only_measures_both_runs_have_are_compared() -> None:
    assert compare([record(noisy(20.0), measure="a")], [record(noisy(20.0), measure="b")]) == []
    assert compare([record(noisy(20.0), unit="ms")], [record(noisy(20.0), unit="polls")]) == []

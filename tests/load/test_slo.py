"""SLO files: read strictly, judged with a message that says what was measured and by how much it missed."""

from __future__ import annotations

from pathlib import Path

import pytest

from infsh_harness.load.metrics import COUNT, METRIC, METRICS
from infsh_harness.load.results import EntryStats, ScenarioResult
from infsh_harness.load.run import DEFAULT_SLO_PATH, SCENARIOS
from infsh_harness.load.slo import REQUESTS, Objective, SloError, evaluate, load_slo, parse_slo
from infsh_harness.spec import load_spec


def entry(method: str, name: str, samples: dict[float, int], failures: int = 0, seconds: float = 10.0) -> EntryStats:
    count = sum(samples.values())
    total = sum(v * n for v, n in samples.items())
    return EntryStats(method, name, count, failures, samples, total, min(samples, default=None),
                      max(samples, default=0.0), 1000.0, 1000.0 + seconds)  # fmt: skip


def test_shipped_slo_file_names_only_real_scenarios_and_entries() -> None:
    objectives = load_slo(DEFAULT_SLO_PATH)
    assert set(objectives) == set(SCENARIOS)
    paths = set(load_spec().document["paths"])
    for found in objectives.values():
        for o in found:
            method, _, path = o.target.partition(" ")
            assert o.target == REQUESTS or o.target in METRICS or (method in {"GET", "POST"} and
                                                                   path.split("?")[0] in paths), o  # fmt: skip


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ([1, 2], "expected a mapping of scenario -> targets"),
        ({"run_wait": 3}, "run_wait: expected a mapping of target -> objectives"),
        ({"run_wait": {"requests": {"p42": 1}}}, "unknown objective 'p42'"),
        ({"run_wait": {"requests": {"p50": -1}}}, "run_wait.requests.p50: expected a non-negative number"),
        ({"run_wait": {"requests": {"p50": True}}}, "expected a non-negative number"),
        ({"run_wait": {"requests": {"max_error_rate": 2}}}, "expected a share from 0 to 1"),
    ],
)
def test_parse_slo_refuses_what_it_cannot_judge(data: object, message: str) -> None:
    with pytest.raises(SloError, match=message):
        parse_slo(data)


def test_load_slo_reports_missing_and_broken_files(tmp_path: Path) -> None:
    with pytest.raises(SloError, match="cannot read SLO file"):
        load_slo(tmp_path / "absent.yaml")
    broken = tmp_path / "broken.yaml"
    broken.write_text("run_wait: [unclosed\n", encoding="utf-8")
    with pytest.raises(SloError, match="is not valid YAML"):
        load_slo(broken)


def test_a_breached_ceiling_says_measured_limit_and_gap() -> None:
    samples = {100.0: 50, 150.0: 50}
    checks = evaluate([Objective("run_wait", "time_to_terminal", "p95", 120.0)],
                      {"time_to_terminal": entry(METRIC, "time_to_terminal", samples)})  # fmt: skip
    (check,) = checks
    assert not check.passed
    assert check.observed == 150.0
    assert check.excess == 30.0
    assert check.describe() == "run_wait time_to_terminal p95 = 150 ms > ceiling 120 ms (over by 30 ms, 25%)"


def test_a_met_ceiling_passes() -> None:
    (check,) = evaluate([Objective("run_poll", "polls_to_terminal", "p99", 3)],
                        {"polls_to_terminal": entry(COUNT, "polls_to_terminal", {2.0: 10})})  # fmt: skip
    assert check.passed
    assert check.describe() == "run_poll polls_to_terminal p99 = 2 polls (objective <= 3 polls)"


def test_error_rate_and_throughput_are_judged_as_shares_and_rates() -> None:
    target = entry("POST", "/run", {10.0: 100}, failures=5, seconds=10.0)
    checks = evaluate(
        [Objective("run_wait", "POST /run", "max_error_rate", 0.01), Objective("run_wait", "POST /run", "min_rps", 20)],
        {"POST /run": target},
    )
    rate, rps = checks
    assert rate.observed == pytest.approx(0.05) and not rate.passed
    assert "error rate = 5.00% > ceiling 1.00%" in rate.describe()
    assert rps.observed == pytest.approx(10.0) and not rps.passed
    assert "throughput = 10.0/s < floor 20.0/s (short by 10.0/s, 50%)" in rps.describe()


def test_a_target_never_measured_breaches_every_objective() -> None:
    (check,) = evaluate([Objective("webhook", "webhook_end_to_end", "p50", 100)], {})
    assert not check.passed
    assert check.describe() == "webhook webhook_end_to_end p50: no sample was measured (objective 100)"


def test_requests_target_leaves_custom_metrics_out() -> None:
    result = ScenarioResult("run_wait", [
        entry("POST", "/run", {2.0: 90}, failures=0),
        entry(METRIC, "time_to_terminal", {500.0: 90}, failures=9),
    ])  # fmt: skip
    requests = result.targets()[REQUESTS]
    assert requests.count == 90 and requests.failures == 0
    assert requests.quantile(0.99) == 2.0
    (check,) = evaluate([Objective("run_wait", REQUESTS, "max_error_rate", 0.0)], result.targets())
    assert check.passed

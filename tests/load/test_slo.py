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
    """An entry whose successful samples are ``samples``, with ``failures`` more."""
    count = sum(samples.values()) + failures
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
        ({"run_wait": {"requests": {"p50": -1}}}, "run_wait.requests.p50: expected a finite non-negative number"),
        ({"run_wait": {"requests": {"p50": True}}}, "expected a finite non-negative number"),
        ({"run_wait": {"requests": {"p95": float("nan")}}}, "p95: expected a finite non-negative number, not 'nan'"),
        ({"run_wait": {"requests": {"p99": float("inf")}}}, "p99: expected a finite non-negative number, not 'inf'"),
        ({"run_wait": {"requests": {"max_error_rate": 2}}}, "expected a share from 0 to 1"),
    ],
)
def test_parse_slo_refuses_what_it_cannot_judge(data: object, message: str) -> None:
    with pytest.raises(SloError, match=message):
        parse_slo(data)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"run_wait: [unclosed\n", "is not valid YAML"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\xff\xfe", "is not UTF-8 text"),
        (b"run_wait:\n  requests: {p50: 1}\x00\n", "is not text"),
        (b"", "sets no objective: a run would judge nothing"),
        (b"# only a comment\n", "sets no objective"),
        (b"run_wait: {}\nrun_poll: {}\n", "sets no objective"),
        (b"run_wait:\n  requests: {p95: .nan}\n", "expected a finite non-negative number, not 'nan'"),
        (b"run_wait:\n  requests: {p95: .inf}\n", "expected a finite non-negative number, not 'inf'"),
        (b"[" * 5000 + b"]" * 5000, "SLO file"),
        (b"a: " + b"x" * (1 << 20), "is larger than"),
    ],
)
def test_load_slo_refuses_files_it_cannot_judge_by(tmp_path: Path, content: bytes, message: str) -> None:
    path = tmp_path / "slo.yaml"
    path.write_bytes(content)
    with pytest.raises(SloError, match=message):
        load_slo(path)


def test_load_slo_reports_missing_and_unreadable_files(tmp_path: Path) -> None:
    with pytest.raises(SloError, match="cannot read SLO file"):
        load_slo(tmp_path / "absent.yaml")
    with pytest.raises(SloError, match="cannot read SLO file"):
        load_slo(tmp_path)  # a directory


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
    assert rate.observed == pytest.approx(5 / 105) and not rate.passed
    assert "error rate = 4.76% > ceiling 1.00%" in rate.describe()
    assert rps.observed == pytest.approx(10.0) and not rps.passed  # the 100 answered requests only
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

"""Reading a run back: per-second timeline (successes and failures apart), percentiles the way locust
computes them, failures, locust's own statistics for a locustfile that writes no timeline."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from infsh_harness.load.metrics import COUNT, METRIC, fine_bucket, percentile
from infsh_harness.load.results import read_result


def test_fine_bucket_keeps_a_tenth_of_a_millisecond_below_one_second() -> None:
    assert fine_bucket(201.66) == 201.7
    assert fine_bucket(3.26) == 3.3
    assert fine_bucket(999.94) == 999.9
    assert fine_bucket(12345.6) == 12350
    assert fine_bucket(123456789) == 123500000


def test_percentile_walks_the_histogram_like_locust() -> None:
    # the values locust.stats.calculate_response_time_percentile gives for these histograms
    assert [percentile({1.0: 50, 2.0: 45, 10.0: 4, 100.0: 1}, q) for q in (0.5, 0.95, 0.99, 1.0)] == [
        2.0, 10.0, 100.0, 100.0,
    ]  # fmt: skip
    assert [percentile({1.0: 51, 2.0: 44, 10.0: 4, 100.0: 1}, q) for q in (0.5, 0.95)] == [1.0, 10.0]
    assert percentile({}, 0.5) is None


def _write_run(out: Path) -> Path:
    prefix = out / "run_poll"
    stats = [
        {"name": "/tasks/{id}", "method": "GET", "num_requests": 100, "num_failures": 2, "start_time": 1000.0,
         "last_request_timestamp": 1010.0, "total_response_time": 150.0, "min_response_time": 0.5,
         "max_response_time": 9.0, "response_times": {"1.0": 90, "2.5": 8, "9.0": 2}},
        {"name": "/run?wait=false", "method": "POST", "num_requests": 20, "num_failures": 0, "start_time": 1000.0,
         "last_request_timestamp": 1009.0, "total_response_time": 20.0, "min_response_time": 1.0,
         "max_response_time": 1.0, "response_times": {"1.0": 20}},
        {"name": "time_to_terminal", "method": METRIC, "num_requests": 20, "num_failures": 0, "start_time": 1001.0,
         "last_request_timestamp": 1010.0, "total_response_time": 4440.0, "min_response_time": 210.0,
         "max_response_time": 240.0, "response_times": {"210.0": 12, "240.0": 8}},
        {"name": "polls_to_terminal", "method": COUNT, "num_requests": 20, "num_failures": 0, "start_time": 1001.0,
         "last_request_timestamp": 1010.0, "total_response_time": 100, "min_response_time": 5,
         "max_response_time": 5, "response_times": {"5": 20}},
    ]  # fmt: skip
    (out / "run_poll_stats.json").write_text(json.dumps(stats), encoding="utf-8")
    failure = "CatchResponseError('[status-order] getTask 200: 7 (Running) went back')"  # as locust writes it
    (out / "run_poll_failures.csv").write_text(
        f'Method,Name,Error,Occurrences\nGET,/tasks/{{id}},"{failure}",2\n', encoding="utf-8"
    )
    return prefix


def test_without_a_timeline_locust_statistics_stand_in(tmp_path: Path) -> None:
    result = read_result("run_poll", _write_run(tmp_path))
    assert [e.key for e in result.entries] == ["POST /run?wait=false", "GET /tasks/{id}", "polls_to_terminal",
                                               "time_to_terminal"]  # fmt: skip
    targets = result.targets()
    requests = targets["requests"]
    assert (requests.count, requests.failures) == (120, 2)
    assert requests.rps == pytest.approx(11.8)  # 118 answered requests over the run's 10 s
    assert targets["time_to_terminal"].quantile(0.5) == 210.0
    assert targets["time_to_terminal"].unit == "ms"
    assert targets["polls_to_terminal"].unit == "polls"
    assert targets["GET /tasks/{id}"].error_rate == pytest.approx(0.02)


def _write_timeline(out: Path) -> Path:
    """Two seconds of a run against a server that refused some connections and failed a read."""
    rows = [
        ["GET", "/tasks/{id}", 1000, [[1.0, 40], [2.0, 9]], 1, 0],  # one failed read (an HTTP answer)
        ["GET", "/tasks/{id}", 1001, [[1.0, 50]], 0, 0],
        ["POST", "/run?wait=false", 1000, [[3.0, 10]], 30, 30],  # 30 refused connections: no HTTP answer
        [METRIC, "time_to_terminal", 1001, [[210.0, 12], [240.0, 8]], 2, 0],
    ]
    (out / "run_poll_timeline.json").write_text(json.dumps(rows), encoding="utf-8")
    generator = {"model": "open", "started_at": 1000.0, "stopped_at": 1002.0,
                 "processes": [{"node": "local", "runs_users": True, "cpu": [0.1, 0.2], "arrivals": None}]}
    (out / "run_poll_generator.json").write_text(json.dumps(generator), encoding="utf-8")
    return out / "run_poll"


def test_failed_requests_count_toward_neither_latency_nor_throughput(tmp_path: Path) -> None:
    _write_run(tmp_path)  # locust's own statistics, which mix failures in, are there too: the timeline wins
    targets = read_result("run_poll", _write_timeline(tmp_path)).targets()
    posts = targets["POST /run?wait=false"]
    assert (posts.count, posts.failures, posts.unanswered) == (40, 30, 30)
    assert posts.histogram == {3.0: 10} and posts.quantile(0.5) == 3.0  # a refused connection is no latency
    assert posts.rps == pytest.approx(5.0)  # 10 answered over the 2 s the test ran, not 40
    requests = targets["requests"]
    assert (requests.count, requests.failures, requests.unanswered) == (140, 31, 30)
    assert requests.rps == pytest.approx(54.5)
    ttt = targets["time_to_terminal"]
    assert (ttt.count, ttt.failures) == (22, 2) and ttt.quantile(0.5) == 210.0


def test_seconds_by_second_merges_the_requests_of_each_second(tmp_path: Path) -> None:
    result = read_result("run_poll", _write_timeline(tmp_path))
    assert result.seconds_by_second("requests") == [(1000, {1.0: 40, 2.0: 9, 3.0: 10}), (1001, {1.0: 50})]
    assert result.seconds_by_second("time_to_terminal") == [(1001, {210.0: 12, 240.0: 8})]
    assert result.generator is not None and result.generator.processes[0].cpu == [0.1, 0.2]


def test_read_result_reads_failures(tmp_path: Path) -> None:
    result = read_result("run_poll", _write_run(tmp_path))
    (failure,) = result.failures
    assert failure.error.startswith("[status-order]") and failure.occurrences == 2


def test_a_run_whose_code_raised_lists_the_exceptions(tmp_path: Path) -> None:
    (tmp_path / "run_wait_exceptions.csv").write_text(
        'Count,Message,Traceback,Nodes\n3,division by zero,"  File x",local\n', encoding="utf-8"
    )
    (exception,) = read_result("run_wait", tmp_path / "run_wait").exceptions
    assert (exception.error, exception.occurrences) == ("division by zero", 3)


def test_read_result_of_a_run_that_wrote_nothing_is_empty(tmp_path: Path) -> None:
    result = read_result("webhook", tmp_path / "webhook")
    assert result.entries == [] and result.failures == [] and result.timeline == []
    assert result.targets()["requests"].count == 0

"""One run against the history: compared with its baseline, then recorded with its final verdict."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any

from infsh_harness.load.baseline import Thresholds
from infsh_harness.load.history import find_baseline
from infsh_harness.load.metrics import METRIC
from infsh_harness.load.report import ScenarioReport, build_summary
from infsh_harness.load.results import ScenarioResult, Second, entries_of
from infsh_harness.load.tracking import track_run

KEY = "inf_tracking_secret_42"
SETTINGS = {"model": "open", "rate": 10.0, "users": None, "run_time_s": 8.0, "workers": 0, "started_at": "t",
            "seconds": 9.0, "locust_args": [f"--webhook-url=http://x/?k={KEY}"]}  # fmt: skip


def _report(ms: float) -> ScenarioReport:
    timeline = [Second(METRIC, "time_to_terminal", 1000 + s, {ms: 9, ms + 2: 1}) for s in range(8)]
    return ScenarioReport("run_wait", "completed", 0, 9.0, ScenarioResult("run_wait", entries_of(timeline),
                                                                          timeline=timeline))  # fmt: skip


def _track(history: Path, ms: float, baseline: str | None, judged: bool = False) -> dict[str, Any]:
    reports = [_report(ms)]
    summary = build_summary(reports, SETTINGS, {"host": "embedded mock", "embedded_mock": True}, False, judged=judged)
    found = find_baseline(history, baseline) if baseline else None
    track_run(history, summary, reports, found, baseline, Thresholds(), "c" * 40, secret=KEY)
    return summary


def test_a_run_judged_only_by_its_baseline_passes_or_fails_by_it(tmp_path: Path) -> None:
    history = tmp_path / "h.sqlite"
    first = _track(history, 20.0, "last")
    assert first["verdict"] == "unjudged" and first["baseline"]["run_id"] is None
    same = _track(history, 20.0, "last")
    assert same["verdict"] == "pass" and same["baseline"]["run_id"] == 1 and same["regressions"] == []
    slower = _track(history, 60.0, "1")
    assert slower["verdict"] == "fail"
    (regression,) = slower["regressions"]
    assert regression.startswith("run_wait time_to_terminal p50: 20 ms -> 60 ms (+40 ms, +200%)")
    assert slower["history"]["run_id"] == 3
    with sqlite3.connect(history) as db:
        verdicts = [row[0] for row in db.execute("SELECT verdict FROM runs ORDER BY id")]
        options = [json.loads(row[0]) for row in db.execute("SELECT options FROM runs")]
    assert verdicts == ["unjudged", "pass", "fail"]
    assert all(KEY not in json.dumps(o) for o in options) and "[REDACTED]" in options[0]["locust_args"][0]


def test_a_run_whose_measurement_does_not_hold_is_recorded_but_never_compared(tmp_path: Path) -> None:
    history = tmp_path / "h.sqlite"
    _track(history, 20.0, None, judged=True)
    reports = [_report(60.0)]
    reports[0].status = "error"
    summary = build_summary(reports, SETTINGS, {"host": "h", "embedded_mock": False}, False)
    track_run(history, summary, reports, find_baseline(history, "last"), "last", Thresholds(), None)
    assert summary["verdict"] == "error" and "baseline" not in summary
    last = find_baseline(history, "last")
    assert last is not None and last.id == 1  # the error run is recorded, yet never a baseline

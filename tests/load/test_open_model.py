"""The open model against a server that stalls: tasks keep starting on schedule, and the stall
counts for every task that was due during it; the closed loop, behind the same stall, hides it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

RATE, SECONDS, STALL_S = 20, 10, 3.0


def _time_to_terminal(summary: dict[str, Any]) -> dict[str, Any]:
    (scenario,) = summary["scenarios"]
    (entry,) = [e for e in scenario["entries"] if e["key"] == "time_to_terminal"]
    return dict(entry)


def test_a_stall_shows_at_p90_and_beyond_and_every_due_task_starts(tmp_path: Path, mock_url: str, kit: Any) -> None:
    with kit.StallProxy(mock_url, after_s=3.0, stall_s=STALL_S) as proxy:
        done = kit.run("load", "--host", proxy.url, "--scenario", "run_wait", "--rate", str(RATE),
                           "-t", f"{SECONDS}s", "--no-slo", "--out", str(tmp_path))  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    summary = kit.summary(tmp_path)
    (scenario,) = summary["scenarios"]
    arrivals = scenario["arrivals"]
    planned = RATE * SECONDS
    assert arrivals["asked_rate"] == RATE and arrivals["planned"] == planned
    assert abs(arrivals["started"] - planned) <= 0.1 * planned, arrivals  # kept starting through the stall
    assert arrivals["dropped"] == 0 and arrivals["unfinished"] == 0
    assert scenario["validity"]["valid"], scenario["validity"]
    ttt = _time_to_terminal(summary)
    assert ttt["count"] == arrivals["started"] and ttt["failures"] == 0  # every started task measured
    # ~60 tasks were due during the 3 s stall, waiting 0..3 s each: 30% of the tasks
    assert ttt["p50"] < 500, ttt
    assert ttt["p90"] >= 1500, ttt
    assert ttt["p99"] >= 2500, ttt
    assert 2700 <= ttt["max"] <= STALL_S * 1000 + 1500, ttt


def test_the_closed_loop_hides_the_same_stall(tmp_path: Path, mock_url: str, kit: Any) -> None:
    with kit.StallProxy(mock_url, after_s=3.0, stall_s=STALL_S) as proxy:
        done = kit.run("load", "--host", proxy.url, "--scenario", "run_wait", "-u", "4", "-r", "4",
                           "-t", f"{SECONDS}s", "--no-slo", "--out", str(tmp_path))  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    summary = kit.summary(tmp_path)
    assert summary["scenarios"][0]["arrivals"] is None
    ttt = _time_to_terminal(summary)
    # each of the 4 users waited out the stall once: 4 slow samples among thousands
    assert ttt["max"] >= 2700, ttt
    assert ttt["p90"] < 500 and ttt["p99"] < 500, ttt

"""End to end: the scenarios run by ``infsh-harness load`` against a mock, a few seconds each.

Locust runs in subprocesses (it patches the standard library with gevent), exactly as a user
would start it; these tests read what it leaves in ``--out``.
"""

from __future__ import annotations

import csv
import json
import os
import secrets
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

KEY = f"inf_smoke_{secrets.token_hex(8)}"
EXPECTED = {
    "run_wait": {"POST /run", "time_to_terminal"},
    "run_poll": {"POST /run?wait=false", "GET /tasks/{id}", "time_to_terminal", "polls_to_terminal"},
    "run_cancel": {"POST /run?wait=false", "POST /tasks/{id}/cancel", "cancel_to_cancelled"},
    "webhook": {"POST /run?wait=false", "webhook_turnaround", "webhook_end_to_end"},
}


def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("INFSH_BASE_URL", "INFSH_MOCK_KEYS")}
    env["INFSH_API_KEY"] = KEY
    return env


def _load(*argv: str, timeout_s: float = 120.0) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "infsh_harness.cli", "load", *argv],
        env=_env(), capture_output=True, text=True, timeout=timeout_s,
    )  # fmt: skip


def _summary(out: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    return data


def _scenario(summary: dict[str, Any], name: str) -> dict[str, Any]:
    (found,) = [s for s in summary["scenarios"] if s["scenario"] == name]
    return found


def test_load_every_scenario_meets_the_slos_and_never_shows_the_key(tmp_path: Path) -> None:
    done = _load("-u", "4", "-r", "4", "-t", "3s", "--out", str(tmp_path))
    assert done.returncode == 0, done.stdout + done.stderr
    summary = _summary(tmp_path)
    assert summary["verdict"] == "pass" and summary["breaches"] == []
    for name, expected in EXPECTED.items():
        scenario = _scenario(summary, name)
        assert scenario["status"] == "completed" and scenario["passed"]
        entries = {e["key"]: e for e in scenario["entries"]}
        assert set(entries) == expected, name  # named by template: no task id ever makes its own entry
        assert all(e["count"] > 0 and e["failures"] == 0 for e in entries.values()), entries
        assert scenario["slo"] and all(c["passed"] for c in scenario["slo"])
        for plot in scenario["files"]["plots"]:
            assert (tmp_path / plot).read_bytes().startswith(b"\x89PNG")
        assert (tmp_path / f"{name}.html").stat().st_size > 0
    assert (tmp_path / "summary.md").read_text(encoding="utf-8").startswith("# Load run: PASS")
    _assert_metrics_stay_out_of_the_aggregated_row(tmp_path / "run_poll_stats.csv")
    # every file written (reports, locust's CSV/HTML/JSON, logs, plots) and the console are free of the key
    written = [p for p in tmp_path.rglob("*") if p.is_file()]
    assert any(p.suffix == ".log" for p in written)
    assert [p for p in written if KEY.encode() in p.read_bytes()] == []
    assert KEY not in done.stdout + done.stderr


def _assert_metrics_stay_out_of_the_aggregated_row(stats_csv: Path) -> None:
    with stats_csv.open(encoding="utf-8", newline="") as f:
        rows = list(csv.DictReader(f))
    by_type: dict[str, int] = {}
    for row in rows:
        by_type[row["Type"]] = by_type.get(row["Type"], 0) + int(row["Request Count"])
    (aggregated,) = [r for r in rows if r["Name"] == "Aggregated"]
    assert by_type["METRIC"] > 0 and by_type["COUNT"] > 0
    assert int(aggregated["Request Count"]) == by_type["GET"] + by_type["POST"]


def test_load_runs_on_a_master_and_two_workers(tmp_path: Path) -> None:
    done = _load("--scenario", "webhook", "--workers", "2", "-u", "4", "-r", "4", "-t", "2s", "--out", str(tmp_path))
    assert done.returncode == 0, done.stdout + done.stderr
    summary = _summary(tmp_path)
    assert summary["settings"]["workers"] == 2
    scenario = _scenario(summary, "webhook")
    assert scenario["passed"]
    assert sorted(scenario["files"]["logs"]) == ["logs/webhook-worker-1.log", "logs/webhook-worker-2.log",
                                                 "logs/webhook.log"]  # fmt: skip
    entries = {e["key"]: e for e in scenario["entries"]}
    # each worker received its own tasks' webhooks: none lost, none unmatched
    assert entries["webhook_end_to_end"]["count"] > 0 and entries["webhook_end_to_end"]["failures"] == 0
    assert "2 workers" in (tmp_path / "logs" / "webhook.log").read_text(encoding="utf-8")


def test_load_interrupted_still_writes_the_report(tmp_path: Path) -> None:
    proc = subprocess.Popen(
        [sys.executable, "-m", "infsh_harness.cli", "load", "--scenario", "run_wait,run_poll", "-u", "4", "-t", "60s",
         "--out", str(tmp_path)],
        env=_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    log = tmp_path / "logs" / "run_wait.log"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and "All users spawned" not in (log.read_text() if log.exists() else ""):
        time.sleep(0.2)
    time.sleep(1.5)
    interrupted_at = time.monotonic()
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, out + err
    assert time.monotonic() - interrupted_at < 30
    summary = _summary(tmp_path)
    assert summary["verdict"] == "interrupted"
    (scenario,) = summary["scenarios"]  # run_poll never started
    assert scenario["status"] == "interrupted"
    assert scenario["requests"]["count"] > 0
    assert (tmp_path / "run_wait.html").exists() and (tmp_path / "summary.md").exists()
    assert "Traceback" not in err + log.read_text(encoding="utf-8")


def test_load_reports_a_run_locust_could_not_make(tmp_path: Path) -> None:
    done = _load("--scenario", "run_wait", "-t", "2s", "-u", "1", "--locust-arg=--infsh-input=[1]",
                 "--out", str(tmp_path))  # fmt: skip
    assert done.returncode == 2, done.stdout + done.stderr
    assert "locust wrote no statistics (exit code 2): --infsh-input must be a JSON object" in done.stdout
    summary = _summary(tmp_path)
    assert summary["verdict"] == "error"
    assert _scenario(summary, "run_wait")["slo"] == []  # nothing was measured, so nothing is judged

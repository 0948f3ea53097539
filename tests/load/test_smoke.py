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
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from infsh_harness.mock.config import Faults, MockConfig
from infsh_harness.mock.server import serve_in_thread
from tests.servers.seeded import SeededProxy
from tests.servers.serve import serving

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
    done = _load("-t", "3s", "--out", str(tmp_path))  # the default load: the open model, 10 tasks/s
    assert done.returncode == 0, done.stdout + done.stderr
    summary = _summary(tmp_path)
    assert summary["verdict"] == "pass" and summary["breaches"] == []
    assert summary["settings"]["model"] == "open" and summary["settings"]["rate"] == 10
    assert summary["validity"] == {"valid": True, "reasons": []} and summary["objectives_judged"] > 20
    for name, expected in EXPECTED.items():
        scenario = _scenario(summary, name)
        assert scenario["status"] == "completed" and scenario["passed"]
        arrivals = scenario["arrivals"]
        assert arrivals["planned"] == arrivals["started"] == 30 and arrivals["achieved_rate"] == 10
        (process,) = scenario["generator"]["processes"]
        assert process["runs_users"] and process["seconds"] >= 2
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
    # what this proves is the split of the schedule and of the webhooks between the workers, not the
    # default ceilings (three processes on a shared machine): no lost webhook, and loose latencies
    slo = tmp_path / "slo.yaml"
    slo.write_text(
        "webhook:\n  requests: {max_error_rate: 0.0}\n  webhook_end_to_end: {p95: 5000, max_error_rate: 0.0}\n"
    )
    done = _load("--scenario", "webhook", "--workers", "2", "--rate", "10", "-t", "3s", "--slo", str(slo),
                 "--out", str(tmp_path / "out"))  # fmt: skip
    tmp_path = tmp_path / "out"
    assert done.returncode == 0, done.stdout + done.stderr
    summary = _summary(tmp_path)
    assert summary["settings"]["workers"] == 2
    scenario = _scenario(summary, "webhook")
    assert scenario["passed"]
    # each worker keeps half the schedule; the master runs no user
    assert scenario["arrivals"]["asked_rate"] == 10 and abs(scenario["arrivals"]["started"] - 30) <= 3
    nodes = sorted((p["node"].split()[0], p["runs_users"]) for p in scenario["generator"]["processes"])
    assert nodes == [("master", False), ("worker", True), ("worker", True)]
    assert sorted(scenario["files"]["logs"]) == ["logs/webhook-worker-1.log", "logs/webhook-worker-2.log",
                                                 "logs/webhook.log"]  # fmt: skip
    entries = {e["key"]: e for e in scenario["entries"]}
    # each worker received its own tasks' webhooks: none lost, none unmatched
    assert entries["webhook_end_to_end"]["count"] > 0 and entries["webhook_end_to_end"]["failures"] == 0
    assert "2 workers" in (tmp_path / "logs" / "webhook.log").read_text(encoding="utf-8")


@pytest.fixture
def broken_mock() -> Iterator[str]:
    """A server that ignores the default wait and sends webhooks twice (the seeded proxy), in front of a
    mock that drops half of them (a fault of its own)."""
    config = MockConfig(keys=(KEY,), faults=Faults(webhook_drop_rate=0.5), seed=7)
    with serve_in_thread(config=config) as upstream:
        proxy = SeededProxy(upstream, ["default_no_wait", "webhook_twice"], (KEY,))
        with serving(proxy) as url:
            proxy.public_url = url
            yield url


def test_load_names_contract_breaks_and_lost_webhooks(tmp_path: Path, broken_mock: str) -> None:
    done = _load("--host", broken_mock, "--scenario", "run_wait,webhook", "-u", "4", "-r", "4", "-t", "4s",
                 "--locust-arg=--webhook-timeout-s=0.5", "--out", str(tmp_path))  # fmt: skip
    assert done.returncode == 1, done.stdout + done.stderr
    summary = _summary(tmp_path)
    assert summary["verdict"] == "fail"
    errors = {(f["name"], f["error"].split(":")[0]) for s in summary["scenarios"] for f in s["failures"]}
    assert ("/run", "[run-waits-by-default] runTask 200") in errors
    assert ("webhook_turnaround", "[one-webhook] taskCompleted") in errors  # a second delivery
    assert ("webhook_end_to_end", "[one-webhook] no webhook within 0.5 s") in errors  # a lost one
    assert "breach: run_wait requests error rate = 100.00% > ceiling 0.00%" in done.stdout
    assert "breach: webhook webhook_end_to_end error rate" in done.stdout


def _children() -> list[int]:
    """Pids of live processes whose environment holds this module's key: the harness' children."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and int(entry.name) != os.getpid():
            try:
                if KEY.encode() in (entry / "environ").read_bytes():
                    found.append(int(entry.name))
            except OSError:
                continue
    return found


@pytest.mark.parametrize("load", [["-u", "4"], ["--rate", "20"]], ids=["closed", "open"])
def test_load_interrupted_still_writes_the_report_and_leaves_no_process(tmp_path: Path, load: list[str]) -> None:
    proc = subprocess.Popen(
        [sys.executable, "-m", "infsh_harness.cli", "load", "--scenario", "run_wait,run_poll", *load, "-t", "60s",
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
    assert _children() == []  # neither locust nor the embedded mock outlives the run


def test_load_reports_a_run_locust_could_not_make(tmp_path: Path) -> None:
    done = _load("--scenario", "run_wait", "-t", "2s", "-u", "1", "--locust-arg=--infsh-input=[1]",
                 "--out", str(tmp_path))  # fmt: skip
    assert done.returncode == 2, done.stdout + done.stderr
    assert "locust wrote no statistics (exit code 2): --infsh-input must be a JSON object" in done.stdout
    summary = _summary(tmp_path)
    assert summary["verdict"] == "error"
    assert _scenario(summary, "run_wait")["slo"] == []  # nothing was measured, so nothing is judged

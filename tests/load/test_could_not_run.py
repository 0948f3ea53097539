"""Runs that could not be made, or whose measurement does not hold, never read as an SLO verdict.

A locustfile that raises, a locust process or worker that dies, a target that gives no HTTP
answer: exit 2 ("could not run"). A load generator that is its own bottleneck (a saturated CPU,
starts dropped): exit 3 ("not valid"). A server answering every request with an error: exit 1,
and its failed requests count toward no latency and no throughput.
"""

from __future__ import annotations

import re
import socket
import textwrap
from pathlib import Path
from typing import Any

import pytest

from infsh_harness.load.processes import embedded_mock
from infsh_harness.load.run import EXIT_ERROR, EXIT_INVALID, LoadOptions, run_load
from infsh_harness.load.slo import Objective

HEAD = """
from infsh_harness.load.scenarios.common import ApiUser, elapsed_ms

"""


def _locustfile(tmp_path: Path, name: str, body: str) -> str:
    path = tmp_path / f"{name}.py"
    path.write_text(HEAD + textwrap.dedent(body), encoding="utf-8")
    return str(path)


def _run(tmp_path: Path, kit: Any, host: str, locustfile: str, **options: Any) -> Any:
    name = Path(locustfile).stem
    objectives = {name: [Objective(name, "time_to_terminal", "p50", 1000.0)]}
    settings: dict[str, Any] = {"rate": 10.0, "run_time_s": 3.0, "drain_s": 2.0, **options}
    return run_load(LoadOptions(out=tmp_path / "out", environ=kit.env(), scenarios=(locustfile,), host=host,
                                objectives=objectives, api_key=kit.key, **settings), say=lambda line: None)  # fmt: skip


RAISES = """
class BrokenUser(ApiUser):
    main_measure = "time_to_terminal"

    def iteration(self, started):
        if self.submit(wait=True, since=started) is not None:
            self.metric("time_to_terminal", elapsed_ms(started))
        raise ZeroDivisionError("a bug in the scenario itself")
"""


@pytest.mark.parametrize("model", [{"rate": 10.0}, {"rate": None, "users": 2, "spawn_rate": 2.0}])
def test_a_locustfile_that_raises_could_not_run(tmp_path: Path, kit: Any, mock_url: str, model: dict[str, Any]) -> None:
    outcome = _run(tmp_path, kit, mock_url, _locustfile(tmp_path, "raises", RAISES), **model)
    assert outcome.exit_code == EXIT_ERROR
    (report,) = outcome.reports
    assert report.status == "error" and report.checks == []  # measured, but not judged
    assert "the scenario's code raised" in report.message and "a bug in the scenario itself" in report.message
    assert outcome.summary["verdict"] == "error"


DIES = """
import os, signal
import gevent
from locust import events


@events.test_start.add_listener
def _die_soon(environment, **_kw):
    runner = environment.runner
    if getattr(runner, "worker_index", 0) == 0 and type(runner).__name__ != "MasterRunner":
        gevent.spawn_later(1.0, os.kill, os.getpid(), signal.SIGKILL)


class DyingUser(ApiUser):
    main_measure = "time_to_terminal"

    def iteration(self, started):
        if self.submit(wait=True, since=started) is not None:
            self.metric("time_to_terminal", elapsed_ms(started))
"""


def test_a_locust_process_that_dies_could_not_run(tmp_path: Path, kit: Any, mock_url: str) -> None:
    outcome = _run(tmp_path, kit, mock_url, _locustfile(tmp_path, "dies", DIES))
    assert outcome.exit_code == EXIT_ERROR
    (report,) = outcome.reports
    assert report.status == "error" and report.checks == []
    assert "exit code -9" in report.message or "killed by signal 9" in report.message, report.message


def test_a_worker_that_dies_could_not_run(tmp_path: Path, kit: Any, mock_url: str) -> None:
    outcome = _run(tmp_path, kit, mock_url, _locustfile(tmp_path, "dies", DIES), workers=2, run_time_s=4.0)
    assert outcome.exit_code == EXIT_ERROR
    (report,) = outcome.reports
    assert report.status == "error", report.message
    assert re.search(r"locust worker [12] was killed by signal 9 before the run ended", report.message), report.message


BURNS = """
import time


class BurningUser(ApiUser):
    main_measure = "time_to_terminal"

    def iteration(self, started):
        until = time.process_time() + 0.25  # a generator with more work than one core does
        while time.process_time() < until:
            pass
        if self.submit(wait=True, since=started) is not None:
            self.metric("time_to_terminal", elapsed_ms(started))
"""


def test_a_saturated_generator_makes_the_measurement_not_valid(tmp_path: Path, kit: Any, mock_url: str) -> None:
    outcome = _run(tmp_path, kit, mock_url, _locustfile(tmp_path, "burns", BURNS), run_time_s=5.0)
    assert outcome.exit_code == EXIT_INVALID, outcome.summary["scenarios"][0]["message"]
    (report,) = outcome.reports
    assert report.status == "completed" and not report.validity.valid
    assert any("CPU was saturated" in r for r in report.validity.reasons), report.validity.reasons
    assert outcome.summary["verdict"] == "invalid"
    assert outcome.summary["validity"]["reasons"] == list(report.validity.reasons)


def test_starts_dropped_for_a_full_pool_make_the_measurement_not_valid(tmp_path: Path, kit: Any) -> None:
    with embedded_mock(kit.env(), ("--latency-ms", "300")) as slow:
        done = kit.run("load", "--host", slow, "--scenario", "run_wait", "--rate", "20", "-t", "3s",
                       "--max-in-flight", "2", "--out", str(tmp_path))  # fmt: skip
    assert done.returncode == 3, done.stdout + done.stderr
    (scenario,) = kit.summary(tmp_path)["scenarios"]
    arrivals = scenario["arrivals"]
    assert arrivals["dropped"] > 30 and arrivals["started"] + arrivals["dropped"] == arrivals["due"] == 60
    assert arrivals["achieved_rate"] < 0.5 * arrivals["asked_rate"]
    (reason,) = scenario["validity"]["reasons"]
    assert "fell short of the asked 20/s" in reason and "pool of tasks in flight was full" in reason
    assert "not valid: the achieved rate" in done.stdout and "verdict: invalid" in done.stdout


def _dead_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])  # closed again: nothing listens there


def test_a_dead_port_could_not_run(tmp_path: Path, kit: Any) -> None:
    done = kit.run("load", "--host", f"http://127.0.0.1:{_dead_port()}", "--out", str(tmp_path), timeout_s=60)
    assert done.returncode == 2, done.stdout + done.stderr
    assert done.stderr.startswith("infsh-harness load: error: no HTTP answer from http://127.0.0.1:")
    assert done.stderr.count("\n") == 1 and "Traceback" not in done.stderr


def test_failed_requests_count_toward_no_latency_and_no_throughput(tmp_path: Path, kit: Any) -> None:
    slo = tmp_path / "slo.yaml"
    slo.write_text('run_wait:\n  requests: {min_rps: 1, p50: 1000}\n  "POST /run": {p95: 1000}\n', encoding="utf-8")
    with embedded_mock(kit.env(), ("--error-rate", "1")) as failing:  # every answer a 500
        done = kit.run("load", "--host", failing, "--scenario", "run_wait", "--rate", "10", "-t", "3s",
                       "--slo", str(slo), "--out", str(tmp_path / "out"))  # fmt: skip
    assert done.returncode == 1, done.stdout + done.stderr
    (scenario,) = kit.summary(tmp_path / "out")["scenarios"]
    requests = scenario["requests"]
    assert requests["count"] == requests["failures"] == 30 and requests["unanswered"] == 0
    assert requests["rps"] == 0 and requests["p50"] is None
    messages = [c["message"] for c in scenario["slo"]]
    assert "run_wait requests throughput = 0.0/s < floor 1.0/s (short by 1.0/s, 100%)" in messages
    assert "run_wait requests p50: no sample was measured (objective 1000 ms)" in messages
    assert all(not c["passed"] for c in scenario["slo"])

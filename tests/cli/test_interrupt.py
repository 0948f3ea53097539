"""Ctrl-C anywhere: ``mock``, ``drift`` and ``run`` stop within seconds on SIGINT, write what they have
with verdict ``interrupted`` where they write reports, exit 130, and leave no process behind.
(``contract``: tests/contract/test_hostile.py; ``load``: tests/load/test_smoke.py.)"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import psutil
import pytest

from tests.servers.hanging import hanging_app
from tests.servers.serve import serving
from tests.servers.trickle import trickle_app

ROOT = Path(__file__).resolve().parents[2]
STOP_WITHIN_S = 20.0  # seconds from SIGINT to exit: a step of `run` gets its own grace inside this


def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("INFSH_", "PYTEST_"))}
    return {**env, "PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1"}


def _harness(*argv: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "infsh_harness.cli", *argv],
        cwd=ROOT, env=_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip


def _wait_for(condition: Callable[[], bool], seconds: float, what: str) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.1)


class _Hits:
    """An ASGI wrapper counting the requests that reached ``app`` (a run never answered still counts)."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.runs = 0

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "http" and scope["method"] == "POST" and scope["path"].endswith("/run"):
            self.runs += 1
        await self.app(scope, receive, send)


@contextmanager
def _hanging() -> Iterator[tuple[str, _Hits]]:
    """A target that answers reads and never answers a run: a step against it waits until stopped."""
    hits = _Hits(hanging_app())
    with serving(hits) as url:
        yield url, hits


def _interrupt(
    proc: subprocess.Popen[str], signum: int = signal.SIGINT
) -> tuple[str, str, float, list[psutil.Process]]:
    """``signum`` to ``proc`` alone; (stdout, stderr, seconds it took to exit, its descendants before)."""
    descendants = psutil.Process(proc.pid).children(recursive=True)
    sent = time.monotonic()
    proc.send_signal(signum)
    try:
        out, err = proc.communicate(timeout=STOP_WITHIN_S + 30)
    except subprocess.TimeoutExpired:
        proc.kill()
        out, err = proc.communicate()
        raise AssertionError(f"running {STOP_WITHIN_S + 30} s after SIGINT: {out[-2000:]} {err[-2000:]}") from None
    return out, err, time.monotonic() - sent, descendants


def _left(processes: list[psutil.Process]) -> list[str]:
    """The processes still alive (a zombie is dead), as ``pid cmdline``; each is killed so none outlives the test."""
    alive = []
    for p in processes:
        try:
            if p.is_running() and p.status() != psutil.STATUS_ZOMBIE:
                alive.append(f"{p.pid} {' '.join(p.cmdline())[:200]}")
                p.kill()
        except psutil.NoSuchProcess:
            continue
    return alive


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["ctrl-c", "sigterm"])
def test_mock_stops_on_ctrl_c_with_a_waited_run_in_flight(signum: int) -> None:
    proc = _harness("mock", "--port", "0", "--phase-ms", "60000")
    assert proc.stdout is not None
    line = proc.stdout.readline()
    assert line.startswith("listening on "), line
    url = line.removeprefix("listening on ").strip()
    done: list[int] = []

    def waited_run() -> None:  # blocks in the mock: every phase of the app lasts a minute
        try:
            r = httpx.post(f"{url}/run", json={"app": "infsh/echo", "input": {}}, timeout=60, trust_env=False,
                           headers={"Authorization": "Bearer inf_test_key"})  # fmt: skip
            done.append(r.status_code)
        except httpx.HTTPError:
            done.append(-1)

    client = threading.Thread(target=waited_run, daemon=True)
    client.start()
    time.sleep(1.0)
    assert not done, "the waited run ended before the mock was interrupted"
    out, err, seconds, descendants = _interrupt(proc, signum)
    assert proc.returncode == 130, err
    assert seconds < STOP_WITHIN_S and "Traceback" not in err
    client.join(10)
    assert done, "the waiting client was left hanging"
    assert _left(descendants) == []


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["ctrl-c", "sigterm"])
def test_drift_stops_on_ctrl_c_and_writes_a_partial_report(tmp_path: Path, signum: int) -> None:
    out_dir = tmp_path / "drift"
    with _hanging() as (url, hits):
        proc = _harness("drift", "--base-url", url, "--timeout", "300", "--out", str(out_dir))
        _wait_for(lambda: hits.runs > 0, 60, "the probe's first run")
        out, err, seconds, descendants = _interrupt(proc, signum)
    assert proc.returncode == 130, out[-2000:] + err[-2000:]
    assert seconds < STOP_WITHIN_S and "Traceback" not in err
    assert "interrupted; the report has what was observed before" in err
    data = json.loads((out_dir / "drift.json").read_text(encoding="utf-8"))
    assert data["summary"]["verdict"] == "interrupted"
    assert data["sources"] == [f"probe:{url}"]
    assert "**Interrupted**" in (out_dir / "drift.md").read_text(encoding="utf-8")
    assert 'type="interrupted"' in (out_dir / "drift.xml").read_text(encoding="utf-8")
    assert "Interrupted before its end" in (out_dir / "drift.html").read_text(encoding="utf-8")
    assert _left(descendants) == []


def test_drift_with_the_embedded_mock_stops_on_ctrl_c(tmp_path: Path) -> None:
    out_dir = tmp_path / "drift"
    proc = _harness("drift", "--out", str(out_dir), "--format", "json")
    time.sleep(3)  # the mock is up and the probe under way
    assert proc.poll() is None, "the probe ended before it was interrupted"
    out, err, seconds, descendants = _interrupt(proc)
    assert proc.returncode == 130, out[-2000:] + err[-2000:]
    assert seconds < STOP_WITHIN_S and "Traceback" not in err
    assert json.loads((out_dir / "drift.json").read_text(encoding="utf-8"))["summary"]["verdict"] == "interrupted"
    assert _left(descendants) == []


def test_run_stops_on_ctrl_c_passes_it_to_the_step_and_records_it(tmp_path: Path) -> None:
    out_dir = tmp_path / "reports"
    with _hanging() as (url, hits):
        proc = _harness("run", "--base-url", url, "--skip", "load", "--out", str(out_dir))
        _wait_for(lambda: hits.runs > 0, 90, "the contract step's first run")
        time.sleep(0.5)
        out, err, seconds, descendants = _interrupt(proc)
    assert proc.returncode == 130, out[-2000:] + err[-2000:]
    assert seconds < STOP_WITHIN_S and "Traceback" not in err
    assert descendants, "the step was not running"
    record = json.loads((out_dir / "run.json").read_text(encoding="utf-8"))
    assert [(s["name"], s["exit_code"], s["verdict"]) for s in record["steps"]] == [("contract", 130, "interrupted")]
    assert record["error"] == "interrupted"
    assert "| contract | interrupted |" in (out_dir / "index.md").read_text(encoding="utf-8")
    assert (out_dir / "index.html").exists()
    # the step itself was stopped by the one SIGINT passed on: it wrote its own summary, interrupted
    summary = json.loads((out_dir / "contract" / "summary.json").read_text(encoding="utf-8"))
    assert (summary["verdict"], summary["exit_code"]) == ("interrupted", 130)
    assert _left(descendants) == []


def test_drift_against_a_target_that_never_finishes_an_answer_ends_at_its_deadline(tmp_path: Path) -> None:
    """No read times out (a byte every half second), so only --deadline ends the run: exit 2, the
    report of what was seen, saying it stopped."""
    out_dir = tmp_path / "drift"
    with serving(trickle_app()) as url:
        proc = _harness("drift", "--base-url", url, "--timeout", "2", "--deadline", "3", "--out", str(out_dir))
        try:
            out, err = proc.communicate(timeout=STOP_WITHIN_S + 10)
        finally:
            if proc.poll() is None:
                proc.kill()
    assert proc.returncode == 2, out[-2000:] + err[-2000:]
    assert "the deadline of 3 s (--deadline) passed" in err and "Traceback" not in err
    data = json.loads((out_dir / "drift.json").read_text(encoding="utf-8"))
    assert (data["summary"]["verdict"], data["summary"]["stopped"]) == (
        "error",
        "the deadline of 3 s (--deadline) passed",
    )
    assert "**Stopped** before its end" in (out_dir / "drift.md").read_text(encoding="utf-8")
    assert "Stopped before its end (the deadline of 3 s" in (out_dir / "drift.html").read_text(encoding="utf-8")


def test_contract_stopped_by_sigterm_keeps_its_summary_and_leaves_no_process(tmp_path: Path) -> None:
    """A cancelled CI job sends SIGTERM: the same as a Ctrl-C (Ctrl-C itself: tests/contract/test_hostile.py)."""
    out_dir = tmp_path / "contract"
    with _hanging() as (url, hits):
        proc = _harness("contract", "--base-url", url, "--profile", "quick", "--rule", "unknown-app-404",
                        "--request-timeout", "120", "--out", str(out_dir))  # fmt: skip
        _wait_for(lambda: hits.runs > 0, 60, "the suite's first run")
        out, err, seconds, descendants = _interrupt(proc, signal.SIGTERM)
    assert proc.returncode == 130, out[-2000:] + err[-2000:]
    assert seconds < STOP_WITHIN_S and descendants
    summary = json.loads((out_dir / "summary.json").read_text(encoding="utf-8"))
    assert (summary["verdict"], summary["exit_code"]) == ("interrupted", 130)
    assert _left(descendants) == []


def test_run_killed_outright_leaves_no_step_behind(tmp_path: Path) -> None:
    """SIGKILL gives `run` no chance to pass anything on: its step gets SIGTERM from the kernel when
    it dies, stops as on a Ctrl-C (its summary written) and leaves no process."""
    out_dir = tmp_path / "reports"
    with _hanging() as (url, hits):
        proc = _harness("run", "--base-url", url, "--skip", "load", "--out", str(out_dir))
        _wait_for(lambda: hits.runs > 0, 90, "the contract step's first run")
        descendants = psutil.Process(proc.pid).children(recursive=True)
        proc.kill()
        proc.communicate(timeout=30)
        _, alive = psutil.wait_procs(descendants, timeout=STOP_WITHIN_S)
    assert _left(alive) == []
    summary = json.loads((out_dir / "contract" / "summary.json").read_text(encoding="utf-8"))
    assert summary["verdict"] == "interrupted"

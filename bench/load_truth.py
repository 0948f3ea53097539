"""Do the load scenarios measure the truth? Against a mock whose tasks take a known time, they must.

The embedded mock runs with every phase set so that a task takes ``--task-ms`` (default 200 ms)
from creation to its terminal status. Then, on loopback:

- ``run_wait``: p50 of ``time_to_terminal`` within 2 ms of the task's duration;
- ``run_poll``: p50 of ``time_to_terminal`` within half the poll interval plus 2 ms of it;
- ``webhook``: p50 of ``webhook_turnaround`` at most 5 ms.

Each measured value is printed beside the truth, and beside what a plain sequential httpx client
measures on the same mock for a waiting run (the mock's own answer time: the task plus the HTTP
exchange), which tells the instrument's error apart from the server's.

``python -m bench.load_truth``; exit 0 when all three goals hold.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import NamedTuple

import httpx

from infsh_harness.defaults import API_KEY as DEFAULT_KEY
from infsh_harness.load.processes import embedded_mock
from infsh_harness.load.report import ScenarioReport
from infsh_harness.load.run import LoadOptions, run_load
from infsh_harness.spec import load_spec

__all__ = ["Goal", "goals", "main"]


class Goal(NamedTuple):
    """One bar, in the shape of ``bench.__main__.Bar``: name, measured, limit, higher_is_better, unit."""

    name: str
    measured: float
    limit: float
    higher_is_better: bool
    unit: str


def _p50(reports: Sequence[ScenarioReport], scenario: str, metric: str) -> float:
    for report in reports:
        if report.scenario == scenario:
            entry = report.result.targets().get(metric)
            value = None if entry is None else entry.quantile(0.5)
            if value is not None:
                return value
    return float("inf")  # nothing measured: no bar can be met


def _plain_client_p50(host: str, key: str, runs: int) -> float:
    """p50 of a waiting ``POST /run`` timed by httpx, one at a time."""
    times = []
    with httpx.Client(base_url=host, headers={"Authorization": f"Bearer {key}"}, trust_env=False) as client:
        for _ in range(runs):
            started = time.perf_counter()
            client.post("/run", json={"app": "infsh/echo", "input": {"prompt": "load"}}).raise_for_status()
            times.append((time.perf_counter() - started) * 1000.0)
    return statistics.median(times)


def goals(task_ms: float = 200.0, poll_interval_ms: float = 50.0, seconds: float = 10.0, users: int = 4,
          quiet: bool = False) -> list[Goal]:  # fmt: skip
    say = (lambda line: None) if quiet else print
    phases = sum(1 for s in load_spec().statuses if not s.terminal)
    env = dict(os.environ)
    key = env.get("INFSH_API_KEY") or DEFAULT_KEY
    env["INFSH_MOCK_KEYS"] = key
    with tempfile.TemporaryDirectory(prefix="infsh-load-truth-") as tmp, \
            embedded_mock(env, ("--phase-ms", f"{task_ms / phases:g}")) as host:  # fmt: skip
        reference = _plain_client_p50(host, key, 30)
        outcome = run_load(
            LoadOptions(
                out=Path(tmp), scenarios=("run_wait", "run_poll", "webhook"), host=host, users=users,
                spawn_rate=float(users), run_time_s=seconds, poll_interval_ms=poll_interval_ms, api_key=key,
                environ=env,
            ),  # fmt: skip
            say=lambda line: None,
        )
    wait = _p50(outcome.reports, "run_wait", "time_to_terminal")
    poll = _p50(outcome.reports, "run_poll", "time_to_terminal")
    turnaround = _p50(outcome.reports, "webhook", "webhook_turnaround")
    half = poll_interval_ms / 2
    say(f"tasks of {task_ms:g} ms ({phases} phases of {task_ms / phases:g} ms); {users} users, {seconds:g} s per "
        f"scenario; run_poll every {poll_interval_ms:g} ms")  # fmt: skip
    say(f"  {'measure (p50)':<32} {'truth':>9} {'measured':>9} {'error':>8} {'allowed':>9}")
    say(f"  {'run_wait time_to_terminal':<32} {task_ms:>6g} ms {wait:>6.1f} ms {wait - task_ms:>+5.1f} ms "
        f"{'±2':>6} ms   (plain httpx client: {reference:.1f} ms)")  # fmt: skip
    say(f"  {'run_poll time_to_terminal':<32} {task_ms:>6g} ms {poll:>6.1f} ms {poll - task_ms:>+5.1f} ms "
        f"{f'±{half + 2:g}':>6} ms")  # fmt: skip
    say(f"  {'webhook webhook_turnaround':<32} {0:>6g} ms {turnaround:>6.1f} ms {turnaround:>+5.1f} ms "
        f"{'<=5':>6} ms")  # fmt: skip
    return [
        Goal("run_wait time_to_terminal |error|", abs(wait - task_ms), 2.0, False, "ms"),
        Goal("run_poll time_to_terminal |error|", abs(poll - task_ms), half + 2.0, False, "ms"),
        Goal("webhook_turnaround p50", turnaround, 5.0, False, "ms"),
    ]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.load_truth", description=__doc__)
    parser.add_argument("--task-ms", type=float, default=200.0, help="how long every task takes (default 200)")
    parser.add_argument("--poll-interval-ms", type=float, default=50.0, help="run_poll interval (default 50)")
    parser.add_argument("--seconds", type=float, default=10.0, help="duration of each scenario (default 10)")
    parser.add_argument("--users", type=int, default=4, help="locust users (default 4)")
    args = parser.parse_args(argv)
    results = goals(args.task_ms, args.poll_interval_ms, args.seconds, args.users)
    for g in results:
        met = g.measured >= g.limit if g.higher_is_better else g.measured <= g.limit
        print(f"  {g.name:<36} {g.measured:>6.1f} {g.unit} (bar <= {g.limit:g})  {'ok' if met else 'MISSED'}")
    return 0 if all(g.measured <= g.limit for g in results) else 1


if __name__ == "__main__":
    sys.exit(main())

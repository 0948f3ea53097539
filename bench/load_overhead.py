"""What checking costs: the validated ``run_poll`` scenario against a bare FastHttpUser GET loop.

One locust process each, in interleaved rounds, against one embedded mock whose tasks last long
enough (2 s) that ``run_poll`` is nearly all ``GET /tasks/{id}``, polled with no pause. Reported:
the best requests per second of each and their ratio (the goal: ``run_poll`` reaches at least 0.7
of the bare loop), and the CPU the locust process spends per request under load (a short one-user
run's CPU subtracted, so start-up does not count), whose ratio must reach 0.7 too: it shows the
overhead even when the mock, not locust, limits the rate (on a machine with few cores it does).

``python -m bench.load_overhead [--seconds 8] [--users 20] [--rounds 2]``; exit 0 when the goals are met.
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from bench.load_truth import Goal
from infsh_harness.defaults import API_KEY as DEFAULT_KEY
from infsh_harness.load.processes import embedded_mock
from infsh_harness.load.run import LoadOptions, run_load
from infsh_harness.spec import load_spec

__all__ = ["goals", "main"]

BARE = Path(__file__).resolve().with_name("load_bare_locustfile.py")
GOAL = 0.7
TASK_MS = 2000.0


@dataclass(frozen=True)
class Measured:
    label: str
    requests: int
    failures: int
    rps: float
    cpu_s: float


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _measure(label: str, scenario: str, host: str, out: Path, users: int, seconds: float,
             extra: Sequence[str]) -> Measured:  # fmt: skip
    """One locust run; its requests and the CPU its process used (start-up included)."""
    before = _children_cpu()
    outcome = run_load(
        LoadOptions(
            out=out / label, scenarios=(scenario,), host=host, users=users, spawn_rate=float(users),
            run_time_s=seconds, locust_args=tuple(extra), environ=dict(os.environ),
            api_key=os.environ.get("INFSH_API_KEY") or DEFAULT_KEY,
        ),  # fmt: skip
        say=lambda line: None,
    )
    cpu = _children_cpu() - before
    requests = outcome.reports[0].result.requests
    return Measured(label, requests.count, requests.failures, requests.rps, cpu)


@dataclass(frozen=True)
class Side:
    """One side of the comparison over its rounds: the best rate, and the CPU per request under load
    (the CPU of a short one-user run subtracted, so that start-up and shutdown do not count)."""

    label: str
    runs: list[Measured]
    baseline: Measured

    @property
    def best(self) -> Measured:
        return max(self.runs, key=lambda m: m.rps)

    @property
    def failures(self) -> int:
        return sum(m.failures for m in self.runs)

    @property
    def cpu_us_per_request(self) -> float:
        per_request = [
            (m.cpu_s - self.baseline.cpu_s) / (m.requests - self.baseline.requests) * 1e6
            for m in self.runs if m.requests > self.baseline.requests
        ]  # fmt: skip
        return min(per_request) if per_request else float("inf")


def goals(seconds: float = 8.0, users: int = 20, rounds: int = 2, quiet: bool = False) -> list[Goal]:
    say = (lambda line: None) if quiet else print
    phases = sum(1 for s in load_spec().statuses if not s.terminal)
    env = dict(os.environ)
    env.setdefault("INFSH_API_KEY", DEFAULT_KEY)
    env["INFSH_MOCK_KEYS"] = env["INFSH_API_KEY"]
    sides = {"bare GET loop": (str(BARE), ()), "run_poll (validated)": ("run_poll", ("--poll-interval-ms", "0"))}
    runs: dict[str, list[Measured]] = {label: [] for label in sides}
    with tempfile.TemporaryDirectory(prefix="infsh-load-overhead-") as tmp, \
            embedded_mock(env, ("--phase-ms", f"{TASK_MS / phases:g}")) as host:  # fmt: skip
        out = Path(tmp)
        baselines = {label: _measure(label, f, host, out, 1, 2.0, extra) for label, (f, extra) in sides.items()}
        for _ in range(rounds):  # interleaved, so that a busy moment of a shared machine hits both sides
            for label, (locustfile, extra) in sides.items():
                runs[label].append(_measure(label, locustfile, host, out, users, seconds, extra))
    bare, checked = (Side(label, runs[label], baselines[label]) for label in sides)
    ratio = checked.best.rps / bare.best.rps if bare.best.rps else 0.0
    cpu_ratio = bare.cpu_us_per_request / checked.cpu_us_per_request
    say(f"one locust process each, {users} users, best of {rounds} rounds of {seconds:g} s; tasks of "
        f"{TASK_MS:g} ms polled with no pause")  # fmt: skip
    say(f"  {'run':<22} {'requests':>9} {'failed':>7} {'req/s':>9} {'locust CPU per request':>24}")
    for side in (bare, checked):
        m = side.best
        say(f"  {side.label:<22} {m.requests:>9} {side.failures:>7} {m.rps:>9.0f} "
            f"{side.cpu_us_per_request:>21.0f} us")  # fmt: skip
    return [
        Goal("run_poll / bare FastHttpUser req/s", ratio, GOAL, True, "x"),
        # when the server, not locust, limits both runs, the CPU each request costs locust still tells
        Goal("run_poll / bare req per locust CPU s", cpu_ratio, GOAL, True, "x"),
        Goal("run_poll failed requests", float(checked.failures), 0.0, False, ""),
    ]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.load_overhead", description=__doc__)
    parser.add_argument("--seconds", type=float, default=8.0, help="duration of each run (default 8)")
    parser.add_argument("--users", type=int, default=20, help="locust users of each run (default 20)")
    parser.add_argument("--rounds", type=int, default=2, help="interleaved rounds; the best counts (default 2)")
    args = parser.parse_args(argv)
    results = goals(args.seconds, args.users, args.rounds)
    met = [g.measured >= g.limit if g.higher_is_better else g.measured <= g.limit for g in results]
    for g, ok in zip(results, met, strict=True):
        sign = ">=" if g.higher_is_better else "<="
        print(f"  {g.name:<36} {g.measured:>6.2f} {g.unit} (bar {sign} {g.limit:g})  {'ok' if ok else 'MISSED'}")
    return 0 if all(met) else 1


if __name__ == "__main__":
    sys.exit(main())

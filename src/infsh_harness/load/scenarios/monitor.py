"""A locust process that watches itself: its CPU use each second and its schedules' counts (not a scenario).

A load generator whose own CPU is saturated queues its work: the latencies it reports then include
its own queueing, which is not the server's. Each locust process therefore samples, once a second
while the test runs, as shares of one core:

- ``cpu``: the CPU time it used (``os.times()``: user + system, every thread);
- ``busy``: that plus the time its main thread (where gevent runs every user) waited for a core
  while ready to run (``/proc/self/schedstat``, Linux). On a machine shared with other jobs a
  process with more work than a core may *get* 60% of one and wait the rest: it is as saturated
  as one that runs 100%. Where schedstat is missing, ``busy`` is ``cpu``.

A sample that could not be taken on time (the sampler is a greenlet too, and a starved process
starves it) counts for every second it covers. Each process also keeps the
:class:`ArrivalCounts` of its schedulers (open model). Workers send theirs to the master with
every report; the master (or the only process) writes ``PREFIX_generator.json`` when it quits,
which the harness judges (``load/validity.py``)::

    {"model": "open", "started_at": 1700000000.1, "stopped_at": 1700000030.2,  # schedules' end, open model
     "processes": [{"node": "local", "runs_users": true, "cpu": [0.21, ...], "busy": [0.22, ...],
                    "arrivals": {"rate": 10.0, "planned": 300, ...} | null}]}
"""

from __future__ import annotations

import logging
import os
import time
from typing import Any

import gevent
import orjson
from locust.env import Environment
from locust.runners import MasterRunner, WorkerRunner

from infsh_harness.load.arrivals import ArrivalCounts

__all__ = ["GeneratorMonitor"]

log = logging.getLogger("infsh_harness.load")

_SAMPLE_S = 1.0


def _cpu_seconds() -> float:
    times = os.times()
    return times.user + times.system


def _waited_seconds() -> float | None:
    """Time the main thread spent ready to run but waiting for a core (``None`` without schedstat)."""
    try:
        with open("/proc/self/schedstat", "rb") as f:
            return int(f.read().split()[1]) / 1e9
    except (OSError, ValueError, IndexError):
        return None


class GeneratorMonitor:
    def __init__(self, model: str) -> None:
        self.model = model
        self.cpu: list[float] = []
        self.busy: list[float] = []
        self.schedules: list[ArrivalCounts] = []  # live counts of this process' schedulers
        self.schedules_ended_at: float | None = None  # when the last of them ended (start, drain and all)
        self.started_at: float | None = None
        self.stopped_at: float | None = None
        self.others: dict[str, dict[str, Any]] = {}  # the master's copy of each worker's last snapshot
        self._sampler: gevent.Greenlet | None = None
        self._node = "local"
        self._runs_users = True

    def attach(self, environment: Environment) -> None:
        if isinstance(environment.runner, MasterRunner):
            self._node, self._runs_users = "master", False
        elif isinstance(environment.runner, WorkerRunner):
            self._node = f"worker {environment.runner.client_id}"
        events = environment.events
        events.test_start.add_listener(self.on_test_start)
        events.test_stop.add_listener(self.on_test_stop)
        events.report_to_master.add_listener(self.on_report_to_master)
        events.worker_report.add_listener(self.on_worker_report)
        prefix = getattr(environment.parsed_options, "csv_prefix", None)
        if prefix and not isinstance(environment.runner, WorkerRunner):
            events.quit.add_listener(lambda **_kw: self.write(f"{prefix}_generator.json"))

    def on_test_start(self, **_kw: Any) -> None:
        self.cpu, self.busy = [], []
        self.started_at, self.stopped_at = time.time(), None
        if self._sampler is None or self._sampler.dead:
            self._sampler = gevent.spawn(self._sample)

    def on_test_stop(self, **_kw: Any) -> None:
        self.stopped_at = time.time()
        if self._sampler is not None:
            self._sampler.kill(block=False)

    def _sample(self) -> None:
        """Shares of one core per second until the test stops (killed by ``on_test_stop``)."""
        last_cpu, last_waited, last_wall = _cpu_seconds(), _waited_seconds(), time.perf_counter()
        while True:
            gevent.sleep(_SAMPLE_S)
            cpu, waited, wall = _cpu_seconds(), _waited_seconds(), time.perf_counter()
            elapsed = wall - last_wall
            if elapsed > 0:
                used = (cpu - last_cpu) / elapsed
                queued = (waited - last_waited) / elapsed if waited is not None and last_waited is not None else 0.0
                seconds = max(1, round(elapsed / _SAMPLE_S))  # a late sample stands for each second it covers
                self.cpu += [round(used, 3)] * seconds
                self.busy += [round(used + queued, 3)] * seconds
            last_cpu, last_waited, last_wall = cpu, waited, wall

    def snapshot(self) -> dict[str, Any]:
        arrivals: ArrivalCounts | None = None
        for counts in self.schedules:
            arrivals = counts if arrivals is None else arrivals.merge(counts)
        return {
            "node": self._node,
            "runs_users": self._runs_users,
            "cpu": list(self.cpu),
            "busy": list(self.busy),
            "arrivals": None if arrivals is None else arrivals.to_json(),
            "schedules_ended_at": self.schedules_ended_at,
        }

    def on_report_to_master(self, data: dict[str, Any], **_kw: Any) -> None:
        data["infsh_generator"] = self.snapshot()

    def on_worker_report(self, client_id: str, data: dict[str, Any], **_kw: Any) -> None:
        snapshot = data.get("infsh_generator")
        if isinstance(snapshot, dict):
            self.others[client_id] = snapshot

    def write(self, path: str) -> None:
        processes = [self.snapshot(), *self.others.values()]
        stopped_at = self.stopped_at or time.time()
        ended = [p.get("schedules_ended_at") for p in processes if p["runs_users"]]
        if self.model == "open" and ended and all(ended):  # the load ended with the schedules, not locust's limit
            stopped_at = min(stopped_at, max(float(e) for e in ended if e))
        report = {"model": self.model, "started_at": self.started_at, "stopped_at": stopped_at, "processes": processes}
        try:
            with open(path, "wb") as f:
                f.write(orjson.dumps(report))
        except OSError as exc:
            log.error("could not write %s: %s", path, exc)

"""The open model in a locust process: tasks started on a schedule fixed in advance (not a scenario).

Like k6's ``constant-arrival-rate`` executor and wrk2, one scheduler per locust user starts task
``i`` at ``t0 + i / rate`` for ``seconds``, each in its own greenlet, whatever the server does: a
slow answer never delays the next start. Each task is timed from its *intended* start, so when the
server stalls, every task that was due during the stall counts the stall (no coordinated omission).

Bounds: at most ``max_in_flight`` tasks run at once (a start due while the pool is full is dropped
and counted, as k6 counts ``dropped_iterations``); after the last start the scheduler waits at
most ``drain_s`` for the tasks in flight, then stops them and records each as a failure of the
scenario's main measure, timed from its due start. A stop that comes more than a second before
the schedule's end (Ctrl-C) ends the schedule at once, and the tasks in flight with it.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import gevent
from gevent.event import Event
from gevent.pool import Pool

from infsh_harness.load.arrivals import ArrivalCounts

__all__ = ["STOPPING", "Schedule"]

STOPPING = Event()  # set on locust's test_stopping, cleared on test_start (scenarios/common.py)
_EARLY_STOP_S = 1.0  # a stop this long before the schedule's end is an interruption


class Schedule:
    def __init__(self, rate: float, seconds: float, max_in_flight: int, drain_s: float) -> None:
        if not rate > 0 or not seconds > 0 or max_in_flight < 1 or drain_s < 0:
            raise ValueError("a schedule needs a positive rate and duration, a pool of at least 1, a drain >= 0")
        self.rate = rate
        self.seconds = seconds
        self.drain_s = drain_s
        self.pool = Pool(max_in_flight)
        self.counts = ArrivalCounts(rate=rate, planned=int(rate * seconds + 1e-9))
        self._due_of: dict[Any, float] = {}

    def run(self, start: Callable[[float], None], unfinished: Callable[[float, str], None]) -> ArrivalCounts:
        """Call ``start(due)`` in a greenlet at each due time; ``unfinished(due, why)`` for each task stopped."""
        t0 = time.perf_counter()
        end = t0 + self.seconds
        why = f"still running {self.drain_s:g} s after the last start"
        killed = False
        try:
            for i in range(self.counts.planned):
                due = t0 + i / self.rate
                if self._wait_until(due, end):
                    why = "interrupted"
                    break
                self._start_one(start, due)
            self.pool.join(timeout=0.0 if why == "interrupted" else self.drain_s)
        except gevent.GreenletExit:  # locust stopped this user without waiting (no --stop-timeout)
            why, killed = "stopped with its user", True
            raise
        finally:
            for greenlet in list(self.pool):
                unfinished(self._due_of.pop(greenlet, t0), why)
                self.counts.unfinished += 1
            self.pool.kill(block=not killed, timeout=5.0)
        return self.counts

    @staticmethod
    def _wait_until(due: float, end: float) -> bool:
        """Sleep until ``due``; True when a stop came too early to be the schedule's normal end."""
        while True:
            now = time.perf_counter()
            if STOPPING.is_set() and now < end - _EARLY_STOP_S:
                return True
            wait = due - now
            if wait <= 0:
                return False
            if STOPPING.is_set():  # the normal end, a moment before the schedule's: keep to the plan
                gevent.sleep(wait)
            else:
                STOPPING.wait(wait)  # wakes at once when a stop comes

    def _start_one(self, start: Callable[[float], None], due: float) -> None:
        counts = self.counts
        counts.due += 1
        if self.pool.full():
            counts.dropped += 1
            return
        counts.record_lag((time.perf_counter() - due) * 1000.0)
        counts.started += 1
        greenlet = self.pool.spawn(start, due)
        self._due_of[greenlet] = due
        greenlet.link(lambda g: self._due_of.pop(g, None))

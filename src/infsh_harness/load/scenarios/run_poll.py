"""run_poll: run a task without waiting, then poll it; measures ``time_to_terminal`` and ``polls_to_terminal``.

Each task sends ``POST /run?wait=false``, then ``GET /tasks/{id}`` once every ``--poll-interval-ms``
(on a fixed schedule: a slow answer does not push the later polls back) until the status is
terminal. Real pollers start at any moment relative to the task's end; here the schedule's phase
is spread evenly over the interval, task after task, so a task's end is seen on average half an
interval late and the median converges within a few dozen tasks. Recorded: ``time_to_terminal``
(METRIC, ms from the task's start — its due time in the open model — to the terminal read) and
``polls_to_terminal`` (COUNT of GETs). Every read is checked against the spec and against the
previous one (``status-order``).

    locust -f load/run_poll.py --host http://127.0.0.1:8080 --headless -u 10 -t 30s --poll-interval-ms 100
"""

from __future__ import annotations

import math
import random
import time

import gevent

from infsh_harness.load.scenarios.common import CHECKS, ApiUser, elapsed_ms

_GOLDEN = (math.sqrt(5) - 1) / 2  # steps of this fraction cover [0, 1) evenly, in any number


class RunPollUser(ApiUser):
    main_measure = "time_to_terminal"

    def on_start(self) -> None:
        super().on_start()
        self.phase = random.random()

    def iteration(self, started: float) -> None:
        task_ = self.submit(wait=False, since=started)
        if task_ is None:
            return
        interval = self.options.poll_interval_s
        deadline = started + self.options.poll_timeout_s
        self.phase = (self.phase + _GOLDEN) % 1.0
        first = started + self.phase * interval
        status, polls, slot = task_["status"], 0, 0
        while status not in CHECKS.terminal:
            now = time.perf_counter()
            due = now
            if interval:  # the next slot of the schedule not yet begun (a slow answer skips slots)
                slot = max(slot, math.ceil((now - first) / interval))
                due = first + slot * interval
            if due > deadline:
                failure = f"not terminal within {self.options.poll_timeout_s:g} s (last {CHECKS.status_name(status)})"
                self.metric("time_to_terminal", elapsed_ms(started), failure)
                return
            if due > now:
                gevent.sleep(due - now)
            read = self.get_task(task_["id"], status)
            polls += 1
            slot += 1
            if read is None:
                return
            status = read["status"]
        self.metric("time_to_terminal", elapsed_ms(started))
        self.count("polls_to_terminal", polls)

"""run_wait: run a task and wait for it; measures ``time_to_terminal``.

Each task sends ``POST /run`` (waiting, the default) for ``--infsh-app`` with ``--infsh-input`` and
records, as the METRIC entry ``time_to_terminal``, the milliseconds from the task's start (its due
time, in the open model) to receiving the terminal task. The answer must be a documented status
with a valid ``Task`` body that is terminal (rule ``run-waits-by-default``); anything else is a
named failure of ``POST /run``.

    locust -f load/run_wait.py --host http://127.0.0.1:8080 --headless -u 10 -t 30s
"""

from __future__ import annotations

from infsh_harness.load.scenarios.common import ApiUser, elapsed_ms


class RunWaitUser(ApiUser):
    main_measure = "time_to_terminal"

    def iteration(self, started: float) -> None:
        if self.submit(wait=True, since=started) is not None:
            self.metric("time_to_terminal", elapsed_ms(started))

"""run_cancel: start a long task, cancel it; measures the cancel request and ``cancel_to_cancelled``.

Each user starts ``--cancel-app`` (default ``infsh/sleep`` for 30 s) with ``POST /run?wait=false``,
pauses ``--cancel-after-ms``, and sends ``POST /tasks/{id}/cancel`` (its latency is that request's
own entry). ``cancel_to_cancelled`` (METRIC) is the time from sending the cancel to seeing status
Cancelled: in the cancel's answer, or else in ``GET /tasks/{id}`` reads every
``--poll-interval-ms`` for at most ``--cancel-timeout-s``. A task that ended otherwise before the
cancel took effect, or never shows Cancelled, is a failure of ``cancel_to_cancelled``. The answer
must say ``cancelled`` exactly when its status is Cancelled (rules ``cancel-running``,
``cancel-idempotent``).

    locust -f load/run_cancel.py --host http://127.0.0.1:8080 --headless -u 10 -t 30s
"""

from __future__ import annotations

import time

import gevent

from infsh_harness.load.scenarios.common import CHECKS, ApiUser, elapsed_ms


class RunCancelUser(ApiUser):
    main_measure = "cancel_to_cancelled"

    def iteration(self, started: float) -> None:
        task_ = self.submit(wait=False, app=self.options.cancel_app, input=self.options.cancel_input, since=started)
        if task_ is None:
            return
        if self.options.cancel_after_s:
            gevent.sleep(self.options.cancel_after_s)
        started = time.perf_counter()
        answer = self.cancel(task_["id"])
        if answer is None:
            return
        status = answer["status"]
        deadline = started + self.options.cancel_timeout_s
        while status != CHECKS.cancelled:
            if status in CHECKS.terminal:
                failure = f"task ended as {CHECKS.status_name(status)} before the cancel took effect"
                self.metric("cancel_to_cancelled", elapsed_ms(started), failure)
                return
            if time.perf_counter() + self.options.poll_interval_s > deadline:
                failure = f"not Cancelled within {self.options.cancel_timeout_s:g} s of the cancel"
                self.metric("cancel_to_cancelled", elapsed_ms(started), failure)
                return
            gevent.sleep(self.options.poll_interval_s)
            read = self.get_task(task_["id"], status)
            if read is None:
                return
            status = read["status"]
        self.metric("cancel_to_cancelled", elapsed_ms(started))

"""The yardstick of ``bench/load_overhead.py``: a bare FastHttpUser GET loop, nothing checked.

Each user creates one long task, then reads it as fast as it can. Its requests per second are
what one locust process reaches with no validation, no custom metric and no bookkeeping.
"""

from __future__ import annotations

import os

from locust import FastHttpUser, constant, task

_KEY = os.environ.get("INFSH_API_KEY") or "inf_test_key"


class BareGetUser(FastHttpUser):
    wait_time = constant(0)
    default_headers = {"Authorization": f"Bearer {_KEY}", "X-API-Version": "2"}  # bare objects

    def on_start(self) -> None:
        answer = self.client.post("/run?wait=false", json={"app": "infsh/sleep", "input": {"seconds": 3600}})
        self.task_id = answer.json()["id"]

    @task
    def read(self) -> None:
        self.client.get(f"/tasks/{self.task_id}", name="/tasks/{id}")

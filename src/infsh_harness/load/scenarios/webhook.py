"""webhook: run tasks with a webhook to a receiver in this locust process; measures how late webhooks are.

Every load process (the only one, or each worker) serves a small HTTP receiver, its inbox
(``inbox.py``), on ``--webhook-bind`` (127.0.0.1, any free port). Each task sends
``POST /run?wait=false`` with ``webhook`` pointing at it and waits for the delivery. Recorded, as
METRIC entries:

- ``webhook_turnaround``: receipt time minus the payload's ``updated_at`` (when the task ended),
  one per delivery. A payload that breaks ``WebhookPayload``, or a second delivery for one task
  (rule ``one-webhook``), is a failure of this entry.
- ``webhook_end_to_end``: from the task's start (its due time, in the open model) to receiving its
  webhook, one per task. A webhook not received within ``--webhook-timeout-s`` is lost: a failure
  of this entry, timed at the wait.

The server's clock and this process's are compared, so ``webhook_turnaround`` means something
only when both run on one machine (or on synchronised clocks); its resolution is the payload's
timestamp resolution (1 ms on the mock).

    locust -f load/webhook.py --host http://127.0.0.1:8080 --headless -u 10 -t 30s
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from gevent.event import AsyncResult
from locust import events
from locust.env import Environment
from locust.runners import MasterRunner

from infsh_harness.load.scenarios.common import CHECKS, ApiUser, ScenarioOptions, elapsed_ms, record
from infsh_harness.load.scenarios.inbox import InboxServer

_ONE_WEBHOOK = CHECKS.rules["one-webhook"]


@dataclass(frozen=True)
class Delivery:
    received_at: float  # time.perf_counter() at receipt
    payload: Any


class WebhookInbox:
    """The webhook receiver of one locust process: takes the deliveries of this process' tasks and
    hands each to the user waiting for it (the contract suite's receiver is ``webhooks/receiver.py``)."""

    def __init__(self, environment: Environment, bind: str, port: int, public_url: str = "") -> None:
        self.environment = environment
        self.waiting: dict[str, AsyncResult] = {}
        self.early: dict[str, Delivery] = {}  # arrived before their run's answer
        self.delivered: set[str] = set()
        self.server = InboxServer(bind, port, self.handle)
        self.server.start()
        host = f"[{bind}]" if ":" in bind else bind
        self.url = public_url or f"http://{host}:{self.server.server_port}/webhook"

    def handle(self, body: bytes) -> tuple[int, bytes]:
        received_wall, received_at = time.time(), time.perf_counter()
        payload, failure = CHECKS.webhook(body)
        if payload is None:
            record(self.environment, "webhook_turnaround", None, failure)
        else:
            self._accept(payload, received_wall, received_at)
        return 200, b"{}"

    def _accept(self, payload: Any, received_wall: float, received_at: float) -> None:
        task_id = payload["id"]
        turnaround = (received_wall - CHECKS.timestamp(payload["updated_at"])) * 1000.0
        if task_id in self.delivered:
            record(self.environment, "webhook_turnaround", turnaround,
                   f"[{_ONE_WEBHOOK}] taskCompleted: a second delivery for one task")  # fmt: skip
            return
        self.delivered.add(task_id)
        record(self.environment, "webhook_turnaround", turnaround)
        delivery = Delivery(received_at, payload)
        waiter = self.waiting.pop(task_id, None)
        if waiter is not None:
            waiter.set(delivery)
        else:
            self.early[task_id] = delivery

    def expect(self, task_id: str, timeout_s: float) -> Delivery | None:
        """The delivery for ``task_id``, waiting at most ``timeout_s``; ``None`` when lost."""
        delivery = self.early.pop(task_id, None)
        if delivery is not None:
            return delivery
        waiter = self.waiting[task_id] = AsyncResult()
        try:
            waiter.wait(timeout_s)
        finally:
            self.waiting.pop(task_id, None)
        return waiter.value if waiter.ready() else None

    def stop(self) -> None:
        self.server.stop(timeout=1)


class _Holder:
    inbox: WebhookInbox | None = None


@events.init.add_listener
def _start_inbox(environment: Environment, **_kw: Any) -> None:
    if isinstance(environment.runner, MasterRunner):
        return  # the master runs no users: its workers receive their own webhooks
    options = ScenarioOptions.of(environment)
    _Holder.inbox = WebhookInbox(environment, options.webhook_bind, options.webhook_port, options.webhook_url)


@events.quitting.add_listener
def _stop_inbox(**_kw: Any) -> None:
    if _Holder.inbox is not None:
        _Holder.inbox.stop()
        _Holder.inbox = None


class WebhookUser(ApiUser):
    main_measure = "webhook_end_to_end"

    def iteration(self, started: float) -> None:
        inbox = _Holder.inbox
        if inbox is None:
            return
        task_ = self.submit(wait=False, webhook=inbox.url, since=started)
        if task_ is None:
            return
        timeout_s = self.options.webhook_timeout_s
        delivery = inbox.expect(task_["id"], max(timeout_s - (time.perf_counter() - started), 0.0))
        if delivery is None:
            lost = f"[{_ONE_WEBHOOK}] no webhook within {timeout_s:g} s"
            self.metric("webhook_end_to_end", elapsed_ms(started), lost)
        else:
            self.metric("webhook_end_to_end", (delivery.received_at - started) * 1000.0)

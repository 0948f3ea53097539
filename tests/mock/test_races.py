"""Cancel racing completion: every race ends in exactly one terminal state and at most one webhook.

Most races run on the model with a fake clock, where the cancel can land exactly at, just before or
just after the finish; a smaller number run over real HTTP with a webhook receiver, where the cancel
lands within a few milliseconds of the finish as the wall clock allows.
"""

from __future__ import annotations

import asyncio
import math
import random
import time
from datetime import datetime
from typing import Any

import httpx

from infsh_harness.mock.apps import load_catalog
from infsh_harness.mock.config import MockConfig, WebhookPolicy
from infsh_harness.mock.models import FakeClock, MockBackend, Task, TaskView
from infsh_harness.mock.server import MockServer
from infsh_harness.spec import load_spec
from infsh_harness.webhooks.receiver import WebhookReceiver
from tests.mock.answers import V2

SPEC = load_spec()
PHASES = tuple(s.varname for s in SPEC.statuses if not s.terminal)
KEY = "inf_test_key"
COMPLETED, FAILED, CANCELLED = SPEC.status("COMPLETED"), SPEC.status("FAILED"), SPEC.status("CANCELLED")
TERMINAL = SPEC.terminal_statuses
MODEL_RACES = 1200
HTTP_RACES = 200



def _cancel_times(finish: float) -> tuple[float, ...]:
    """Where the cancel lands: 1 ms, 1 us and one float step before the finish, at it, and after."""
    return (
        finish - 1e-3, finish - 1e-6, math.nextafter(finish, -math.inf), finish,
        math.nextafter(finish, math.inf), finish + 1e-6, finish + 1e-3,
    )  # fmt: skip


def code(view: TaskView) -> int:
    return SPEC.status(view.status)


def _race(
    backend: MockBackend, clock: FakeClock, task: Task, cancel_at: float, timer_first: bool
) -> tuple[TaskView, list[TaskView]]:
    """Play the app's glue: a cancel at ``cancel_at`` and the terminal timer; return the answer and events."""
    events: list[TaskView] = []

    def fire_timer(at: float) -> None:
        clock.t = at
        view = backend.finalize(task)
        if view is not None:
            events.append(view)

    if timer_first:
        fire_timer(min(cancel_at, task.finishes_at))
    clock.t = cancel_at
    answer = backend.cancel_task(KEY, task.id)
    if task.cancelled_at is not None:  # the app claims the event at once when the cancel won
        fire_timer(clock.t)
    fire_timer(max(cancel_at, backend.terminal_at(task)))
    return answer, events


def test_model_races_end_in_one_terminal_state_and_one_terminal_event() -> None:
    clock = FakeClock()
    backend = MockBackend(MockConfig(), load_catalog(PHASES), clock, random.Random(5))
    rng = random.Random(11)
    outcomes = {COMPLETED: 0, FAILED: 0, CANCELLED: 0}
    apps = [("infsh/echo", {}), ("infsh/fail", {}), ("infsh/sleep", {"seconds": 0.01}), ("infsh/flux", {})]
    for i in range(MODEL_RACES):
        app, input_ = apps[i % len(apps)]
        task = backend.create_task(KEY, {"app": app, "input": input_, "webhook": "http://127.0.0.1:9/h"})
        exact = _cancel_times(task.finishes_at)
        cancel_at = exact[i % len(exact)] if i < 100 * len(exact) else task.finishes_at + rng.uniform(-2e-3, 2e-3)
        offset = cancel_at - task.finishes_at
        # the terminal timer may fire before or after the cancel arrives
        answer, events = _race(backend, clock, task, cancel_at, timer_first=i % 2 == 1)
        reads = []
        for later in (0.0, 1e-9, 1e-3, 10.0):
            clock.t = max(cancel_at, task.finishes_at) + later
            reads.append(code(backend.view(task)))
        final = reads[0]
        assert final in TERMINAL and reads == [final] * len(reads), (i, offset, reads)
        assert code(answer) == final, (i, offset)
        if offset < 0:
            assert final == CANCELLED
        else:
            assert final != CANCELLED
        assert [code(e) for e in events] == [final], (i, offset, events)
        assert backend.finalize(task) is None
        outcomes[final] += 1
        clock.advance(1.0)
    assert min(outcomes.values()) > 0


def _iso(text: str) -> float:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


def test_http_races_end_in_one_terminal_state_and_at_most_one_webhook() -> None:
    phase_ms = 10.0
    total_s = phase_ms * len(PHASES) / 1000.0
    policy = WebhookPolicy(backoff_initial_s=0.01, backoff_max_s=0.05, budget_s=5.0)
    srv = MockServer(MockConfig(phase_ms=phase_ms, webhooks=policy, seed=2))
    url = srv.start()
    rng = random.Random(3)
    results: list[tuple[str, dict[str, Any]]] = []

    async def race(client: httpx.AsyncClient, hook_url: str, gate: asyncio.Semaphore) -> None:
        async with gate:
            run = {"app": "infsh/echo", "input": {}, "webhook": hook_url}
            task = (await client.post("/run?wait=false", json=run)).json()
            finish = _iso(task["created_at"]) + total_s
            await asyncio.sleep(max(0.0, finish + rng.uniform(-0.04, 0.0) - time.time()))
            answer = (await client.post(f"/tasks/{task['id']}/cancel")).json()
            results.append((task["id"], answer))

    async def main(hook_url: str) -> None:
        gate = asyncio.Semaphore(16)
        async with httpx.AsyncClient(base_url=url, headers={"Authorization": f"Bearer {KEY}", **V2}, timeout=20) as c:
            await asyncio.gather(*(race(c, hook_url, gate) for _ in range(HTTP_RACES)))

    try:
        with (
            WebhookReceiver() as hook,
            httpx.Client(base_url=url, headers={"Authorization": f"Bearer {KEY}", **V2}) as client,
        ):
            asyncio.run(main(hook.url()))
            assert hook.wait_until(lambda r: len(r.deliveries()) >= HTTP_RACES, timeout_s=10)
            time.sleep(0.1)  # room for a wrong extra delivery to arrive
            webhooks: dict[str, list[int]] = {}
            for delivery in hook.deliveries():
                webhooks.setdefault(delivery.payload["id"], []).append(delivery.payload["status"])
            won = {COMPLETED: 0, CANCELLED: 0}
            for task_id, answer in results:
                final = client.get(f"/tasks/{task_id}").json()["status"]
                assert final in (COMPLETED, CANCELLED)
                assert answer == {"id": task_id, "status": final, "cancelled": final == CANCELLED}
                assert client.get(f"/tasks/{task_id}").json()["status"] == final
                assert webhooks.get(task_id) == [final], (task_id, webhooks.get(task_id))
                won[final] += 1
            assert len(results) == HTTP_RACES == len(webhooks)
            assert sum(won.values()) == HTTP_RACES
            assert min(won.values()) > 0, won  # the cancels really landed on both sides of the finish
    finally:
        srv.stop()

"""Following one task as it changes: what both profiles' ``GET /tasks/{id}/stream`` are made from.

``follow`` yields the task's status history each time it grows (first at once, as it stands), and
``None`` when a heartbeat is due. It sleeps on the lifecycle between changes (a cancel wakes it) and
ends once the task is terminal, when the mock shuts down, or after ``max_wait_s``: every stream is
bounded. Each profile frames what it yields its own way (the wire's NDJSON or SSE lines, the
documented ``update`` / ``done`` events with ids).
"""

from __future__ import annotations

import time
from collections.abc import AsyncGenerator
from dataclasses import dataclass

from infsh_harness.mock.models import Task, TaskView
from infsh_harness.mock.profiles.profile import Services

__all__ = ["Progress", "follow"]


@dataclass(frozen=True)
class Progress:
    """The task as it stands, and every status it has reached so far (oldest first, with when)."""

    view: TaskView
    history: list[tuple[str, float]]


async def follow(mock: Services, task: Task, heartbeat_s: float) -> AsyncGenerator[Progress | None, None]:
    """The task now, then again each time it reaches a new status; ``None`` for a heartbeat."""
    backend, clock, lifecycle = mock.backend, mock.backend.clock, mock.lifecycle
    deadline = time.monotonic() + mock.config.max_wait_s
    view, history = backend.view(task), backend.history(task)
    yield Progress(view, history)
    seen = len(history)
    next_beat = time.monotonic() + heartbeat_s
    while not view.terminal and not lifecycle.closing:
        now_m = time.monotonic()
        if now_m >= deadline:
            return
        if now_m >= next_beat:
            yield None
            next_beat = now_m + heartbeat_s
        wake = min(next_beat, deadline) - now_m
        change = backend.next_change_at(task)
        if change is not None:
            wake = min(wake, change - clock.now())
        await lifecycle.wait_for_change(task, wake)
        view, history = backend.view(task), backend.history(task)
        if len(history) > seen:
            yield Progress(view, history)
            seen = len(history)

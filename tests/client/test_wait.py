"""``wait_for_terminal``: backoff, deadline and errors, with a fake clock (no test really sleeps);
against status sequences served by respx routes, and against the mock itself (``infsh_respx``).

Statuses come from the spec: the non-terminal ones in their documented order, then a terminal one.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest
import respx

from infsh_harness import defaults
from infsh_harness.client import AsyncTasksClient, Task, TasksClient, WaitTimeout
from infsh_harness.client.errors import NotFoundError, ServerError
from infsh_harness.spec import load_spec
from infsh_harness.testing import InfshMock

SPEC = load_spec()
BASE = "http://api.test"
TASK_ID = "task_abc123"
NON_TERMINAL = [code for code in SPEC.status_codes if code not in SPEC.terminal_statuses]
COMPLETED = SPEC.status("COMPLETED")


class FakeClock:
    """``clock`` and ``sleep`` for the clients: sleeping only moves the clock."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds

    async def async_sleep(self, seconds: float) -> None:
        self.sleep(seconds)


def _task(status: int) -> dict[str, Any]:
    return {"id": TASK_ID, "status": status, "input": {}, "created_at": "2024-01-15T10:30:00Z"}


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def router() -> respx.Router:
    return respx.Router(base_url=BASE, assert_all_called=False)


@pytest.fixture(params=["sync", "async"])
def wait(request: pytest.FixtureRequest, router: respx.Router, clock: FakeClock) -> Iterator[Callable[..., Task]]:
    """``wait_for_terminal(TASK_ID, **kwargs)`` on a sync or an async client."""
    if request.param == "sync":
        client = TasksClient(BASE, transport=httpx.MockTransport(router.handler), sleep=clock.sleep, clock=clock)
        yield lambda **kwargs: client.wait_for_terminal(TASK_ID, **kwargs)
        client.close()
        return
    transport = httpx.MockTransport(router.async_handler)
    aclient = AsyncTasksClient(BASE, transport=transport, sleep=clock.async_sleep, clock=clock)
    yield lambda **kwargs: asyncio.run(aclient.wait_for_terminal(TASK_ID, **kwargs))
    asyncio.run(aclient.aclose())


def _serve_statuses(router: respx.Router, statuses: list[int]) -> respx.Route:
    return router.get(f"/tasks/{TASK_ID}").mock(side_effect=[httpx.Response(200, json=_task(s)) for s in statuses])


def test_wait_returns_terminal_task_with_exponential_backoff(
    wait: Callable[..., Task], router: respx.Router, clock: FakeClock
) -> None:
    route = _serve_statuses(router, [*NON_TERMINAL, COMPLETED])
    task = wait(interval=0.25, max_interval=2.0, backoff=2.0, deadline=60)
    assert task.status == COMPLETED and task.is_terminal
    assert route.call_count == len(NON_TERMINAL) + 1
    expected = [min(0.25 * 2**n, 2.0) for n in range(len(NON_TERMINAL))]
    assert clock.sleeps == expected


def test_wait_returns_at_once_for_a_terminal_task(
    wait: Callable[..., Task], router: respx.Router, clock: FakeClock
) -> None:
    for status in sorted(SPEC.terminal_statuses):
        _serve_statuses(router, [status])
        assert wait(deadline=5).status == status
    assert clock.sleeps == []


def test_wait_constant_interval_with_backoff_one(
    wait: Callable[..., Task], router: respx.Router, clock: FakeClock
) -> None:
    _serve_statuses(router, [NON_TERMINAL[0]] * 4 + [COMPLETED])
    wait(interval=0.5, max_interval=0.5, backoff=1.0, deadline=60)
    assert clock.sleeps == [0.5] * 4


def test_wait_deadline_raises_with_last_task(wait: Callable[..., Task], router: respx.Router, clock: FakeClock) -> None:
    statuses = [NON_TERMINAL[min(n, len(NON_TERMINAL) - 1)] for n in range(50)]
    route = _serve_statuses(router, statuses)
    with pytest.raises(WaitTimeout) as info:
        wait(interval=1.0, max_interval=4.0, backoff=2.0, deadline=10.0)
    # sleeps 1, 2, 4, then the 3 s left: the last read happens exactly at the deadline
    assert clock.sleeps == [1.0, 2.0, 4.0, 3.0]
    assert route.call_count == 5
    assert info.value.waited == 10.0
    assert info.value.task.status == statuses[4]
    assert not info.value.task.is_terminal
    assert TASK_ID in str(info.value)


def test_wait_zero_deadline_reads_once(wait: Callable[..., Task], router: respx.Router, clock: FakeClock) -> None:
    route = _serve_statuses(router, [NON_TERMINAL[0]])
    with pytest.raises(WaitTimeout):
        wait(deadline=0)
    assert route.call_count == 1 and clock.sleeps == []


def test_wait_counts_request_time_against_the_deadline(router: respx.Router, clock: FakeClock) -> None:
    def slow_read(request: httpx.Request) -> httpx.Response:
        clock.now += 3.0  # each read takes 3 s of the budget
        return httpx.Response(200, json=_task(NON_TERMINAL[0]))

    router.get(f"/tasks/{TASK_ID}").mock(side_effect=slow_read)
    client = TasksClient(BASE, transport=httpx.MockTransport(router.handler), sleep=clock.sleep, clock=clock)
    with client, pytest.raises(WaitTimeout) as info:
        client.wait_for_terminal(TASK_ID, interval=1.0, max_interval=1.0, deadline=5.0)
    assert clock.sleeps == [1.0]  # read (3 s), sleep 1 s, read (3 s): 7 s >= 5 s
    assert info.value.waited == 7.0


def test_wait_propagates_errors_of_get(wait: Callable[..., Task], router: respx.Router) -> None:
    router.get(f"/tasks/{TASK_ID}").mock(
        side_effect=[
            httpx.Response(200, json=_task(NON_TERMINAL[0])),
            httpx.Response(503, json={"error": "busy"}),
        ]
    )
    with pytest.raises(ServerError):
        wait(deadline=60)


def test_wait_unknown_task_raises_not_found(infsh_respx: InfshMock) -> None:
    with TasksClient(infsh_respx.base_url, api_key=defaults.API_KEY) as client, pytest.raises(NotFoundError):
        client.wait_for_terminal("task_the_mock_never_made", deadline=60)


def test_wait_follows_a_real_task_on_the_mocks_clock(infsh_respx: InfshMock) -> None:
    """Against the mock: each of the client's sleeps moves the mock's clock, so the task walks its
    documented statuses and the wait ends when it does, having slept about the task's duration."""
    slept: list[float] = []

    def sleep(seconds: float) -> None:
        slept.append(seconds)
        infsh_respx.advance(seconds)

    with TasksClient(infsh_respx.base_url, api_key=defaults.API_KEY, sleep=sleep, clock=infsh_respx.clock.now) as c:
        task = c.run("infsh/sleep", {"seconds": 20}, wait=False)
        done = c.wait_for_terminal(task.id, interval=1.0, max_interval=4.0, deadline=60)
    assert done.status == COMPLETED and done.output == {"slept": 20}
    assert 20 <= sum(slept) < 24 and max(slept) == 4.0  # backed off to the cap, no longer than needed


@pytest.mark.parametrize(
    "bad",
    [
        {"interval": 0},
        {"interval": -1},
        {"interval": 2.0, "max_interval": 1.0},
        {"backoff": 0.5},
        {"deadline": -1},
        {"interval": float("nan")},
    ],
)
def test_wait_refuses_bad_arguments(wait: Callable[..., Task], router: respx.Router, bad: dict[str, float]) -> None:
    route = router.get(f"/tasks/{TASK_ID}").respond(200, json=_task(COMPLETED))
    with pytest.raises(ValueError):
        wait(**bad)
    assert route.call_count == 0

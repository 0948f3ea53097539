"""The respx mock for a team's own client: the mock itself (both profiles) behind a respx router,
time on a FakeClock, faults through the mock's own injector, no server and no socket.

The documented profile is driven through our client (``infsh_harness.client``, API version 2); the
wire profile through plain httpx on production's paths (``/apps/run``, ``/sessions/{id}``), each
request sending ``X-API-Version: 2``.
"""

from __future__ import annotations

import asyncio
import json
import socket
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import respx

from infsh_harness import defaults
from infsh_harness.client import AsyncTasksClient, TasksClient
from infsh_harness.client.errors import (
    AuthenticationError,
    GoneError,
    InvalidRequestError,
    NotFoundError,
    RateLimitError,
    ServerError,
)
from infsh_harness.mock.config import NO_FAULTS, Faults
from infsh_harness.spec import load_spec
from infsh_harness.testing import DEFAULT_BASE_URL, FakeClock, InfshMock, infsh_mock

SPEC = load_spec()
KEY = defaults.API_KEY
HEADERS = {"Authorization": f"Bearer {KEY}", "X-API-Version": "2"}
RUN_PATH = {"documented": "/run", "wire": "/apps/run"}
PROFILES = ("documented", "wire")


@pytest.fixture
def api() -> Iterator[InfshMock]:
    with infsh_mock() as handle:
        yield handle


@pytest.fixture
def client(api: InfshMock) -> Iterator[TasksClient]:
    with TasksClient(api.base_url, api_key=KEY) as client:
        yield client


@pytest.fixture(params=PROFILES)
def raw(request: pytest.FixtureRequest) -> Iterator[tuple[InfshMock, httpx.Client]]:
    with infsh_mock(profile=request.param) as handle, httpx.Client(base_url=handle.base_url, headers=HEADERS) as c:
        yield handle, c


def _run(api: InfshMock, c: httpx.Client, body: dict[str, Any], *, wait: bool) -> httpx.Response:
    """A run request as each profile takes it: ``?wait=`` on the documented page, ``"wait"`` in the body on the wire."""
    if api.profile == "wire":
        return c.post(RUN_PATH["wire"], json={**body, "wait": wait})
    return c.post(RUN_PATH["documented"], params={"wait": str(wait).lower()}, json=body)


def _task(api: InfshMock, response: httpx.Response) -> dict[str, Any]:
    body = response.json()
    return body["data"] if api.profile == "wire" else body  # production wraps answers in its envelope


# --- run -> get -> cancel ---------------------------------------------------------------------------
def test_waited_run_answers_once_its_task_ended_and_the_clock_moved_that_far(
    api: InfshMock, client: TasksClient
) -> None:
    start = api.clock.now()
    task = client.run("infsh/sleep", {"seconds": 30})
    assert task.status == SPEC.status("COMPLETED") and task.output == {"slept": 30}
    assert 30 <= api.clock.now() - start < 31  # the mock "waited": its clock, not the test's time


def test_no_wait_run_get_and_cancel_follow_the_clock(api: InfshMock, client: TasksClient) -> None:
    started = client.run("infsh/sleep", {"seconds": 30}, wait=False)
    assert not started.is_terminal
    assert client.get(started.id).status == started.status  # no time passed: nothing changed
    api.advance(1)
    running = client.get(started.id)
    assert running.status == SPEC.status("RUNNING")
    cancelled = client.cancel(started.id)
    assert cancelled.status == SPEC.status("CANCELLED")
    api.advance(60)
    assert client.get(started.id).status == SPEC.status("CANCELLED")  # final, whatever the clock says
    task = f"/tasks/{started.id}"
    assert [c.request.url.path for c in api.calls] == ["/run", task, task, f"{task}/cancel", task]


def _status(api: InfshMock, task: dict[str, Any]) -> str:
    """The status's name: the documented page's by its number, production's from ``status_text``."""
    if api.profile == "wire":
        return str(task["status_text"]).upper()
    return next(s.varname for s in SPEC.statuses if SPEC.status(s.varname) == task["status"])


def test_run_get_cancel_wait_and_no_wait_on_both_profiles(raw: tuple[InfshMock, httpx.Client]) -> None:
    api, c = raw
    started = _task(api, _run(api, c, {"app": "infsh/sleep", "input": {"seconds": 30}}, wait=False))
    assert _status(api, started) == "RECEIVED"
    api.advance(1)
    assert _status(api, _task(api, c.get(f"/tasks/{started['id']}"))) == "RUNNING"
    cancel = _task(api, c.post(f"/tasks/{started['id']}/cancel"))
    # the page's cancel is done at once; production's is in flight for a moment (data/wire.yaml)
    assert _status(api, cancel) == ("CANCELLING" if api.profile == "wire" else "CANCELLED")
    api.advance(1)
    assert _status(api, _task(api, c.get(f"/tasks/{started['id']}"))) == "CANCELLED"
    waited = _task(api, _run(api, c, {"app": "infsh/echo", "input": {"n": 1}}, wait=True))
    assert _status(api, waited) == "COMPLETED" and waited["output"] == {"echo": {"n": 1}}


def test_wire_stream_reads_to_the_task_end_on_the_clock() -> None:
    with infsh_mock(profile="wire") as api, httpx.Client(base_url=api.base_url, headers=HEADERS) as c:
        started = _task(api, _run(api, c, {"app": "infsh/sleep", "input": {"seconds": 120}}, wait=False))
        before = api.clock.now()
        response = c.get(f"/tasks/{started['id']}/stream", headers={"Accept": "text/event-stream"})
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/event-stream")
    events = [json.loads(line[5:]) for line in response.text.splitlines() if line.startswith("data:")]
    assert _status(api, events[0]) == "RECEIVED" and _status(api, events[-1]) == "COMPLETED"
    assert api.clock.now() - before >= 120  # the stream stayed open while the clock ran to the task's end


# --- sessions ---------------------------------------------------------------------------------------
def test_documented_session_is_kept_across_runs_and_expires_on_the_clock(api: InfshMock, client: TasksClient) -> None:
    first = client.run("infsh/echo", {"n": 1}, session="new", session_timeout=10)
    assert first.session_id
    second = client.run("infsh/echo", {"n": 2}, session=first.session_id)
    assert second.session_id == first.session_id
    api.advance(11)
    with pytest.raises(GoneError):
        client.run("infsh/echo", {"n": 3}, session=first.session_id)


def test_wire_session_get_keepalive_end() -> None:
    with infsh_mock(profile="wire") as api, httpx.Client(base_url=api.base_url, headers=HEADERS) as c:
        task = _task(api, _run(api, c, {"app": "infsh/echo", "input": {}, "session": "new"}, wait=True))
        sid = task["session_id"]
        assert c.get(f"/sessions/{sid}").status_code == 200
        assert c.post(f"/sessions/{sid}/keepalive").status_code == 200
        assert c.delete(f"/sessions/{sid}").status_code == 200
        assert c.get("/sessions/sess_nope").status_code == 404


# --- every documented error -------------------------------------------------------------------------
@pytest.mark.parametrize("authorization", [None, "Bearer inf_not_a_key_of_the_mock"])
def test_missing_or_unknown_key_is_401(raw: tuple[InfshMock, httpx.Client], authorization: str | None) -> None:
    api, c = raw
    headers = {"X-API-Version": "2", **({"Authorization": authorization} if authorization else {})}
    response = httpx.get(f"{api.base_url}/tasks/task_abc", headers=headers)
    assert response.status_code == 401
    assert isinstance(response.json(), dict) and response.json()


def test_unknown_task_is_404(raw: tuple[InfshMock, httpx.Client]) -> None:
    _, c = raw
    assert c.get("/tasks/task_does_not_exist").status_code == 404
    assert c.post("/tasks/task_does_not_exist/cancel").status_code == 404


# the page (the REST overview): a malformed request is `invalid_request` 400; production's wire
# answers a body that is JSON but no run request 422 (docs/profiles.md)
SCHEMA_INVALID = {"documented": 400, "wire": 422}


@pytest.mark.parametrize(
    ("content", "schema_invalid"),
    [(b"{", False), (b"[]", False), (b'{"input": {}}', True), (b'{"app": "infsh/echo", "input": []}', True)],
)
def test_a_bad_body_is_a_4xx(raw: tuple[InfshMock, httpx.Client], content: bytes, schema_invalid: bool) -> None:
    api, c = raw
    response = c.post(RUN_PATH[api.profile], content=content, headers={"Content-Type": "application/json"})
    assert response.status_code == (SCHEMA_INVALID[api.profile] if schema_invalid else 400), response.text
    assert not api.app.backend.tasks  # refused: no task


def test_rate_limit_is_429_with_retry_after_for_the_next_requests_only(raw: tuple[InfshMock, httpx.Client]) -> None:
    api, c = raw
    api.rate_limit(retry_after=7, times=2)
    for _ in range(2):
        limited = c.get("/tasks/task_abc")
        assert limited.status_code == 429 and limited.headers["Retry-After"] == "7"
    assert c.get("/tasks/task_abc").status_code == 404  # the faults are what they were
    assert api.app.faults.current is NO_FAULTS


@pytest.mark.parametrize("status", [500, 502, 503, 504])
def test_fail_next_is_that_5xx_once(raw: tuple[InfshMock, httpx.Client], status: int) -> None:
    api, c = raw
    api.fail_next(status=status)
    failed = _run(api, c, {"app": "infsh/echo", "input": {}}, wait=False)
    assert failed.status_code == status and isinstance(failed.json(), dict)
    assert not api.app.backend.tasks  # the fault came before the run
    assert _run(api, c, {"app": "infsh/echo", "input": {}}, wait=False).status_code == 200


def test_our_client_reads_each_documented_error(api: InfshMock, client: TasksClient) -> None:
    with TasksClient(api.base_url, api_key="inf_wrong") as stranger, pytest.raises(AuthenticationError):
        stranger.get("task_abc")
    with pytest.raises(NotFoundError):
        client.get("task_abc")
    with pytest.raises(InvalidRequestError):
        client.run("infsh/echo", {}, session_timeout=5)  # session_timeout only with session "new"
    api.rate_limit(retry_after=3)
    with pytest.raises(RateLimitError) as limited:
        client.get("task_abc")
    assert limited.value.retry_after == 3.0
    api.fail_next(status=503)
    with pytest.raises(ServerError) as failed:
        client.get("task_abc")
    assert failed.value.status_code == 503


def test_set_faults_stays_until_cleared_and_refuses_unknown_settings(api: InfshMock, client: TasksClient) -> None:
    api.set_faults(error_rate=1.0, error_status=500)
    for _ in range(3):
        with pytest.raises(ServerError):
            client.get("task_abc")
    api.set_faults()
    with pytest.raises(NotFoundError):
        client.get("task_abc")
    with pytest.raises(ValueError, match="unknown fault settings"):
        api.set_faults(error_ratio=1)
    with pytest.raises(ValueError, match="times"):
        api.fail_next(times=0)
    assert api.app.faults.current == Faults().normalized()


# --- the handle ------------------------------------------------------------------------------------
def test_no_socket_is_opened(api: InfshMock, client: TasksClient, monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("a socket was used")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket.socket, "bind", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    task = client.run("infsh/echo", {"offline": True})
    assert task.output == {"echo": {"offline": True}}


def test_other_hosts_are_not_answered(api: InfshMock) -> None:
    with pytest.raises(respx.models.AllMockedAssertionError):
        httpx.get("https://elsewhere.example/tasks/x")


def test_reset_forgets_tasks_and_faults(api: InfshMock, client: TasksClient) -> None:
    task = client.run("infsh/echo", {})
    api.set_faults(latency_ms_min=1, latency_ms_max=2)
    api.reset()
    assert api.app.faults.current is NO_FAULTS
    with pytest.raises(NotFoundError):
        client.get(task.id)


def test_its_own_clock_keys_and_base_url() -> None:
    clock = FakeClock(0.0)
    with infsh_mock(base_url="http://tasks.test", keys=("inf_team_key",), clock=clock) as api:
        with TasksClient("http://tasks.test", api_key="inf_team_key") as client:
            task = client.run("infsh/sleep", {"seconds": 5}, wait=False)
            clock.advance(10)  # the team's clock, moved directly
            assert client.get(task.id).status == SPEC.status("COMPLETED")
        with TasksClient("http://tasks.test", api_key=KEY) as other, pytest.raises(AuthenticationError):
            other.get(task.id)
    assert api.base_url == "http://tasks.test" and DEFAULT_BASE_URL.startswith("https://")


def test_async_clients_on_asyncio_and_trio(api: InfshMock) -> None:
    import trio

    async def flow() -> list[int]:
        async with AsyncTasksClient(api.base_url, api_key=KEY) as client:
            started = await client.run("infsh/sleep", {"seconds": 2}, wait=False)
            waited = await client.run("infsh/echo", {"n": 1})
            cancelled = await client.cancel(started.id)
            return [waited.status, cancelled.status]

    expected = [SPEC.status("COMPLETED"), SPEC.status("CANCELLED")]
    assert asyncio.run(flow()) == expected
    assert trio.run(flow) == expected


def test_a_sync_client_called_from_async_code(api: InfshMock) -> None:
    async def inside_an_event_loop() -> int:
        with TasksClient(api.base_url, api_key=KEY) as client:  # blocking, as some code under test does
            return client.run("infsh/echo", {}).status

    assert asyncio.run(inside_an_event_loop()) == SPEC.status("COMPLETED")


def test_the_plugin_fixture(infsh_respx: InfshMock) -> None:
    with TasksClient(infsh_respx.base_url, api_key=KEY) as client:
        task = client.run("infsh/fail", {"message": "nope"})
    assert (task.status, task.error) == (SPEC.status("FAILED"), "nope")
    assert infsh_respx.profile == "documented" and infsh_respx.calls.call_count == 1


@pytest.mark.parametrize(
    "infsh_respx", [{"profile": "wire", "base_url": "http://tasks.test", "keys": ("inf_team_key",)}], indirect=True
)
def test_the_plugin_fixture_takes_the_mocks_arguments(infsh_respx: InfshMock) -> None:
    headers = {"Authorization": "Bearer inf_team_key", "X-API-Version": "2"}
    answer = httpx.post("http://tasks.test/apps/run", json={"app": "infsh/echo", "input": {}}, headers=headers)
    assert answer.status_code == 200 and answer.json()["success"] is True  # production's envelope
    assert infsh_respx.profile == "wire" and infsh_respx.keys == ("inf_team_key",)

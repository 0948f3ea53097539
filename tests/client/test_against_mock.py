"""The client against the real mock: over a socket, and in-process behind respx (``infsh_respx``:
faults, the async client, and a session's expiry on the mock's clock).

These prove the client and the mock agree on what the mock serves today, end to end: statuses,
errors by class, sessions, cancel, faults and a webhook delivery read back with ``parse_webhook``.
Today's documented mock serves the Tasks page alone: bare bodies whatever ``X-API-Version`` says
and ``{"error", "code"}`` errors, and none of the stream or session endpoints. The client speaks
version 2 by default, so it reads the mock's successes; it reads the mock's errors by status and
notes that their bodies are not the documented ones. The respx tests (``test_tasks.py``) hold the
client to everything the pages document.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import httpx
import pytest

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
from infsh_harness.mock.config import MockConfig
from infsh_harness.mock.server import serve_in_thread
from infsh_harness.spec import load_spec
from infsh_harness.testing import InfshMock
from infsh_harness.webhooks.receiver import WebhookReceiver

SPEC = load_spec()
KEY, OTHER_KEY = "inf_client_key", "inf_client_key_2"
CONFIG = MockConfig(keys=(KEY, OTHER_KEY))
CONTROL = {"Authorization": f"Bearer {KEY}"}  # the mock's /_mock/ controls take its keys


@pytest.fixture(scope="module")
def base_url() -> Iterator[str]:
    with serve_in_thread(config=CONFIG) as url:
        yield url


@pytest.fixture
def client(base_url: str) -> Iterator[TasksClient]:
    with TasksClient(base_url, api_key=KEY, timeout=10) as client:
        yield client
    httpx.put(f"{base_url}/_mock/faults", json={}, headers=CONTROL, timeout=5).raise_for_status()


def test_mock_run_waits_and_echoes(client: TasksClient) -> None:
    task = client.run("infsh/echo", {"prompt": "A sunset"})
    assert task.status == SPEC.status("COMPLETED") and task.is_terminal
    assert task.output == {"echo": {"prompt": "A sunset"}}
    assert client.get(task.id) == task


def test_mock_run_no_wait_then_wait_for_terminal(client: TasksClient) -> None:
    task = client.run("infsh/sleep", {"seconds": 0.2}, wait=False)
    assert not task.is_terminal
    done = client.wait_for_terminal(task.id, interval=0.05, max_interval=0.2, deadline=10)
    assert done.status == SPEC.status("COMPLETED")
    assert done.created_at == task.created_at


def test_mock_failed_task_carries_error(client: TasksClient) -> None:
    task = client.run("infsh/fail", {"message": "boom"})
    assert (task.status, task.error) == (SPEC.status("FAILED"), "boom")


def test_mock_cancel_running_then_terminal(client: TasksClient) -> None:
    task = client.run("infsh/sleep", {"seconds": 30}, wait=False)
    first = client.cancel(task.id)
    assert (first.status, first.cancelled) == (SPEC.status("CANCELLED"), True)
    assert client.get(task.id).status == SPEC.status("CANCELLED")
    done = client.run("infsh/echo", {})
    again = client.cancel(done.id)
    assert (again.status, again.cancelled) == (done.status, False)


def test_mock_errors_map_to_classes(client: TasksClient, base_url: str) -> None:
    with pytest.raises(NotFoundError) as unknown:
        client.get("task_does_not_exist")
    assert unknown.value.code == "not_found"
    assert not unknown.value.body_problems  # the mock answers version 2's problem+json
    with pytest.raises(NotFoundError):
        client.run("acme/nothing", {})
    with pytest.raises(InvalidRequestError):
        client.run("infsh/echo", {}, session_timeout=30)
    with TasksClient(base_url, api_key="inf_unknown_key") as stranger:
        with pytest.raises(AuthenticationError) as info:
            stranger.get("task_abc123")
    assert "inf_unknown_key" not in str(info.value)


def test_mock_tasks_are_isolated_by_key(client: TasksClient, base_url: str) -> None:
    task = client.run("infsh/echo", {})
    with TasksClient(base_url, api_key=OTHER_KEY) as other, pytest.raises(NotFoundError):
        other.get(task.id)


def test_mock_sessions_start_continue_and_expire(infsh_respx: InfshMock) -> None:
    with TasksClient(infsh_respx.base_url, api_key=defaults.API_KEY) as client:
        first = client.run("infsh/echo", {"action": "init"}, session="new", session_timeout=1)
        assert first.session_id
        second = client.run("infsh/echo", {"action": "process"}, session=first.session_id)
        assert second.session_id == first.session_id
        with pytest.raises(NotFoundError):
            client.run("infsh/echo", {}, session="sess_unknown")
        infsh_respx.advance(1.3)  # the session's idle timeout is 1 s
        with pytest.raises(GoneError) as info:
            client.run("infsh/echo", {}, session=first.session_id)
    assert (info.value.status_code, info.value.code) == (410, "SESSION_EXPIRED")


def test_mock_speaks_version_1_to_a_version_1_client(base_url: str) -> None:
    """The mock wraps version 1's answers in the envelope, and the client reads them out of it."""
    with TasksClient(base_url, api_key=KEY, timeout=10, api_version="1") as v1:
        task = v1.run("infsh/echo", {})
        assert v1.get(task.id).id == task.id
        with pytest.raises(NotFoundError) as unknown:
            v1.get("task_does_not_exist")
    assert unknown.value.code == "not_found"


def test_mock_serves_the_stream_and_the_sessions(client: TasksClient) -> None:
    task = client.run("infsh/echo", {}, session="new")
    assert task.session_id
    events = list(client.stream(task.id))
    assert events[-1].is_done and [e.event for e in events[:-1]] == ["update"] * (len(events) - 1)
    resumed = list(client.stream(task.id, last_event_id=events[-2].id))
    assert [e.id for e in resumed] == [events[-1].id]
    session = client.get_session(task.session_id)
    assert (session.id, session.status, session.call_count) == (task.session_id, "active", 1)
    assert [s.id for s in client.list_sessions()] == [task.session_id]
    assert client.keepalive(task.session_id).expires_at >= session.expires_at
    client.end_session(task.session_id)
    assert client.get_session(task.session_id).status == "ended"


def test_mock_faults_raise_rate_limit_and_server_errors(infsh_respx: InfshMock) -> None:
    with TasksClient(infsh_respx.base_url, api_key=defaults.API_KEY) as client:
        infsh_respx.rate_limit(retry_after=3)
        with pytest.raises(RateLimitError) as limited:
            client.run("infsh/echo", {})
        assert limited.value.retry_after == 3.0
        infsh_respx.fail_next(status=503)
        with pytest.raises(ServerError) as failed:
            client.get("task_abc123")
        assert failed.value.status_code == 503
        assert client.run("infsh/echo", {}).status == SPEC.status("COMPLETED")  # one-off faults: gone


def test_mock_webhook_parses(client: TasksClient) -> None:
    with WebhookReceiver() as receiver:
        task = client.run("infsh/fail", {"message": "nope"}, webhook=receiver.url())
        [delivery] = receiver.wait_for("", count=1, timeout_s=10)
        payload = client.parse_webhook(delivery.body)
    assert (payload.id, payload.status, payload.error) == (task.id, task.status, "nope")


def test_async_client_in_process_through_the_respx_mock(infsh_respx: InfshMock) -> None:
    async def sleep(seconds: float) -> None:  # waiting moves the mock's clock, not the test's time
        infsh_respx.advance(seconds)

    async def main() -> list[int]:
        async with AsyncTasksClient(infsh_respx.base_url, api_key=defaults.API_KEY, sleep=sleep) as aclient:
            started = await asyncio.gather(*(aclient.run("infsh/echo", {"n": n}, wait=False) for n in range(3)))
            done = [await aclient.wait_for_terminal(t.id, interval=0.01, deadline=10) for t in started]
            with pytest.raises(NotFoundError):
                await aclient.cancel("task_does_not_exist")
            return [t.status for t in done]

    assert asyncio.run(main()) == [SPEC.status("COMPLETED")] * 3

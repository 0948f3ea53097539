"""Sync and async clients for the documented Tasks API (``openapi/tasks.yaml``).

``TasksClient`` and ``AsyncTasksClient`` share one core (:mod:`.core`): paths and methods come from
the spec's operations, every 2xx body is checked against the schema the spec names for it in the
client's API version, and every failure is one of the errors of ``infsh_harness.client.errors``.
Configuration is explicit (no environment reads)::

    with TasksClient("http://127.0.0.1:8080", api_key="inf_test_key") as client:
        task = client.run("infsh/sleep", {"seconds": 1}, wait=False)
        task = client.wait_for_terminal(task.id, deadline=10)
        for event in client.stream(task.id):
            ...

``api_version="2"`` (the default) sends ``X-API-Version: 2``, as the official clients do, and reads
bare objects and RFC 9457 errors; ``api_version="1"`` sends no header, the documented way to get
version 1, and unwraps its bodies. ``transport=`` takes any httpx transport (``httpx.MockTransport``,
an ASGI transport, ...), and ``sleep=``/``clock=`` let tests drive ``wait_for_terminal`` without waiting.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Self

import anyio
import httpx
from httpx_sse import EventSource

from infsh_harness.client.core import Core, run_options
from infsh_harness.client.results import CancelResult, Session, StreamEvent, Task, WebhookPayload, parse_webhook
from infsh_harness.http.calls import Call
from infsh_harness.spec import Spec, load_spec

__all__ = [
    "DEFAULT_API_VERSION",
    "DEFAULT_TIMEOUT",
    "AsyncTasksClient",
    "CancelResult",
    "Session",
    "StreamEvent",
    "Task",
    "TasksClient",
    "WebhookPayload",
    "parse_webhook",
]

DEFAULT_TIMEOUT = 30.0
# what the official clients send: the modern format (bare objects, RFC 9457 errors)
DEFAULT_API_VERSION = "2"

TimeoutTypes = float | httpx.Timeout | None


@dataclass(frozen=True)
class _Backoff:
    """Poll delays: ``interval``, then times ``factor`` each poll, capped at ``max_interval``."""

    interval: float
    max_interval: float
    factor: float
    deadline: float

    def __post_init__(self) -> None:
        if not self.interval > 0:
            raise ValueError("interval must be > 0")
        if not self.max_interval >= self.interval:
            raise ValueError("max_interval must be >= interval")
        if not self.factor >= 1:
            raise ValueError("backoff must be >= 1")
        if not self.deadline >= 0:
            raise ValueError("deadline must be >= 0")

    def delays(self) -> Iterator[float]:
        delay = self.interval
        while True:
            yield delay
            delay = min(delay * self.factor, self.max_interval)


def _client_repr(client: object, base_url: httpx.URL, version: str) -> str:
    return f"{type(client).__name__}(base_url={str(base_url)!r}, api_version={version!r})"


def _sessions(body: Any, spec: Spec) -> list[Session]:
    return [Session.from_json(item, spec) for item in body]


# --- the clients --------------------------------------------------------------------------------


class TasksClient:
    """Blocking client. ``api_key=None`` sends no ``Authorization`` header."""

    def __init__(
        self,
        base_url: str | httpx.URL,
        *,
        api_key: str | None = None,
        timeout: TimeoutTypes = DEFAULT_TIMEOUT,
        transport: httpx.BaseTransport | None = None,
        headers: Mapping[str, str] | None = None,
        spec: Spec | None = None,
        api_version: str | None = DEFAULT_API_VERSION,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._core = Core(spec or load_spec(), api_key, api_version)
        self._http = httpx.Client(
            base_url=base_url, timeout=timeout, transport=transport, headers=self._core.headers(headers)
        )
        self._sleep = sleep
        self._clock = clock

    parse_webhook = staticmethod(parse_webhook)

    @property
    def api_version(self) -> str:
        """The API version the client speaks: ``"1"`` or ``"2"``."""
        return self._core.version

    def __repr__(self) -> str:
        return _client_repr(self, self._http.base_url, self._core.version)

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        self._http.close()

    def _send(self, call: Call) -> Any:
        try:
            response = self._http.request(
                call.method, call.path, params=call.params, headers=call.headers, content=call.content
            )
        except httpx.TransportError as exc:
            raise self._core.transport_error(exc) from exc
        except httpx.DecodingError as exc:
            raise self._core.decoding_error(exc) from exc
        return self._core.decode(call, response)

    def run(
        self,
        app: str,
        input: Mapping[str, Any],
        *,
        wait: bool = True,
        setup: Mapping[str, Any] | None = None,
        infra: str | None = None,
        workers: Sequence[str] | None = None,
        webhook: str | None = None,
        session: str | None = None,
        session_timeout: float | None = None,
    ) -> Task:
        """``POST /run``: start ``app`` on ``input``; with ``wait=True`` the server answers once it ends."""
        options = run_options(setup, infra, workers, webhook, session, session_timeout)
        call = self._core.run_call(app, input, wait=wait, optional=options)
        return Task.from_json(self._send(call), self._core.spec)

    def get(self, task_id: str) -> Task:
        """``GET /tasks/{id}``."""
        return Task.from_json(self._send(self._core.call("getTask", task_id)), self._core.spec)

    def cancel(self, task_id: str) -> CancelResult:
        """``POST /tasks/{id}/cancel``."""
        return CancelResult.from_json(self._send(self._core.call("cancelTask", task_id)), self._core.spec)

    def stream(self, task_id: str, *, last_event_id: str | None = None) -> Iterator[StreamEvent]:
        """``GET /tasks/{id}/stream``: the task's events as they come, until the server closes the
        stream (after ``done``). To resume after a broken connection, call again with the ``id`` of
        the last event received as ``last_event_id`` (sent as ``Last-Event-ID``). The request is
        sent, and its errors raised, when iteration starts; closing the iterator closes the connection."""
        call = self._core.stream_call(task_id, last_event_id)
        try:
            with self._http.stream(call.method, call.path, params=call.params, headers=call.headers) as response:
                if not response.is_success:
                    response.read()
                self._core.check_stream(call, response)
                for sse in EventSource(response).iter_sse():
                    yield self._core.stream_event(sse, response)
        except httpx.TransportError as exc:
            raise self._core.transport_error(exc) from exc
        except httpx.DecodingError as exc:
            raise self._core.decoding_error(exc) from exc

    def list_sessions(self) -> list[Session]:
        """``GET /sessions``: the active sessions of the key's team."""
        return _sessions(self._send(self._core.calls.list_sessions()), self._core.spec)

    def get_session(self, session_id: str) -> Session:
        """``GET /sessions/{id}``."""
        return Session.from_json(self._send(self._core.call("getSession", session_id)), self._core.spec)

    def keepalive(self, session_id: str) -> Session:
        """``POST /sessions/{id}/keepalive``: reset the idle timer without running the app."""
        return Session.from_json(self._send(self._core.call("keepaliveSession", session_id)), self._core.spec)

    def end_session(self, session_id: str) -> None:
        """``DELETE /sessions/{id}``: release the worker and mark the session ended (204)."""
        self._send(self._core.call("endSession", session_id))

    def wait_for_terminal(
        self,
        task_id: str,
        *,
        interval: float = 0.5,
        max_interval: float = 5.0,
        backoff: float = 2.0,
        deadline: float = 60.0,
    ) -> Task:
        """Poll ``get`` until the task is terminal; ``WaitTimeout`` after ``deadline`` seconds.

        The first read is immediate; the waits between reads grow from ``interval`` by ``backoff``
        up to ``max_interval``, and the last read happens at the deadline. Errors of ``get``
        propagate unchanged.
        """
        delays = _Backoff(interval, max_interval, backoff, deadline).delays()
        start = self._clock()
        while True:
            task = self.get(task_id)
            if task.is_terminal:
                return task
            waited = self._clock() - start
            if waited >= deadline:
                raise self._core.wait_timeout(task, waited)
            self._sleep(min(next(delays), deadline - waited))


class AsyncTasksClient:
    """The ``TasksClient`` API with ``async`` methods, over ``httpx.AsyncClient``."""

    def __init__(
        self,
        base_url: str | httpx.URL,
        *,
        api_key: str | None = None,
        timeout: TimeoutTypes = DEFAULT_TIMEOUT,
        transport: httpx.AsyncBaseTransport | None = None,
        headers: Mapping[str, str] | None = None,
        spec: Spec | None = None,
        api_version: str | None = DEFAULT_API_VERSION,
        sleep: Callable[[float], Awaitable[None]] = anyio.sleep,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._core = Core(spec or load_spec(), api_key, api_version)
        self._http = httpx.AsyncClient(
            base_url=base_url, timeout=timeout, transport=transport, headers=self._core.headers(headers)
        )
        self._sleep = sleep
        self._clock = clock

    parse_webhook = staticmethod(parse_webhook)

    @property
    def api_version(self) -> str:
        return self._core.version

    def __repr__(self) -> str:
        return _client_repr(self, self._http.base_url, self._core.version)

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._http.aclose()

    async def _send(self, call: Call) -> Any:
        try:
            response = await self._http.request(
                call.method, call.path, params=call.params, headers=call.headers, content=call.content
            )
        except httpx.TransportError as exc:
            raise self._core.transport_error(exc) from exc
        except httpx.DecodingError as exc:
            raise self._core.decoding_error(exc) from exc
        return self._core.decode(call, response)

    async def run(
        self,
        app: str,
        input: Mapping[str, Any],
        *,
        wait: bool = True,
        setup: Mapping[str, Any] | None = None,
        infra: str | None = None,
        workers: Sequence[str] | None = None,
        webhook: str | None = None,
        session: str | None = None,
        session_timeout: float | None = None,
    ) -> Task:
        """``POST /run``; see ``TasksClient.run``."""
        options = run_options(setup, infra, workers, webhook, session, session_timeout)
        call = self._core.run_call(app, input, wait=wait, optional=options)
        return Task.from_json(await self._send(call), self._core.spec)

    async def get(self, task_id: str) -> Task:
        """``GET /tasks/{id}``."""
        return Task.from_json(await self._send(self._core.call("getTask", task_id)), self._core.spec)

    async def cancel(self, task_id: str) -> CancelResult:
        """``POST /tasks/{id}/cancel``."""
        return CancelResult.from_json(await self._send(self._core.call("cancelTask", task_id)), self._core.spec)

    async def stream(self, task_id: str, *, last_event_id: str | None = None) -> AsyncIterator[StreamEvent]:
        """``GET /tasks/{id}/stream``; see ``TasksClient.stream``."""
        call = self._core.stream_call(task_id, last_event_id)
        try:
            async with self._http.stream(call.method, call.path, params=call.params, headers=call.headers) as response:
                if not response.is_success:
                    await response.aread()
                self._core.check_stream(call, response)
                async for sse in EventSource(response).aiter_sse():
                    yield self._core.stream_event(sse, response)
        except httpx.TransportError as exc:
            raise self._core.transport_error(exc) from exc
        except httpx.DecodingError as exc:
            raise self._core.decoding_error(exc) from exc

    async def list_sessions(self) -> list[Session]:
        """``GET /sessions``."""
        return _sessions(await self._send(self._core.calls.list_sessions()), self._core.spec)

    async def get_session(self, session_id: str) -> Session:
        """``GET /sessions/{id}``."""
        return Session.from_json(await self._send(self._core.call("getSession", session_id)), self._core.spec)

    async def keepalive(self, session_id: str) -> Session:
        """``POST /sessions/{id}/keepalive``."""
        return Session.from_json(await self._send(self._core.call("keepaliveSession", session_id)), self._core.spec)

    async def end_session(self, session_id: str) -> None:
        """``DELETE /sessions/{id}``."""
        await self._send(self._core.call("endSession", session_id))

    async def wait_for_terminal(
        self,
        task_id: str,
        *,
        interval: float = 0.5,
        max_interval: float = 5.0,
        backoff: float = 2.0,
        deadline: float = 60.0,
    ) -> Task:
        """Poll ``get`` until the task is terminal; see ``TasksClient.wait_for_terminal``."""
        delays = _Backoff(interval, max_interval, backoff, deadline).delays()
        start = self._clock()
        while True:
            task = await self.get(task_id)
            if task.is_terminal:
                return task
            waited = self._clock() - start
            if waited >= deadline:
                raise self._core.wait_timeout(task, waited)
            await self._sleep(min(next(delays), deadline - waited))

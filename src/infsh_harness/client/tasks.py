"""Sync and async clients for the documented Tasks API (``openapi/tasks.yaml``).

``TasksClient`` and ``AsyncTasksClient`` share one core: paths and methods come from the spec's
operations, every 2xx body is checked against the schema the spec names for it, and every failure
is one of the errors of ``infsh_harness.client.errors``. Configuration is explicit (no environment reads)::

    with TasksClient("http://127.0.0.1:8080", api_key="inf_test_key") as client:
        task = client.run("infsh/sleep", {"seconds": 1}, wait=False)
        task = client.wait_for_terminal(task.id, deadline=10)

``transport=`` takes any httpx transport (``httpx.MockTransport``, an ASGI transport, ...), and
``sleep=``/``clock=`` let tests drive ``wait_for_terminal`` without waiting.
"""

from __future__ import annotations

import dataclasses
import json
import time
from collections.abc import Awaitable, Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Self

import anyio
import httpx

from infsh_harness._version import __version__
from infsh_harness.client.errors import (
    APIError,
    ProtocolError,
    RateLimitError,
    TransportError,
    TransportTimeout,
    WaitTimeout,
    api_error_class,
    parse_retry_after,
)
from infsh_harness.http.calls import Call, CallBuilder
from infsh_harness.spec import Spec, load_spec

__all__ = [
    "DEFAULT_TIMEOUT",
    "AsyncTasksClient",
    "CancelResult",
    "Task",
    "TasksClient",
    "WebhookPayload",
    "parse_webhook",
]

DEFAULT_TIMEOUT = 30.0
_JSON = "application/json"
_REDACTED = "[redacted]"
_WEBHOOK_SCHEMA = "WebhookPayload"

TimeoutTypes = float | httpx.Timeout | None


# --- typed results ------------------------------------------------------------------------------
# Each keeps the whole body in ``raw`` so fields the typed view does not name survive.


class _Result:
    """A typed view of one response body: named fields, ``status`` as an int, the rest in ``raw``."""

    status: int
    spec: Spec

    @classmethod
    def from_json(cls, body: Mapping[str, Any], spec: Spec | None = None) -> Self:
        """Build from a body already valid against the result's schema: the fields without a
        default are required there, the others optional. ``spec`` (default: the packaged one)
        says which statuses are terminal and what they are called."""
        spec = spec or load_spec()
        values: dict[str, Any] = {}
        for f in dataclasses.fields(cls):  # type: ignore[arg-type]
            if f.name == "raw":
                values["raw"] = dict(body)
            elif f.name == "spec":
                values["spec"] = spec
            elif f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING:
                values[f.name] = body[f.name]
            else:
                values[f.name] = body.get(f.name)
        values["status"] = int(values["status"])
        return cls(**values)

    @property
    def is_terminal(self) -> bool:
        return self.status in self.spec.terminal_statuses

    @property
    def status_name(self) -> str | None:
        info = self.spec.status_info(self.status)
        return info.varname if info else None


@dataclass(frozen=True)
class Task(_Result):
    """A task as ``POST /run`` and ``GET /tasks/{id}`` return it."""

    id: str
    status: int
    input: Mapping[str, Any]
    created_at: str
    output: Mapping[str, Any] | None = None
    error: str | None = None
    session_id: str | None = None
    raw: Mapping[str, Any] = field(default_factory=dict, repr=False, compare=False)
    spec: Spec = field(default_factory=load_spec, repr=False, compare=False)


@dataclass(frozen=True)
class CancelResult(_Result):
    """The answer to ``POST /tasks/{id}/cancel``."""

    id: str
    status: int
    cancelled: bool
    raw: Mapping[str, Any] = field(default_factory=dict, repr=False, compare=False)
    spec: Spec = field(default_factory=load_spec, repr=False, compare=False)


@dataclass(frozen=True)
class WebhookPayload(_Result):
    """The body POSTed to a run's ``webhook`` URL once the task is terminal."""

    id: str
    status: int
    created_at: str
    updated_at: str
    output: Mapping[str, Any] | None = None
    error: str | None = None
    session_id: str | None = None
    raw: Mapping[str, Any] = field(default_factory=dict, repr=False, compare=False)
    spec: Spec = field(default_factory=load_spec, repr=False, compare=False)


def parse_webhook(body: bytes | str | Mapping[str, Any], spec: Spec | None = None) -> WebhookPayload:
    """Read a webhook delivery's body; ``ProtocolError`` if it is not JSON or breaks ``WebhookPayload``."""
    spec = spec or load_spec()
    if isinstance(body, bytes | str):
        try:
            body = _loads(body)
        except ValueError as exc:
            raise ProtocolError(f"webhook body is not JSON: {exc}", problems=(str(exc),)) from None
    problems = tuple(spec.validate(_WEBHOOK_SCHEMA, body))
    if problems:
        raise ProtocolError(f"webhook body breaks {_WEBHOOK_SCHEMA}: {problems[0]}", problems=problems)
    assert isinstance(body, Mapping)  # the schema says object
    return WebhookPayload.from_json(body, spec)


def _loads(text: bytes | str) -> Any:
    """Strict JSON: ``NaN`` and ``Infinity`` are not JSON."""
    return json.loads(text, parse_constant=_reject_constant)


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


# --- the shared core: requests out, results or errors in ----------------------------------------


class _Core:
    """What both clients do apart from I/O: build calls, read responses, name errors."""

    def __init__(self, spec: Spec, api_key: str | None, api_version: str | None) -> None:
        self.spec = spec
        self._api_key = api_key
        self.calls = CallBuilder(spec, api_key=api_key, api_version=api_version)

    @staticmethod
    def headers(extra: Mapping[str, str] | None) -> dict[str, str]:
        """The headers every request of the client carries (the key is added per call)."""
        return {"User-Agent": f"infsh-harness/{__version__}", **(extra or {})}

    def call(self, operation_id: str, task_id: str) -> Call:
        if not task_id:
            raise ValueError("task_id must not be empty")
        return self.calls.operation(operation_id, path_params={"id": task_id})

    def run_call(
        self,
        app: str,
        input: Mapping[str, Any],
        *,
        wait: bool,
        optional: Mapping[str, Any],
    ) -> Call:
        body: dict[str, Any] = {"app": app, "input": dict(input)}
        body.update({name: value for name, value in optional.items() if value is not None})
        return self.calls.run(body, wait=None if wait else False)  # the documented default is to wait

    # --- responses ----------------------------------------------------------------------------
    def decode(self, call: Call, response: httpx.Response) -> Mapping[str, Any]:
        """The valid JSON body of a 2xx answer, or the error it deserves."""
        if not response.is_success:
            raise self.api_error(call, response)
        status = str(response.status_code)
        schema = self.spec.response_schema_name(call.operation_id, status) if call.operation_id else None
        if schema is None:
            raise self._protocol(f"{call.operation_id} answered undocumented status {status}", response)
        body = self._json_body(response)
        problems = tuple(self.spec.validate(schema, body))
        if problems:
            raise self._protocol(f"{call.operation_id} {status} body breaks {schema}", response, problems)
        assert isinstance(body, Mapping)  # every response schema is an object
        return body

    def _json_body(self, response: httpx.Response) -> Any:
        media_type = _media_type(response)
        if media_type != _JSON:
            raise self._protocol(f"content type is {media_type or 'missing'}, not {_JSON}", response)
        try:
            return _loads(response.content)
        except ValueError as exc:
            raise self._protocol(f"body is not valid JSON: {exc}", response) from None

    def _protocol(self, message: str, response: httpx.Response, problems: tuple[str, ...] = ()) -> ProtocolError:
        request = response.request
        text = f"{request.method} {request.url.path} -> {response.status_code}: {message}"
        if problems:
            text += f": {problems[0]}" + (f" (+{len(problems) - 1} more)" if len(problems) > 1 else "")
        problems = problems or (message,)
        return ProtocolError(self.redact(text), problems=tuple(map(self.redact, problems)), response=response)

    def api_error(self, call: Call, response: httpx.Response) -> APIError:
        message, code, problems = self._error_body(call, response)
        cls = api_error_class(response.status_code)
        kwargs: dict[str, Any] = {
            "status_code": response.status_code,
            "code": code,
            "response": response,
            "body_problems": problems,
        }
        if issubclass(cls, RateLimitError):
            kwargs["retry_after"] = parse_retry_after(response.headers.get("Retry-After"))
        return cls(message, **kwargs)

    def _error_body(self, call: Call, response: httpx.Response) -> tuple[str, str | None, tuple[str, ...]]:
        """``(message, code, body_problems)``; an unreadable body still gives a message."""
        fallback = response.reason_phrase or f"HTTP {response.status_code}"
        status = str(response.status_code)
        documented = self.spec.response_schema_name(call.operation_id, status) if call.operation_id else None
        schema = documented or "Error"
        try:
            body = self._json_body(response)
        except ProtocolError as exc:
            return self.redact(fallback), None, exc.problems
        problems = tuple(map(self.redact, self.spec.validate(schema, body)))
        if not isinstance(body, Mapping):
            return self.redact(fallback), None, problems
        message, code = body.get("error"), body.get("code")
        return (
            self.redact(message if isinstance(message, str) and message else fallback),
            self.redact(code) if isinstance(code, str) else None,
            problems,
        )

    def transport_error(self, exc: httpx.TransportError) -> TransportError:
        request = exc.request
        cls = TransportTimeout if isinstance(exc, httpx.TimeoutException) else TransportError
        text = f"{request.method} {request.url}: {type(exc).__name__}: {exc}"
        return cls(self.redact(text), method=request.method, url=self.redact(str(request.url)))

    def decoding_error(self, exc: httpx.DecodingError) -> ProtocolError:
        text = self.redact(f"response body could not be decoded: {exc}")
        return ProtocolError(text, problems=(text,))

    def wait_timeout(self, task: Task, waited: float) -> WaitTimeout:
        text = f"task {task.id} is not terminal after {waited:.2f} s (last status {task.status})"
        return WaitTimeout(self.redact(text), task=task, waited=waited)

    def redact(self, text: str) -> str:
        return text.replace(self._api_key, _REDACTED) if self._api_key else text


def _media_type(response: httpx.Response) -> str:
    media_type: str = response.headers.get("Content-Type", "")
    return media_type.split(";", 1)[0].strip().lower()


def _run_options(
    setup: Mapping[str, Any] | None,
    infra: str | None,
    workers: Sequence[str] | None,
    webhook: str | None,
    session: str | None,
    session_timeout: float | None,
) -> dict[str, Any]:
    return {
        "setup": dict(setup) if setup is not None else None,
        "infra": infra,
        "workers": list(workers) if workers is not None else None,
        "webhook": webhook,
        "session": session,
        "session_timeout": session_timeout,
    }


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


def _client_repr(client: object, base_url: httpx.URL) -> str:
    return f"{type(client).__name__}(base_url={str(base_url)!r})"


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
        api_version: str | None = None,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._core = _Core(spec or load_spec(), api_key, api_version)
        self._http = httpx.Client(
            base_url=base_url, timeout=timeout, transport=transport, headers=self._core.headers(headers)
        )
        self._sleep = sleep
        self._clock = clock

    parse_webhook = staticmethod(parse_webhook)

    def __repr__(self) -> str:
        return _client_repr(self, self._http.base_url)

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        self._http.close()

    def _send(self, call: Call) -> Mapping[str, Any]:
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
        options = _run_options(setup, infra, workers, webhook, session, session_timeout)
        call = self._core.run_call(app, input, wait=wait, optional=options)
        return Task.from_json(self._send(call), self._core.spec)

    def get(self, task_id: str) -> Task:
        """``GET /tasks/{id}``."""
        return Task.from_json(self._send(self._core.call("getTask", task_id)), self._core.spec)

    def cancel(self, task_id: str) -> CancelResult:
        """``POST /tasks/{id}/cancel``."""
        return CancelResult.from_json(self._send(self._core.call("cancelTask", task_id)), self._core.spec)

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
        api_version: str | None = None,
        sleep: Callable[[float], Awaitable[None]] = anyio.sleep,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._core = _Core(spec or load_spec(), api_key, api_version)
        self._http = httpx.AsyncClient(
            base_url=base_url, timeout=timeout, transport=transport, headers=self._core.headers(headers)
        )
        self._sleep = sleep
        self._clock = clock

    parse_webhook = staticmethod(parse_webhook)

    def __repr__(self) -> str:
        return _client_repr(self, self._http.base_url)

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._http.aclose()

    async def _send(self, call: Call) -> Mapping[str, Any]:
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
        options = _run_options(setup, infra, workers, webhook, session, session_timeout)
        call = self._core.run_call(app, input, wait=wait, optional=options)
        return Task.from_json(await self._send(call), self._core.spec)

    async def get(self, task_id: str) -> Task:
        """``GET /tasks/{id}``."""
        return Task.from_json(await self._send(self._core.call("getTask", task_id)), self._core.spec)

    async def cancel(self, task_id: str) -> CancelResult:
        """``POST /tasks/{id}/cancel``."""
        return CancelResult.from_json(await self._send(self._core.call("cancelTask", task_id)), self._core.spec)

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

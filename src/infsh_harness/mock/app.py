"""The mock's thin ASGI layer: parse the request, call the model, render the answer.

No business rule lives here. A profile is a route table plus a renderer over the same model:
``documented`` serves ``openapi/tasks.yaml`` exactly; ``wire`` (``mock/wire.py``) speaks what the
production service speaks. Routing is a dict lookup on the path's shape; JSON goes through orjson;
the request body is validated against the spec's ``RunRequest`` by a compiled (Rust) validator.
"""

from __future__ import annotations

import asyncio
import functools
import importlib
import logging
import random
from collections.abc import AsyncGenerator, Awaitable, Callable, Mapping, MutableMapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl

import jsonschema_rs
import orjson

from infsh_harness.mock.config import Faults, MockConfig
from infsh_harness.mock.errors import BadRequest, InvalidRequest, MethodNotAllowed, MockError, NotFound
from infsh_harness.mock.http import Request, Response
from infsh_harness.mock.models import MockBackend, Task, TaskView
from infsh_harness.mock.render import DocumentedRenderer, Renderer
from infsh_harness.mock.webhooks import WebhookDispatcher
from infsh_harness.spec import Spec

__all__ = ["MAX_BODY_BYTES", "MockApp", "Request", "Response", "StreamingResponse", "create_app"]

log = logging.getLogger("infsh_harness.mock")
_SPIN_S = 0.0015
MAX_BODY_BYTES = 1 << 20

Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]


@dataclass
class StreamingResponse(Response):
    """A response sent chunk by chunk (NDJSON, SSE) until ``chunks`` ends or the client goes away."""

    chunks: AsyncGenerator[bytes, None] | None = None


Handler = Callable[[Request], Awaitable[Response]]
# path -> (route name, params); route name -> {method: handler}
Matcher = Callable[[str], tuple[str, dict[str, str]] | None]


def match_documented(path: str) -> tuple[str, dict[str, str]] | None:
    if path == "/run":
        return "run", {}
    if path.startswith("/tasks/"):
        rest = path[7:]
        if rest.endswith("/cancel"):
            task_id = rest[:-7]
            if task_id and "/" not in task_id:
                return "cancel", {"id": task_id}
        elif rest and "/" not in rest:
            return "task", {"id": rest}
    return None


class MockApp:
    """One ASGI application: public routes of the profile, plus ``/_mock/`` controls."""

    def __init__(
        self,
        backend: MockBackend,
        spec: Spec,
        config: MockConfig,
        dispatcher: WebhookDispatcher,
        rng: random.Random,
    ) -> None:
        self.backend = backend
        self.spec = spec
        self.config = config
        self.faults = config.faults
        self.dispatcher = dispatcher
        self.rng = rng
        self.closing = False
        self._events: dict[str, asyncio.Event] = {}
        self._waiting: dict[str, int] = {}  # task id -> requests waiting on it
        self._timers: dict[str, asyncio.TimerHandle] = {}
        self.renderer: Renderer = DocumentedRenderer(spec)
        self.run_validator = self._compile_run_validator(spec)
        self.matcher: Matcher = match_documented
        self.routes: dict[str, dict[str, Handler]] = {
            "run": {"POST": self.run},
            "task": {"GET": self.get_task},
            "cancel": {"POST": self.cancel_task},
        }
        if config.profile == "wire":
            importlib.import_module("infsh_harness.mock.wire").install_wire_profile(self)
        self.control: dict[str, dict[str, Handler]] = {
            "/_mock/reset": {"POST": self.control_reset},
            "/_mock/faults": {"GET": self.control_get_faults, "PUT": self.control_put_faults},
            "/_mock/webhooks": {"GET": self.control_webhooks},
            "/_mock/timing": {"GET": self.control_get_timing, "PUT": self.control_put_timing},
            "/_mock/stats": {"GET": self.control_stats},
        }

    def _compile_run_validator(self, spec: Spec) -> Any:
        return jsonschema_rs.validator_for(spec.schema("RunRequest"), validate_formats=True)

    # --- ASGI ----------------------------------------------------------------------------
    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            await self._http(scope, receive, send)
        elif scope["type"] == "lifespan":
            await self._lifespan(receive, send)

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                self.begin_shutdown()
                await self.dispatcher.close()
                await send({"type": "lifespan.shutdown.complete"})
                return

    async def _http(self, scope: Scope, receive: Receive, send: Send) -> None:
        path: str = scope["path"]
        method: str = scope["method"]
        try:
            body = await self._read_body(receive)
            # ASGI servers send header names lowercased already
            headers = {k.decode("latin-1"): v.decode("latin-1") for k, v in scope["headers"]}
            raw_query: bytes = scope["query_string"]
            query = _parse_query(raw_query) if raw_query else {}
            request = Request(method, path, {}, query, headers, body)
            if path.startswith("/_mock/"):
                response = await self._dispatch(request, self.control.get(path), path)
            else:
                response = await self._public(request)
        except MockError as exc:
            response = self.renderer.error(exc)
        except Exception:  # a bug in the mock must still answer with the error body, never hang
            log.exception("unhandled error on %s %s", method, path)
            response = self.renderer.error(MockError("internal error in the mock"))
        if isinstance(response, StreamingResponse) and response.chunks is not None:
            await self._send_stream(send, receive, response, response.chunks)
        else:
            await self._send(send, response)

    async def _public(self, request: Request) -> Response:
        faults = self.faults
        if faults.active:
            fault = await self._apply_faults(faults)
            if fault is not None:
                return fault
        matched = self.matcher(request.path)
        if matched is None:
            raise NotFound(f"no such endpoint: {request.path}")
        name, request.params = matched
        methods = self.routes[name]
        if request.method not in methods:
            raise MethodNotAllowed(f"{request.method} is not allowed on {request.path}", tuple(methods))
        request.owner = self.backend.authenticate(request.headers.get("authorization"))
        return await methods[request.method](request)

    async def _dispatch(
        self, request: Request, methods: dict[str, Handler] | None, path: str
    ) -> Response:
        if methods is None:
            raise NotFound(f"no such control endpoint: {path}")
        if request.method not in methods:
            raise MethodNotAllowed(f"{request.method} is not allowed on {path}", tuple(methods))
        return await methods[request.method](request)

    async def _apply_faults(self, faults: Faults) -> Response | None:
        if faults.latency_ms_max or faults.latency_ms_min:
            low, high = faults.latency_ms_min, max(faults.latency_ms_max, faults.latency_ms_min)
            await asyncio.sleep(self.rng.uniform(low, high) / 1000.0)
        if faults.rate_limit_rate and self.rng.random() < faults.rate_limit_rate:
            response = self.renderer.error(MockError("rate limited (injected fault)", code="rate_limited"))
            response.status = 429
            response.headers.append((b"retry-after", str(faults.retry_after_s).encode()))
            return response
        if faults.error_rate and self.rng.random() < faults.error_rate:
            response = self.renderer.error(MockError("injected server error", code="injected_fault"))
            response.status = faults.error_status
            return response
        return None

    @staticmethod
    async def _read_body(receive: Receive) -> bytes:
        message = await receive()
        body: bytes = message.get("body", b"")
        if not message.get("more_body"):  # the usual case: the whole body in one message
            if len(body) > MAX_BODY_BYTES:
                raise BadRequest(f"request body is larger than {MAX_BODY_BYTES} bytes", code="body_too_large")
            return body
        chunks: list[bytes] = [body]
        size = len(body)
        while True:
            message = await receive()
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > MAX_BODY_BYTES:
                raise BadRequest(f"request body is larger than {MAX_BODY_BYTES} bytes", code="body_too_large")
            chunks.append(chunk)
            if not message.get("more_body"):
                return b"".join(chunks)

    @staticmethod
    async def _send(send: Send, response: Response) -> None:
        headers = [
            (b"content-type", response.content_type.encode()),
            (b"content-length", str(len(response.body)).encode()),
            *response.headers,
        ]
        await send({"type": "http.response.start", "status": response.status, "headers": headers})
        await send({"type": "http.response.body", "body": response.body})

    @staticmethod
    async def _send_stream(
        send: Send, receive: Receive, response: Response, chunks: AsyncGenerator[bytes, None]
    ) -> None:
        headers = [(b"content-type", response.content_type.encode()), (b"cache-control", b"no-cache")]
        await send({"type": "http.response.start", "status": response.status, "headers": [*headers, *response.headers]})
        gone = asyncio.ensure_future(receive())  # resolves (http.disconnect) when the client hangs up
        try:
            while True:
                step = asyncio.ensure_future(anext(chunks))
                await asyncio.wait({step, gone}, return_when=asyncio.FIRST_COMPLETED)
                if not step.done():
                    step.cancel()
                    await asyncio.wait({step})  # let the generator finish unwinding before closing it
                    return
                try:
                    chunk = step.result()
                except StopAsyncIteration:
                    break
                await send({"type": "http.response.body", "body": chunk, "more_body": True})
            await send({"type": "http.response.body", "body": b""})
        finally:
            gone.cancel()
            await chunks.aclose()

    # --- request parsing -----------------------------------------------------------------
    def parse_run_request(self, body: bytes) -> dict[str, Any]:
        try:
            data = orjson.loads(body)
        except orjson.JSONDecodeError:
            raise BadRequest("request body is not valid JSON") from None
        if not isinstance(data, dict):
            raise BadRequest("request body must be a JSON object", code="invalid_body")
        if self.run_validator.is_valid(data):
            return data
        errors = [
            f"{'/'.join(map(str, e.instance_path)) or 'body'}: {e.message}"
            for e in self.run_validator.iter_errors(data)
        ]
        raise InvalidRequest("; ".join(errors[:5]))

    @staticmethod
    def parse_bool(query: Mapping[str, str], name: str, default: bool) -> bool:
        value = query.get(name)
        if value is None:
            return default
        if value in ("true", "false"):
            return value == "true"
        raise InvalidRequest(f"query parameter {name} must be true or false, not {value!r}")

    # --- lifecycle glue ------------------------------------------------------------------
    def start_task(self, owner: str, data: Mapping[str, Any]) -> Task:
        task = self.backend.create_task(owner, data)
        if task.webhook:
            self._schedule_finalize(task)
        return task

    def _schedule_finalize(self, task: Task) -> None:
        delay = max(0.0, self.backend.terminal_at(task) - self.backend.clock.now())
        loop = asyncio.get_running_loop()
        self._timers[task.id] = loop.call_later(delay, self._on_terminal, task)

    def _on_terminal(self, task: Task) -> None:
        """Claim the task's one terminal event and send its webhook."""
        self._timers.pop(task.id, None)
        view = self.backend.finalize(task)
        if view is None:
            if not task.finalized:  # the wall clock lagged the loop's timer: look again shortly
                self._timers[task.id] = asyncio.get_running_loop().call_later(0.001, self._on_terminal, task)
            return
        if task.webhook:
            self.dispatcher.submit(task.id, task.webhook, self.renderer.webhook(view))

    def notify_changed(self, task: Task) -> None:
        """The task became terminal early (cancel): wake its waiters, send its webhook now."""
        event = self._events.pop(task.id, None)
        if event is not None:
            event.set()
        timer = self._timers.pop(task.id, None)
        if timer is not None:
            timer.cancel()
        if task.webhook:
            if self.backend.terminal_at(task) <= self.backend.clock.now():
                self._on_terminal(task)
            else:  # a cancel still in flight (wire profile): send the webhook once it lands
                self._schedule_finalize(task)

    async def wait_for_change(self, task: Task, timeout_s: float) -> None:
        """Sleep up to ``timeout_s``; wake early when the task is cancelled or the mock stops."""
        if self.closing:
            return
        self._waiting[task.id] = self._waiting.get(task.id, 0) + 1
        try:
            event = self._events.get(task.id)
            if event is None:
                event = self._events[task.id] = asyncio.Event()
            try:
                await asyncio.wait_for(event.wait(), timeout=max(timeout_s, 0.0005))
            except TimeoutError:
                pass
        finally:
            left = self._waiting.pop(task.id, 1) - 1
            if left:
                self._waiting[task.id] = left
            else:
                self._events.pop(task.id, None)

    async def await_terminal(self, task: Task, max_wait_s: float) -> TaskView:
        """The task once terminal, or as it stands when ``max_wait_s`` runs out or the mock stops."""
        clock = self.backend.clock
        deadline = clock.now() + max_wait_s
        self._waiting[task.id] = self._waiting.get(task.id, 0) + 1
        try:
            while True:
                view = self.backend.view(task)
                now = clock.now()
                if view.terminal or self.closing or now >= deadline:
                    return view
                remaining = min(self.backend.terminal_at(task), deadline) - now
                if remaining <= _SPIN_S:
                    # the loop's timers have millisecond granularity: yield instead of sleeping
                    # through the last stretch, so a waited run answers when the task ends
                    await asyncio.sleep(0)
                    continue
                event = self._events.get(task.id)
                if event is None:
                    event = self._events[task.id] = asyncio.Event()
                try:
                    await asyncio.wait_for(event.wait(), timeout=remaining - _SPIN_S)
                except TimeoutError:
                    pass
        finally:
            # the last waiter of a task forgets its event, so finished waits hold no memory
            left = self._waiting.pop(task.id) - 1
            if left:
                self._waiting[task.id] = left
            else:
                self._events.pop(task.id, None)

    def begin_shutdown(self) -> None:
        """Answer every waiting request with its task as it stands."""
        self.closing = True
        for event in self._events.values():
            event.set()
        self._events.clear()

    # --- documented routes ---------------------------------------------------------------
    async def run(self, request: Request) -> Response:
        wait = self.parse_bool(request.query, "wait", default=True)
        data = self.parse_run_request(request.body)
        task = self.start_task(request.owner, data)
        view = await self.await_terminal(task, self.config.max_wait_s) if wait else self.backend.view(task)
        return Response.json(200, self.renderer.task(view))

    async def get_task(self, request: Request) -> Response:
        task = self._find_task(request)
        return Response.json(200, self.renderer.task(self.backend.view(task)))

    async def cancel_task(self, request: Request) -> Response:
        task = self._find_task(request)
        view = self.backend.cancel_task(request.owner, task.id)
        if task.cancelled_at is not None:
            self.notify_changed(task)
        return Response.json(200, self.renderer.cancel(view))

    def _find_task(self, request: Request) -> Task:
        task_id = request.params["id"]
        return self.backend.get_task(request.owner, task_id)

    # --- /_mock/ controls ----------------------------------------------------------------
    def _control_json(self, request: Request) -> dict[str, Any]:
        try:
            data = orjson.loads(request.body or b"{}")
        except orjson.JSONDecodeError:
            raise BadRequest("control body is not valid JSON") from None
        if not isinstance(data, dict):
            raise BadRequest("control body must be a JSON object", code="invalid_body")
        return data

    async def control_reset(self, request: Request) -> Response:
        for timer in self._timers.values():
            timer.cancel()
        self._timers.clear()
        self.begin_shutdown()
        self.closing = False
        self.backend.reset()
        self.dispatcher.attempts.clear()
        self.faults = self.config.faults
        self.backend.set_timing(self.config.timing, self.config.phase_ms)
        return Response.json(200, {"reset": True})

    async def control_get_faults(self, request: Request) -> Response:
        return Response.json(200, self.faults.__dict__)

    async def control_put_faults(self, request: Request) -> Response:
        try:
            self.faults = Faults.from_mapping(self._control_json(request))
        except ValueError as exc:
            raise InvalidRequest(str(exc)) from None
        return Response.json(200, self.faults.__dict__)

    async def control_webhooks(self, request: Request) -> Response:
        task_id = request.query.get("task_id")
        return Response.json(
            200, {"attempts": self.dispatcher.history(task_id), "pending": self.dispatcher.pending}
        )

    async def control_get_timing(self, request: Request) -> Response:
        return Response.json(200, self._timing_json())

    async def control_put_timing(self, request: Request) -> Response:
        data = self._control_json(request)
        unknown = sorted(set(data) - {"timing", "phase_ms", "total_ms"})
        if unknown:
            raise InvalidRequest(f"unknown timing settings: {', '.join(unknown)}")
        phase_ms = data.get("phase_ms")
        if data.get("total_ms") is not None:
            phase_ms = _number(data["total_ms"], "total_ms") / len(self.backend.phases)
        elif phase_ms is not None:
            phase_ms = _number(phase_ms, "phase_ms")
        timing = data.get("timing")
        if timing is not None and not isinstance(timing, str):
            raise InvalidRequest("timing must be a string")
        self.backend.set_timing(timing, phase_ms)
        return Response.json(200, self._timing_json())

    def _timing_json(self) -> dict[str, Any]:
        phase_ms = self.backend.phase_ms
        return {
            "timing": self.backend.timing,
            "phase_ms": phase_ms,
            "phases": list(self.backend.phases),
            "total_ms": None if phase_ms is None else phase_ms * len(self.backend.phases),
            "timings": list(self.backend.catalog.timings),
        }

    async def control_stats(self, request: Request) -> Response:
        return Response.json(
            200,
            {
                "tasks": len(self.backend.tasks),
                "sessions": len(self.backend.sessions),
                "webhooks_pending": self.dispatcher.pending,
                "waiting_requests": sum(self._waiting.values()),
                "profile": self.config.profile,
            },
        )


@functools.lru_cache(maxsize=1024)
def _parse_query(raw: bytes) -> dict[str, str]:
    """The query string as a dict (cached: clients repeat the same few; callers must not mutate it)."""
    return dict(parse_qsl(raw.decode("latin-1"), keep_blank_values=True))


def _number(value: Any, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
        raise InvalidRequest(f"{name} must be a non-negative number")
    return float(value)


def create_app(
    config: MockConfig | None = None,
    spec: Spec | None = None,
    backend: MockBackend | None = None,
    dispatcher: WebhookDispatcher | None = None,
) -> MockApp:
    """Build the mock from explicit parts; anything not given gets its default."""
    from pathlib import Path

    from infsh_harness.mock.apps import load_catalog
    from infsh_harness.spec import load_spec

    config = config or MockConfig()
    spec = spec or load_spec()
    rng = random.Random(config.seed)
    if backend is None:
        phases = [s.varname for s in spec.statuses if not s.terminal]
        catalog = load_catalog(phases, Path(config.apps_file) if config.apps_file else None)
        backend = MockBackend(config, catalog, rng=rng)
    app_holder: list[MockApp] = []
    if dispatcher is None:
        dispatcher = WebhookDispatcher(config.webhooks, lambda: app_holder[0].faults, rng)
    app = MockApp(backend, spec, config, dispatcher, rng)
    app_holder.append(app)
    return app

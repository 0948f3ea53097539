"""The ``wire`` profile: the routes the production service serves, over the same model.

``install_wire_profile(app)`` swaps the app's route table, matcher, request validator and renderer
for these, and gives the model its production-style choices (26-character ids, an in-flight cancel,
production's session rules). Tasks, lifecycle, webhooks, faults and ``/_mock/`` are shared with the
documented profile: this is a second rendering of one mock, not a second server.

Routes (``docs/profiles.md`` lists every difference from the documented profile, with its source):
``POST /apps/run`` (``wait`` in the body, off by default), ``GET /tasks/{id}``,
``GET /tasks/{id}/status``, ``GET /tasks/{id}/stream`` (NDJSON, or SSE when asked for
``text/event-stream``), ``POST /tasks/{id}/cancel``, ``GET|DELETE /sessions/{id}``,
``POST /sessions/{id}/keepalive``.
"""

from __future__ import annotations

import time
from collections.abc import AsyncGenerator, Callable, Mapping
from typing import TYPE_CHECKING, Any

import jsonschema_rs

from infsh_harness.mock.http import Request, Response
from infsh_harness.mock.models import Task
from infsh_harness.mock.wire_render import WireData, WireIds, WireRenderer, load_wire

if TYPE_CHECKING:
    from infsh_harness.mock.app import Handler, MockApp

__all__ = ["WireRoutes", "install_wire_profile", "match_wire"]

NDJSON = "application/x-ndjson"
SSE = "text/event-stream"
_TASK_ROUTES = {None: "task", "status": "status", "stream": "stream", "cancel": "cancel"}
_SESSION_ROUTES = {None: "session", "keepalive": "keepalive"}


def match_wire(path: str) -> tuple[str, dict[str, str]] | None:
    if path == "/apps/run":
        return "run", {}
    parts = path.split("/")
    if len(parts) not in (3, 4) or parts[0] or not parts[2]:
        return None
    sub = parts[3] if len(parts) == 4 else None
    table = {"tasks": _TASK_ROUTES, "sessions": _SESSION_ROUTES}.get(parts[1])
    route = table.get(sub) if table is not None else None
    return (route, {"id": parts[2]}) if route else None


def wants_sse(accept: str) -> bool:
    """SSE only for a client that asks for it and not for NDJSON (older clients)."""
    return SSE in accept and NDJSON not in accept


class WireRoutes:
    """The wire profile's handlers: parse, call the model, render with ``WireRenderer``."""

    def __init__(self, app: MockApp, renderer: WireRenderer, heartbeat_s: float) -> None:
        self.app = app
        self.backend = app.backend
        self.renderer = renderer
        self.heartbeat_s = heartbeat_s

    def table(self) -> dict[str, dict[str, Handler]]:
        return {
            "run": {"POST": self.run},
            "task": {"GET": self.get_task},
            "status": {"GET": self.get_status},
            "stream": {"GET": self.stream},
            "cancel": {"POST": self.cancel},
            "session": {"GET": self.get_session, "DELETE": self.end_session},
            "keepalive": {"POST": self.keepalive},
        }

    # --- tasks ---------------------------------------------------------------------------
    async def run(self, request: Request) -> Response:
        data = self.app.parse_run_request(request.body)
        wait = data.get("wait") is True
        model_request = {k: v for k, v in data.items() if v is not None}
        model_request["input"] = data.get("input") or {}
        task = self.app.start_task(request.owner, model_request)
        if not wait:
            return self.renderer.envelope(self.renderer.task(self.backend.view(task)))
        view = await self.app.await_terminal(task, self.app.config.max_wait_s)
        failure = self.renderer.waited_failure(view)
        return failure or self.renderer.envelope(self.renderer.task(view))

    def _task(self, request: Request) -> Task:
        return self.backend.get_task(request.owner, request.params["id"])

    async def get_task(self, request: Request) -> Response:
        task = self._task(request)
        view = self.backend.view(task)
        return self.renderer.envelope(self.renderer.full(view, self.backend.history(task)))

    async def get_status(self, request: Request) -> Response:
        return self.renderer.envelope(self.renderer.status(self.backend.view(self._task(request))))

    async def cancel(self, request: Request) -> Response:
        task = self._task(request)
        view = self.backend.cancel_task(request.owner, task.id)
        if task.cancelled_at is not None:
            self.app.notify_changed(task)
        return self.renderer.envelope(self.renderer.cancel(view))

    async def stream(self, request: Request) -> Response:
        from infsh_harness.mock.app import StreamingResponse

        task = self._task(request)
        sse = wants_sse(request.headers.get("accept", ""))
        frame = self.renderer.sse if sse else self.renderer.ndjson
        return StreamingResponse(200, content_type=SSE if sse else NDJSON, chunks=self._updates(task, frame))

    async def _updates(self, task: Task, frame: Callable[[Mapping[str, Any]], bytes]) -> AsyncGenerator[bytes, None]:
        """The task now, then each status it reaches (heartbeats between), the final task, the end.

        Open at most ``max_wait_s``; a client whose stream ends without a final state asks
        ``GET /tasks/{id}`` (both official clients do)."""
        backend, clock = self.backend, self.backend.clock
        deadline = time.monotonic() + self.app.config.max_wait_s
        view = backend.view(task)
        sent = len(backend.history(task))
        yield frame(self.renderer.full(view, backend.history(task)))
        next_beat = time.monotonic() + self.heartbeat_s
        while not view.terminal and not self.app.closing:
            now_m = time.monotonic()
            if now_m >= deadline:
                return
            if now_m >= next_beat:
                yield frame({"type": "heartbeat"})
                next_beat = now_m + self.heartbeat_s
            wake = min(next_beat, deadline) - now_m
            change = backend.next_change_at(task)
            if change is not None:
                wake = min(wake, change - clock.now())
            await self.app.wait_for_change(task, wake)
            view = backend.view(task)
            history = backend.history(task)
            for varname, at in history[sent:]:
                if varname == view.status and view.terminal:
                    yield frame(self.renderer.full(view, history))
                else:
                    yield frame(self.renderer.partial(view, varname, at))
            sent = max(sent, len(history))

    # --- sessions ------------------------------------------------------------------------
    def _session_response(self, session_id: str, owner: str) -> Response:
        session = self.backend.get_session(owner, session_id)
        return self.renderer.envelope(self.renderer.session(session, self.backend.clock.now()))

    async def get_session(self, request: Request) -> Response:
        return self._session_response(request.params["id"], request.owner)

    async def keepalive(self, request: Request) -> Response:
        self.backend.keepalive_session(request.owner, request.params["id"])
        return self._session_response(request.params["id"], request.owner)

    async def end_session(self, request: Request) -> Response:
        self.backend.end_session(request.owner, request.params["id"])
        return self._session_response(request.params["id"], request.owner)


def install_wire_profile(app: MockApp, data: WireData | None = None) -> None:
    """Make ``app`` speak the wire profile (``MockApp`` calls this when ``config.profile`` is wire)."""
    data = data or load_wire()
    config = app.config
    backend = app.backend
    ids = WireIds(backend.rng, data)
    backend.id_factory = ids
    backend.cancel_s = (config.cancel_ms if config.cancel_ms is not None else data.cancelling_ms) / 1000.0
    backend.strict_sessions = True
    renderer = WireRenderer(data, ids)
    app.renderer = renderer
    app.run_validator = jsonschema_rs.validator_for(dict(data.run_request))
    app.matcher = match_wire
    app.routes = WireRoutes(app, renderer, config.heartbeat_s or data.heartbeat_s).table()

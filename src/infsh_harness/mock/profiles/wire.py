"""The ``wire`` profile: the routes the production service serves, over the same model.

Tasks, lifecycle, webhooks, faults and ``/_mock/`` are shared with the documented profile: this is
a second rendering of one mock, not a second server. Its model options: 26-character ids, a cancel
in flight for ``cancelling_ms`` (status Cancelling), production's session rules.

Routes (``docs/profiles.md`` lists every difference from the documented profile, with its source):
``POST /apps/run`` (``wait`` in the body, off by default), ``GET /tasks/{id}``,
``GET /tasks/{id}/status``, ``GET /tasks/{id}/stream`` (NDJSON, or SSE when asked for
``text/event-stream``), ``POST /tasks/{id}/cancel``, ``GET|DELETE /sessions/{id}``,
``POST /sessions/{id}/keepalive``.
"""

from __future__ import annotations

import random
from collections.abc import AsyncGenerator, Callable, Mapping
from typing import Any

from infsh_harness.mock.config import MockConfig
from infsh_harness.mock.http import Request, Response, StreamingResponse
from infsh_harness.mock.models import ModelOptions, Task
from infsh_harness.mock.profiles.profile import Handler, Profile, RunValidator, Services
from infsh_harness.mock.profiles.wire_render import WireData, WireIds, WireRenderer, load_wire
from infsh_harness.mock.stream import follow
from infsh_harness.spec import Spec

__all__ = ["WireRoutes", "build", "match", "wants_sse"]

NDJSON = "application/x-ndjson"
SSE = "text/event-stream"
_TASK_ROUTES = {None: "task", "status": "status", "stream": "stream", "cancel": "cancel"}
_SESSION_ROUTES = {None: "session", "keepalive": "keepalive"}


def match(path: str) -> tuple[str, dict[str, str]] | None:
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

    def __init__(self, renderer: WireRenderer, validate_run: RunValidator, heartbeat_s: float) -> None:
        self.renderer = renderer
        self.validate_run = validate_run
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
    async def run(self, mock: Services, request: Request) -> Response:
        data = self.validate_run(request.body)
        wait = data.get("wait") is True
        model_request = {k: v for k, v in data.items() if v is not None and k != "wait"}
        model_request["input"] = data.get("input") or {}
        task = mock.lifecycle.start(request.owner, model_request)
        if not wait:
            return self.renderer.envelope(self.renderer.task(mock.backend.view(task)))
        view = await mock.lifecycle.await_terminal(task, mock.config.max_wait_s)
        failure = self.renderer.waited_failure(view)
        if failure is not None:
            raise failure
        return self.renderer.envelope(self.renderer.task(view))

    @staticmethod
    def _task(mock: Services, request: Request) -> Task:
        return mock.backend.get_task(request.owner, request.params["id"])

    async def get_task(self, mock: Services, request: Request) -> Response:
        task = self._task(mock, request)
        view = mock.backend.view(task)
        return self.renderer.envelope(self.renderer.full(view, mock.backend.history(task)))

    async def get_status(self, mock: Services, request: Request) -> Response:
        return self.renderer.envelope(self.renderer.status(mock.backend.view(self._task(mock, request))))

    async def cancel(self, mock: Services, request: Request) -> Response:
        return self.renderer.envelope(self.renderer.cancel(mock.lifecycle.cancel(self._task(mock, request))))

    async def stream(self, mock: Services, request: Request) -> Response:
        task = self._task(mock, request)
        sse = wants_sse(request.headers.get("accept", ""))
        frame = self.renderer.sse if sse else self.renderer.ndjson
        return StreamingResponse(
            200, content_type=SSE if sse else NDJSON, chunks=self._updates(mock, task, frame)
        )

    async def _updates(
        self, mock: Services, task: Task, frame: Callable[[Mapping[str, Any]], bytes]
    ) -> AsyncGenerator[bytes, None]:
        """The task now, then each status it reaches (heartbeats between), the final task, the end.

        Open at most ``max_wait_s``; a client whose stream ends without a final state asks
        ``GET /tasks/{id}`` (both official clients do)."""
        sent: int | None = None
        async for progress in follow(mock, task, self.heartbeat_s):
            if progress is None:
                yield frame({"type": "heartbeat"})
                continue
            view, history = progress.view, progress.history
            if sent is None:  # the first: the whole task as it stands
                yield frame(self.renderer.full(view, history))
            else:
                for varname, at in history[sent:]:
                    if varname == view.status and view.terminal:
                        yield frame(self.renderer.full(view, history))
                    else:
                        yield frame(self.renderer.partial(view, varname, at))
            sent = len(history)

    # --- sessions ------------------------------------------------------------------------
    def _session(self, mock: Services, request: Request) -> Response:
        session = mock.backend.get_session(request.owner, request.params["id"])
        return self.renderer.envelope(self.renderer.session(session, mock.backend.clock.now()))

    async def get_session(self, mock: Services, request: Request) -> Response:
        return self._session(mock, request)

    async def keepalive(self, mock: Services, request: Request) -> Response:
        mock.backend.keepalive_session(request.owner, request.params["id"])
        return self._session(mock, request)

    async def end_session(self, mock: Services, request: Request) -> Response:
        mock.backend.end_session(request.owner, request.params["id"])
        return self._session(mock, request)


def build(spec: Spec, config: MockConfig, rng: random.Random, data: WireData | None = None) -> Profile:
    data = data or load_wire()
    ids = WireIds(rng, data)
    renderer = WireRenderer(data, ids)
    validate_run = RunValidator(data.run_request, validate_formats=False)
    cancel_ms = config.cancel_ms if config.cancel_ms is not None else data.cancelling_ms
    return Profile(
        name="wire",
        match=match,
        routes=WireRoutes(renderer, validate_run, config.heartbeat_s or data.heartbeat_s).table(),
        renderer=renderer,
        validate_run=validate_run,
        model=ModelOptions(id_factory=ids, cancel_s=cancel_ms / 1000.0, strict_sessions=True),
    )

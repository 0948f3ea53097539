"""The ``documented`` profile: ``openapi/tasks.yaml`` served exactly.

Routes ``POST /run`` (``?wait=``, waiting by default), ``GET /tasks/{id}``, ``POST /tasks/{id}/cancel``,
``GET /tasks/{id}/stream`` (Server-Sent Events), ``GET /sessions``, ``GET|DELETE /sessions/{id}``,
``POST /sessions/{id}/keepalive``; the run request validated against the spec's ``RunRequest``; the
shapes of ``Task``, ``CancelResult``, ``Session``, ``TaskUpdate`` and ``WebhookPayload``, with
status numbers read from the spec's ``TaskStatus``.

Sessions (the Sessions page): a key's scopes (``MockConfig.scopes``) gate the endpoints — reads need
``apps:read``, a run, a keepalive and an end ``apps:execute`` (403 ``forbidden``); the model holds
the rest (sliding expiry, the worker lease, the pinned app and version, the 404 and 410 errors).

The stream (the Streaming page): ``update`` events with the spec's ``TaskUpdate``, one per status
the task reaches, in order; ``error`` when it failed; then ``done``. The n-th event has id
``evt_n``: a client resuming with ``Last-Event-ID`` (or ``?last_event_id=``) gets the events after
it only. Bounded by ``max_wait_s``, with a heartbeat comment on a quiet stream.

Rate limits (the REST overview): runs and task reads count against the key's one-minute window
(``mock/ratelimit.py``); their answers carry ``X-RateLimit-Remaining`` and ``X-RateLimit-Reset``.

Two API versions (the REST overview), one renderer each (``documented_render.py``), chosen by the
request's ``X-API-Version``: version 1, the default, wrapped; version 2 bare, with RFC 9457 errors.
"""

from __future__ import annotations

import random
import re
from collections.abc import AsyncGenerator, Mapping

from infsh_harness.mock.config import SCOPES, MockConfig
from infsh_harness.mock.http import Request, Response, StreamingResponse
from infsh_harness.mock.models import FAILED, ModelOptions, Task
from infsh_harness.mock.profiles.documented_render import (
    SSE,
    DocumentedRenderer,
    DocumentedRendererV2,
    iso_ms,
    sse_event,
)
from infsh_harness.mock.profiles.profile import (
    DEFAULT_VERSION,
    Handler,
    Profile,
    RunValidator,
    Services,
    parse_bool,
)
from infsh_harness.mock.stream import follow
from infsh_harness.spec import Spec

__all__ = ["DocumentedRenderer", "DocumentedRendererV2", "DocumentedRoutes", "build", "iso_ms", "match"]

HEARTBEAT_S = 15.0  # a comment line this often on a quiet stream (MockConfig.heartbeat_s overrides)
_EVENT_ID = re.compile(r"evt_([0-9]{1,9})")
READ, EXECUTE = SCOPES  # what the Sessions page's endpoints need (rule session-scopes), and a run


def _resume_after(request: Request) -> int:
    """The number of the last event a resuming client saw (``Last-Event-ID``, else
    ``last_event_id``); 0 for none, or an id this mock never gave (the stream starts over)."""
    last = request.headers.get("last-event-id") or request.query.get("last_event_id") or ""
    matched = _EVENT_ID.fullmatch(last.strip())
    return int(matched.group(1)) if matched else 0


_ROUTES = {  # (collection, what follows the id) -> route name
    ("tasks", None): "task",
    ("tasks", "cancel"): "cancel",
    ("tasks", "stream"): "stream",
    ("sessions", None): "session",
    ("sessions", "keepalive"): "keepalive",
}


def match(path: str) -> tuple[str, dict[str, str]] | None:
    if path == "/run":
        return "run", {}
    if path == "/sessions":
        return "sessions", {}
    parts = path.split("/")
    if len(parts) not in (3, 4) or parts[0] or not parts[2]:
        return None
    route = _ROUTES.get((parts[1], parts[3] if len(parts) == 4 else None))
    return (route, {"id": parts[2]}) if route else None


class DocumentedRoutes:
    def __init__(self, renderers: Mapping[str, DocumentedRenderer], validate_run: RunValidator) -> None:
        self.renderers = renderers  # API version -> its renderer; "1" is the default
        self.validate_run = validate_run

    def out(self, request: Request) -> DocumentedRenderer:
        """The renderer of the version the request asks for."""
        return self.renderers.get(request.version) or self.renderers[DEFAULT_VERSION]

    def table(self) -> dict[str, dict[str, Handler]]:
        return {
            "run": {"POST": self.run},
            "task": {"GET": self.get_task},
            "cancel": {"POST": self.cancel},
            "stream": {"GET": self.stream},
            "sessions": {"GET": self.list_sessions},
            "session": {"GET": self.get_session, "DELETE": self.end_session},
            "keepalive": {"POST": self.keepalive},
        }

    @staticmethod
    def count(mock: Services, request: Request, operation: str) -> None:
        """Count the request against the key's rate limit of ``operation`` (rules ``rate-limits``,
        ``rate-limit-headers``): its answer, error or not, carries the quota's headers; over the
        limit, 429 ``rate_limited`` with them and ``Retry-After``."""
        limiter = mock.limiter
        if operation in limiter.limits:
            request.answer_headers = limiter.take(request.owner, operation)

    async def run(self, mock: Services, request: Request) -> Response:
        self.count(mock, request, "runTask")
        mock.backend.authorize(request.owner, EXECUTE)
        wait = parse_bool(request.query, "wait", default=True)
        task = mock.lifecycle.start(request.owner, self.validate_run(request.body))
        view = await mock.lifecycle.await_terminal(task, mock.config.max_wait_s) if wait else mock.backend.view(task)
        out = self.out(request)
        return out.ok(out.task(view))

    @staticmethod
    def _task(mock: Services, request: Request) -> Task:
        return mock.backend.get_task(request.owner, request.params["id"])

    async def get_task(self, mock: Services, request: Request) -> Response:
        self.count(mock, request, "getTask")
        out = self.out(request)
        return out.ok(out.task(mock.backend.view(self._task(mock, request))))

    async def cancel(self, mock: Services, request: Request) -> Response:
        out = self.out(request)
        return out.ok(out.cancel(mock.lifecycle.cancel(self._task(mock, request))))

    # --- the stream (the Streaming page) -------------------------------------------------
    async def stream(self, mock: Services, request: Request) -> Response:
        task = self._task(mock, request)
        after = _resume_after(request)
        heartbeat_s = mock.config.heartbeat_s or HEARTBEAT_S
        return StreamingResponse(200, content_type=SSE, chunks=self._events(mock, task, after, heartbeat_s))

    async def _events(self, mock: Services, task: Task, after: int, heartbeat_s: float) -> AsyncGenerator[bytes, None]:
        """``update`` for each status the task reaches (the n-th with id ``evt_n``), ``error`` if it
        failed, then ``done``; only the events after ``after``. A stream that runs out of time (or
        meets a shutdown) before the task is terminal ends with ``error`` (with the id of the last
        status event, to resume from), and without ``done``."""
        out = self.renderers[DEFAULT_VERSION]  # event data are bare in both versions
        sent = 0
        async for progress in follow(mock, task, heartbeat_s):
            if progress is None:
                yield b": heartbeat\n\n"  # a comment: every EventSource skips it
                continue
            view, history = progress.view, progress.history
            for n in range(sent + 1, len(history) + 1):
                if n > after:
                    yield sse_event("update", n, out.update(view, history[n - 1][0]))
            sent = len(history)
            if view.terminal:
                n = sent + 1
                if view.status == FAILED:
                    if n > after:
                        yield sse_event("error", n, {"id": task.id, "error": view.error or "the task failed"})
                    n += 1
                if n > after:
                    yield sse_event("done", n, {})
                return
        # the id of the last event counted: resuming from it goes on where this stream stopped
        yield sse_event("error", sent, {"id": task.id, "error": "the stream ended before the task did; read it again"})

    # --- sessions (the Sessions page) ----------------------------------------------------
    async def list_sessions(self, mock: Services, request: Request) -> Response:
        mock.backend.authorize(request.owner, READ)
        out, now = self.out(request), mock.backend.clock.now()
        return out.ok([out.session(s, now) for s in mock.backend.list_sessions(request.owner)])

    async def get_session(self, mock: Services, request: Request) -> Response:
        mock.backend.authorize(request.owner, READ)
        session = mock.backend.get_session(request.owner, request.params["id"])
        out = self.out(request)
        return out.ok(out.session(session, mock.backend.clock.now()))

    async def keepalive(self, mock: Services, request: Request) -> Response:
        mock.backend.authorize(request.owner, EXECUTE)
        session = mock.backend.keepalive_session(request.owner, request.params["id"])
        out = self.out(request)
        return out.ok(out.session(session, mock.backend.clock.now()))

    async def end_session(self, mock: Services, request: Request) -> Response:
        mock.backend.authorize(request.owner, EXECUTE)
        mock.backend.end_session(request.owner, request.params["id"])
        return Response(204)


def build(spec: Spec, config: MockConfig, rng: random.Random) -> Profile:
    renderers = {DEFAULT_VERSION: DocumentedRenderer(spec), "2": DocumentedRendererV2(spec)}
    validate_run = RunValidator(spec.schema("RunRequest"))
    return Profile(
        name="documented",
        match=match,
        routes=DocumentedRoutes(renderers, validate_run).table(),
        renderer=renderers[DEFAULT_VERSION],
        validate_run=validate_run,
        model=ModelOptions(),
        versions=renderers,
    )

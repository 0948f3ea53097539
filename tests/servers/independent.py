"""A small Tasks API of its own, not built on the mock's model: Starlette, a dict of tasks, a clock.

It honours every sentence of the documentation pages it serves (the Tasks page, and the REST
overview's two response formats and error codes: no ``X-API-Version`` gets version 1, successes
wrapped as ``{"success": true, "status": 200, "data": ...}`` and errors as ``{"success": false,
"status", "error": {"code", "message"}}``; ``X-API-Version: 2`` gets the bare object and RFC 9457
``application/problem+json`` errors), and where they are silent it chooses as a real team might,
differently from this project's conventions:

* cancelling a task that has ended answers 409 ``invalid_transition`` (production's own catalog);
* the key is checked before the route: a request without a valid one gets 401 on any path; a bad
  body gets 400 ``invalid_request`` (never 422); an unknown path or method gets the documented error
  body too (404 ``not_found``, 405 with ``Allow``);
* another key's task is 403 ``forbidden``, not 404;
* an ``ftp://`` webhook, one longer than 2048 characters, an empty worker id, an app name with any
  characters and a ``wait`` other than true/false are accepted;
* timestamps carry ``+00:00`` and microseconds.

It limits Run task to 100 requests a minute and Get task to 1000, per key, as the overview says,
in a window of its own: a minute from a key's first request of the operation (not the clock's
minute); every read with a valid key counts, and every run that starts a task (a body it refuses
costs nothing). Their answers carry ``X-RateLimit-Remaining`` and
``X-RateLimit-Reset`` (the window's end, Unix seconds); a request over the limit gets 429
``rate_limited`` with both and ``Retry-After`` (seconds to the window's end).

It serves the task stream (``update`` events as the status changes, then ``done``; each event has
an id, kept per task, so a client resumes after one) and the session endpoints: a session leases a
worker of its own, slides its expiry on each run and keepalive, and ends or expires; the session
errors are the Sessions page's, in upper case. Keys may be read-only (``apps:read``): they read
sessions, and get 403 ``forbidden`` on a run, a cancel, a keepalive or an end. The
contract suite must pass it by default (its other choices are conventions: ``differs``) and fail it
with ``--contract-strict``.
"""

from __future__ import annotations

import asyncio
import json
import math
import secrets
import time
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

import httpx
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import HTTPConnection, Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route
from starlette.types import ASGIApp, Receive, Scope, Send

PHASES = (1, 2, 3, 4, 5, 6, 7, 8)  # Received ... Uploading, each PHASE_S long
RUNNING, COMPLETED, FAILED, CANCELLED = 7, 9, 10, 11
TERMINAL = (COMPLETED, FAILED, CANCELLED)
APPS = ("infsh/echo", "infsh/sleep", "infsh/fail")
LIMITS = {"run": 100, "get": 1000}  # requests a minute per key, the overview's
WINDOW_S = 60.0
VERSION = "1.0.0"  # every app's one version, which a session pins
DEFAULT_IDLE_S = 60
STREAM_LIMIT_S = 600  # the longest a stream stays open


def _stamp(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).isoformat(timespec="microseconds")


TITLES = {400: "Bad Request", 401: "Unauthorized", 403: "Forbidden", 404: "Not Found", 405: "Method Not Allowed",
          409: "Conflict", 410: "Gone", 500: "Internal Server Error"}  # fmt: skip


def _version(request: HTTPConnection) -> str:
    """``"2"`` with ``X-API-Version: 2``; anything else is version 1, the default."""
    return "2" if request.headers.get("x-api-version", "").strip() == "2" else "1"


def _ok(request: HTTPConnection, body: Any, headers: dict[str, str] | None = None) -> JSONResponse:
    if _version(request) == "2":
        return JSONResponse(body, headers=headers)
    return JSONResponse({"success": True, "status": 200, "data": body}, headers=headers)


def _error(request: HTTPConnection, status: int, code: str, message: str,
           headers: dict[str, str] | None = None) -> JSONResponse:  # fmt: skip
    if _version(request) == "2":
        problem = {"type": f"https://api.inference.sh/errors/{code}", "title": TITLES.get(status, "Error"),
                   "status": status, "detail": message}  # fmt: skip
        return JSONResponse(problem, status_code=status, headers=headers, media_type="application/problem+json")
    wrapped = {"success": False, "status": status, "error": {"code": code, "message": message}}
    return JSONResponse(wrapped, status_code=status, headers=headers)


class Refused(Exception):
    def __init__(self, status: int, code: str, message: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status, self.code, self.message, self.headers = status, code, message, headers

    def response(self, request: HTTPConnection, headers: dict[str, str] | None = None) -> JSONResponse:
        return _error(request, self.status, self.code, self.message, {**(headers or {}), **(self.headers or {})})


@dataclass
class Window:
    """One key's use of one operation: a minute from its first request."""

    ends: float
    used: int = 0


@dataclass
class Job:
    id: str
    owner: str
    app: str
    input: dict[str, Any]
    created: float
    running_s: float  # how long Running lasts
    session_id: str | None
    webhook: str | None
    cancelled_at: float | None = None
    notified: bool = False
    events: list[tuple[str, str, dict[str, Any]]] = field(default_factory=list)  # (id, name, data) streamed so far
    streamed: int | None = None  # the status of the last update event

    def status(self, now: float, phase_s: float) -> int:
        if self.cancelled_at is not None and now >= self.cancelled_at:
            return CANCELLED
        elapsed = now - self.created
        ends = 0.0
        for code in PHASES:
            ends += self.running_s if code == RUNNING else phase_s
            if elapsed < ends:
                return code
        return FAILED if self.app == "infsh/fail" else COMPLETED

    def ends_at(self, phase_s: float) -> float:
        natural = self.created + phase_s * (len(PHASES) - 1) + self.running_s
        return min(natural, self.cancelled_at) if self.cancelled_at is not None else natural


@dataclass
class Session:
    id: str
    owner: str
    app: str
    worker: str  # the worker it leases, until it ends or expires
    idle_s: float
    expires_at: float
    call_count: int = 0
    task_id: str | None = None
    ended: bool = False

    def status(self, now: float) -> str:
        return "ended" if self.ended else "expired" if now >= self.expires_at else "active"

    def body(self, now: float) -> dict[str, Any]:
        status = self.status(now)
        return {
            "id": self.id, "app_id": self.app, "app_version_id": f"{self.app}@{VERSION}",
            "worker_id": self.worker if status == "active" else None, "status": status,
            "expires_at": _stamp(self.expires_at), "idle_timeout": self.idle_s, "call_count": self.call_count,
            "task_id": self.task_id,
        }  # fmt: skip

    def refuse_if_gone(self, now: float) -> None:
        status = self.status(now)
        if status == "ended":
            raise Refused(410, "SESSION_ENDED", "Session was ended")
        if status == "expired":
            raise Refused(410, "SESSION_EXPIRED", "Idle timeout elapsed")


@dataclass
class Independent:
    keys: Sequence[str]
    phase_s: float = 0.02
    read_keys: Sequence[str] = ()  # keys with the apps:read scope only
    jobs: dict[str, Job] = field(default_factory=dict)
    sessions: dict[str, Session] = field(default_factory=dict)
    limits: dict[str, int] = field(default_factory=lambda: dict(LIMITS))
    windows: dict[tuple[str, str], Window] = field(default_factory=dict)  # (key, operation) -> its window
    _background: set[asyncio.Task[None]] = field(default_factory=set)

    # --- the model -------------------------------------------------------------------------
    def body(self, job: Job) -> dict[str, Any]:
        status = job.status(time.time(), self.phase_s)
        return {
            "id": job.id,
            "status": status,
            "input": job.input,
            "output": {"echo": job.input} if status == COMPLETED else None,
            "error": str(job.input.get("message") or "the app failed") if status == FAILED else None,
            "session_id": job.session_id,
            "created_at": _stamp(job.created),
            "updated_at": _stamp(min(time.time(), job.ends_at(self.phase_s))),
        }

    def owner(self, request: HTTPConnection) -> str:
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() != "bearer" or token.strip() not in (*self.keys, *self.read_keys):
            raise Refused(401, "unauthorized", "Invalid or missing API key")
        return token.strip()

    def executor(self, request: HTTPConnection) -> str:
        """The key's owner, if the key may execute (run, keep alive, end); else 403."""
        owner = self.owner(request)
        if owner in self.read_keys:
            raise Refused(403, "forbidden", "Insufficient permissions: apps:execute is needed")
        return owner

    def job(self, request: Request) -> Job:
        owner = self.owner(request)
        job = self.jobs.get(request.path_params["id"])
        if job is None:
            raise Refused(404, "not_found", "Resource not found")
        if job.owner != owner:
            raise Refused(403, "forbidden", "Insufficient permissions")
        return job

    def limited(self, owner: str, operation: str, *, count: bool = True) -> dict[str, str]:
        """Count one request of ``operation`` by ``owner`` (unless not ``count``): the rate-limit
        headers of its answer, or ``Refused`` 429 (with them) when it is over the limit."""
        now = time.time()
        window = self.windows.get((owner, operation))
        if window is None or now >= window.ends:
            window = self.windows[(owner, operation)] = Window(now + WINDOW_S)
        window.used += count
        limit = self.limits[operation]
        headers = {"X-RateLimit-Remaining": str(max(limit - window.used, 0)),
                   "X-RateLimit-Reset": str(math.ceil(window.ends))}  # fmt: skip
        if window.used > limit:
            wait = {"Retry-After": str(max(math.ceil(window.ends - now), 1))}
            raise Refused(429, "rate_limited", "Too many requests", {**headers, **wait})
        return headers

    @staticmethod
    def _number(value: Any) -> bool:
        return isinstance(value, int | float) and not isinstance(value, bool)

    def _checked(self, data: Any, owner: str) -> tuple[str, dict[str, Any], Session | None]:
        """``(app, input, session id)`` of a run body, or ``Refused`` for what the page rules out."""
        if not isinstance(data, dict):
            raise Refused(400, "invalid_request", "the body must be a JSON object")
        app, input_ = data.get("app"), data.get("input")
        if not isinstance(app, str) or not app:
            raise Refused(400, "invalid_request", "app must be a non-empty string")
        if not isinstance(input_, dict):
            raise Refused(400, "invalid_request", "input must be an object")
        types = {"setup": dict, "infra": str, "workers": list, "webhook": str, "session": str}
        for name, kind in types.items():
            if name in data and not isinstance(data[name], kind):
                raise Refused(400, "invalid_request", f"{name} must be a {kind.__name__}")
        if data.get("infra") not in (None, "cloud", "private"):
            raise Refused(400, "invalid_request", 'infra must be "cloud" or "private"')
        if not all(isinstance(w, str) for w in data.get("workers", [])):
            raise Refused(400, "invalid_request", "workers must be strings")
        if "webhook" in data and not _is_url(data["webhook"]):
            raise Refused(400, "invalid_request", "webhook must be a URL")
        if "session_timeout" in data:
            timeout = data["session_timeout"]
            if not self._number(timeout) or not 1 <= timeout <= 3600:
                raise Refused(400, "invalid_request", "session_timeout must be a number from 1 to 3600")
            if data.get("session") != "new":
                raise Refused(400, "invalid_request", 'session_timeout is only allowed with session: "new"')
        name, _, version = app.partition("@")
        if name not in APPS:
            raise Refused(404, "not_found", f"app not found: {app}")
        return name, input_, self._session(data, owner, name, version or VERSION)

    def _session(self, data: dict[str, Any], owner: str, app: str, version: str) -> Session | None:
        """The run's session: none, a new one, or the one it names (if it may continue it)."""
        name, now = data.get("session"), time.time()
        session = None
        if name not in (None, "new"):
            session = self._own_session(str(name), owner)
            session.refuse_if_gone(now)
            if app != session.app:
                raise Refused(400, "APP_MISMATCH", f"session {session.id} is bound to {session.app}")
            if version != VERSION:
                raise Refused(400, "VERSION_MISMATCH", f"session {session.id} pinned {session.app}@{VERSION}")
        for worker in data.get("workers", []):
            holder = next((s for s in self.sessions.values() if s.worker == worker and s.status(now) == "active"), None)
            if holder is not None and holder is not session:
                raise Refused(409, "WORKER_LEASED", f"worker {worker} is bound to another session")
        if name == "new":
            idle = data.get("session_timeout", DEFAULT_IDLE_S)
            worker = f"worker_{secrets.token_hex(4)}"
            session = Session(f"sess_{secrets.token_hex(8)}", owner, app, worker, idle, now + idle)
            self.sessions[session.id] = session
        return session

    def _own_session(self, session_id: str, owner: str) -> Session:
        session = self.sessions.get(session_id)
        if session is None or session.owner != owner:
            raise Refused(404, "SESSION_NOT_FOUND", "Unknown session ID")
        return session

    def session(self, request: Request, *, execute: bool = False) -> Session:
        owner = self.executor(request) if execute else self.owner(request)
        return self._own_session(request.path_params["id"], owner)

    # --- routes ----------------------------------------------------------------------------
    async def run(self, request: Request) -> Response:
        limits: dict[str, str] = {}
        try:
            owner = self.executor(request)
            limits = self.limited(owner, "run", count=False)
            try:
                data = await request.json()
            except ValueError:
                raise Refused(400, "invalid_request", "the body is not JSON") from None
            app, input_, session = self._checked(data, owner)
            limits = self.limited(owner, "run")
        except Refused as refused:
            return refused.response(request, limits)
        seconds = input_.get("seconds", 1) if app == "infsh/sleep" else self.phase_s
        job = Job(
            id=f"job-{secrets.token_hex(10)}", owner=owner, app=app, input=input_, created=time.time(),
            running_s=float(seconds) if self._number(seconds) and 0 <= seconds <= 3600 else self.phase_s,
            session_id=session.id if session else None, webhook=data.get("webhook"),
        )  # fmt: skip
        self.jobs[job.id] = job
        if session is not None:  # each call slides the idle window
            session.call_count, session.task_id = session.call_count + 1, job.id
            session.expires_at = job.created + session.idle_s
        self._spawn(self._notify_when_done(job))
        if request.query_params.get("wait") != "false":
            while job.status(time.time(), self.phase_s) not in TERMINAL and time.time() - job.created < 60:
                await asyncio.sleep(min(0.01, max(job.ends_at(self.phase_s) - time.time(), 0.001)))
        return _ok(request, self.body(job), limits)

    async def get(self, request: Request) -> Response:
        limits: dict[str, str] = {}
        try:
            limits = self.limited(self.owner(request), "get")
            return _ok(request, self.body(self.job(request)), limits)
        except Refused as refused:
            return refused.response(request, limits)

    async def cancel(self, request: Request) -> Response:
        try:
            job = self.job(request)
            self.executor(request)
        except Refused as refused:
            return refused.response(request)
        if job.status(time.time(), self.phase_s) in TERMINAL:
            return _error(request, 409, "invalid_transition", f"task {job.id} has already ended")
        job.cancelled_at = time.time()
        self._spawn(self._notify(job))
        return _ok(request, {"id": job.id, "status": CANCELLED, "cancelled": True})

    # --- the stream ----------------------------------------------------------------------------
    async def stream(self, request: Request) -> Response:
        try:
            job = self.job(request)
        except Refused as refused:
            return refused.response(request)
        after = request.headers.get("last-event-id") or request.query_params.get("last_event_id")
        return StreamingResponse(self._events(job, after), media_type="text/event-stream",
                                 headers={"cache-control": "no-cache"})  # fmt: skip

    def _record(self, job: Job) -> None:
        """Log the task's state as events, each once: an update when its status changed, ``done`` once it ended."""
        if job.events and job.events[-1][1] == "done":
            return
        body = self.body(job)
        if body["status"] != job.streamed:
            job.streamed = body["status"]
            data = {k: body[k] for k in ("id", "status", "output", "error") if body[k] is not None}
            job.events.append((f"evt_{len(job.events) + 1}", "update", data))
        if body["status"] in TERMINAL:
            job.events.append((f"evt_{len(job.events) + 1}", "done", {}))

    async def _events(self, job: Job, after: str | None) -> AsyncIterator[str]:
        self._record(job)
        ids = [event[0] for event in job.events]
        at = ids.index(after) + 1 if after in ids else 0
        started = time.time()
        while time.time() - started < STREAM_LIMIT_S:
            self._record(job)
            for event_id, name, data in job.events[at:]:
                yield f"event: {name}\nid: {event_id}\ndata: {json.dumps(data)}\n\n"
            at = len(job.events)
            if job.events and job.events[-1][1] == "done":
                return
            await asyncio.sleep(0.01)

    # --- the session endpoints ---------------------------------------------------------------
    async def list_sessions(self, request: Request) -> Response:
        try:
            owner = self.owner(request)
        except Refused as refused:
            return refused.response(request)
        now = time.time()
        mine = [s for s in self.sessions.values() if s.owner == owner and s.status(now) == "active"]
        return _ok(request, [s.body(now) for s in mine])

    async def get_session(self, request: Request) -> Response:
        try:
            return _ok(request, self.session(request).body(time.time()))
        except Refused as refused:
            return refused.response(request)

    async def keepalive(self, request: Request) -> Response:
        try:
            session, now = self.session(request, execute=True), time.time()
            session.refuse_if_gone(now)
        except Refused as refused:
            return refused.response(request)
        session.expires_at = now + session.idle_s
        return _ok(request, session.body(now))

    async def end_session(self, request: Request) -> Response:
        try:
            session = self.session(request, execute=True)
            session.refuse_if_gone(time.time())
        except Refused as refused:
            return refused.response(request)
        session.ended = True
        return Response(status_code=204)

    # --- webhooks ---------------------------------------------------------------------------
    def _spawn(self, coroutine: Any) -> None:
        task = asyncio.ensure_future(coroutine)
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    async def _notify_when_done(self, job: Job) -> None:
        while job.status(time.time(), self.phase_s) not in TERMINAL:
            await asyncio.sleep(max(min(job.ends_at(self.phase_s) - time.time(), 0.05), 0.002))
        await self._notify(job)

    async def _notify(self, job: Job) -> None:
        if job.notified or not job.webhook or urlsplit(job.webhook).scheme not in ("http", "https"):
            return
        job.notified = True
        payload = {k: v for k, v in self.body(job).items() if k != "input"}
        payload["error"] = payload["error"] or ""
        try:
            async with httpx.AsyncClient(timeout=5, trust_env=False) as client:
                await client.post(job.webhook, json=payload)
        except httpx.HTTPError:
            pass

    def app(self) -> ASGIApp:
        routes = Starlette(
            routes=[
                Route("/run", self.run, methods=["POST"]),
                Route("/tasks/{id}", self.get, methods=["GET"]),
                Route("/tasks/{id}/cancel", self.cancel, methods=["POST"]),
                Route("/tasks/{id}/stream", self.stream, methods=["GET"]),
                Route("/sessions", self.list_sessions, methods=["GET"]),
                Route("/sessions/{id}", self.get_session, methods=["GET"]),
                Route("/sessions/{id}", self.end_session, methods=["DELETE"]),
                Route("/sessions/{id}/keepalive", self.keepalive, methods=["POST"]),
            ],
            exception_handlers={HTTPException: _unrouted},
        )
        return _KeyFirst(routes, self)


async def _unrouted(request: Request, exc: Exception) -> Response:
    """An unknown path or a method a path lacks: the documented error body of the request's version."""
    assert isinstance(exc, HTTPException)
    code = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "invalid_request")
    return _error(request, exc.status_code, code, str(exc.detail), headers=dict(exc.headers or {}))


class _KeyFirst:
    """The key before the route: a request without a valid key gets 401, whatever its path."""

    def __init__(self, app: ASGIApp, server: Independent) -> None:
        self.app, self.server = app, server

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            connection = HTTPConnection(scope)
            try:
                self.server.owner(connection)
            except Refused as refused:
                await refused.response(connection)(scope, receive, send)
                return
        await self.app(scope, receive, send)


def _is_url(value: str) -> bool:
    parts = urlsplit(value)
    return bool(parts.scheme and parts.netloc) and not any(c.isspace() for c in value)


def independent_app(
    keys: Sequence[str], phase_s: float = 0.02, read_keys: Sequence[str] = (), limits: dict[str, int] | None = None
) -> ASGIApp:
    """``read_keys``: keys with the apps:read scope only; ``limits``: requests a minute per key of ``run`` and
    ``get`` (default the overview's, :data:`LIMITS`)."""
    return Independent(keys, phase_s, read_keys, limits=dict(limits or LIMITS)).app()


__all__ = ["Independent", "independent_app"]

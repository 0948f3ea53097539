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

It serves neither the task stream nor the session endpoints (the rules of those are awaiting their
checks). The contract suite must pass it by default (those are conventions:
``differs``) and fail it with ``--contract-strict``.
"""

from __future__ import annotations

import asyncio
import math
import secrets
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

import httpx
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import HTTPConnection, Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp, Receive, Scope, Send

PHASES = (1, 2, 3, 4, 5, 6, 7, 8)  # Received ... Uploading, each PHASE_S long
RUNNING, COMPLETED, FAILED, CANCELLED = 7, 9, 10, 11
TERMINAL = (COMPLETED, FAILED, CANCELLED)
APPS = ("infsh/echo", "infsh/sleep", "infsh/fail")
LIMITS = {"run": 100, "get": 1000}  # requests a minute per key, the overview's
WINDOW_S = 60.0


def _stamp(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).isoformat(timespec="microseconds")


TITLES = {400: "Bad Request", 401: "Unauthorized", 403: "Forbidden", 404: "Not Found", 405: "Method Not Allowed",
          409: "Conflict", 500: "Internal Server Error"}  # fmt: skip


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
class Independent:
    keys: Sequence[str]
    phase_s: float = 0.02
    jobs: dict[str, Job] = field(default_factory=dict)
    sessions: dict[str, str] = field(default_factory=dict)  # session id -> owner
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
        if scheme.lower() != "bearer" or token.strip() not in self.keys:
            raise Refused(401, "unauthorized", "Invalid or missing API key")
        return token.strip()

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

    def _checked(self, data: Any, owner: str) -> tuple[str, dict[str, Any], str | None]:
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
        if app.split("@", 1)[0] not in APPS:
            raise Refused(404, "not_found", f"app not found: {app}")
        return app.split("@", 1)[0], input_, self._session(data.get("session"), owner)

    def _session(self, name: Any, owner: str) -> str | None:
        if name is None:
            return None
        if name == "new":
            session_id = f"sess_{secrets.token_hex(8)}"
            self.sessions[session_id] = owner
            return session_id
        if self.sessions.get(name) != owner:
            raise Refused(404, "not_found", f"session not found: {name}")
        return str(name)

    # --- routes ----------------------------------------------------------------------------
    async def run(self, request: Request) -> Response:
        limits: dict[str, str] = {}
        try:
            owner = self.owner(request)
            limits = self.limited(owner, "run", count=False)
            try:
                data = await request.json()
            except ValueError:
                raise Refused(400, "invalid_request", "the body is not JSON") from None
            app, input_, session_id = self._checked(data, owner)
            limits = self.limited(owner, "run")
        except Refused as refused:
            return refused.response(request, limits)
        seconds = input_.get("seconds", 1) if app == "infsh/sleep" else self.phase_s
        job = Job(
            id=f"job-{secrets.token_hex(10)}", owner=owner, app=app, input=input_, created=time.time(),
            running_s=float(seconds) if self._number(seconds) and 0 <= seconds <= 3600 else self.phase_s,
            session_id=session_id, webhook=data.get("webhook"),
        )  # fmt: skip
        self.jobs[job.id] = job
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
        except Refused as refused:
            return refused.response(request)
        if job.status(time.time(), self.phase_s) in TERMINAL:
            return _error(request, 409, "invalid_transition", f"task {job.id} has already ended")
        job.cancelled_at = time.time()
        self._spawn(self._notify(job))
        return _ok(request, {"id": job.id, "status": CANCELLED, "cancelled": True})

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


def independent_app(keys: Sequence[str], phase_s: float = 0.02, limits: dict[str, int] | None = None) -> ASGIApp:
    """``limits``: requests a minute per key of ``run`` and ``get`` (default the overview's, :data:`LIMITS`)."""
    return Independent(keys, phase_s, limits=dict(limits or LIMITS)).app()


__all__ = ["Independent", "independent_app"]

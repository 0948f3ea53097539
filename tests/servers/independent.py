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

It serves neither the task stream, the session endpoints nor rate limits (the rules of those are
awaiting their checks). The contract suite must pass it by default (those are conventions:
``differs``) and fail it with ``--contract-strict``.
"""

from __future__ import annotations

import asyncio
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


def _stamp(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).isoformat(timespec="microseconds")


TITLES = {400: "Bad Request", 401: "Unauthorized", 403: "Forbidden", 404: "Not Found", 405: "Method Not Allowed",
          409: "Conflict", 500: "Internal Server Error"}  # fmt: skip


def _version(request: HTTPConnection) -> str:
    """``"2"`` with ``X-API-Version: 2``; anything else is version 1, the default."""
    return "2" if request.headers.get("x-api-version", "").strip() == "2" else "1"


def _ok(request: HTTPConnection, body: Any) -> JSONResponse:
    if _version(request) == "2":
        return JSONResponse(body)
    return JSONResponse({"success": True, "status": 200, "data": body})


def _error(request: HTTPConnection, status: int, code: str, message: str,
           headers: dict[str, str] | None = None) -> JSONResponse:  # fmt: skip
    if _version(request) == "2":
        problem = {"type": f"https://api.inference.sh/errors/{code}", "title": TITLES.get(status, "Error"),
                   "status": status, "detail": message}  # fmt: skip
        return JSONResponse(problem, status_code=status, headers=headers, media_type="application/problem+json")
    wrapped = {"success": False, "status": status, "error": {"code": code, "message": message}}
    return JSONResponse(wrapped, status_code=status, headers=headers)


class Refused(Exception):
    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message

    def response(self, request: HTTPConnection) -> JSONResponse:
        return _error(request, self.status, self.code, self.message)


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
        try:
            owner = self.owner(request)
            try:
                data = await request.json()
            except ValueError:
                raise Refused(400, "invalid_request", "the body is not JSON") from None
            app, input_, session_id = self._checked(data, owner)
        except Refused as refused:
            return refused.response(request)
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
        return _ok(request, self.body(job))

    async def get(self, request: Request) -> Response:
        try:
            return _ok(request, self.body(self.job(request)))
        except Refused as refused:
            return refused.response(request)

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


def independent_app(keys: Sequence[str], phase_s: float = 0.02) -> ASGIApp:
    return Independent(keys, phase_s).app()


__all__ = ["Independent", "independent_app"]

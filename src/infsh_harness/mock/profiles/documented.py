"""The ``documented`` profile: ``openapi/tasks.yaml`` served exactly.

Routes ``POST /run`` (``?wait=``, waiting by default), ``GET /tasks/{id}``, ``POST /tasks/{id}/cancel``;
the request validated against the spec's ``RunRequest``; the shapes of ``Task``, ``CancelResult``
and ``WebhookPayload``, with status numbers read from the spec's ``TaskStatus``.

Two API versions (the REST overview), one renderer each, chosen by the request's ``X-API-Version``:
version 1, the default, wraps a success as ``{"success": true, "status": 200, "data": …}`` and an
error as ``Error``; version 2 (``X-API-Version: 2``) answers the bare object and RFC 9457
``application/problem+json`` errors (``Problem``). The webhook payload is bare in both (rule
``webhook-unversioned``).
"""

from __future__ import annotations

import functools
import math
import random
from collections.abc import Mapping
from datetime import UTC, datetime
from http import HTTPStatus
from typing import Any

import orjson

from infsh_harness.mock.config import MockConfig
from infsh_harness.mock.errors import MockError
from infsh_harness.mock.http import Request, Response
from infsh_harness.mock.models import CANCELLED, ModelOptions, Task, TaskView
from infsh_harness.mock.profiles.profile import (
    DEFAULT_VERSION,
    Handler,
    Profile,
    RunValidator,
    Services,
    parse_bool,
)
from infsh_harness.spec import Spec

__all__ = [
    "PROBLEM_JSON",
    "PROBLEM_TYPE_BASE",
    "DocumentedRenderer",
    "DocumentedRendererV2",
    "DocumentedRoutes",
    "build",
    "iso_ms",
    "match",
]

PROBLEM_JSON = "application/problem+json"
# the REST overview's example type, ``https://api.inference.sh/errors/unauthorized``, minus the code
PROBLEM_TYPE_BASE = "https://api.inference.sh/errors/"


def iso_ms(epoch: float) -> str:
    """``2024-01-15T10:30:00.123Z``: the same text as ``datetime.isoformat(timespec="milliseconds")``.

    Every task read renders timestamps, so the seconds part is cached and only the milliseconds
    are formatted per call (rounded to microseconds first, as ``datetime.fromtimestamp`` does).
    """
    second = math.floor(epoch)
    micros = round((epoch - second) * 1e6)
    if micros >= 1_000_000:
        second, micros = second + 1, micros - 1_000_000
    return f"{_iso_second(second)}.{micros // 1000:03d}Z"


@functools.lru_cache(maxsize=4096)
def _iso_second(second: int) -> str:
    return datetime.fromtimestamp(second, UTC).strftime("%Y-%m-%dT%H:%M:%S")


class DocumentedRenderer:
    """The spec's shapes of one model, with its status numbers from the spec."""

    def __init__(self, spec: Spec) -> None:
        self.codes = {s.varname: s.code for s in spec.statuses}

    def task(self, view: TaskView) -> dict[str, Any]:
        task = view.task
        return {
            "id": task.id,
            "status": self.codes[view.status],
            "input": task.input,
            "output": view.output,
            "error": view.error,
            "session_id": task.session_id,
            "created_at": iso_ms(task.created_at),
        }

    def cancel(self, view: TaskView) -> dict[str, Any]:
        return {"id": view.task.id, "status": self.codes[view.status], "cancelled": view.status == CANCELLED}

    def webhook(self, view: TaskView) -> dict[str, Any]:
        task = view.task
        return {
            "id": task.id,
            "status": self.codes[view.status],
            "output": view.output,
            "error": view.error or "",
            "session_id": task.session_id,
            "created_at": iso_ms(task.created_at),
            "updated_at": iso_ms(view.updated_at),
        }

    def ok(self, data: Any, status: int = 200) -> Response:
        """Version 1's success: ``{"success": true, "status": 200, "data": …}``."""
        return Response.json(status, {"success": True, "status": status, "data": data})

    def error(self, exc: MockError) -> Response:
        """Version 1's error: ``{"success": false, "status", "error": {"code", "message"}}``."""
        body = {"success": False, "status": exc.status_code, "error": {"code": exc.code, "message": _message(exc)}}
        return Response.json(exc.status_code, body)


class DocumentedRendererV2(DocumentedRenderer):
    """Version 2 (``X-API-Version: 2``): the bare object, and RFC 9457 problem details for errors."""

    def ok(self, data: Any, status: int = 200) -> Response:
        return Response.json(status, data)

    def error(self, exc: MockError) -> Response:
        body = {
            "type": PROBLEM_TYPE_BASE + exc.code,
            "title": _title(exc.status_code),
            "status": exc.status_code,
            "detail": _message(exc),
        }
        return Response(exc.status_code, orjson.dumps(body), PROBLEM_JSON)


def _message(exc: MockError) -> str:
    """The message, with the error's finer reason where the code alone does not say it."""
    if exc.reason == exc.code.lower():
        return exc.message
    return f"{exc.message} ({exc.reason})"


def _title(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Error"


def match(path: str) -> tuple[str, dict[str, str]] | None:
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


class DocumentedRoutes:
    def __init__(self, renderers: Mapping[str, DocumentedRenderer], validate_run: RunValidator) -> None:
        self.renderers = renderers  # API version -> its renderer; "1" is the default
        self.validate_run = validate_run

    def out(self, request: Request) -> DocumentedRenderer:
        """The renderer of the version the request asks for."""
        return self.renderers.get(request.version) or self.renderers[DEFAULT_VERSION]

    def table(self) -> dict[str, dict[str, Handler]]:
        return {"run": {"POST": self.run}, "task": {"GET": self.get_task}, "cancel": {"POST": self.cancel}}

    async def run(self, mock: Services, request: Request) -> Response:
        wait = parse_bool(request.query, "wait", default=True)
        task = mock.lifecycle.start(request.owner, self.validate_run(request.body))
        view = await mock.lifecycle.await_terminal(task, mock.config.max_wait_s) if wait else mock.backend.view(task)
        out = self.out(request)
        return out.ok(out.task(view))

    @staticmethod
    def _task(mock: Services, request: Request) -> Task:
        return mock.backend.get_task(request.owner, request.params["id"])

    async def get_task(self, mock: Services, request: Request) -> Response:
        out = self.out(request)
        return out.ok(out.task(mock.backend.view(self._task(mock, request))))

    async def cancel(self, mock: Services, request: Request) -> Response:
        out = self.out(request)
        return out.ok(out.cancel(mock.lifecycle.cancel(self._task(mock, request))))


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

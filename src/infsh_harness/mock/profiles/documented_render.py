"""The ``documented`` profile's rendering of the shared model: the spec's shapes, in two API versions.

``DocumentedRenderer`` is version 1, the default (the REST overview): a success wrapped as
``{"success": true, "status": 200, "data": …}``, an error as ``Error``
(``{"success": false, "status", "error": {"code", "message"}}``, ``application/json``).
``DocumentedRendererV2`` is version 2 (``X-API-Version: 2``): the bare object, and RFC 9457
``application/problem+json`` errors (``Problem``: ``type`` ending with the code, ``title``,
``status``, ``detail``). Both render the same objects (``Task``, ``CancelResult``, ``Session``,
``TaskUpdate``) and the same bare ``WebhookPayload`` (rule ``webhook-unversioned``), with status
numbers read from the spec's ``TaskStatus``.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Mapping
from datetime import UTC, datetime
from http import HTTPStatus
from typing import Any

import orjson

from infsh_harness.mock.errors import MockError
from infsh_harness.mock.http import Response
from infsh_harness.mock.models import CANCELLED, Session, TaskView
from infsh_harness.spec import Spec

__all__ = [
    "PROBLEM_JSON",
    "PROBLEM_TYPE_BASE",
    "SSE",
    "DocumentedRenderer",
    "DocumentedRendererV2",
    "iso_ms",
    "iso_us",
    "sse_event",
]

PROBLEM_JSON = "application/problem+json"
SSE = "text/event-stream"
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


def iso_us(epoch: float) -> str:
    """``2024-01-15T10:30:00.123456Z``."""
    return datetime.fromtimestamp(epoch, UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")


@functools.lru_cache(maxsize=4096)
def _iso_second(second: int) -> str:
    return datetime.fromtimestamp(second, UTC).strftime("%Y-%m-%dT%H:%M:%S")


class DocumentedRenderer:
    """Version 1, the default: the spec's shapes of one model, wrapped; errors as ``Error``."""

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

    def session(self, session: Session, now: float) -> dict[str, Any]:
        """The Sessions page's session object (``Session``); its timestamps to the microsecond, so
        that a keepalive right after a read shows a later ``expires_at``."""
        timeout = session.timeout_s
        return {
            "id": session.id,
            "app_id": session.app_id,
            "app_version_id": session.app_version_id,
            "worker_id": session.worker_id,
            "status": session.state(now),
            "expires_at": iso_us(session.expires_at),
            "idle_timeout": int(timeout) if timeout == int(timeout) else timeout,
            "call_count": session.calls,
            "task_id": session.task_id,
        }

    def update(self, view: TaskView, varname: str) -> dict[str, Any]:
        """A stream's ``update`` data (``TaskUpdate``): the task at status ``varname``, with its
        output or error once that is its final status."""
        data: dict[str, Any] = {"id": view.task.id, "status": self.codes[varname]}
        if view.terminal and varname == view.status:
            data["output"] = view.output
            data["error"] = view.error
        return data

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


def sse_event(name: str, n: int, data: Mapping[str, Any]) -> bytes:
    """One Server-Sent Event; ``n`` its number in the task's stream (0: no id, not resumable)."""
    ident = b"id: evt_%d\n" % n if n else b""
    return b"event: " + name.encode() + b"\n" + ident + b"data: " + orjson.dumps(data) + b"\n\n"


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

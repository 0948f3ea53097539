"""Renderings of the model: the documented profile's JSON shapes and its error body.

A renderer turns a ``TaskView`` (or a ``MockError``) into what one profile puts on the wire; the
status numbers come from the spec (``TaskStatus`` by its varnames), never from this file.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, Protocol

from infsh_harness.mock.errors import MethodNotAllowed, MockError
from infsh_harness.mock.http import Response
from infsh_harness.mock.models import TaskView
from infsh_harness.spec import Spec

__all__ = ["DocumentedRenderer", "Renderer", "iso_ms"]


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


class Renderer(Protocol):
    def task(self, view: TaskView) -> dict[str, Any]: ...
    def cancel(self, view: TaskView) -> dict[str, Any]: ...
    def webhook(self, view: TaskView) -> dict[str, Any]: ...
    def error(self, exc: MockError) -> Response: ...


class DocumentedRenderer:
    def __init__(self, spec: Spec) -> None:
        self.codes = {s.varname: s.code for s in spec.statuses}
        self.timestamp: Callable[[float], str] = iso_ms

    def task(self, view: TaskView) -> dict[str, Any]:
        task = view.task
        return {
            "id": task.id,
            "status": self.codes[view.status],
            "input": task.input,
            "output": view.output,
            "error": view.error,
            "session_id": task.session_id,
            "created_at": self.timestamp(task.created_at),
        }

    def cancel(self, view: TaskView) -> dict[str, Any]:
        return {"id": view.task.id, "status": self.codes[view.status], "cancelled": view.status == "CANCELLED"}

    def webhook(self, view: TaskView) -> dict[str, Any]:
        task = view.task
        return {
            "id": task.id,
            "status": self.codes[view.status],
            "output": view.output,
            "error": view.error or "",
            "session_id": task.session_id,
            "created_at": self.timestamp(task.created_at),
            "updated_at": self.timestamp(view.updated_at),
        }

    def error(self, exc: MockError) -> Response:
        response = Response.json(exc.status_code, {"error": exc.message, "code": exc.code})
        if isinstance(exc, MethodNotAllowed):
            response.headers.append((b"allow", ", ".join(exc.allow).encode()))
        return response

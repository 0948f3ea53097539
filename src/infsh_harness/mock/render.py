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
    def __init__(self, spec: Spec, bugs: frozenset[str] = frozenset()) -> None:
        self.codes = {s.varname: s.code for s in spec.statuses}
        self.bugs = bugs
        if "undocumented_status" in bugs:
            self.codes["CANCELLED"] = max(self.codes.values()) + 1
        if "status_string" in bugs:
            self.codes = {k: str(v) for k, v in self.codes.items()}  # type: ignore[misc]
        self.timestamp: Callable[[float], str] = iso_ms
        if "bad_timestamp" in bugs:
            self.timestamp = lambda t: datetime.fromtimestamp(t, UTC).strftime("%d/%m/%Y %H:%M")

    def task(self, view: TaskView) -> dict[str, Any]:
        task = view.task
        body = {
            "id": task.id,
            "status": self.codes[view.status],
            "input": task.input,
            "output": view.output,
            "error": view.error,
            "session_id": task.session_id,
            "created_at": self.timestamp(task.created_at),
        }
        if self.bugs:
            self._seed_task_bugs(view, body)
        return body

    def cancel(self, view: TaskView) -> dict[str, Any]:
        cancelled = view.status == "CANCELLED" or (bool(self.bugs) and "cancel_flag_wrong" in self.bugs)
        return {"id": view.task.id, "status": self.codes[view.status], "cancelled": cancelled}

    def webhook(self, view: TaskView) -> dict[str, Any]:
        task = view.task
        payload = {
            "id": task.id,
            "status": self.codes[view.status],
            "output": view.output,
            "error": view.error or "",
            "session_id": task.session_id,
            "created_at": self.timestamp(task.created_at),
            "updated_at": self.timestamp(view.updated_at),
        }
        if self.bugs:
            self._seed_webhook_bugs(view, payload)
        return payload

    def error(self, exc: MockError) -> Response:
        if self.bugs:
            response = self._seed_error_bugs(exc)
        else:
            response = Response.json(exc.status_code, {"error": exc.message, "code": exc.code})
        if isinstance(exc, MethodNotAllowed):
            response.headers.append((b"allow", ", ".join(exc.allow).encode()))
        return response

    # --- seeded bugs: one truthiness check on the clean path, the rest only when a bug is on -----
    def _seed_task_bugs(self, view: TaskView, body: dict[str, Any]) -> None:
        bugs = self.bugs
        if "created_at_unstable" in bugs:
            body["created_at"] = self.timestamp(view.task.created_at + view.task.reads)
        if "input_not_echoed" in bugs:
            body["input"] = {} if view.task.input else {"unexpected": True}
        if "no_session_id" in bugs:
            body["session_id"] = None
        if "error_not_string" in bugs and body["error"]:
            body["error"] = {"message": body["error"]}
        if "no_created_at" in bugs:
            del body["created_at"]

    def _seed_webhook_bugs(self, view: TaskView, payload: dict[str, Any]) -> None:
        bugs, created_at = self.bugs, view.task.created_at
        if "webhook_wrong_status" in bugs:
            payload["status"] = self.codes["RUNNING"]
        if "webhook_bad_payload" in bugs:
            del payload["updated_at"]
        if "webhook_updated_before_created" in bugs:
            payload["updated_at"] = self.timestamp(created_at - 60)
        if "webhook_wrong_id" in bugs:
            payload["id"] = f"{payload['id']}_other"
        if "webhook_created_at_differs" in bugs:
            payload["created_at"] = self.timestamp(created_at - 1)
        if "webhook_without_output" in bugs:
            payload["output"] = None
        if "webhook_failed_no_error" in bugs:
            payload["error"] = ""
        if "webhook_bad_timestamp" in bugs:
            for name in ("created_at", "updated_at"):
                if name in payload:
                    payload[name] = "yesterday"

    def _seed_error_bugs(self, exc: MockError) -> Response:
        bugs, status = self.bugs, exc.status_code
        body: Any = {"error": exc.message, "code": exc.code}
        if "not_found_body_message" in bugs and status == 404:
            body = {"message": exc.message}
        if "auth_403" in bugs and status == 401:
            status = 403
        if "text_errors" in bugs:
            return Response(status, exc.message.encode(), "text/plain; charset=utf-8")
        if "error_body_string" in bugs:
            body = exc.message
        return Response.json(status, body)

"""The ``wire`` profile's data (``data/wire.yaml``) and its rendering of the shared model.

The model speaks documented status varnames; this renderer turns a ``TaskView`` into what the
production service puts on the wire: production status numbers with ``status_text``, the
``{"success": true, "data": ..., "messages": []}`` envelope, 26-character ids with ``short_id``,
microsecond UTC timestamps, the slim run result versus the full task, and RFC 9457 problem details
for every error. The numbers and field lists come from ``data/wire.yaml``, never from this file.
"""

from __future__ import annotations

import functools
import hashlib
import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from http import HTTPStatus
from pathlib import Path
from typing import Any

import orjson
import yaml

from infsh_harness import data
from infsh_harness.mock.errors import MockError, RunEnded
from infsh_harness.mock.http import Response
from infsh_harness.mock.models import Session, TaskView

__all__ = [
    "DEFAULT_WIRE_PATH",
    "WireData",
    "WireIds",
    "WireRenderer",
    "WireStatus",
    "iso_us",
    "load_wire",
]

DEFAULT_WIRE_PATH = data.path("wire.yaml")


def iso_us(epoch: float) -> str:
    """``2026-09-15T17:27:55.308496Z``."""
    return datetime.fromtimestamp(epoch, UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")


@dataclass(frozen=True)
class WireStatus:
    code: int
    text: str
    varname: str | None  # the model's status this code renders; None: the mock never reaches it
    terminal: bool


@dataclass(frozen=True)
class WireData:
    """``data/wire.yaml``, read once."""

    statuses: tuple[WireStatus, ...]
    cancelling_ms: float
    heartbeat_s: float
    id_length: int
    id_alphabet: str
    short_id_length: int
    run_result_fields: tuple[str, ...]
    full_task_fields: tuple[str, ...]
    status_fields: tuple[str, ...]
    envelope_success: bool
    error_type_base: str
    error_media_type: str
    error_codes: Mapping[str, str]
    error_statuses: Mapping[str, int]  # an error's reason -> production's status, where it differs
    error_titles: Mapping[str, str]
    waited_status: int
    waited_codes: Mapping[str, str]  # model varname (FAILED, CANCELLED) -> error code
    task_defaults: Mapping[str, Any]
    run_request: Mapping[str, Any]

    def status(self, varname: str) -> WireStatus:
        for status in self.statuses:
            if status.varname == varname:
                return status
        raise KeyError(f"data/wire.yaml maps no code to status {varname}")

    @property
    def terminal_codes(self) -> frozenset[int]:
        return frozenset(s.code for s in self.statuses if s.terminal)


@functools.cache
def load_wire(path: Path | None = None) -> WireData:
    raw: dict[str, Any] = yaml.safe_load((path or DEFAULT_WIRE_PATH).read_text(encoding="utf-8"))
    terminal = set(raw["terminal"])
    errors = raw["errors"]
    waited = dict(errors["waited"])
    ids = raw["ids"]
    return WireData(
        statuses=tuple(
            WireStatus(int(s["code"]), str(s["text"]), s.get("varname"), int(s["code"]) in terminal)
            for s in raw["statuses"]
        ),
        cancelling_ms=float(raw["cancelling_ms"]),
        heartbeat_s=float(raw["heartbeat_s"]),
        id_length=int(ids["length"]),
        id_alphabet=str(ids["alphabet"]),
        short_id_length=int(ids["short_id_length"]),
        run_result_fields=tuple(raw["run_result_fields"]),
        full_task_fields=tuple(raw["full_task_fields"]),
        status_fields=tuple(raw["status_fields"]),
        envelope_success=bool(raw["envelope"]["success"]),
        error_type_base=str(errors["type_base"]),
        error_media_type=str(errors["media_type"]),
        error_codes=dict(errors["codes"]),
        error_statuses={k: int(v) for k, v in errors.get("statuses", {}).items()},
        error_titles=dict(errors["titles"]),
        waited_status=int(waited.pop("status")),
        waited_codes=waited,
        task_defaults=dict(raw["task_defaults"]),
        run_request=raw["run_request"],
    )


class WireIds:
    """Production-style ids: ``length`` characters of ``alphabet``, no prefix, drawn from ``rng``."""

    def __init__(self, rng: random.Random, data: WireData) -> None:
        self.rng = rng
        self.length = data.id_length
        self.alphabet = data.id_alphabet

    def __call__(self, prefix: str = "") -> str:  # the documented prefix is not used on the wire
        return "".join(self.rng.choice(self.alphabet) for _ in range(self.length))

    def stable(self, name: str) -> str:
        """The same id every time for ``name`` (an app's id, an event's id)."""
        n = int.from_bytes(hashlib.sha256(name.encode()).digest(), "big")
        chars = []
        for _ in range(self.length):
            n, r = divmod(n, len(self.alphabet))
            chars.append(self.alphabet[r])
        return "".join(chars)


class WireRenderer:
    """The production shapes of one model, with its statuses and fields from ``WireData``."""

    def __init__(self, data: WireData, ids: WireIds) -> None:
        self.data = data
        self.ids = ids
        self.statuses = {s.varname: s for s in data.statuses if s.varname}

    # --- tasks ---------------------------------------------------------------------------
    def _status(self, varname: str) -> dict[str, Any]:
        status = self.statuses[varname]
        return {"status": status.code, "status_text": status.text}

    def _fields(self, view: TaskView) -> dict[str, Any]:
        """Every field either shape may show, keyed by the wire name."""
        task = view.task
        request = task.extras
        defaults = self.data.task_defaults
        return {
            "id": task.id,
            "short_id": task.id[: self.data.short_id_length],
            **self._status(view.status),
            "output": view.output,
            "error": view.error or None,
            "session_id": task.session_id,
            "created_at": iso_us(task.created_at),
            "updated_at": iso_us(view.updated_at),
            "run_at": request.get("run_at"),
            "input": task.input,
            "setup": task.setup,
            "app_id": request.get("app_id") or self.ids.stable("app:" + task.app.split("@", 1)[0]),
            "function": request.get("function") or defaults.get("function"),
            "infra": task.infra or defaults.get("infra"),
            "workers": task.workers if task.workers is not None else defaults.get("workers"),
            "webhook": task.webhook,
            "session_timeout": request.get("session_timeout"),
        }

    def task(self, view: TaskView) -> dict[str, Any]:
        """The slim run result (``TaskResultDTO``)."""
        fields = self._fields(view)
        return {name: fields.get(name) for name in self.data.run_result_fields}

    def full(self, view: TaskView, history: Sequence[tuple[str, float]] = ()) -> dict[str, Any]:
        """The full task (``TaskDTO``) of ``GET /tasks/{id}``, with its status ``history`` as events."""
        fields = self._fields(view)
        fields["events"] = [self._event(view, varname, at) for varname, at in history]
        fields["logs"] = []
        return {name: fields.get(name) for name in (*self.data.run_result_fields, *self.data.full_task_fields)}

    def _event(self, view: TaskView, varname: str, at: float) -> dict[str, Any]:
        status = self.statuses[varname]
        stamp = iso_us(at)
        return {
            "id": self.ids.stable(f"event:{view.task.id}:{status.code}"),
            "created_at": stamp,
            "event_time": stamp,
            "task_id": view.task.id,
            "status": status.code,
        }

    def status(self, view: TaskView) -> dict[str, Any]:
        """``GET /tasks/{id}/status`` (``ResourceStatusDTO``)."""
        fields = self._fields(view)
        return {name: fields.get(name) for name in self.data.status_fields}

    def partial(self, view: TaskView, varname: str, at: float) -> dict[str, Any]:
        """A stream line that changes only the status: ``{"data": {...}, "fields": [...]}``."""
        data = {"id": view.task.id, **self._status(varname), "updated_at": iso_us(at)}
        return {"data": data, "fields": [k for k in data if k != "id"]}

    def cancel(self, view: TaskView) -> dict[str, Any]:
        return self.task(view)

    def webhook(self, view: TaskView) -> dict[str, Any]:
        return self.task(view)

    def session(self, session: Session, now: float) -> dict[str, Any]:
        """``AppSessionDTO``."""
        return {
            "id": session.id,
            "short_id": session.id[: self.data.short_id_length],
            "created_at": iso_us(session.created_at),
            "updated_at": iso_us(max(session.last_active, session.ended_at or 0.0)),
            "app_id": self.ids.stable("app:" + session.app.split("@", 1)[0]),
            "status": session.state(now),
            "expires_at": iso_us(session.expires_at),
            "ended_at": iso_us(session.ended_at) if session.ended_at is not None else None,
            "task_id": session.task_id,
            "call_count": session.calls,
            "last_call_at": iso_us(session.last_active) if session.calls else None,
            "idle_timeout": round(session.timeout_s),
        }

    # --- envelopes and errors ------------------------------------------------------------
    def envelope(self, data: Any, status: int = 200) -> Response:
        body: dict[str, Any] = {"data": data, "messages": []}
        if self.data.envelope_success:
            body = {"success": True, **body}
        return Response.json(status, body)

    def problem(self, status: int, code: str, detail: str, **extensions: Any) -> Response:
        """An RFC 9457 problem: ``type`` ends in the error code, which the clients read back."""
        code = self.data.error_codes.get(code, code)
        try:
            default_title = HTTPStatus(status).phrase
        except ValueError:
            default_title = "Error"
        body = {
            "type": self.data.error_type_base + code,
            "title": self.data.error_titles.get(code, default_title),
            "detail": detail,
            **extensions,
        }
        return Response(status, orjson.dumps(body), self.data.error_media_type)

    def error(self, exc: MockError) -> Response:
        """Production's problem: its status and code for the error's ``reason``."""
        status = self.data.error_statuses.get(exc.reason, exc.status_code)
        return self.problem(status, exc.reason, exc.message, **exc.extensions)

    def waited_failure(self, view: TaskView) -> RunEnded | None:
        """A waited run that ended Failed or Cancelled: the error (422, carrying the task), else None."""
        code = self.data.waited_codes.get(view.status)
        if code is None:
            return None
        detail = view.error or self.statuses[view.status].text
        return RunEnded(detail, status_code=self.data.waited_status, code=code, extensions={"task": self.task(view)})

    # --- stream framing ------------------------------------------------------------------
    @staticmethod
    def ndjson(item: Mapping[str, Any]) -> bytes:
        return orjson.dumps(item) + b"\n"

    @staticmethod
    def sse(item: Mapping[str, Any]) -> bytes:
        if item.get("type") == "heartbeat":
            return b": heartbeat\n\n"  # a comment: every EventSource skips it
        return b"data: " + orjson.dumps(item) + b"\n\n"

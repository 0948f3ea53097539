"""The client's typed results: each a view of one documented (bare) object, the whole body kept in ``raw``.

``Task``, ``CancelResult`` and ``WebhookPayload`` as the Tasks page describes them; ``TaskUpdate``
and ``StreamEvent`` for the task stream; ``Session`` for the session endpoints. A version 1 body is
unwrapped before it gets here: every result is the bare DTO, the same in both versions.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar, Self

from infsh_harness.client.errors import ProtocolError, TasksClientError
from infsh_harness.spec import Spec, load_spec

__all__ = [
    "CancelResult",
    "Session",
    "StreamEvent",
    "Task",
    "TaskUpdate",
    "WaitTimeout",
    "WebhookPayload",
    "loads",
    "parse_webhook",
]

_WEBHOOK_SCHEMA = "WebhookPayload"


class _Result:
    """A typed view of one body: named fields, the rest in ``raw``."""

    _STATUS_IS_A_CODE: ClassVar[bool] = True  # a task's status is a TaskStatus code; a session's is a word
    spec: Spec

    @classmethod
    def from_json(cls, body: Mapping[str, Any], spec: Spec | None = None) -> Self:
        """Build from a body already valid against the result's schema: the fields without a
        default are required there, the others optional. ``spec`` (default: the packaged one)
        says which statuses are terminal and what they are called."""
        spec = spec or load_spec()
        values: dict[str, Any] = {}
        for f in dataclasses.fields(cls):  # type: ignore[arg-type]
            if f.name == "raw":
                values["raw"] = dict(body)
            elif f.name == "spec":
                values["spec"] = spec
            elif f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING:
                values[f.name] = body[f.name]
            else:
                values[f.name] = body.get(f.name)
        if cls._STATUS_IS_A_CODE:
            values["status"] = int(values["status"])
        return cls(**values)


class _TaskStatus:
    """What a task-like result's ``status`` code means."""

    status: int
    spec: Spec

    @property
    def is_terminal(self) -> bool:
        return self.status in self.spec.terminal_statuses

    @property
    def status_name(self) -> str | None:
        info = self.spec.status_info(self.status)
        return info.varname if info else None


@dataclass(frozen=True)
class Task(_Result, _TaskStatus):
    """A task as ``POST /run`` and ``GET /tasks/{id}`` return it."""

    id: str
    status: int
    input: Mapping[str, Any]
    created_at: str
    output: Mapping[str, Any] | None = None
    error: str | None = None
    session_id: str | None = None
    raw: Mapping[str, Any] = field(default_factory=dict, repr=False, compare=False)
    spec: Spec = field(default_factory=load_spec, repr=False, compare=False)


@dataclass(frozen=True)
class CancelResult(_Result, _TaskStatus):
    """The answer to ``POST /tasks/{id}/cancel``."""

    id: str
    status: int
    cancelled: bool
    raw: Mapping[str, Any] = field(default_factory=dict, repr=False, compare=False)
    spec: Spec = field(default_factory=load_spec, repr=False, compare=False)


@dataclass(frozen=True)
class WebhookPayload(_Result, _TaskStatus):
    """The body POSTed to a run's ``webhook`` URL once the task is terminal (bare in every version)."""

    id: str
    status: int
    created_at: str
    updated_at: str
    output: Mapping[str, Any] | None = None
    error: str | None = None
    session_id: str | None = None
    raw: Mapping[str, Any] = field(default_factory=dict, repr=False, compare=False)
    spec: Spec = field(default_factory=load_spec, repr=False, compare=False)


@dataclass(frozen=True)
class TaskUpdate(_Result, _TaskStatus):
    """The ``data`` of a stream's ``update`` event: the task's state as it changed."""

    id: str
    status: int
    logs: str | None = None
    output: Mapping[str, Any] | None = None
    error: str | None = None
    raw: Mapping[str, Any] = field(default_factory=dict, repr=False, compare=False)
    spec: Spec = field(default_factory=load_spec, repr=False, compare=False)


@dataclass(frozen=True)
class StreamEvent:
    """One event of ``GET /tasks/{id}/stream``: ``update`` (``update`` holds the task's state),
    ``done`` (the stream is complete) or ``error``. ``id`` is what to resume after
    (``stream(task_id, last_event_id=event.id)``)."""

    event: str
    data: Mapping[str, Any]
    id: str | None = None
    update: TaskUpdate | None = None

    @property
    def is_done(self) -> bool:
        return self.event == "done"


@dataclass(frozen=True)
class Session(_Result):
    """A session, as ``GET /sessions/{id}``, ``GET /sessions`` and keepalive return it."""

    _STATUS_IS_A_CODE: ClassVar[bool] = False

    id: str
    app_id: str
    status: str  # active, ended or expired
    expires_at: str
    idle_timeout: float
    call_count: int
    app_version_id: str | None = None
    worker_id: str | None = None
    task_id: str | None = None
    raw: Mapping[str, Any] = field(default_factory=dict, repr=False, compare=False)
    spec: Spec = field(default_factory=load_spec, repr=False, compare=False)

    @property
    def is_active(self) -> bool:
        return self.status == "active"


def loads(text: bytes | str) -> Any:
    """Strict JSON: ``NaN`` and ``Infinity`` are not JSON."""
    return json.loads(text, parse_constant=_reject_constant)


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


def parse_webhook(body: bytes | str | Mapping[str, Any], spec: Spec | None = None) -> WebhookPayload:
    """Read a webhook delivery's body; ``ProtocolError`` if it is not JSON or breaks ``WebhookPayload``."""
    spec = spec or load_spec()
    if isinstance(body, bytes | str):
        try:
            body = loads(body)
        except ValueError as exc:
            raise ProtocolError(f"webhook body is not JSON: {exc}", problems=(str(exc),)) from None
    problems = tuple(spec.validate(_WEBHOOK_SCHEMA, body))
    if problems:
        raise ProtocolError(f"webhook body breaks {_WEBHOOK_SCHEMA}: {problems[0]}", problems=problems)
    assert isinstance(body, Mapping)  # the schema says object
    return WebhookPayload.from_json(body, spec)


class WaitTimeout(TasksClientError):
    """``wait_for_terminal`` reached its deadline before the task became terminal.

    ``task`` is the last task read (never terminal), ``waited`` the seconds spent waiting. It lives
    beside the ``Task`` it carries, so that the exception tree (``errors.py``) needs no result type.
    """

    def __init__(self, message: str, *, task: Task, waited: float) -> None:
        super().__init__(message)
        self.task = task
        self.waited = waited

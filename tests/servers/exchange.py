"""What flows through the seeded proxy (:mod:`tests.servers.seeded`): requests, answers, per-task state."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import orjson

if TYPE_CHECKING:
    from tests.servers.seeded import SeededProxy

NO_JSON: Any = object()


@dataclass
class Exchange:
    """The request as it came in; bugs may rewrite it before it is forwarded."""

    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: bytes
    route: str | None = None  # run | get | cancel | None
    task_id: str | None = None
    data: Any = NO_JSON  # the JSON body, when it is one
    raw_path: str = ""  # the path as sent, percent-encoding kept (what is forwarded)

    @property
    def key(self) -> str | None:
        scheme, _, token = self.headers.get("authorization", "").partition(" ")
        return token.strip() or None if scheme.lower() == "bearer" else None

    def set_json(self, value: Any) -> None:
        self.data = value
        self.body = orjson.dumps(value)


@dataclass
class Answer:
    status: int
    headers: dict[str, str]
    body: bytes

    @property
    def data(self) -> Any:
        try:
            return orjson.loads(self.body)
        except orjson.JSONDecodeError:
            return NO_JSON

    def set_json(self, value: Any, content_type: str = "application/json") -> None:
        self.body = orjson.dumps(value)
        self.headers["content-type"] = content_type

    def set_text(self, text: str, content_type: str = "text/plain; charset=utf-8") -> None:
        self.body = text.encode()
        self.headers["content-type"] = content_type

    @classmethod
    def json(cls, status: int, value: Any) -> Answer:
        return cls(status, {"content-type": "application/json"}, orjson.dumps(value))


@dataclass
class TaskState:
    """What the proxy knows of one task."""

    id: str
    owner: str | None = None
    gets: int = 0  # reads through the proxy
    shown_rank: int = -1  # the highest status rank the proxy has shown for it
    terminal: int | None = None  # the upstream's terminal status, once seen
    cancelled_by_request: bool = False  # a cancel of it running answered Cancelled
    forced: int | None = None  # a status the proxy shows from now on (a cancel it made up)
    session_id: str | None = None  # a session id the proxy shows instead of the upstream's
    webhook: str | None = None  # the run's own webhook URL
    early: bool = False  # its webhook was sent at creation: drop the real one


Before = Callable[["SeededProxy", Exchange], Awaitable[Answer | None]]
After = Callable[["SeededProxy", Exchange, Answer], Awaitable[None]]
Hook = Callable[["SeededProxy", list[dict[str, Any]]], list[dict[str, Any]]]


@dataclass(frozen=True)
class Bug:
    rule: str | None  # the rule it breaks (the proof asserts the suite names it); None: not a rule
    what: str
    before: Before | None = None
    after: After | None = None
    hook: Hook | None = None

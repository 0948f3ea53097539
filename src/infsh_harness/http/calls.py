"""Requests to the Tasks API, built once from the spec: the one place a method, path or header is made.

Every driver of the API builds its requests here: the raw :class:`~infsh_harness.http.driver.Driver`
(contract suite, drift probe), the typed client (``infsh_harness.client``) and the load scenarios
(which send them with locust's own client, for speed). A :class:`Call` is plain data; sending it
is the driver's business.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote, urlencode

import orjson

from infsh_harness.spec import Spec

__all__ = [
    "API_VERSION_HEADER",
    "DEFAULT_KEY",
    "EVENT_STREAM",
    "JSON",
    "NO_KEY",
    "Call",
    "CallBuilder",
    "KeyChoice",
]

JSON = "application/json"
EVENT_STREAM = "text/event-stream"
API_VERSION_HEADER = "x-api-version"


class _Key(enum.Enum):
    DEFAULT = "default"
    NONE = "none"


DEFAULT_KEY = _Key.DEFAULT  # the builder's own key
NO_KEY = _Key.NONE  # send no Authorization header
KeyChoice = str | _Key
_UNSET: Any = object()


@dataclass(frozen=True)
class Call:
    """One request: ``path`` is relative to the base URL, with its parameters filled in and quoted;
    ``template`` is the spec's path (``/tasks/{id}``), the name to group requests by."""

    method: str
    path: str
    template: str
    operation_id: str | None = None
    params: Mapping[str, str] = field(default_factory=dict)
    headers: Mapping[str, str] = field(default_factory=dict, repr=False)  # the key is in them
    content: bytes | None = None

    @property
    def target(self) -> str:
        """The path with its query string, as a request line carries it."""
        return f"{self.path}?{urlencode(dict(self.params))}" if self.params else self.path


class CallBuilder:
    """Builds the spec's operations as :class:`Call` s, for one key and one API version.

    ``api_key=None`` sends no key unless a call names one; ``api_version`` is sent as
    ``X-API-Version`` when given (the documentation's version 2 is ``"2"``).
    """

    def __init__(
        self,
        spec: Spec,
        *,
        api_key: str | None,
        api_version: str | None = None,
        accept: str = JSON,
    ) -> None:
        self.spec = spec
        self._api_key = api_key
        self.api_version = api_version
        self.accept = accept

    def __repr__(self) -> str:  # never the key
        return f"CallBuilder(api_version={self.api_version!r})"

    def headers(self, key: KeyChoice = DEFAULT_KEY, *, content_type: str | None = None) -> dict[str, str]:
        headers = {"accept": self.accept}
        if self.api_version is not None:
            headers[API_VERSION_HEADER] = self.api_version
        token = self._api_key if key is DEFAULT_KEY else None if key is NO_KEY else key
        if token:
            headers["authorization"] = f"Bearer {token}"
        if content_type is not None:
            headers["content-type"] = content_type
        return headers

    def operation(
        self,
        operation_id: str,
        *,
        path_params: Mapping[str, str] | None = None,
        json: Any = _UNSET,
        content: bytes | None = None,
        params: Mapping[str, str] | None = None,
        key: KeyChoice = DEFAULT_KEY,
        content_type: str | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> Call:
        """The call of ``operation_id``; ``json`` (any JSON value, ``None`` included) is the body;
        ``headers`` are added to (or replace) the builder's own."""
        op = self.spec.operation(operation_id)
        path = op.path
        for name, value in (path_params or {}).items():
            if not value:
                raise ValueError(f"path parameter {name} must not be empty")
            path = path.replace(f"{{{name}}}", quote(value, safe=""))
        if json is not _UNSET:
            content = orjson.dumps(json)
            content_type = content_type or JSON
        sent = {**self.headers(key, content_type=content_type), **{k.lower(): v for k, v in (headers or {}).items()}}
        return Call(op.method, path, op.path, operation_id, dict(params or {}), sent, content)

    def raw(
        self,
        method: str,
        path: str,
        *,
        json: Any = _UNSET,
        content: bytes | None = None,
        params: Mapping[str, str] | None = None,
        key: KeyChoice = DEFAULT_KEY,
        operation_id: str | None = None,
    ) -> Call:
        """A call to a path the spec may not document (a fallback run path, a probe of drift)."""
        content_type = None
        if json is not _UNSET:
            content, content_type = orjson.dumps(json), JSON
        elif content is not None:
            content_type = JSON
        headers = self.headers(key, content_type=content_type)
        return Call(method.upper(), path, path, operation_id, dict(params or {}), headers, content)

    # --- the documented operations ---------------------------------------------------------
    def run(
        self,
        body: Any,
        *,
        wait: bool | None = None,
        key: KeyChoice = DEFAULT_KEY,
    ) -> Call:
        """``POST /run`` with ``body`` as JSON; ``wait=None`` sends no ``wait`` (the documented default)."""
        params = None if wait is None else {"wait": "true" if wait else "false"}
        return self.operation("runTask", json=body, params=params, key=key)

    def get(self, task_id: str, *, key: KeyChoice = DEFAULT_KEY) -> Call:
        return self.operation("getTask", path_params={"id": task_id}, key=key)

    def cancel(self, task_id: str, *, key: KeyChoice = DEFAULT_KEY) -> Call:
        return self.operation("cancelTask", path_params={"id": task_id}, key=key)

    def stream(self, task_id: str, *, last_event_id: str | None = None, key: KeyChoice = DEFAULT_KEY) -> Call:
        """``GET /tasks/{id}/stream`` as Server-Sent Events, resuming after ``last_event_id`` if given."""
        headers = {"accept": EVENT_STREAM, **({"last-event-id": last_event_id} if last_event_id else {})}
        return self.operation("streamTask", path_params={"id": task_id}, key=key, headers=headers)

    def list_sessions(self, *, key: KeyChoice = DEFAULT_KEY) -> Call:
        return self.operation("listSessions", key=key)

    def get_session(self, session_id: str, *, key: KeyChoice = DEFAULT_KEY) -> Call:
        return self.operation("getSession", path_params={"id": session_id}, key=key)

    def keepalive(self, session_id: str, *, key: KeyChoice = DEFAULT_KEY) -> Call:
        return self.operation("keepaliveSession", path_params={"id": session_id}, key=key)

    def end_session(self, session_id: str, *, key: KeyChoice = DEFAULT_KEY) -> Call:
        return self.operation("endSession", path_params={"id": session_id}, key=key)

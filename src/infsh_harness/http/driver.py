"""A raw driver for the server under test: every call returns the :class:`Observation` as answered.

Unlike ``infsh_harness.client`` it never rejects an answer: a contract check must see exactly
what the server sent (a wrong status, a text body, a missing field) to name the rule it breaks.
Paths come from the spec's operations; keys never appear in an observation (they are redacted).
"""

from __future__ import annotations

import enum
import json as _json
from collections.abc import Mapping
from typing import Any
from urllib.parse import quote

import httpx

from infsh_harness.http.observation import Observation
from infsh_harness.spec import Spec

__all__ = ["DEFAULT_KEY", "NO_KEY", "Target", "TargetError"]


class _Key(enum.Enum):
    DEFAULT = "default"
    NONE = "none"


DEFAULT_KEY = _Key.DEFAULT  # the target's own key
NO_KEY = _Key.NONE  # send no Authorization header
KeyChoice = str | _Key
_JSON = "application/json"


class TargetError(AssertionError):
    """The target could not be driven into the state a check needs (not itself a rule violation)."""


class Target:
    def __init__(
        self,
        base_url: str,
        api_key: str,
        spec: Spec,
        *,
        timeout_s: float = 30.0,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.api_key = api_key
        self.spec = spec
        self._http = httpx.Client(base_url=self.base_url, timeout=timeout_s, transport=transport, trust_env=False)

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> Target:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # --- raw calls ---------------------------------------------------------------------------
    def call(
        self,
        operation_id: str,
        *,
        task_id: str | None = None,
        json: Any = None,
        content: bytes | None = None,
        params: Mapping[str, str] | None = None,
        key: KeyChoice = DEFAULT_KEY,
        timeout_s: float | None = None,
        content_type: str | None = None,
    ) -> Observation:
        op = self.spec.operation(operation_id)
        path = op.path.replace("{id}", quote(task_id, safe="")) if task_id is not None else op.path
        headers = {"accept": "application/json"}
        if content_type is not None:
            headers["content-type"] = content_type
        if key is not NO_KEY:
            headers["authorization"] = f"Bearer {self.api_key if key is DEFAULT_KEY else key}"
        timeout = httpx.USE_CLIENT_DEFAULT if timeout_s is None else timeout_s
        response = self._http.request(
            op.method, path, json=json, content=content, params=params, headers=headers, timeout=timeout
        )
        return Observation.from_httpx(response, base_url=self.base_url, operation_id=operation_id, source="contract")

    def run(
        self,
        app: str,
        input: Mapping[str, Any],
        *,
        wait: bool | None = None,
        key: KeyChoice = DEFAULT_KEY,
        timeout_s: float | None = None,
        **fields: Any,
    ) -> Observation:
        """``POST /run``; ``wait=None`` sends no ``wait`` parameter (the documented default)."""
        params = None if wait is None else {"wait": "true" if wait else "false"}
        body = {"app": app, "input": dict(input), **fields}
        return self.call("runTask", json=body, params=params, key=key, timeout_s=timeout_s)

    def run_raw(self, body: Any, *, wait: bool | None = None) -> Observation:
        """``POST /run`` with any JSON value as the body, ``null`` included (as ``application/json``)."""
        params = None if wait is None else {"wait": "true" if wait else "false"}
        return self.call("runTask", content=_json.dumps(body).encode(), params=params, content_type=_JSON)

    def get(self, task_id: str, *, key: KeyChoice = DEFAULT_KEY) -> Observation:
        return self.call("getTask", task_id=task_id, key=key)

    def cancel(self, task_id: str, *, key: KeyChoice = DEFAULT_KEY) -> Observation:
        return self.call("cancelTask", task_id=task_id, key=key)

    # --- preconditions -----------------------------------------------------------------------
    @staticmethod
    def task_of(obs: Observation, what: str) -> dict[str, Any]:
        """The JSON object of a 2xx answer with an ``id``, or ``TargetError`` naming ``what`` failed."""
        body = obs.body
        if not 200 <= obs.status_code < 300 or not isinstance(body, dict) or not isinstance(body.get("id"), str):
            shown = body if isinstance(body, dict | list) else str(body)[:200]
            raise TargetError(f"{what}: {obs.method} {obs.path} answered {obs.status_code} {shown!r}")
        return body

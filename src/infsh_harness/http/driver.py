"""The raw driver of a server under test: every call answers the :class:`Observation` as the server sent it.

Unlike the typed client (``infsh_harness.client``) it never rejects an answer: a contract check or
a drift diff must see exactly what the server sent (a wrong status, a text body, a missing field)
to name what it breaks. Requests come from :class:`~infsh_harness.http.calls.CallBuilder`; keys never
appear in an observation (they are redacted) nor in this object's ``repr``.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Iterable, Mapping
from typing import Any, Self

import httpx

from infsh_harness.http.calls import DEFAULT_KEY, NO_KEY, Call, CallBuilder, KeyChoice
from infsh_harness.http.observation import Observation
from infsh_harness.http.urls import check_base_url
from infsh_harness.redact import secrets_of
from infsh_harness.spec import Spec

__all__ = ["DEFAULT_KEY", "NO_KEY", "Driver", "TargetError"]

# what no longer describes a streamed body once it is read (decoded, whole)
_DECODED_HEADERS = frozenset({"content-encoding", "content-length", "transfer-encoding"})


class TargetError(AssertionError):
    """The target could not be driven into the state a check needs (not itself a rule violation)."""


class Driver:
    """The target as one key: ``call`` any operation, ``request`` any path, get what was answered."""

    def __init__(
        self,
        base_url: str,
        api_key: str | None,
        spec: Spec,
        *,
        timeout_s: float | httpx.Timeout = 30.0,
        api_version: str | None = None,
        transport: httpx.BaseTransport | None = None,
        source: str = "contract",
        user_agent: str = "infsh-harness",
        secrets: Iterable[str] = (),
    ) -> None:
        self.base_url = check_base_url(base_url, "the base URL")
        self.spec = spec
        self.source = source
        self._secrets = secrets_of([api_key, *secrets])  # scrubbed from every observation by value
        self.calls = CallBuilder(spec, api_key=api_key, api_version=api_version)
        self._http = httpx.Client(
            base_url=self.base_url,
            timeout=timeout_s,
            transport=transport,
            trust_env=False,
            headers={"user-agent": user_agent},
        )

    def __repr__(self) -> str:
        return f"Driver(base_url={self.base_url!r}, api_version={self.calls.api_version!r})"

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # --- sending ----------------------------------------------------------------------------
    def send(self, call: Call, *, timeout_s: float | None = None) -> httpx.Response:
        """Send ``call``; transport errors (``httpx.TransportError``) propagate."""
        timeout = httpx.USE_CLIENT_DEFAULT if timeout_s is None else timeout_s
        return self._http.request(
            call.method, call.path, params=call.params or None, headers=call.headers, content=call.content,
            timeout=timeout,
        )  # fmt: skip

    def observe(self, call: Call, *, timeout_s: float | None = None, scenario: str | None = None) -> Observation:
        """Send ``call`` and answer what came back, keys redacted (the call's own key too, by value)."""
        response = self.send(call, timeout_s=timeout_s)
        sent = call.headers.get("authorization", "").partition(" ")[2]
        return Observation.from_httpx(
            response, base_url=self.base_url, operation_id=call.operation_id, scenario=scenario, source=self.source,
            secrets=secrets_of([*self._secrets, sent]),
        )  # fmt: skip

    def observe_stream(
        self,
        call: Call,
        *,
        deadline_s: float,
        max_bytes: int = 256 * 1024,
        until: bytes | None = b"event: done",
        scenario: str | None = None,
    ) -> Observation:
        """Send ``call`` and read its answer as a stream, for at most ``deadline_s`` seconds and
        ``max_bytes`` bytes, stopping early once ``until`` and the blank line ending its event have
        arrived. The observation holds what was read; ``body_truncated`` says the read was cut."""
        started = time.monotonic()
        timeout = httpx.Timeout(deadline_s, connect=min(deadline_s, 10.0))
        chunks: list[bytes] = []
        finished = True
        request = self._http.build_request(
            call.method, call.path, params=call.params or None, headers=call.headers, content=call.content,
            timeout=timeout,
        )  # fmt: skip
        response = self._http.send(request, stream=True)
        try:
            for chunk in response.iter_bytes():
                chunks.append(chunk)
                read = b"".join(chunks)
                if until is not None and until in read and b"\n\n" in read[read.index(until) :]:
                    break
                if len(read) >= max_bytes or time.monotonic() - started >= deadline_s:
                    finished = False
                    break
        except httpx.TimeoutException:
            finished = False
        finally:
            response.close()
        kept = [(k, v) for k, v in response.headers.multi_items() if k.lower() not in _DECODED_HEADERS]
        answered = httpx.Response(response.status_code, headers=kept, content=b"".join(chunks), request=request)
        sent = call.headers.get("authorization", "").partition(" ")[2]
        obs = Observation.from_httpx(
            answered, base_url=self.base_url, operation_id=call.operation_id, scenario=scenario, source=self.source,
            secrets=secrets_of([*self._secrets, sent]),
        )  # fmt: skip
        return dataclasses.replace(obs, body_truncated=not finished, elapsed_ms=(time.monotonic() - started) * 1000)

    # --- the calls the checks make -----------------------------------------------------------
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
        """Operation ``operation_id``; ``json=None`` sends ``content`` (or no body)."""
        path_params = {"id": task_id} if task_id is not None else None
        if json is not None:
            call = self.calls.operation(operation_id, path_params=path_params, json=json, params=params, key=key)
        else:
            call = self.calls.operation(
                operation_id, path_params=path_params, content=content, params=params, key=key,
                content_type=content_type,
            )  # fmt: skip
        return self.observe(call, timeout_s=timeout_s)

    def request(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        content: bytes | None = None,
        params: Mapping[str, str] | None = None,
        key: KeyChoice = DEFAULT_KEY,
        operation_id: str | None = None,
        scenario: str | None = None,
    ) -> Observation:
        """Any path, documented or not (``json=None`` sends ``content``, or no body)."""
        if json is not None:
            call = self.calls.raw(method, path, json=json, params=params, key=key, operation_id=operation_id)
        else:
            call = self.calls.raw(method, path, content=content, params=params, key=key, operation_id=operation_id)
        return self.observe(call, scenario=scenario)

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
        body = {"app": app, "input": dict(input), **fields}
        return self.observe(self.calls.run(body, wait=wait, key=key), timeout_s=timeout_s)

    def run_raw(self, body: Any, *, wait: bool | None = None) -> Observation:
        """``POST /run`` with any JSON value as the body, ``null`` included."""
        return self.observe(self.calls.run(body, wait=wait))

    def get(self, task_id: str, *, key: KeyChoice = DEFAULT_KEY) -> Observation:
        return self.observe(self.calls.get(task_id, key=key))

    def cancel(self, task_id: str, *, key: KeyChoice = DEFAULT_KEY) -> Observation:
        return self.observe(self.calls.cancel(task_id, key=key))

    # --- preconditions -----------------------------------------------------------------------
    @staticmethod
    def task_of(obs: Observation, what: str) -> dict[str, Any]:
        """The JSON object of a 2xx answer with an ``id``, or ``TargetError`` naming ``what`` failed."""
        body = obs.body
        if not 200 <= obs.status_code < 300 or not isinstance(body, dict) or not isinstance(body.get("id"), str):
            shown = body if isinstance(body, dict | list) else str(body)[:200]
            raise TargetError(f"{what}: {obs.method} {obs.path} answered {obs.status_code} {shown!r}")
        return body

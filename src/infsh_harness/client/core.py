"""What the sync and the async client share apart from I/O: build calls, read answers, name errors.

A client speaks one API version (``api_version``): ``"2"`` sends ``X-API-Version: 2`` and reads
bare bodies and RFC 9457 errors; ``"1"`` (or ``None``) sends no header, the documented way to get
version 1, and unwraps its ``{"success", "status", "data"}`` bodies. Every 2xx body is checked
against the schema the spec documents for that version; every failure is one of
:mod:`infsh_harness.client.errors`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import httpx
from httpx_sse import ServerSentEvent

from infsh_harness._version import __version__
from infsh_harness.client.errors import (
    APIError,
    ProtocolError,
    RateLimitError,
    TransportError,
    TransportTimeout,
    api_error_class,
    error_code_and_message,
    parse_rate_limit_reset,
    parse_remaining,
    parse_retry_after,
)
from infsh_harness.client.results import StreamEvent, Task, TaskUpdate, WaitTimeout, loads
from infsh_harness.http.calls import Call, CallBuilder
from infsh_harness.spec import API_VERSIONS, Spec

__all__ = ["API_VERSIONS", "Core", "run_options"]

_REDACTED = "[redacted]"
_EVENT_STREAM = "text/event-stream"
_UPDATE_SCHEMA = "TaskUpdate"


def _is_json(media_type: str) -> bool:
    return media_type == "application/json" or media_type.endswith("+json")


def _media_type(response: httpx.Response) -> str:
    media_type: str = response.headers.get("Content-Type", "")
    return media_type.split(";", 1)[0].strip().lower()


class Core:
    """Calls out, results or errors in, for one key and one API version."""

    def __init__(self, spec: Spec, api_key: str | None, api_version: str | None) -> None:
        if api_version is not None and api_version not in API_VERSIONS:
            raise ValueError(f"api_version must be one of {', '.join(API_VERSIONS)} (or None: version 1)")
        self.spec = spec
        self._api_key = api_key
        self.version = api_version or "1"
        # version 1 is the default: asking for it means sending no header
        self.calls = CallBuilder(spec, api_key=api_key, api_version="2" if self.version == "2" else None)

    @staticmethod
    def headers(extra: Mapping[str, str] | None) -> dict[str, str]:
        """The headers every request of the client carries (the key is added per call)."""
        return {"User-Agent": f"infsh-harness/{__version__}", **(extra or {})}

    def call(self, operation_id: str, resource_id: str) -> Call:
        if not resource_id:
            raise ValueError("the id must not be empty")
        return self.calls.operation(operation_id, path_params={"id": resource_id})

    def stream_call(self, task_id: str, last_event_id: str | None) -> Call:
        if not task_id:
            raise ValueError("the id must not be empty")
        return self.calls.stream(task_id, last_event_id=last_event_id)

    def run_call(self, app: str, input: Mapping[str, Any], *, wait: bool, optional: Mapping[str, Any]) -> Call:
        body: dict[str, Any] = {"app": app, "input": dict(input)}
        body.update({name: value for name, value in optional.items() if value is not None})
        return self.calls.run(body, wait=None if wait else False)  # the documented default is to wait

    # --- answers ------------------------------------------------------------------------------
    def decode(self, call: Call, response: httpx.Response) -> Any:
        """The documented object of a 2xx answer (a version 1 body unwrapped; ``None`` for a 2xx
        that has no body), or the error it deserves."""
        if not response.is_success:
            raise self.api_error(call, response)
        status = str(response.status_code)
        operation = self.spec.operation(call.operation_id) if call.operation_id else None
        if operation is None or status not in operation.responses:
            raise self._protocol(f"{call.operation_id} answered undocumented status {status}", response)
        schema = self.spec.version_schema_name(operation.operation_id, status, self.version)
        if schema is None:
            if self.spec.response_media_types(operation.operation_id, status):
                raise self._protocol(f"{call.operation_id} {status} has no version {self.version} body", response)
            return None  # 204: documented without a body
        body = self._json_body(response, "application/json")
        problems = tuple(self.spec.validate(schema, body))
        if problems:
            raise self._protocol(
                f"{call.operation_id} {status} body breaks {schema} (version {self.version})", response, problems
            )
        envelope = self.spec.schema(schema)
        wrapped = envelope.get("x-api-version") == "1" and "data" in envelope.get("required", ())
        return body["data"] if wrapped else body

    def _json_body(self, response: httpx.Response, wanted: str | None = None) -> Any:
        media_type = _media_type(response)
        if wanted is not None and media_type != wanted:
            raise self._protocol(f"content type is {media_type or 'missing'}, not {wanted}", response)
        if wanted is None and not _is_json(media_type):
            raise self._protocol(f"content type is {media_type or 'missing'}, not JSON", response)
        try:
            return loads(response.content)
        except ValueError as exc:
            raise self._protocol(f"body is not valid JSON: {exc}", response) from None

    def _protocol(self, message: str, response: httpx.Response, problems: tuple[str, ...] = ()) -> ProtocolError:
        request = response.request
        text = f"{request.method} {request.url.path} -> {response.status_code}: {message}"
        if problems:
            text += f": {problems[0]}" + (f" (+{len(problems) - 1} more)" if len(problems) > 1 else "")
        problems = problems or (message,)
        return ProtocolError(self.redact(text), problems=tuple(map(self.redact, problems)), response=response)

    def api_error(self, call: Call, response: httpx.Response) -> APIError:
        message, code, problems = self._error_body(call, response)
        cls = api_error_class(response.status_code)
        kwargs: dict[str, Any] = {
            "status_code": response.status_code,
            "code": code,
            "response": response,
            "body_problems": problems,
        }
        if issubclass(cls, RateLimitError):
            kwargs["retry_after"] = parse_retry_after(response.headers.get("Retry-After"))
            kwargs["remaining"] = parse_remaining(response.headers.get("X-RateLimit-Remaining"))
            kwargs["reset_at"] = parse_rate_limit_reset(response.headers.get("X-RateLimit-Reset"))
        return cls(message, **kwargs)

    def _error_schema(self, call: Call, status: str) -> tuple[str, str]:
        """The error schema documented for this answer in the client's version, and its media type."""
        documented = (
            self.spec.version_schema_name(call.operation_id, status, self.version) if call.operation_id else None
        )
        name = documented or ("Problem" if self.version == "2" else "Error")
        return name, "application/problem+json" if name == "Problem" else "application/json"

    def _error_body(self, call: Call, response: httpx.Response) -> tuple[str, str | None, tuple[str, ...]]:
        """``(message, code, body_problems)``; an unreadable body still gives a message."""
        fallback = response.reason_phrase or f"HTTP {response.status_code}"
        schema, media = self._error_schema(call, str(response.status_code))
        try:
            body = self._json_body(response)
        except ProtocolError as exc:
            return self.redact(fallback), None, exc.problems
        problems = [] if _media_type(response) == media else [f"content type is {_media_type(response)}, not {media}"]
        problems += self.spec.validate(schema, body)
        code, message = error_code_and_message(body)
        return (
            self.redact(message or fallback),
            self.redact(code) if code else None,
            tuple(map(self.redact, problems)),
        )

    # --- the task stream -------------------------------------------------------------------------
    def check_stream(self, call: Call, response: httpx.Response) -> None:
        """An answer to the stream that is not an event stream raises (its body must be read)."""
        if not response.is_success:
            raise self.api_error(call, response)
        if _media_type(response) != _EVENT_STREAM:
            raise self._protocol(f"content type is {_media_type(response) or 'missing'}, not {_EVENT_STREAM}", response)

    def stream_event(self, sse: ServerSentEvent, response: httpx.Response) -> StreamEvent:
        """One event, checked against the Streaming page: a documented name and a JSON object;
        an ``update``'s data valid against ``TaskUpdate``."""
        names = self.spec.rule("stream-events").params.get("events", ["update", "done", "error"])
        if sse.event not in names:
            raise self._protocol(f"stream event {sse.event!r} is none of {', '.join(names)}", response)
        try:
            data = loads(sse.data) if sse.data else {}
        except ValueError as exc:
            raise self._protocol(f"stream event data is not JSON: {exc}", response) from None
        if not isinstance(data, Mapping):
            raise self._protocol("stream event data is not a JSON object", response)
        update = None
        if sse.event == "update":
            problems = tuple(self.spec.validate(_UPDATE_SCHEMA, data))
            if problems:
                raise self._protocol(f"stream update breaks {_UPDATE_SCHEMA}", response, problems)
            update = TaskUpdate.from_json(data, self.spec)
        return StreamEvent(sse.event, data, sse.id or None, update)

    # --- the rest ---------------------------------------------------------------------------------
    def transport_error(self, exc: httpx.TransportError) -> TransportError:
        request = exc.request
        cls = TransportTimeout if isinstance(exc, httpx.TimeoutException) else TransportError
        text = f"{request.method} {request.url}: {type(exc).__name__}: {exc}"
        return cls(self.redact(text), method=request.method, url=self.redact(str(request.url)))

    def decoding_error(self, exc: httpx.DecodingError) -> ProtocolError:
        text = self.redact(f"response body could not be decoded: {exc}")
        return ProtocolError(text, problems=(text,))

    def wait_timeout(self, task: Task, waited: float) -> WaitTimeout:
        text = f"task {task.id} is not terminal after {waited:.2f} s (last status {task.status})"
        return WaitTimeout(self.redact(text), task=task, waited=waited)

    def redact(self, text: str) -> str:
        return text.replace(self._api_key, _REDACTED) if self._api_key else text


def run_options(
    setup: Mapping[str, Any] | None,
    infra: str | None,
    workers: Sequence[str] | None,
    webhook: str | None,
    session: str | None,
    session_timeout: float | None,
) -> dict[str, Any]:
    return {
        "setup": dict(setup) if setup is not None else None,
        "infra": infra,
        "workers": list(workers) if workers is not None else None,
        "webhook": webhook,
        "session": session,
        "session_timeout": session_timeout,
    }

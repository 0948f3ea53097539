"""The mock's one error map: every error carries its HTTP status, its code and its extra headers.

The model, the request parsing, the injected faults, the connection limits and the ``/_mock/``
controls all raise a ``MockError``; the ASGI layer hands it to the profile's renderer, which alone
decides the body (the documented ``{"error", "code"}``, or the wire profile's problem details).
Nothing else builds an error answer.

    MockError (500 internal_error)
    ├── BadRequest (400 invalid_json)       not readable: not UTF-8 JSON, too large, too deep, badly encoded
    ├── Unauthorized (401)                  no key, or an unknown one
    ├── NotFound (404)                      no such route, task, app or session
    ├── MethodNotAllowed (405)              with ``Allow``
    ├── Conflict (409)                      a session busy with another task
    ├── SessionExpired, SessionEnded (410)
    ├── InvalidRequest (422 validation_error)  readable, but breaks the request schema
    ├── RunEnded (422)                      the wire profile's waited run that ended Failed or Cancelled
    ├── RateLimited (429)                   injected, with ``Retry-After``
    ├── InjectedFault (5xx)                 injected
    └── ConnectionRefused                   answered with ``Connection: close``, the rest left unread:
        ├── BodyTooLarge (400)
        ├── RequestTimeout (408)            the headers did not arrive in time
        ├── HeadersTooLarge (431)
        └── Overloaded (503)                over the connection cap
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

__all__ = [
    "BadRequest",
    "BodyTooLarge",
    "Conflict",
    "ConnectionRefused",
    "HeadersTooLarge",
    "InjectedFault",
    "InvalidRequest",
    "MethodNotAllowed",
    "MockError",
    "NotFound",
    "Overloaded",
    "RateLimited",
    "RequestTimeout",
    "RunEnded",
    "SessionEnded",
    "SessionExpired",
    "Unauthorized",
]

Headers = tuple[tuple[bytes, bytes], ...]


class MockError(Exception):
    status_code: int = 500
    code: str = "internal_error"
    headers: Headers = ()
    # members a renderer may add to the body (the wire profile's problem details carry the task)
    extensions: Mapping[str, Any] = {}

    def __init__(
        self,
        message: str,
        *,
        code: str | None = None,
        status_code: int | None = None,
        extensions: Mapping[str, Any] | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code
        if status_code is not None:
            self.status_code = status_code
        if extensions is not None:
            self.extensions = extensions


class BadRequest(MockError):
    status_code = 400
    code = "invalid_json"


class Unauthorized(MockError):
    status_code = 401
    code = "unauthorized"


class NotFound(MockError):
    status_code = 404
    code = "not_found"


class MethodNotAllowed(MockError):
    status_code = 405
    code = "method_not_allowed"

    def __init__(self, message: str, allow: tuple[str, ...]) -> None:
        super().__init__(message)
        self.allow = allow
        self.headers = ((b"allow", ", ".join(allow).encode()),)


class ConnectionRefused(MockError):
    """An answer after which the connection is closed: the rest of what the client sends is not read."""

    headers = ((b"connection", b"close"),)


class BodyTooLarge(ConnectionRefused):
    status_code = 400
    code = "body_too_large"


class RequestTimeout(ConnectionRefused):
    status_code = 408
    code = "request_timeout"


class Conflict(MockError):
    status_code = 409
    code = "conflict"


class SessionExpired(MockError):
    status_code = 410
    code = "session_expired"


class SessionEnded(MockError):
    status_code = 410
    code = "session_ended"


class InvalidRequest(MockError):
    status_code = 422
    code = "validation_error"


class RunEnded(MockError):
    """A waited run whose task ended without success, answered as an error (the wire profile: its
    status, code and the task as ``extensions``)."""

    status_code = 422


class HeadersTooLarge(ConnectionRefused):
    status_code = 431
    code = "headers_too_large"


class RateLimited(MockError):
    status_code = 429
    code = "rate_limited"

    def __init__(self, message: str, retry_after_s: int) -> None:
        super().__init__(message)
        self.headers = ((b"retry-after", str(retry_after_s).encode()),)


class InjectedFault(MockError):
    """An injected server error, with the 5xx status the faults name."""

    code = "injected_fault"


class Overloaded(ConnectionRefused):
    status_code = 503
    code = "overloaded"

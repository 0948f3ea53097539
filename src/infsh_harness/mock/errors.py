"""The mock's one error map: every error carries its HTTP status, its code, its reason and headers.

The model, the request parsing, the injected faults, the rate limits, the connection limits and the
``/_mock/`` controls all raise a ``MockError``; the ASGI layer hands it to the renderer of the
request's API version, which alone decides the body. Nothing else builds an error answer.

``code`` is the documented code: the REST overview's table (``invalid_request``, ``unauthorized``,
``forbidden``, ``not_found``, ``rate_limited``, ``internal_error``) and the Sessions page's, spelled
as that page spells them (``SESSION_NOT_FOUND`` …); the documented profile sends it (version 1's
``error.code``, the end of version 2's ``type``). ``reason`` is finer (``invalid_json``,
``body_too_deep``, ``task_not_found``, ``session_expired`` …): the documented profile says it in
the message, the wire profile maps it to the code production sends (``data/wire.yaml``).

    MockError (500 internal_error)
    ├── BadRequest (400 invalid_request)    not readable: not UTF-8 JSON, too deep, badly encoded
    │   ├── InvalidRequest                  readable, but breaks the request schema (reason validation_error)
    │   ├── AppMismatch (APP_MISMATCH)      a session continued with another app
    │   └── VersionMismatch (VERSION_MISMATCH)  … with another version than it pinned
    ├── Unauthorized (401)                  no key, or an unknown one
    ├── Forbidden (403)                     the key lacks the scope the operation needs
    ├── NotFound (404)                      no such route, task or app
    │   └── SessionNotFound (SESSION_NOT_FOUND)
    ├── MethodNotAllowed (405)              with ``Allow``
    ├── Conflict (409)
    │   └── WorkerLeased (WORKER_LEASED)    a worker bound to another session (or, on the wire, a busy one)
    ├── SessionExpired, SessionEnded (410 SESSION_EXPIRED, SESSION_ENDED)
    ├── RunEnded (422)                      the wire profile's waited run that ended Failed or Cancelled
    ├── RateLimited (429)                   over a limit, or injected, with ``Retry-After``
    ├── InjectedFault (5xx)                 injected
    └── ConnectionRefused                   answered with ``Connection: close``, the rest left unread:
        ├── BodyTooLarge (400 invalid_request)
        ├── RequestTimeout (408)            the headers did not arrive in time
        ├── HeadersTooLarge (431)
        └── Overloaded (503)                over the connection cap
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from infsh_harness.mock.http import Headers

__all__ = [
    "AppMismatch",
    "BadRequest",
    "BodyTooLarge",
    "Conflict",
    "ConnectionRefused",
    "Forbidden",
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
    "SessionNotFound",
    "Unauthorized",
    "VersionMismatch",
    "WorkerLeased",
]



class MockError(Exception):
    status_code: int = 500
    code: str = "internal_error"  # the documented code
    reason: str = ""  # finer than the code; empty: the code in lower case
    headers: Headers = ()
    # members a renderer may add to the body (the wire profile's problem details carry the task)
    extensions: Mapping[str, Any] = {}

    def __init__(
        self,
        message: str,
        *,
        code: str | None = None,
        reason: str | None = None,
        status_code: int | None = None,
        extensions: Mapping[str, Any] | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code
        self.reason = reason or type(self).reason or self.code.lower()
        if status_code is not None:
            self.status_code = status_code
        if extensions is not None:
            self.extensions = extensions


class BadRequest(MockError):
    status_code = 400
    code = "invalid_request"
    reason = "invalid_json"


class InvalidRequest(BadRequest):
    reason = "validation_error"


class AppMismatch(BadRequest):
    code = "APP_MISMATCH"
    reason = "app_mismatch"


class VersionMismatch(BadRequest):
    code = "VERSION_MISMATCH"
    reason = "version_mismatch"


class Unauthorized(MockError):
    status_code = 401
    code = "unauthorized"


class Forbidden(MockError):
    status_code = 403
    code = "forbidden"


class NotFound(MockError):
    status_code = 404
    code = "not_found"


class SessionNotFound(NotFound):
    code = "SESSION_NOT_FOUND"


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
    code = "invalid_request"
    reason = "body_too_large"


class RequestTimeout(ConnectionRefused):
    status_code = 408
    code = "request_timeout"


class Conflict(MockError):
    status_code = 409
    code = "conflict"


class WorkerLeased(Conflict):
    code = "WORKER_LEASED"


class SessionExpired(MockError):
    status_code = 410
    code = "SESSION_EXPIRED"


class SessionEnded(MockError):
    status_code = 410
    code = "SESSION_ENDED"


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

    def __init__(self, message: str, retry_after_s: int, headers: Headers = ()) -> None:
        super().__init__(message)
        self.headers = ((b"retry-after", str(max(0, retry_after_s)).encode()), *headers)


class InjectedFault(MockError):
    """An injected server error, with the 5xx status the faults name (a 500 is ``internal_error``)."""

    reason = "injected_fault"

    def __init__(self, message: str, *, status_code: int = 500) -> None:
        code = "internal_error" if status_code == 500 else "injected_fault"
        super().__init__(message, status_code=status_code, code=code)


class Overloaded(ConnectionRefused):
    status_code = 503
    code = "overloaded"

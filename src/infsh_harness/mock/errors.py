"""The mock's one error map: every model error carries its HTTP status and code.

``app.py`` renders any ``MockError`` with one function; nothing builds error JSON inline.
"""

from __future__ import annotations

__all__ = [
    "BadRequest",
    "Conflict",
    "MethodNotAllowed",
    "MockError",
    "NotFound",
    "SessionEnded",
    "SessionExpired",
    "Unauthorized",
    "InvalidRequest",
]


class MockError(Exception):
    status_code: int = 500
    code: str = "internal_error"

    def __init__(self, message: str, *, code: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code


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


class SessionExpired(MockError):
    status_code = 410
    code = "session_expired"


class SessionEnded(MockError):
    status_code = 410
    code = "session_ended"


class Conflict(MockError):
    status_code = 409
    code = "conflict"


class InvalidRequest(MockError):
    status_code = 422
    code = "validation_error"

"""
Every error the Tasks API client raises:

* TasksClientError
  x TransportError           the request got no HTTP answer (wraps httpx's transport errors)
    + TransportTimeout       ... because a connect, read, write or pool timeout ran out
  x APIError                 the server answered with a non-2xx status
    + InvalidRequestError    400 (``invalid_request``, a session used with another app or version), 422
    + AuthenticationError    401 (``unauthorized``)
    + PermissionDeniedError  403 (``forbidden``: the key lacks a scope)
    + NotFoundError          404 (``not_found``, ``SESSION_NOT_FOUND``)
    + ConflictError          409 (``WORKER_LEASED``)
    + GoneError              410 (``SESSION_EXPIRED``, ``SESSION_ENDED``)
    + RateLimitError         429 (``rate_limited``), with ``retry_after`` and the rate-limit headers
    + ServerError            5xx (``internal_error``)
  x ProtocolError            a 2xx answer (or a webhook body, or a stream event) the client cannot
                             trust: not JSON, the wrong content type, undecodable, an undocumented
                             2xx status, or a body that breaks the spec's schema for the version asked for
  x WaitTimeout              ``wait_for_terminal`` reached its deadline; carries the last task seen
                               (in ``results.py``, beside the ``Task``)

Any other non-2xx status (405, 3xx, ...) raises a plain ``APIError``. The status decides the
class whatever the body; the code and message are read from either documented error body
(version 1's ``{"success": false, "status", "error": {"code", "message"}}``, version 2's RFC 9457
problem, whose ``type`` ends with the code) or from an undocumented ``{"error", "code"}``, and
what was wrong with the body is kept in ``APIError.body_problems``.

No message or ``repr`` of these errors contains the API key: the client redacts it before it builds
a message, and the objects kept on the errors (``httpx.Response``, the task) print no headers.
"""

from __future__ import annotations

import email.utils
import math
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

import httpx

__all__ = [
    "APIError",
    "AuthenticationError",
    "ConflictError",
    "GoneError",
    "InvalidRequestError",
    "NotFoundError",
    "PermissionDeniedError",
    "ProtocolError",
    "RateLimitError",
    "ServerError",
    "TasksClientError",
    "TransportError",
    "TransportTimeout",
    "api_error_class",
    "error_code_and_message",
    "parse_rate_limit_reset",
    "parse_remaining",
    "parse_retry_after",
]


class TasksClientError(Exception):
    """Root of every error the Tasks API client raises; ``except TasksClientError`` catches them all."""


class TransportError(TasksClientError):
    """No HTTP answer: the connection failed, broke, or a timeout ran out.

    ``__cause__`` is the ``httpx`` exception; ``method`` and ``url`` name the request.
    """

    def __init__(self, message: str, *, method: str, url: str) -> None:
        super().__init__(message)
        self.method = method
        self.url = url


class TransportTimeout(TransportError):
    """A connect, read, write or pool timeout ran out (``httpx.TimeoutException``)."""


class APIError(TasksClientError):
    """The server answered with a non-2xx status.

    ``status_code``; ``code`` and ``message`` from the error body, whichever documented shape it
    has (``code`` is ``None`` when the body names none; ``message`` falls back to the reason
    phrase); ``response`` (the ``httpx.Response``); ``body_problems`` lists how the body broke the
    error schema documented for the API version asked for (empty when it did not).
    """

    def __init__(
        self,
        message: str,
        *,
        status_code: int,
        code: str | None,
        response: httpx.Response,
        body_problems: tuple[str, ...] = (),
    ) -> None:
        super().__init__(f"HTTP {status_code}: {message}" + (f" ({code})" if code else ""))
        self.status_code = status_code
        self.message = message
        self.code = code
        self.response = response
        self.body_problems = body_problems


class InvalidRequestError(APIError):
    """400: a malformed request (``invalid_request``: not JSON, or it breaks the request schema), or a
    session used with another app (``APP_MISMATCH``) or after its app's version changed
    (``VERSION_MISMATCH``); also 422, which some servers answer for a request they cannot process."""


class AuthenticationError(APIError):
    """401: no bearer key, or one the server does not know."""


class PermissionDeniedError(APIError):
    """403: the key lacks a permission the operation needs (``apps:read``, ``apps:execute``)."""


class NotFoundError(APIError):
    """404: unknown (or another key's) task, unknown app, or unknown session."""


class ConflictError(APIError):
    """409: the worker the run needs is bound to another session (``WORKER_LEASED``)."""


class GoneError(APIError):
    """410: the session has expired (``SESSION_EXPIRED``) or was ended (``SESSION_ENDED``)."""


class RateLimitError(APIError):
    """429. ``retry_after``: the server's ``Retry-After`` in seconds; ``remaining``: its
    ``X-RateLimit-Remaining``; ``reset_at``: when the window resets, from ``X-RateLimit-Reset``
    (Unix seconds), as an aware UTC datetime. Each is ``None`` if absent or unreadable."""

    def __init__(
        self,
        message: str,
        *,
        status_code: int,
        code: str | None,
        response: httpx.Response,
        body_problems: tuple[str, ...] = (),
        retry_after: float | None = None,
        remaining: int | None = None,
        reset_at: datetime | None = None,
    ) -> None:
        super().__init__(message, status_code=status_code, code=code, response=response, body_problems=body_problems)
        self.retry_after = retry_after
        self.remaining = remaining
        self.reset_at = reset_at


class ServerError(APIError):
    """5xx: the server failed."""


class ProtocolError(TasksClientError):
    """A 2xx answer, a webhook body given to ``parse_webhook`` or a stream event, that the client cannot use.

    ``problems`` lists what was wrong (schema messages, or one line for a content type or JSON
    error); ``response`` is the ``httpx.Response``, or ``None`` when the body did not come from an
    HTTP response (``parse_webhook``).
    """

    def __init__(self, message: str, *, problems: tuple[str, ...] = (), response: httpx.Response | None = None) -> None:
        super().__init__(message)
        self.problems = problems
        self.response = response


_CLASS_BY_STATUS: dict[int, type[APIError]] = {
    400: InvalidRequestError,
    401: AuthenticationError,
    403: PermissionDeniedError,
    404: NotFoundError,
    409: ConflictError,
    410: GoneError,
    422: InvalidRequestError,
    429: RateLimitError,
}


def api_error_class(status_code: int) -> type[APIError]:
    """The class raised for a non-2xx ``status_code``."""
    if status_code >= 500:
        return ServerError
    return _CLASS_BY_STATUS.get(status_code, APIError)


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def error_code_and_message(body: Any) -> tuple[str | None, str | None]:
    """``(code, message)`` of an error body of any shape the client knows: version 1's wrapper (and
    the earlier ``{"error": {"code", "message"}}``), version 2's problem (the code is the last
    segment of ``type``; the message its ``detail``, else its ``title``), or ``{"error", "code"}``."""
    if not isinstance(body, Mapping):
        return None, None
    inner = body.get("error")
    if isinstance(inner, Mapping):
        return _text(inner.get("code")), _text(inner.get("message"))
    problem_type = _text(body.get("type"))
    if problem_type is not None:
        code = problem_type.rstrip("/").rsplit("/", 1)[-1] or None
        return code, _text(body.get("detail")) or _text(body.get("title"))
    return _text(body.get("code")), _text(inner)


def parse_retry_after(value: str | None, *, now: datetime | None = None) -> float | None:
    """Seconds to wait from a ``Retry-After`` value: delta-seconds or an HTTP-date (RFC 9110 §10.2.3).

    A date in the past gives 0; a missing, negative or unreadable value gives ``None``.
    """
    if value is None:
        return None
    text = value.strip()
    try:
        seconds = float(text)  # delta-seconds; a decimal is not in the RFC but costs nothing to read
    except ValueError:
        pass
    else:
        return seconds if math.isfinite(seconds) and seconds >= 0 else None
    try:
        when = email.utils.parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:  # "-0000" zone: RFC 5322 says UTC
        when = when.replace(tzinfo=UTC)
    seconds = (when - (now or datetime.now(UTC))).total_seconds()
    return max(0.0, seconds) if math.isfinite(seconds) else None


def parse_rate_limit_reset(value: str | None) -> datetime | None:
    """The instant an ``X-RateLimit-Reset`` names: Unix time in seconds, as the REST overview's
    example is (``1640000000``); ``None`` when missing, negative or unreadable."""
    if value is None:
        return None
    try:
        seconds = float(value.strip())
    except ValueError:
        return None
    if not math.isfinite(seconds) or seconds < 0:
        return None
    try:
        return datetime.fromtimestamp(seconds, UTC)
    except (OverflowError, OSError, ValueError):
        return None


def parse_remaining(value: str | None) -> int | None:
    """An ``X-RateLimit-Remaining``: a whole number, never negative; ``None`` otherwise."""
    text = (value or "").strip()
    return int(text) if text.isdigit() else None

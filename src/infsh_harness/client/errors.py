"""
Every error the Tasks API client raises:

* HarnessError
  x TransportError         the request got no HTTP answer (wraps httpx's transport errors)
    + TransportTimeout     ... because a connect, read, write or pool timeout ran out
  x APIError               the server answered with a non-2xx status
    + ValidationError      400, 422
    + AuthenticationError  401
    + NotFoundError        404
    + ConflictError        409, 410 (e.g. session expired)
    + RateLimitError       429, with ``retry_after`` seconds
    + ServerError          5xx
  x ProtocolError          a 2xx answer (or a webhook body) the client cannot trust: not JSON, not
                           ``application/json``, undecodable, an undocumented 2xx status, or a body
                           that breaks the spec's schema
  x WaitTimeout            ``wait_for_terminal`` reached its deadline; carries the last task seen

Any other non-2xx status (403, 405, 3xx, ...) raises a plain ``APIError``. The status decides the
class even when an error body is not the documented ``Error`` object; what was wrong with the body
is kept in ``APIError.body_problems``.

No message or ``repr`` of these errors contains the API key: the client redacts it before it builds
a message, and the objects kept on the errors (``httpx.Response``, the task) print no headers.
"""

from __future__ import annotations

import email.utils
import math
from datetime import UTC, datetime
from typing import TYPE_CHECKING

import httpx

if TYPE_CHECKING:
    from infsh_harness.client import Task

__all__ = [
    "APIError",
    "AuthenticationError",
    "ConflictError",
    "HarnessError",
    "NotFoundError",
    "ProtocolError",
    "RateLimitError",
    "ServerError",
    "TransportError",
    "TransportTimeout",
    "ValidationError",
    "WaitTimeout",
    "api_error_class",
    "parse_retry_after",
]


class HarnessError(Exception):
    """Root of every error the client raises; ``except HarnessError`` catches them all."""


class TransportError(HarnessError):
    """No HTTP answer: the connection failed, broke, or a timeout ran out.

    ``__cause__`` is the ``httpx`` exception; ``method`` and ``url`` name the request.
    """

    def __init__(self, message: str, *, method: str, url: str) -> None:
        super().__init__(message)
        self.method = method
        self.url = url


class TransportTimeout(TransportError):
    """A connect, read, write or pool timeout ran out (``httpx.TimeoutException``)."""


class APIError(HarnessError):
    """The server answered with a non-2xx status.

    ``status_code``; ``message`` and ``code`` from the documented ``Error`` body (``code`` is
    ``None`` when absent; ``message`` falls back to the reason phrase); ``response`` (the
    ``httpx.Response``); ``body_problems`` lists how the body broke the ``Error`` schema (empty
    when it did not).
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


class ValidationError(APIError):
    """400 (the body is not a JSON object) or 422 (it breaks the request schema)."""


class AuthenticationError(APIError):
    """401: no bearer key, or one the server does not know."""


class NotFoundError(APIError):
    """404: unknown (or another key's) task, unknown app, or unknown session."""


class ConflictError(APIError):
    """409 (a conflict, e.g. a busy worker) or 410 (the session has expired)."""


class RateLimitError(APIError):
    """429. ``retry_after`` is the server's ``Retry-After`` in seconds, ``None`` if absent or unreadable."""

    def __init__(
        self,
        message: str,
        *,
        status_code: int,
        code: str | None,
        response: httpx.Response,
        body_problems: tuple[str, ...] = (),
        retry_after: float | None = None,
    ) -> None:
        super().__init__(message, status_code=status_code, code=code, response=response, body_problems=body_problems)
        self.retry_after = retry_after


class ServerError(APIError):
    """5xx: the server failed."""


class ProtocolError(HarnessError):
    """A 2xx answer, or a webhook body given to ``parse_webhook``, that the client cannot use.

    ``problems`` lists what was wrong (schema messages, or one line for a content type or JSON
    error); ``response`` is the ``httpx.Response``, or ``None`` when the body did not come from an
    HTTP response (``parse_webhook``).
    """

    def __init__(self, message: str, *, problems: tuple[str, ...] = (), response: httpx.Response | None = None) -> None:
        super().__init__(message)
        self.problems = problems
        self.response = response


class WaitTimeout(HarnessError):
    """``wait_for_terminal`` reached its deadline before the task became terminal.

    ``task`` is the last task read (never terminal), ``waited`` the seconds spent waiting.
    """

    def __init__(self, message: str, *, task: Task, waited: float) -> None:
        super().__init__(message)
        self.task = task
        self.waited = waited


_CLASS_BY_STATUS: dict[int, type[APIError]] = {
    400: ValidationError,
    401: AuthenticationError,
    404: NotFoundError,
    409: ConflictError,
    410: ConflictError,
    422: ValidationError,
    429: RateLimitError,
}


def api_error_class(status_code: int) -> type[APIError]:
    """The class raised for a non-2xx ``status_code``."""
    if status_code >= 500:
        return ServerError
    return _CLASS_BY_STATUS.get(status_code, APIError)


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

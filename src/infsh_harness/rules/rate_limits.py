"""The REST overview's rate limits: ``rate-limits``, ``rate-limit-headers``, ``rate-limited-429`` and
``retry-after-valid``.

Run task is limited to 100 requests a minute and Get task to 1000; their answers carry
``X-RateLimit-Remaining`` (requests left) and ``X-RateLimit-Reset`` (when the window resets, Unix
time in seconds); a request over the limit gets 429 ``rate_limited``. The pages do not mention
``Retry-After``; when a 429 carries it, HTTP says what it holds (RFC 9110 §10.2.3). The decisions
on plain values come first, then the checks over observations (``False``: the exchange says
nothing about the rule; ``True``: it held; a ``ContractViolation``: it is broken).
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from email.utils import parsedate_to_datetime

from infsh_harness.http.observation import Observation
from infsh_harness.rules.exchange import applies, is_success, operation_of
from infsh_harness.rules.predicates import media_type
from infsh_harness.rules.versions import error_code, error_shape
from infsh_harness.rules.violation import violation
from infsh_harness.spec import Spec

__all__ = [
    "REMAINING",
    "RESET",
    "RETRY_AFTER",
    "check_limit_enforced",
    "check_rate_limit_headers",
    "check_rate_limited_429",
    "check_rate_limits",
    "check_retry_after",
    "none_left",
    "per_minute",
    "rate_limit_header_problems",
    "remaining_within",
    "retry_after_valid",
    "whole_number",
]

REMAINING, RESET, RETRY_AFTER = "x-ratelimit-remaining", "x-ratelimit-reset", "retry-after"
RESET_SLACK_S = 86_400.0  # a reset more than a day from now is no Unix time of a per-minute window
LIMITED = 429


# --- decisions on plain values ---------------------------------------------------------------------
def whole_number(value: str | None) -> int | None:
    """A header's value as a whole number (digits only, RFC 9110's delta-seconds), else ``None``."""
    text = (value or "").strip()
    return int(text) if text.isascii() and text.isdigit() else None


def rate_limit_header_problems(headers: Mapping[str, str], now: float) -> list[str]:
    """rate-limit-headers: how the two headers (names lower-case) break the page's description:
    ``X-RateLimit-Remaining`` a whole number, ``X-RateLimit-Reset`` a Unix time in seconds (within a
    day of ``now``: a count of seconds to wait, or milliseconds, is not)."""
    problems = []
    remaining, reset = headers.get(REMAINING), headers.get(RESET)
    if remaining is None:
        problems.append("no X-RateLimit-Remaining")
    elif whole_number(remaining) is None:
        problems.append(f"X-RateLimit-Remaining is {remaining!r}, not a whole number")
    if reset is None:
        problems.append("no X-RateLimit-Reset")
    elif (instant := whole_number(reset)) is None:
        problems.append(f"X-RateLimit-Reset is {reset!r}, not a Unix time in seconds")
    elif abs(instant - now) > RESET_SLACK_S:
        problems.append(f"X-RateLimit-Reset is {reset}, not a Unix time in seconds near now ({int(now)})")
    return problems


def remaining_within(remaining: int, limit: int) -> bool:
    """rate-limits: no more requests are left than the operation's documented limit allows."""
    return remaining <= limit


def none_left(headers: Mapping[str, str], now: float) -> bool:
    """An answer said no request is left (``X-RateLimit-Remaining: 0``) in a window that resets more
    than a second after ``now``: the next request of the operation is over the limit."""
    remaining, reset = whole_number(headers.get(REMAINING)), whole_number(headers.get(RESET))
    return remaining == 0 and reset is not None and reset - now > 1


def retry_after_valid(value: str) -> bool:
    """retry-after-valid: delta-seconds or an HTTP date (RFC 9110 §10.2.3)."""
    if whole_number(value) is not None:
        return True
    try:
        parsedate_to_datetime(value.strip())
    except (TypeError, ValueError, IndexError):
        return False
    return True


def per_minute(spec: Spec, operation_id: str | None) -> int | None:
    """The documented limit of an operation, per minute (``None``: not rate limited by the pages)."""
    limits: Mapping[str, int] = spec.rule("rate-limits").params.get("per-minute", {})
    return int(limits[operation_id]) if operation_id is not None and operation_id in limits else None


# --- checks over observations ---------------------------------------------------------------------
def check_rate_limit_headers(spec: Spec, obs: Observation, now: float | None = None) -> bool:
    """rate-limit-headers: a success of a rate-limited operation carries both headers, well formed
    (a 429's headers are rule ``rate-limited-429``'s)."""
    if not applies(spec, "rate-limit-headers", obs) or not is_success(obs):
        return False
    problems = rate_limit_header_problems(obs.response_headers, time.time() if now is None else now)
    if problems:
        detail = f"{operation_of(spec, obs)} answered {obs.status_code} with {'; '.join(problems)}"
        raise violation(spec, "rate-limit-headers", detail, obs)
    return True


def check_rate_limits(spec: Spec, obs: Observation) -> bool:
    """rate-limits: the requests left, as an answer says, never exceed the operation's documented limit."""
    operation_id = operation_of(spec, obs) if applies(spec, "rate-limits", obs) else None
    limit = per_minute(spec, operation_id)
    remaining = whole_number(obs.response_headers.get(REMAINING))
    if limit is None or remaining is None:
        return False
    if not remaining_within(remaining, limit):
        detail = f"{operation_id} says X-RateLimit-Remaining {remaining}, over its limit of {limit} a minute"
        raise violation(spec, "rate-limits", detail, obs)
    return True


def check_rate_limited_429(spec: Spec, obs: Observation, now: float | None = None) -> bool:
    """rate-limited-429: a 429 of a rate-limited operation is the error ``rate_limited``, with both headers."""
    if obs.status_code != LIMITED or not applies(spec, "rate-limited-429", obs):
        return False
    # the code as version 1 gives it (a problem's type is rule problem-type-code's)
    code = (
        error_code(obs.body)
        if obs.body_is_json and error_shape(obs.body, media_type(obs.content_type)) != "2"
        else None
    )
    if code is not None and code != "rate_limited":
        detail = f"{operation_of(spec, obs)} answered 429 with error code {code!r}, not 'rate_limited'"
        raise violation(spec, "rate-limited-429", detail, obs)
    problems = rate_limit_header_problems(obs.response_headers, time.time() if now is None else now)
    if problems:
        detail = f"{operation_of(spec, obs)} answered 429 with {'; '.join(problems)}"
        raise violation(spec, "rate-limited-429", detail, obs)
    return True


def check_limit_enforced(spec: Spec, before: Observation, after: Observation, now: float) -> bool:
    """rate-limited-429: a request of the same operation as ``before``, which said none was left in
    its window, sent at ``now`` (before the window reset), is refused with 429, not served."""
    if operation_of(spec, before) != operation_of(spec, after) or not applies(spec, "rate-limited-429", after):
        return False
    if not none_left(before.response_headers, now):
        return False
    if is_success(after):
        detail = (
            f"{operation_of(spec, after)} answered {after.status_code} right after an answer said "
            f"X-RateLimit-Remaining 0 until {before.response_headers.get(RESET)}"
        )
        raise violation(spec, "rate-limited-429", detail, after)
    return after.status_code == LIMITED


def check_retry_after(spec: Spec, obs: Observation) -> bool:
    """retry-after-valid: a 429's ``Retry-After``, when it has one, is delta-seconds or an HTTP date."""
    value = obs.response_headers.get(RETRY_AFTER)
    if obs.status_code != LIMITED or value is None or obs.source == "webhook":
        return False
    if not retry_after_valid(value):
        detail = f"a 429 carries Retry-After {value!r}: neither a number of seconds nor an HTTP date"
        raise violation(spec, "retry-after-valid", detail, obs)
    return True

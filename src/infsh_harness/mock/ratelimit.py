"""Rate limits per key and operation, over one-minute windows, on an injected clock (no HTTP).

The REST overview limits Run task to 100 requests a minute and Get task to 1000 (rule
``rate-limits``, read from the spec); every answer of a limited operation carries
``X-RateLimit-Remaining`` (never negative) and ``X-RateLimit-Reset`` (the window's end, Unix
seconds; rule ``rate-limit-headers``), and a request over the limit is refused with 429
``rate_limited``, those headers and ``Retry-After`` in seconds (rule ``rate-limited-429``).

The mock is generous by default (``MockConfig.rate_limit_scale``, 10,000 times the pages' numbers,
more than one mock process can serve) so that load runs are not throttled unless asked;
``rate_limit_scale=1`` serves the pages' numbers, ``rate_limits`` sets an operation's own. A window
is the clock's minute (``floor(now / 60)``), kept per key and operation: memory is bounded by the
keys the mock accepts.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Mapping
from typing import NamedTuple

from infsh_harness.mock.errors import RateLimited
from infsh_harness.mock.models import Clock

__all__ = ["WINDOW_S", "Quota", "RateLimiter"]

WINDOW_S = 60.0
_FRESH = (None, 0)  # a slot not seen yet: no window, no request counted
Headers = tuple[tuple[bytes, bytes], ...]


class Quota(NamedTuple):
    """What is left of one key's window for one operation, after a request was counted (a tuple:
    one is made for every answer of a limited operation)."""

    limit: int
    remaining: int
    reset_at: int  # Unix seconds

    @property
    def headers(self) -> Headers:
        return ((b"x-ratelimit-remaining", str(self.remaining).encode()), _reset_header(self.reset_at))


@functools.lru_cache(maxsize=64)
def _reset_header(reset_at: int) -> tuple[bytes, bytes]:
    """The ``X-RateLimit-Reset`` header of a window (the same for every request of the minute)."""
    return (b"x-ratelimit-reset", str(reset_at).encode())


class RateLimiter:
    """``take(key, operation)`` counts a request: its ``Quota``, or ``RateLimited`` over the limit."""

    def __init__(self, limits: Mapping[str, int], clock: Clock) -> None:
        self.limits = dict(limits)  # operation id -> requests per window
        self.clock = clock
        self._windows: dict[tuple[str, str], tuple[int, int]] = {}  # (key, operation) -> (window, count)

    @classmethod
    def scaled(
        cls, documented: Mapping[str, int], scale: float, overrides: Mapping[str, int], clock: Clock
    ) -> RateLimiter:
        """The pages' limits times ``scale`` (at least 1), with ``overrides`` taking precedence."""
        limits = {op: max(1, math.floor(n * scale)) for op, n in documented.items()}
        return cls({**limits, **overrides}, clock)

    def limited(self, operation: str) -> bool:
        return operation in self.limits

    def take(self, key: str, operation: str) -> Quota:
        limit = self.limits[operation]
        now = self.clock.now()
        window = math.floor(now / WINDOW_S)
        reset_at = int((window + 1) * WINDOW_S)
        slot = (key, operation)
        seen, count = self._windows.get(slot, _FRESH)
        if seen != window:
            count = 0
        if count >= limit:
            quota = Quota(limit, 0, reset_at)
            retry_after = max(1, math.ceil(reset_at - now))
            raise RateLimited(
                f"more than {limit} requests a minute; try again in {retry_after} s", retry_after, quota.headers
            )
        self._windows[slot] = (window, count + 1)
        return Quota(limit, limit - count - 1, reset_at)

    def reset(self) -> None:
        self._windows.clear()

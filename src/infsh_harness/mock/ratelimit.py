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

import math
from collections.abc import Mapping

from infsh_harness.mock.errors import RateLimited
from infsh_harness.mock.http import Headers
from infsh_harness.mock.models import Clock

__all__ = ["WINDOW_S", "Headers", "RateLimiter"]

WINDOW_S = 60.0
_REMAINING = b"x-ratelimit-remaining"


class _Window:
    """One key's current window for one operation: its end, its limit, the requests counted."""

    __slots__ = ("reset_at", "limit", "count", "reset_header")

    def __init__(self, now: float, limit: int) -> None:
        self.reset_at = int((math.floor(now / WINDOW_S) + 1) * WINDOW_S)  # Unix seconds
        self.limit = limit
        self.count = 0
        self.reset_header = (b"x-ratelimit-reset", str(self.reset_at).encode())


class RateLimiter:
    """``take(key, operation)`` counts a request: the headers its answer carries, or ``RateLimited``
    over the limit. Every answer of a limited operation counts one, so this costs a dict lookup and
    one formatted number."""

    def __init__(self, limits: Mapping[str, int], clock: Clock) -> None:
        self.limits = dict(limits)  # operation id -> requests per window
        self.clock = clock
        self._windows: dict[tuple[str, str], _Window] = {}  # (key, operation) -> its current window

    @classmethod
    def scaled(
        cls, documented: Mapping[str, int], scale: float, overrides: Mapping[str, int], clock: Clock
    ) -> RateLimiter:
        """The pages' limits times ``scale`` (at least 1), with ``overrides`` taking precedence."""
        limits = {op: max(1, math.floor(n * scale)) for op, n in documented.items()}
        return cls({**limits, **overrides}, clock)

    def take(self, key: str, operation: str) -> Headers:
        now = self.clock.now()
        slot = (key, operation)
        window = self._windows.get(slot)
        if window is None or not window.reset_at - WINDOW_S <= now < window.reset_at:
            window = self._windows[slot] = _Window(now, self.limits[operation])
        if window.count >= window.limit:
            retry_after = max(1, math.ceil(window.reset_at - now))
            raise RateLimited(
                f"more than {window.limit} requests a minute; try again in {retry_after} s",
                retry_after,
                ((_REMAINING, b"0"), window.reset_header),
            )
        window.count += 1
        return ((_REMAINING, str(window.limit - window.count).encode()), window.reset_header)

    def reset(self) -> None:
        self._windows.clear()

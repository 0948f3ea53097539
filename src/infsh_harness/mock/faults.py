"""Injected faults: the settings in force, and what they do to one public request.

The request path asks :meth:`FaultInjector.on_request` only when faults are set (``current is not
NO_FAULTS``: one identity check otherwise). A fault is a ``MockError`` like any other, rendered by
the profile's renderer.
"""

from __future__ import annotations

import asyncio
import random

from infsh_harness.mock.config import NO_FAULTS, Faults
from infsh_harness.mock.errors import InjectedFault, RateLimited

__all__ = ["FaultInjector"]


class FaultInjector:
    """The faults in force (the configured ones until ``/_mock/faults`` changes them)."""

    def __init__(self, configured: Faults, rng: random.Random) -> None:
        self.configured = configured.normalized()
        self.current = self.configured
        self._rng = rng

    def set(self, faults: Faults) -> None:
        self.current = faults.normalized()

    def reset(self) -> None:
        self.current = self.configured

    @property
    def active(self) -> bool:
        return self.current is not NO_FAULTS

    async def on_request(self) -> None:
        """Delay the request, or raise the fault it gets, as the settings say."""
        faults, rng = self.current, self._rng
        if faults.latency_ms_max or faults.latency_ms_min:
            low, high = faults.latency_ms_min, max(faults.latency_ms_max, faults.latency_ms_min)
            await asyncio.sleep(rng.uniform(low, high) / 1000.0)
        if faults.rate_limit_rate and rng.random() < faults.rate_limit_rate:
            raise RateLimited("rate limited (injected fault)", faults.retry_after_s)
        if faults.error_rate and rng.random() < faults.error_rate:
            raise InjectedFault("injected server error", status_code=faults.error_status)

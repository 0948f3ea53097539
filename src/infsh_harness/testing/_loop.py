"""An event loop on its own thread whose time is a ``FakeClock``, for the mock behind a respx router.

The mock (``mock/app.py``, ``mock/lifecycle.py``) sleeps on the loop's timers: a waited run until its
task ends, a long poll until it changes. Here the loop's ``time()`` is the clock's, and while a
request is being answered a sleep does not wait: the clock jumps to the loop's next timer, as if the
server had waited that long. Between requests the clock moves only when the test says so
(``FakeClock.advance``), so a task's status is exactly what the test's clock makes it.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import selectors
import threading
from collections.abc import Coroutine
from typing import Any, TypeVar

from infsh_harness.mock.models import FakeClock

__all__ = ["ClockLoop"]

T = TypeVar("T")

_RESOLUTION_S = 1e-6

# how long one answer may take in real time: the mock answers in milliseconds, a hang is a bug
ANSWER_TIMEOUT_S = 30.0


class _Selector(selectors.DefaultSelector):
    """``select(timeout)`` that, while a request is in flight, moves the clock instead of sleeping."""

    def __init__(self, clock: FakeClock) -> None:
        super().__init__()
        self.clock = clock
        self.in_flight = 0

    def select(self, timeout: float | None = None) -> list[tuple[selectors.SelectorKey, int]]:
        if self.in_flight and timeout is not None and timeout > 0:
            ready: list[tuple[selectors.SelectorKey, int]] = super().select(0)
            if not ready:
                self.clock.advance(timeout)
            return ready
        result: list[tuple[selectors.SelectorKey, int]] = super().select(timeout)
        return result


class _ClockEventLoop(asyncio.SelectorEventLoop):
    def __init__(self, clock: FakeClock) -> None:
        self.selector = _Selector(clock)
        super().__init__(self.selector)
        self.clock = clock
        # a timer is due when it is within this of the clock: a float of about 1.7e9 seconds moves in
        # steps of 2.4e-7, far coarser than the monotonic clock's resolution the loop assumes
        self._clock_resolution = _RESOLUTION_S

    def time(self) -> float:
        return self.clock.now()


class ClockLoop:
    """The loop and its thread: ``call(coroutine)`` runs it there and returns its result."""

    def __init__(self, clock: FakeClock) -> None:
        self.clock = clock
        self.loop = _ClockEventLoop(clock)
        self._thread = threading.Thread(target=self._run, name="infsh-respx-mock", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        asyncio.set_event_loop(self.loop)
        self.loop.run_forever()

    def submit(self, coroutine: Coroutine[Any, Any, T]) -> concurrent.futures.Future[T]:
        """Start ``coroutine`` on the loop as a request in flight (time runs ahead until it is done)."""

        async def answered() -> T:
            self.loop.selector.in_flight += 1
            try:
                return await coroutine
            finally:
                self.loop.selector.in_flight -= 1

        return asyncio.run_coroutine_threadsafe(answered(), self.loop)

    def call(self, coroutine: Coroutine[Any, Any, T]) -> T:
        return self.submit(coroutine).result(ANSWER_TIMEOUT_S)

    def wake(self) -> None:
        """Let the loop look at its timers again (the clock moved)."""
        self.loop.call_soon_threadsafe(lambda: None)

    def run_quietly(self, coroutine: Coroutine[Any, Any, None]) -> None:
        """Run ``coroutine`` on the loop without moving the clock (shutting the mock down)."""
        asyncio.run_coroutine_threadsafe(coroutine, self.loop).result(ANSWER_TIMEOUT_S)

    def close(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(ANSWER_TIMEOUT_S)
        if not self._thread.is_alive():
            self.loop.close()

"""The server under test as the suite drives it: within one overall deadline, every request bounded.

:class:`SuiteClock` holds the suite's deadline (``--suite-deadline``) and the per-request timeout
(``--request-timeout``); :class:`SuiteDriver` is the raw driver sending every request within both,
keeping every answer (the rules about *every* answer read them at the end). A request the target
does not answer in time ends the whole run: :class:`TargetStopped` (or :class:`SuiteDeadline` once
the deadline has passed), which the suite reports with the rule it was checking, exit 2.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterable
from typing import Any

import httpx

from infsh_harness.http.calls import Call
from infsh_harness.http.driver import Driver
from infsh_harness.http.observation import Observation
from infsh_harness.spec import Spec

__all__ = ["AnswerLog", "SuiteClock", "SuiteDeadline", "SuiteDriver", "SuiteStopped", "TargetStopped"]

_FLOOR_S = 0.05  # the shortest timeout worth sending a request with


class SuiteStopped(Exception):
    """The run cannot go on (not a rule violation: the suite reports it and exits 2)."""


class TargetStopped(SuiteStopped):
    """The target did not answer a request within its timeout."""


class SuiteDeadline(SuiteStopped):
    """The suite's overall deadline passed."""


class SuiteClock:
    """One overall deadline for the run, and the timeout of a single request."""

    def __init__(self, deadline_s: float, request_timeout_s: float, started: float | None = None) -> None:
        self.deadline_s = deadline_s
        self.request_timeout_s = request_timeout_s
        self.started = time.monotonic() if started is None else started

    def remaining(self) -> float:
        return self.deadline_s - (time.monotonic() - self.started)

    @property
    def expired(self) -> bool:
        return self.remaining() <= 0

    def check(self) -> None:
        if self.expired:
            raise SuiteDeadline(f"the suite's deadline of {self.deadline_s:g} s passed")

    def bound(self, seconds: float) -> float:
        """``seconds`` cut to what is left of the deadline (``SuiteDeadline`` when nothing is)."""
        self.check()
        return max(min(seconds, self.remaining()), _FLOOR_S)


class AnswerLog:
    """Every answer the suite's drivers received, in order (thread-safe)."""

    def __init__(self) -> None:
        self._items: list[Observation] = []
        self._lock = threading.Lock()

    def add(self, obs: Observation) -> None:
        with self._lock:
            self._items.append(obs)

    def all(self) -> list[Observation]:
        with self._lock:
            return list(self._items)


class SuiteDriver(Driver):
    """A :class:`Driver` whose every request is bounded by the request timeout and the suite's deadline.

    A waited run may take as long as a task does (``wait_s``) on top of the request timeout. A
    caller passing its own ``timeout_s`` (a ``wait=false`` run's deadline) gets the timeout back as
    ``httpx.TimeoutException`` to judge; any other unanswered request is :class:`TargetStopped`."""

    def __init__(
        self,
        base_url: str,
        api_key: str | None,
        spec: Spec,
        *,
        clock: SuiteClock,
        log: AnswerLog,
        wait_s: float,
        secrets: Iterable[str] = (),
        **options: Any,
    ) -> None:
        super().__init__(base_url, api_key, spec, timeout_s=clock.request_timeout_s, secrets=secrets, **options)
        self.clock = clock
        self.log = log
        self.wait_s = wait_s

    def _timeout(self, call: Call, asked: float | None) -> float:
        if asked is not None:
            return self.clock.bound(asked)
        waits = call.operation_id == "runTask" and call.params.get("wait") != "false"
        return self.clock.bound(self.clock.request_timeout_s + (self.wait_s if waits else 0.0))

    def observe(self, call: Call, *, timeout_s: float | None = None, scenario: str | None = None) -> Observation:
        timeout = self._timeout(call, timeout_s)
        try:
            obs = super().observe(call, timeout_s=timeout, scenario=scenario)
        except httpx.TimeoutException:
            self.clock.check()
            if timeout_s is not None:
                raise
            raise TargetStopped(f"{call.method} {call.template} was not answered within {timeout:g} s") from None
        except httpx.TransportError as exc:
            raise TargetStopped(f"{call.method} {call.template} failed: {type(exc).__name__}") from None
        self.log.add(obs)
        return obs

"""The ``/_mock/`` control API: reset (tasks, sessions, rate-limit windows, faults, timing), faults,
timing, webhook attempts, stats. Not part of the spec.

Every control request needs ``Authorization: Bearer <key>`` with a key the mock accepts (one of
``MockConfig.keys``, ``INFSH_MOCK_KEYS`` on the command line): the controls are exactly as open as
the API they control. Without it: 401 and the error body. Controls are never faulted.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from infsh_harness.mock.config import Faults, MockConfig
from infsh_harness.mock.errors import InvalidRequest, MethodNotAllowed, NotFound
from infsh_harness.mock.faults import FaultInjector
from infsh_harness.mock.http import Request, Response
from infsh_harness.mock.lifecycle import Lifecycle
from infsh_harness.mock.models import MockBackend
from infsh_harness.mock.profiles.profile import read_json_object
from infsh_harness.mock.ratelimit import RateLimiter

__all__ = ["PREFIX", "ControlApi"]

PREFIX = "/_mock/"
ControlHandler = Callable[[Request], Awaitable[Response]]


def _number(value: Any, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value < float("inf"):
        raise InvalidRequest(f"{name} must be a non-negative number")
    return float(value)


class ControlApi:
    def __init__(
        self,
        config: MockConfig,
        profile: str,
        backend: MockBackend,
        lifecycle: Lifecycle,
        faults: FaultInjector,
        limiter: RateLimiter,
    ) -> None:
        self.limiter = limiter
        self.config = config
        self.profile = profile
        self.backend = backend
        self.lifecycle = lifecycle
        self.faults = faults
        self.routes: dict[str, dict[str, ControlHandler]] = {
            "/_mock/reset": {"POST": self.reset},
            "/_mock/faults": {"GET": self.get_faults, "PUT": self.put_faults},
            "/_mock/webhooks": {"GET": self.webhooks},
            "/_mock/timing": {"GET": self.get_timing, "PUT": self.put_timing},
            "/_mock/stats": {"GET": self.stats},
        }

    async def handle(self, request: Request) -> Response:
        methods = self.routes.get(request.path)
        if methods is None:
            raise NotFound(f"no such control endpoint: {request.path}")
        self.backend.authenticate(request.headers.get("authorization"))
        if request.method not in methods:
            raise MethodNotAllowed(f"{request.method} is not allowed on {request.path}", tuple(methods))
        return await methods[request.method](request)

    async def reset(self, request: Request) -> Response:
        self.lifecycle.reset()
        self.backend.reset()
        self.limiter.reset()
        self.lifecycle.dispatcher.attempts.clear()
        self.faults.reset()
        self.backend.set_timing(self.config.timing, self.config.phase_ms)
        return Response.json(200, {"reset": True})

    async def get_faults(self, request: Request) -> Response:
        return Response.json(200, self.faults.current.__dict__)

    async def put_faults(self, request: Request) -> Response:
        try:
            self.faults.set(Faults.from_mapping(read_json_object(request.body or b"{}", "control body")))
        except ValueError as exc:
            raise InvalidRequest(str(exc)) from None
        return Response.json(200, self.faults.current.__dict__)

    async def webhooks(self, request: Request) -> Response:
        dispatcher = self.lifecycle.dispatcher
        attempts = dispatcher.history(request.query.get("task_id"))
        return Response.json(200, {"attempts": attempts, "pending": dispatcher.pending})

    async def get_timing(self, request: Request) -> Response:
        return Response.json(200, self._timing())

    async def put_timing(self, request: Request) -> Response:
        data = read_json_object(request.body or b"{}", "control body")
        unknown = sorted(set(data) - {"timing", "phase_ms", "total_ms"})
        if unknown:
            raise InvalidRequest(f"unknown timing settings: {', '.join(unknown)}")
        phase_ms = data.get("phase_ms")
        if data.get("total_ms") is not None:
            phase_ms = _number(data["total_ms"], "total_ms") / len(self.backend.phases)
        elif phase_ms is not None:
            phase_ms = _number(phase_ms, "phase_ms")
        timing = data.get("timing")
        if timing is not None and not isinstance(timing, str):
            raise InvalidRequest("timing must be a string")
        self.backend.set_timing(timing, phase_ms)
        return Response.json(200, self._timing())

    def _timing(self) -> dict[str, Any]:
        phase_ms = self.backend.phase_ms
        return {
            "timing": self.backend.timing,
            "phase_ms": phase_ms,
            "phases": list(self.backend.phases),
            "total_ms": None if phase_ms is None else phase_ms * len(self.backend.phases),
            "timings": list(self.backend.catalog.timings),
        }

    async def stats(self, request: Request) -> Response:
        return Response.json(
            200,
            {
                "tasks": len(self.backend.tasks),
                "sessions": len(self.backend.sessions),
                "webhooks_pending": self.lifecycle.dispatcher.pending,
                "waiting_requests": self.lifecycle.waiting,
                "profile": self.profile,
            },
        )

"""The mock of the Tasks API behind a respx router, for tests of a team's own httpx-based client.

    from infsh_harness.testing import infsh_mock

    def test_my_client_cancels():
        with infsh_mock() as api:                      # the documented profile, https://api.inference.sh
            client = MyClient("https://api.inference.sh", key="inf_test_key")
            task = client.start("infsh/sleep", {"seconds": 30})
            api.advance(1)                             # time is the handle's FakeClock
            assert client.cancel(task.id).status == 11
            api.fail_next(status=503)                  # the next request gets a 503 with the error body
            api.rate_limit(retry_after=7)              # ... or a 429 with Retry-After: 7

Every request to ``base_url`` is answered by the mock itself (``mock.create_app``: the same model,
profiles, error map and fault injector as ``infsh-harness mock``), through ``httpx.ASGITransport``,
on an event loop of its own whose time is the clock: no server, no listening socket, no sleeping
(a waited run moves the clock on to its task's end and answers at once). A request to any other
host fails (respx's ``assert_all_mocked``) unless the test routes it on ``handle.router``. Sync and
async httpx clients both work (an async one from asyncio or trio). Webhooks are not delivered (the
mock's allow-list of webhook hosts is empty): ``app.dispatcher.history(task_id)`` shows each one refused.
"""

from __future__ import annotations

import dataclasses
import random
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from pathlib import Path
from typing import Any, cast

import anyio.to_thread
import httpx
import respx

from infsh_harness import defaults
from infsh_harness.mock.app import MockApp, create_app
from infsh_harness.mock.apps import load_catalog
from infsh_harness.mock.config import NO_FAULTS, Faults, MockConfig
from infsh_harness.mock.models import FakeClock, MockBackend
from infsh_harness.mock.profiles import build_profile
from infsh_harness.spec import load_spec
from infsh_harness.testing._loop import ANSWER_TIMEOUT_S, ClockLoop

__all__ = ["DEFAULT_BASE_URL", "InfshMock", "infsh_mock"]

DEFAULT_BASE_URL = "https://api.inference.sh"  # the spec's production server

# whether the request being answered came from a sync httpx client (respx's sync handler)
_SYNC: ContextVar[bool] = ContextVar("infsh_respx_sync", default=True)


class _Router(respx.MockRouter):
    """respx's router, noting whether a request came through its sync or its async handler (a sync
    client called from async code is still a sync request)."""

    def handler(self, request: httpx.Request) -> httpx.Response:
        token = _SYNC.set(True)
        try:
            return super().handler(request)
        finally:
            _SYNC.reset(token)

    async def async_handler(self, request: httpx.Request) -> httpx.Response:
        token = _SYNC.set(False)
        try:
            return await super().async_handler(request)
        finally:
            _SYNC.reset(token)


@dataclasses.dataclass
class InfshMock:
    """A running respx mock: its ``router`` (respx: ``calls``, extra routes), its ``clock``, the mock
    ``app`` (``app.backend``: the model's tasks and sessions), the ``base_url`` it answers, the ``keys``
    it accepts."""

    router: respx.MockRouter
    clock: FakeClock
    app: MockApp
    base_url: str
    keys: tuple[str, ...]
    _loop: ClockLoop = dataclasses.field(repr=False)
    _remaining: int = dataclasses.field(default=0, repr=False)  # requests the one-off faults still get
    _restore: Faults = dataclasses.field(default=NO_FAULTS, repr=False)

    @property
    def profile(self) -> str:
        return self.app.profile.name

    @property
    def calls(self) -> respx.models.CallList:
        """Every request the router answered, with its response."""
        return self.router.calls

    def advance(self, seconds: float) -> None:
        """Move the clock on (``clock.advance`` does the same; this also fires the mock's timers at once)."""
        self.clock.advance(seconds)
        self._loop.wake()

    # --- faults: the mock's fault injector (``mock/faults.py``), as ``/_mock/faults`` sets it -------
    def set_faults(self, **settings: Any) -> None:
        """Set the mock's faults for every request from now on (``Faults`` fields: ``error_rate``,
        ``error_status``, ``rate_limit_rate``, ``retry_after_s``, ``latency_ms_min`` …); ``set_faults()``
        clears them. Unknown or bad settings raise ``ValueError``."""
        self._remaining = 0
        self.app.faults.set(Faults.from_mapping(settings))

    def fail_next(self, status: int = 500, times: int = 1) -> None:
        """The next ``times`` requests of the API get ``status`` (a 5xx) with the profile's error body."""
        self._once(Faults(error_rate=1.0, error_status=status), times)

    def rate_limit(self, retry_after: int = 1, times: int = 1) -> None:
        """The next ``times`` requests of the API get 429 with ``Retry-After: retry_after``."""
        self._once(Faults(rate_limit_rate=1.0, retry_after_s=retry_after), times)

    def _once(self, faults: Faults, times: int) -> None:
        if times < 1:
            raise ValueError(f"times must be at least 1, not {times}")
        if not self._remaining:
            self._restore = self.app.faults.current
        self._remaining = times
        self.app.faults.set(faults)

    def reset(self) -> None:
        """Forget every task and session, clear the faults (``/_mock/reset``)."""
        self._remaining = 0
        request = httpx.Request("POST", f"{self.base_url}/_mock/reset", headers=self._control_headers())
        answer = self._loop.call(self._answer(request, b""))
        if answer.status_code != 200:
            raise RuntimeError(f"the mock refused its reset: {answer.status_code} {answer.text[:200]}")

    def _control_headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.keys[0]}"}

    # --- answering -------------------------------------------------------------------------------
    async def _answer(self, request: httpx.Request, body: bytes) -> httpx.Response:
        """One request through the mock's ASGI app, on the clock's loop."""
        faulted = self._remaining > 0 and not request.url.path.startswith("/_mock/")
        transport = httpx.ASGITransport(app=cast(Any, self.app))
        forwarded = httpx.Request(request.method, request.url, headers=request.headers, content=body)
        try:
            response = await transport.handle_async_request(forwarded)
            content = await response.aread()
        finally:
            if faulted:
                self._remaining -= 1
                if not self._remaining:
                    self.app.faults.set(self._restore)
        return httpx.Response(response.status_code, headers=response.headers, content=content)

    def _side_effect(self, request: httpx.Request) -> Any:
        """respx's side effect: a response for a sync client, an awaitable for an async one."""
        if _SYNC.get():
            return self._loop.call(self._answer(request, request.read()))
        return self._answer_async(request)

    async def _answer_async(self, request: httpx.Request) -> httpx.Response:
        body = await request.aread()
        future = self._loop.submit(self._answer(request, body))
        return await anyio.to_thread.run_sync(lambda: future.result(ANSWER_TIMEOUT_S))


def _app(config: MockConfig, clock: FakeClock) -> MockApp:
    """``create_app`` with the model on ``clock`` (the parts ``create_app`` would build, one given)."""
    spec = load_spec()
    rng = random.Random(config.seed)
    profile = build_profile(spec, config, rng)
    phases = [s.varname for s in spec.statuses if not s.terminal]
    catalog = load_catalog(phases, None if config.apps_file is None else Path(config.apps_file))
    backend = MockBackend(config, catalog, clock=clock, rng=rng, options=profile.model)
    return create_app(config, spec, backend=backend, profile=profile)


@contextmanager
def infsh_mock(
    profile: str = "documented",
    base_url: str = DEFAULT_BASE_URL,
    keys: tuple[str, ...] = defaults.MOCK_KEYS,
    clock: FakeClock | None = None,
    *,
    seed: int | None = 0,
    config: MockConfig | None = None,
) -> Iterator[InfshMock]:
    """Mock the Tasks API at ``base_url`` for every httpx client while the block runs.

    ``profile``: ``documented`` (the pages) or ``wire`` (what production sends); ``keys``: the API keys
    it accepts (any other gets 401); ``clock``: the time of its tasks and sessions (a new
    ``FakeClock`` by default); ``config``: a whole ``MockConfig`` instead (its profile and keys win)."""
    config = config or MockConfig(profile=profile, keys=tuple(keys), seed=seed)
    clock = clock or FakeClock()
    loop = ClockLoop(clock)
    app: MockApp | None = None
    try:
        app = _app(config, clock)
        router = _Router(base_url=base_url, assert_all_called=False, assert_all_mocked=True)
        handle = InfshMock(router, clock, app, base_url.rstrip("/"), config.keys, loop)
        router.route().mock(side_effect=handle._side_effect)
        with router:
            yield handle
    finally:
        try:
            if app is not None:
                loop.run_quietly(_shut_down(app))
        finally:
            loop.close()


async def _shut_down(app: MockApp) -> None:
    app.lifecycle.begin_shutdown()
    await app.dispatcher.close()

"""Serving the mock with uvicorn: in the foreground (the CLI) or in a background thread (tests)."""

from __future__ import annotations

import asyncio
import gc
import socket
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import uvicorn

from infsh_harness.mock.app import MockApp, create_app
from infsh_harness.mock.config import MockConfig, ServerLimits
from infsh_harness.mock.limits import guarded_protocol

__all__ = ["MockServer", "bind_socket", "mock_uvicorn_config", "serve_in_thread", "uvicorn_config"]


def uvicorn_config(app: Any, host: str, port: int, **settings: Any) -> uvicorn.Config:
    """The uvicorn settings the mock is served with (``bench/`` serves its baseline with the same)."""
    return uvicorn.Config(
        app,
        host=host,
        port=port,
        lifespan="on",
        access_log=False,
        log_level="warning",
        timeout_graceful_shutdown=5,
        **settings,
    )


def mock_uvicorn_config(app: MockApp, host: str, port: int, limits: ServerLimits) -> uvicorn.Config:
    """The mock's settings: the common ones, its limits, and the protocol that enforces them."""
    return uvicorn_config(
        app, host, port, http=guarded_protocol(limits, app), timeout_keep_alive=limits.idle_timeout_s
    )


class _Server(uvicorn.Server):
    """uvicorn's server, told when it is listening, and releasing waiting requests before it stops."""

    def __init__(self, config: uvicorn.Config, mock: MockApp, on_ready: Callable[[str], None]) -> None:
        super().__init__(config)
        self.mock = mock
        self.on_ready = on_ready

    async def startup(self, sockets: Any = None) -> None:
        await super().startup(sockets)
        if self.started:
            host, port = self.servers[0].sockets[0].getsockname()[:2]
            host = f"[{host}]" if ":" in host else host
            self.on_ready(f"http://{host}:{port}")

    async def shutdown(self, sockets: Any = None) -> None:
        self.mock.lifecycle.begin_shutdown()
        await super().shutdown(sockets)


class MockServer:
    """The mock on ``host:port`` (port 0: a free one), with its ``app`` reachable for tests."""

    def __init__(self, config: MockConfig | None = None, host: str = "127.0.0.1", port: int = 0) -> None:
        self.config = config or MockConfig()
        self.app = create_app(self.config)
        self.url = ""
        self._ready = threading.Event()
        settings = mock_uvicorn_config(self.app, host, port, self.config.limits)
        self.server = _Server(settings, self.app, self._on_ready)
        self._thread: threading.Thread | None = None
        self._listeners: list[Callable[[str], None]] = []

    def _on_ready(self, url: str) -> None:
        self.url = url
        self._ready.set()
        for listener in self._listeners:
            listener(url)

    def on_ready(self, listener: Callable[[str], None]) -> None:
        self._listeners.append(listener)

    def run(self, sock: socket.socket | None = None) -> None:
        """Serve in this thread until interrupted (on ``sock`` when given, bound by ``bind_socket``)."""
        # everything built so far (spec, validators, catalog, uvicorn) lives as long as the process:
        # the cyclic collector need not visit it again in every full pass under load
        gc.collect()
        gc.freeze()
        self.server.run(sockets=[sock] if sock is not None else None)

    def start(self, timeout_s: float = 10.0) -> str:
        """Serve in a background thread; return the base URL once it listens."""
        self._thread = threading.Thread(target=self._thread_main, name="infsh-mock", daemon=True)
        self._thread.start()
        if not self._ready.wait(timeout_s) or not self.url:
            self.stop()
            where = f"{self.server.config.host}:{self.server.config.port}"
            raise RuntimeError(f"the mock did not start on {where} within {timeout_s} s (the log says why)")
        return self.url

    def _thread_main(self) -> None:
        try:
            asyncio.run(self.server.serve())
        except SystemExit:  # uvicorn's way out of a failed startup (a busy port); it has logged why
            pass
        finally:  # wake start() at once rather than after its timeout
            self._ready.set()

    def stop(self, timeout_s: float = 10.0) -> None:
        self.server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout_s)
            self._thread = None


def bind_socket(host: str, port: int) -> socket.socket:
    """A TCP socket bound to ``host:port`` (port 0: a free one); ``OSError`` if it cannot be had."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
    except BaseException:
        sock.close()
        raise
    return sock


@contextmanager
def serve_in_thread(
    profile: str = "documented",
    config: MockConfig | None = None,
    host: str = "127.0.0.1",
    port: int = 0,
) -> Iterator[str]:
    """Run the mock in a background thread; yields its base URL, stops it on exit."""
    if config is None:
        config = MockConfig(profile=profile)
    elif config.profile != profile and profile != "documented":
        raise ValueError(f"profile {profile!r} disagrees with config.profile {config.profile!r}")
    server = MockServer(config, host, port)
    url = server.start()
    try:
        yield url
    finally:
        server.stop()

"""Serve an ASGI app on 127.0.0.1 (a free port) in a background thread, for as long as a ``with`` lasts."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import uvicorn


class _Server(uvicorn.Server):
    def __init__(self, config: uvicorn.Config) -> None:
        super().__init__(config)
        self.url = ""
        self.ready = threading.Event()

    async def startup(self, sockets: Any = None) -> None:
        await super().startup(sockets)
        if self.started:
            host, port = self.servers[0].sockets[0].getsockname()[:2]
            self.url = f"http://{host}:{port}"
        self.ready.set()


@contextmanager
def serving(app: Any, host: str = "127.0.0.1") -> Iterator[str]:
    """Yield the base URL ``app`` answers on; stop it on exit."""
    server = _Server(uvicorn.Config(app, host=host, port=0, lifespan="on", access_log=False, log_level="warning",
                                    timeout_graceful_shutdown=2))  # fmt: skip
    thread = threading.Thread(target=lambda: asyncio.run(server.serve()), name="test-server", daemon=True)
    thread.start()
    if not server.ready.wait(10) or not server.url:
        raise RuntimeError("the test server did not start")
    try:
        yield server.url
    finally:
        server.should_exit = True
        thread.join(10)

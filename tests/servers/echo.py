"""A careless server's headers: whatever key a request carried comes back in the answer's headers.

:class:`EchoHeaders` wraps any ASGI app (the seeded proxy with its ``echo_key`` bug, which names
the key in bodies, or the mock): every answer gets the request's key in a header of its own, in a
cookie, in ``WWW-Authenticate`` and in a ``Link`` URL; the harness must write none of it anywhere.
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from infsh_harness.mock.config import MockConfig
from infsh_harness.mock.server import serve_in_thread
from tests.servers.seeded import SeededProxy
from tests.servers.serve import serving

__all__ = ["EchoHeaders", "echoing", "status_line_echo"]


class EchoHeaders:
    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = {k.lower(): v for k, v in scope.get("headers", [])}
        key = headers.get(b"authorization", b"").removeprefix(b"Bearer ").strip()

        async def echo(message: Any) -> None:
            if message["type"] == "http.response.start" and key:
                extra = [
                    (b"x-echo-key", key),
                    (b"set-cookie", b"session=" + key + b"; Path=/"),
                    (b"www-authenticate", b'Bearer realm="' + key + b'"'),
                    (b"link", b"<http://127.0.0.1/tasks?key=" + key + b'>; rel="next"'),
                ]
                message = {**message, "headers": [*message.get("headers", []), *extra]}
            await send(message)

        await self.app(scope, receive, echo)


@contextmanager
def echoing(keys: Sequence[str], bugs: Sequence[str] = ("echo_key",), phase_ms: float = 20) -> Iterator[str]:
    """The mock (accepting ``keys``) behind the seeded proxy with ``bugs``, every answer echoing its
    request's key in headers too: the base URL."""
    with serve_in_thread(config=MockConfig(keys=tuple(keys), seed=7, phase_ms=phase_ms)) as upstream:
        proxy = SeededProxy(upstream, bugs, keys)
        with serving(EchoHeaders(proxy)) as url:
            proxy.public_url = url
            yield url


@contextmanager
def status_line_echo() -> Iterator[str]:
    """A server that is not HTTP: it answers every request with a status line holding the key it was
    sent, so the client's parse error quotes the key. The base URL, on 127.0.0.1."""
    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(0.2)
    stop = threading.Event()

    def answer(conn: socket.socket) -> None:
        with conn:
            try:
                conn.settimeout(5)
                request = conn.recv(65536)
                key = next((line.split()[-1] for line in request.split(b"\r\n")
                            if line.lower().startswith(b"authorization:") and line.split()), b"")  # fmt: skip
                conn.sendall(b"BAD " + key + b"\r\n\r\n")
            except OSError:
                pass

    def serve() -> None:
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            threading.Thread(target=answer, args=(conn,), daemon=True).start()

    thread = threading.Thread(target=serve, name="status-line-echo", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{listener.getsockname()[1]}"
    finally:
        stop.set()
        thread.join(5)
        listener.close()

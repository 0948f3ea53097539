"""A careless server's headers: whatever key a request carried comes back in the answer's headers.

:class:`EchoHeaders` wraps any ASGI app (the seeded proxy with its ``echo_key`` bug, which names
the key in bodies, or the mock): every answer gets the request's key in a header of its own, in a
cookie, in ``WWW-Authenticate`` and in a ``Link`` URL; the harness must write none of it anywhere.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from infsh_harness.mock.config import MockConfig
from infsh_harness.mock.server import serve_in_thread
from tests.servers.seeded import SeededProxy
from tests.servers.serve import serving

__all__ = ["EchoHeaders", "echoing"]


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

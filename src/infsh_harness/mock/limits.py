"""What one client may cost the mock, enforced where uvicorn reads the bytes.

uvicorn closes a keep-alive connection idle for ``timeout_keep_alive`` (our ``idle_timeout_s``), but
has no time limit on reading a request's headers (a client sending one byte a minute holds its
connection for ever), no limit on their size with httptools, and answers its own 400s and 503s in
plain text. ``GuardedProtocol`` is uvicorn's httptools protocol (``uvicorn.Config(http=...)``) with
those added: a connection over ``max_connections`` gets 503, headers not complete within
``header_timeout_s`` get 408, more than ``max_header_bytes`` of request line and headers get 431,
unparseable HTTP gets 400 — each with the profile's error body (in the API version the headers read
so far ask for; version 1 before them), then the connection is closed.

The guard costs every request a few attribute reads and no clock: one sweep per server runs every
quarter of the header timeout while connections are open and counts its passes (``_tick``); a
connection notes the pass in which its current request's first bytes came (``_reading_since``), and
a sweep cuts off those whose headers are still incomplete five passes later (so a cut-off comes
between 1 and 1.25 timeouts). A refused connection sets ``_refused``; the rest of the bytes the parser
was fed are dropped.
"""

from __future__ import annotations

import asyncio
from http import HTTPStatus
from typing import Any, ClassVar, Protocol, cast

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol, RequestResponseCycle

from infsh_harness.mock.config import ServerLimits
from infsh_harness.mock.errors import BadRequest, HeadersTooLarge, MockError, Overloaded, RequestTimeout
from infsh_harness.mock.http import Response
from infsh_harness.mock.profiles.profile import api_version

__all__ = ["GuardedProtocol", "guarded_protocol"]


def _wire_bytes(response: Response) -> bytes:
    try:
        phrase = HTTPStatus(response.status).phrase
    except ValueError:
        phrase = ""
    head = [f"HTTP/1.1 {response.status} {phrase}".encode(), b"content-type: " + response.content_type.encode()]
    head += [b"content-length: " + str(len(response.body)).encode(), b"connection: close"]
    head += [name + b": " + value for name, value in response.headers if name != b"connection"]
    return b"\r\n".join(head) + b"\r\n\r\n" + response.body


class _RefusedCycle:
    """What uvicorn reads of a connection's current cycle once it was refused before it had one: a
    complete response (``on_body`` and ``on_message_complete`` return at once), and the event
    ``connection_lost`` sets."""

    response_complete = True

    def __init__(self) -> None:
        self.message_event = asyncio.Event()


class ErrorRendering(Protocol):
    def render_error(self, exc: MockError, version: str = ...) -> Response: ...


class GuardedProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol with a connection cap, a header timeout and a header size limit."""

    limits: ClassVar[ServerLimits] = ServerLimits()
    errors: ClassVar[ErrorRendering]  # the mock, which renders an error as its profile does
    _sweep: ClassVar[asyncio.TimerHandle | None] = None  # the server's header-timeout sweep, while armed
    _tick: ClassVar[int] = 0  # the sweeps so far

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._reading_since: int | None = None  # the sweep pass in which the headers being read began
        self._header_bytes = 0
        self._over_cap = False
        self._refused = False

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        # refused once its request's headers are read: a client that has sent its request reads the
        # answer, where one refused on connecting may find its connection reset instead
        self._over_cap = len(self.connections) > self.limits.max_connections
        self._reading_since = self._tick
        if type(self)._sweep is None:
            self._arm_sweep()

    def connection_lost(self, exc: Exception | None) -> None:
        self._reading_since = None
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        if self._reading_since is None:
            if self._refused or self.transport.is_closing():  # refused or closing: the rest is not read
                return
            cycle = self.cycle
            if cycle is not None and not cycle.response_complete:  # a body, or a pipelined request
                super().data_received(data)
                return
            self._reading_since = self._tick  # the first bytes of the next request on a kept-alive connection
            self._header_bytes = len(data)
        else:
            self._header_bytes += len(data)
        super().data_received(data)
        if self._reading_since is not None and self._header_bytes > self.limits.max_header_bytes:
            self._refuse(self._too_large())  # still no end of headers, and already too many bytes

    def on_headers_complete(self) -> None:
        if self._over_cap or self._refused or self._header_bytes > self.limits.max_header_bytes:
            if self._refused:  # a request pipelined behind a refused one: not read
                return
            if self._over_cap:
                self._refuse(
                    Overloaded(f"more than {self.limits.max_connections} connections are open; try again later")
                )
                return
            # the bytes received may hold a body after the headers: count the headers themselves then
            size = len(self.url) + sum(len(name) + len(value) + 4 for name, value in self.headers)
            if size > self.limits.max_header_bytes:
                self._refuse(self._too_large())
                return
        self._reading_since = None
        super().on_headers_complete()

    def _too_large(self) -> HeadersTooLarge:
        return HeadersTooLarge(f"request line and headers exceed {self.limits.max_header_bytes} bytes")

    def send_400_response(self, msg: str) -> None:
        self._refuse(BadRequest(f"not a valid HTTP/1.1 request: {msg}", reason="invalid_http"))

    def _arm_sweep(self) -> None:
        cls = type(self)
        cls._sweep = self.loop.call_later(self.limits.header_timeout_s / 4, self._sweep_headers)

    def _sweep_headers(self) -> None:
        """Cut off every connection of this server whose headers are late; look again while any is open."""
        cls = type(self)
        cls._sweep = None
        cls._tick += 1
        late = cls._tick - 5  # began four full passes ago or earlier: more than a timeout
        timeout = RequestTimeout(f"the request's headers did not arrive within {self.limits.header_timeout_s:g} s")
        for connection in list(self.connections):
            if isinstance(connection, GuardedProtocol):
                since = connection._reading_since
                if since is not None and since <= late:
                    connection._refuse(timeout)
        if self.connections:
            self._arm_sweep()

    def _refuse(self, exc: MockError) -> None:
        """Answer ``exc`` in the API version the request's headers ask for, as far as they were
        read (version 1 before any), and close the connection."""
        self._reading_since = None
        if self.cycle is None:
            # the parser may go on through the bytes already received (a body, more requests):
            # uvicorn drops them when the current cycle is complete, so give it a complete one
            self.cycle = cast(RequestResponseCycle, _RefusedCycle())
        if not self._refused and not self.transport.is_closing():
            self._refused = True
            version = api_version(self.headers or ())
            self.transport.write(_wire_bytes(self.errors.render_error(exc, version)))
            self.transport.close()


def guarded_protocol(limits: ServerLimits, errors: ErrorRendering) -> type[GuardedProtocol]:
    """A ``GuardedProtocol`` for one server: its limits, and the mock that renders its errors."""
    return type("GuardedProtocol", (GuardedProtocol,), {"limits": limits, "errors": errors})

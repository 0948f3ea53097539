"""A small HTTP/1.1 server for webhook deliveries inside a locust process (not a scenario).

The ``webhook`` scenario's receiver must take deliveries as fast as a server sends them while the
same process runs the load, on one core: ``gevent.pywsgi`` costs too much per request and answers
in two writes (headers, then body), which with Nagle's algorithm and delayed ACKs stalls a
keep-alive client 40 ms per delivery. Here each connection is one greenlet; requests are parsed
by ``httptools`` (llhttp, the parser uvicorn uses), and every answer is one write with
``TCP_NODELAY`` set. Pipelined requests are answered in order.

Bounds: a request body over ``max_body`` bytes or a header block over ``max_header`` bytes gets
413/431 and the connection is closed; a connection idle for ``idle_s`` is closed; at most
``max_connections`` are served at once.
"""

from __future__ import annotations

import socket
from collections.abc import Callable
from typing import Any

import httptools
from gevent.pool import Pool
from gevent.server import StreamServer

__all__ = ["InboxServer"]

# handle(body of a POST) -> (status, body) of the answer
Handler = Callable[[bytes], tuple[int, bytes]]

_REASONS = {200: b"OK", 400: b"Bad Request", 405: b"Method Not Allowed", 413: b"Content Too Large",
            431: b"Request Header Fields Too Large"}  # fmt: skip


def answer(status: int, body: bytes = b"", extra: bytes = b"", close: bool = False) -> bytes:
    head = b"HTTP/1.1 %d %s\r\ncontent-type: application/json\r\ncontent-length: %d\r\n" % (
        status, _REASONS.get(status, b"Error"), len(body)
    )
    if close:
        head += b"connection: close\r\n"
    return head + extra + b"\r\n" + body


class _Request:
    """httptools' callbacks for one connection: collects complete requests."""

    def __init__(self, max_body: int, max_header: int) -> None:
        self.max_body, self.max_header = max_body, max_header
        self.header_bytes = 0
        self.body: list[bytes] = []
        self.size = 0
        self.too_large = 0  # the status to answer, once a limit is passed
        self.method = b""
        self.done: list[tuple[bytes, bytes, bool]] = []  # (method, body, keep-alive) of each complete request
        self.parser = httptools.HttpRequestParser(self)

    def on_url(self, url: bytes) -> None:
        self._count_header(len(url))

    def on_header(self, name: bytes, value: bytes) -> None:
        self._count_header(len(name) + len(value) + 4)

    def _count_header(self, n: int) -> None:
        self.header_bytes += n
        if self.header_bytes > self.max_header and not self.too_large:
            self.too_large = 431

    def on_message_begin(self) -> None:
        self.header_bytes = 0
        self.body = []
        self.size = 0

    def on_headers_complete(self) -> None:
        self.method = self.parser.get_method()

    def on_body(self, chunk: bytes) -> None:
        self.size += len(chunk)
        if self.size > self.max_body:
            self.too_large = self.too_large or 413
        elif not self.too_large:
            self.body.append(chunk)

    def on_message_complete(self) -> None:
        self.done.append((self.method, b"".join(self.body), self.parser.should_keep_alive()))


class InboxServer:
    """Serves ``handle`` for POSTs on ``(bind, port)`` (405 to any other method); ``port`` 0 picks a free one."""

    def __init__(self, bind: str, port: int, handle: Handler, *, max_body: int = 1 << 20,
                 max_header: int = 16 << 10, idle_s: float = 60.0, max_connections: int = 1000) -> None:  # fmt: skip
        self.handle = handle
        self.max_body, self.max_header, self.idle_s = max_body, max_header, idle_s
        self.server = StreamServer((bind, port), self._serve, spawn=Pool(max_connections))

    def start(self) -> None:
        self.server.start()

    @property
    def server_port(self) -> int:
        return int(self.server.server_port)

    def stop(self, timeout: float = 1.0) -> None:
        self.server.stop(timeout=timeout)

    def _serve(self, sock: Any, _address: Any) -> None:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        sock.settimeout(self.idle_s)
        state = _Request(self.max_body, self.max_header)
        try:
            while True:
                data = sock.recv(65536)
                if not data:
                    return
                try:
                    state.parser.feed_data(data)
                except httptools.HttpParserUpgrade:
                    sock.sendall(answer(400, close=True))
                    return
                except httptools.HttpParserError:
                    sock.sendall(answer(state.too_large or 400, close=True))
                    return
                if state.too_large:
                    sock.sendall(answer(state.too_large, close=True))
                    return
                if state.done:
                    if not self._answer(sock, state):
                        return
        except (OSError, TimeoutError):  # a peer gone, or idle too long
            return
        finally:
            sock.close()

    def _answer(self, sock: Any, state: _Request) -> bool:
        """Answer every complete request in one write; False when the connection is to close."""
        replies, keep = [], True
        for method, body, keep_alive in state.done:
            keep = keep and keep_alive
            if method == b"POST":
                status, text = self.handle(body)
                replies.append(answer(status, text, close=not keep))
            else:
                replies.append(answer(405, b"", b"allow: POST\r\n", close=not keep))
            if not keep:
                break
        state.done = []
        sock.sendall(b"".join(replies))
        return keep

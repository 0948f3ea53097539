"""The webhook scenario's inbox server: keep-alive, pipelining, one write per answer, bounded."""

from __future__ import annotations

import socket
import subprocess
import sys
import textwrap
from collections.abc import Iterator

import pytest

SERVER = textwrap.dedent("""
    import signal, sys
    from gevent import monkey; monkey.patch_all()
    import gevent
    from gevent.event import Event
    from infsh_harness.load.scenarios.inbox import InboxServer
    seen = []
    def handle(body):
        seen.append(body)
        return 200, b'{"n": %d}' % len(seen)
    server = InboxServer("127.0.0.1", 0, handle, max_body=1000, max_header=2000, idle_s=2.0)
    server.start()
    print(server.server_port, flush=True)
    stop = Event()
    gevent.signal_handler(signal.SIGTERM, stop.set)
    stop.wait(60)
""")


@pytest.fixture(scope="module")
def port() -> Iterator[int]:
    proc = subprocess.Popen([sys.executable, "-c", SERVER], stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        yield int(proc.stdout.readline())
    finally:
        proc.terminate()
        proc.wait(10)


def _exchange(port: int, data: bytes, answers: int = 1) -> bytes:
    with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
        s.sendall(data)
        received = b""
        while received.count(b"HTTP/1.1 ") < answers or not received.endswith((b"}", b"\r\n\r\n")):
            chunk = s.recv(65536)
            if not chunk:
                break
            received += chunk
        return received


def _post(body: bytes, extra: bytes = b"") -> bytes:
    return b"POST /webhook HTTP/1.1\r\nhost: x\r\ncontent-length: %d\r\n%s\r\n%s" % (len(body), extra, body)


def test_a_post_is_answered_in_one_piece(port: int) -> None:
    answer = _exchange(port, _post(b'{"id": "a"}'))
    assert answer.startswith(b"HTTP/1.1 200 OK\r\n") and b"content-length: " in answer and answer.endswith(b"}")


def test_pipelined_posts_on_one_connection_are_answered_in_order(port: int) -> None:
    answer = _exchange(port, _post(b"1") + _post(b"2") + _post(b"3"), answers=3)
    assert answer.count(b"HTTP/1.1 200 OK") == 3


def test_other_methods_are_refused_with_allow(port: int) -> None:
    answer = _exchange(port, b"GET /webhook HTTP/1.1\r\nhost: x\r\n\r\n")
    assert answer.startswith(b"HTTP/1.1 405 ") and b"allow: POST" in answer


@pytest.mark.parametrize(
    ("data", "status"),
    [(_post(b"x" * 2000), b"413"), (b"POST / HTTP/1.1\r\nx-big: " + b"a" * 3000 + b"\r\n\r\n", b"431"),
     (b"NOT HTTP AT ALL\r\n\r\n", b"400")],
)
def test_what_it_cannot_take_is_refused_and_the_connection_closed(port: int, data: bytes, status: bytes) -> None:
    answer = _exchange(port, data)
    assert answer.startswith(b"HTTP/1.1 " + status) and b"connection: close" in answer

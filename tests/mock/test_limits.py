"""The mock's connection limits, over real sockets on 127.0.0.1: the connection cap, the header
timeout (a slowloris client is cut off), the idle timeout, the header size limit and unparseable
HTTP — each answered with the profile's error body, then the connection closed.

Every socket has a timeout, so a limit that does not hold fails the test instead of hanging it.
"""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from typing import Any

import orjson
import pytest

from infsh_harness.mock.config import MockConfig, ServerLimits
from infsh_harness.mock.server import serve_in_thread
from infsh_harness.spec import load_spec
from tests.mock import answers

pytestmark = pytest.mark.timeout(60)

SPEC = load_spec()
KEY = "inf_test_key"
GET = f"GET /tasks/task_x HTTP/1.1\r\nhost: mock\r\nauthorization: Bearer {KEY}\r\n\r\n".encode()
LIMITS = ServerLimits(max_connections=3, idle_timeout_s=0.4, header_timeout_s=0.4, max_header_bytes=4096)


@contextmanager
def mock(profile: str = "documented", limits: ServerLimits = LIMITS) -> Iterator[tuple[str, int]]:
    with serve_in_thread(profile, MockConfig(profile=profile, limits=limits)) as url:
        host, port = url.removeprefix("http://").rsplit(":", 1)
        yield host, int(port)


def connect(address: tuple[str, int]) -> socket.socket:
    sock = socket.create_connection(address, timeout=5)
    sock.settimeout(5)
    return sock


def read_response(sock: socket.socket) -> tuple[int, dict[str, str], bytes]:
    """One HTTP/1.1 answer with a content-length."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        assert chunk, f"connection closed before a full answer: {data!r}"
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers = {k.strip().lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:])}
    while len(body) < int(headers["content-length"]):
        chunk = sock.recv(65536)
        assert chunk, "connection closed in the middle of the body"
        body += chunk
    return int(lines[0].split()[1]), headers, body


def closed_by_server(sock: socket.socket, within_s: float = 5.0) -> bool:
    sock.settimeout(within_s)
    try:
        return sock.recv(65536) == b""
    except ConnectionResetError:
        return True
    except TimeoutError:
        return False


def error_body(headers: dict[str, str], body: bytes, status: int, version: str = "1") -> dict[str, Any]:
    """The documented profile's error body of ``version``, as ``{"code", "message"}``."""
    data = answers.error_body(version, status, headers["content-type"], body)
    assert headers["connection"] == "close", f"a {status} closes its connection"
    if version == "2":
        return {"code": data["type"].rsplit("/", 1)[-1], "message": data["detail"]}
    error: dict[str, Any] = data["error"]
    return error


def test_a_connection_beyond_the_cap_gets_503_with_the_error_body() -> None:
    with mock() as address, ExitStack() as stack:
        open_ = [stack.enter_context(connect(address)) for _ in range(LIMITS.max_connections)]
        for sock in open_:  # each of the first N is served, and stays open (keep-alive)
            sock.sendall(GET)
            assert read_response(sock)[0] == 404
        extra = stack.enter_context(connect(address))
        extra.sendall(GET)
        status, headers, body = read_response(extra)
        assert status == 503 and error_body(headers, body, status)["code"] == "overloaded"
        assert closed_by_server(extra)
        open_[0].close()  # a place frees up: a new connection is served again
        deadline = time.monotonic() + 5
        while True:
            with connect(address) as again:
                again.sendall(GET)
                if read_response(again)[0] == 404:
                    break
            assert time.monotonic() < deadline, "the freed place was never given to a new connection"
            time.sleep(0.05)


@pytest.mark.parametrize("sent", [b"", b"GET /tasks/task_x HTTP/1.1\r\nhost: mock\r\nx-slow: "])
def test_headers_that_never_complete_get_408_and_the_connection_is_closed(sent: bytes) -> None:
    with mock() as address, connect(address) as sock:
        t0 = time.monotonic()
        sock.sendall(sent)
        status, headers, body = read_response(sock)
        waited = time.monotonic() - t0
        assert status == 408 and error_body(headers, body, status)["code"] == "request_timeout"
        assert closed_by_server(sock)
        assert LIMITS.header_timeout_s * 0.9 <= waited < LIMITS.header_timeout_s + 3


def test_a_slowloris_trickle_is_cut_off_at_the_header_timeout() -> None:
    with mock() as address, connect(address) as sock:
        t0 = time.monotonic()
        sock.sendall(b"GET /tasks/task_x HTTP/1.1\r\nhost: mock\r\n")
        trickled = 0
        while time.monotonic() - t0 < LIMITS.header_timeout_s + 3:
            try:
                sock.sendall(b"x-a: b\r\n")  # a byte at a time would do too: every byte resets no clock
            except (BrokenPipeError, ConnectionResetError):
                break
            trickled += 1
            time.sleep(0.05)
            sock.settimeout(0.001)
            try:
                if sock.recv(1, socket.MSG_PEEK):
                    break
            except TimeoutError:
                pass
            finally:
                sock.settimeout(5)
        assert trickled >= 3
        status, _, _ = read_response(sock)
        assert status == 408
        assert time.monotonic() - t0 < LIMITS.header_timeout_s + 3


def test_the_header_timeout_restarts_for_each_request_on_a_kept_alive_connection() -> None:
    with mock() as address, connect(address) as sock:
        for _ in range(3):
            time.sleep(LIMITS.header_timeout_s / 2)
            sock.sendall(GET)
            assert read_response(sock)[0] == 404


def test_an_idle_kept_alive_connection_is_closed_after_the_idle_timeout() -> None:
    with mock() as address, connect(address) as sock:
        sock.sendall(GET)
        assert read_response(sock)[0] == 404
        t0 = time.monotonic()
        assert closed_by_server(sock, within_s=5)
        assert LIMITS.idle_timeout_s * 0.8 <= time.monotonic() - t0 < LIMITS.idle_timeout_s + 3


@pytest.mark.parametrize("where", ["header", "url"])
def test_oversized_request_line_and_headers_get_431(where: str) -> None:
    big = "a" * (LIMITS.max_header_bytes + 1)
    request = (
        f"GET /tasks/task_x HTTP/1.1\r\nhost: mock\r\nx-big: {big}\r\n\r\n"
        if where == "header"
        else f"GET /tasks/{big} HTTP/1.1\r\nhost: mock\r\n\r\n"
    )
    with mock() as address, connect(address) as sock:
        sock.sendall(request.encode())
        status, headers, body = read_response(sock)
        assert status == 431 and error_body(headers, body, status)["code"] == "headers_too_large"
        assert closed_by_server(sock)


def test_a_request_pipelined_behind_a_refused_one_is_not_served() -> None:
    big = "a" * (LIMITS.max_header_bytes + 1)

    def remaining(address: tuple[str, int]) -> int:  # a task read counts against the key's quota
        with connect(address) as sock:
            sock.sendall(GET)
            status, headers, _ = read_response(sock)
            assert status == 404
            return int(headers["x-ratelimit-remaining"])

    with mock() as address:
        before = remaining(address)
        with connect(address) as sock:
            sock.sendall(f"GET /tasks/task_x HTTP/1.1\r\nhost: mock\r\nx-big: {big}\r\n\r\n".encode() + GET)
            assert read_response(sock)[0] == 431
            assert closed_by_server(sock)
        time.sleep(0.2)  # a read served behind the refusal would have been counted by now
        assert remaining(address) == before - 1  # this read only


def test_headers_just_under_the_limit_are_served() -> None:
    filler = "a" * (LIMITS.max_header_bytes - len(GET) - 200)
    request = GET.replace(b"\r\n\r\n", f"\r\nx-filler: {filler}\r\n\r\n".encode())
    with mock() as address, connect(address) as sock:
        sock.sendall(request)
        assert read_response(sock)[0] == 404


GARBAGE = [
    b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03\r\n\r\n",  # a TLS hello
    b"GET / HTTP/1.1\r\nbad header\r\n\r\n",
    b"GET /tasks/\xff HTTP/1.1\r\nhost: mock\r\n\r\n",  # a raw byte that is no ASCII in the path
]


@pytest.mark.parametrize("garbage", GARBAGE)
def test_unparseable_http_gets_400_with_the_error_body(garbage: bytes) -> None:
    with mock() as address, connect(address) as sock:
        sock.sendall(garbage)
        status, headers, body = read_response(sock)
        assert status == 400 and error_body(headers, body, status)["code"] == "invalid_request"


def test_the_wire_profile_refuses_with_problem_details() -> None:
    with mock("wire") as address, connect(address) as sock:
        sock.sendall(b"GET /tasks/x HTTP/1.1\r\nhost: mock\r\nx-big: " + b"a" * LIMITS.max_header_bytes + b"\r\n\r\n")
        status, headers, body = read_response(sock)
        assert status == 431 and headers["content-type"] == "application/problem+json"
        assert orjson.loads(body)["type"].endswith("/headers_too_large")


@pytest.mark.parametrize(
    ("field", "value"),
    [("max_connections", 0), ("max_connections", 1.5), ("idle_timeout_s", 0), ("header_timeout_s", float("inf")),
     ("header_timeout_s", float("nan")), ("max_header_bytes", -1), ("max_body_bytes", True)],
)  # fmt: skip
def test_limits_refuse_values_that_are_no_limit(field: str, value: object) -> None:
    with pytest.raises(ValueError, match=field):
        ServerLimits(**{field: value})  # type: ignore[arg-type]


def test_a_refusal_after_readable_headers_speaks_the_version_they_ask_for() -> None:
    """Over the cap, with ``X-API-Version: 2`` among the headers: an RFC 9457 problem."""
    v2 = GET.replace(b"\r\n\r\n", b"\r\nx-api-version: 2\r\n\r\n")
    with mock() as address, ExitStack() as stack:
        for _ in range(LIMITS.max_connections):
            stack.enter_context(connect(address)).sendall(GET)
        extra = stack.enter_context(connect(address))
        time.sleep(0.05)  # the others are open before this one
        extra.sendall(v2)
        status, headers, body = read_response(extra)
        assert status == 503 and error_body(headers, body, status, version="2")["code"] == "overloaded"


def test_a_refusal_before_any_header_is_version_1() -> None:
    with mock() as address, connect(address) as sock:
        sock.sendall(b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03\r\n\r\n")
        status, headers, body = read_response(sock)
        assert status == 400 and error_body(headers, body, status)["code"] == "invalid_request"

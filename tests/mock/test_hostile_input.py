"""Requests the mock cannot serve get a 4xx with the profile's error body, and make no task: bodies
too deep, too large or badly encoded, ambiguous headers and query parameters, bad percent-encoding.
An accepted request, however deep, can always be answered and its webhook delivered and recorded.
And the ``/_mock/`` controls answer nobody without a key.
"""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator
from typing import Any

import httpx
import orjson
import pytest

from infsh_harness.mock.config import MockConfig, ServerLimits
from infsh_harness.mock.profiles.profile import MAX_JSON_DEPTH
from infsh_harness.mock.server import MockServer
from infsh_harness.spec import load_spec
from infsh_harness.webhooks.receiver import WebhookReceiver
from tests.mock.answers import error_of

pytestmark = pytest.mark.timeout(60)

SPEC = load_spec()
KEY = "inf_test_key"
AUTH = {"Authorization": f"Bearer {KEY}"}
RUN = {"documented": "/run", "wire": "/apps/run"}


def nested(depth: int) -> Any:
    """An object ``depth`` levels deep (``{}`` is one level)."""
    value: Any = {}
    for _ in range(depth - 1):
        value = {"a": value}
    return value


@pytest.fixture(scope="module", params=["documented", "wire"])
def server(request: pytest.FixtureRequest) -> Iterator[MockServer]:
    srv = MockServer(MockConfig(profile=request.param, seed=3))
    srv.start()
    yield srv
    srv.stop()



def refused(response: httpx.Response, status: int, reason: str, profile: str) -> None:
    """A 4xx with the profile's error body: the documented profile's says ``reason`` in its message
    under its documented code, the wire's names it at the end of ``type``."""
    if profile == "documented":
        code = {400: "invalid_request"}.get(status, reason)
        error_of(response, status, code, reason if reason != code else None)
    else:
        assert response.status_code == status, response.text
        assert response.headers["content-type"] == "application/problem+json"
        body = response.json()
        assert body["type"].endswith("/" + reason) and body["detail"]


def tasks(client: httpx.Client) -> int:
    count: int = client.get("/_mock/stats").json()["tasks"]
    return count


def read_until_closed(sock: socket.socket) -> bytes:
    """Everything the server sends before it closes the connection (its answers here say ``close``)."""
    data = b""
    while chunk := sock.recv(65536):
        data += chunk
    return data


def run_body(input_: Any, **fields: Any) -> bytes:
    return orjson.dumps({"app": "infsh/echo", "input": input_, **fields})


# --- bodies ------------------------------------------------------------------------------------
@pytest.mark.parametrize("depth", [MAX_JSON_DEPTH, 300, 2000])  # the body adds one level to the input
def test_a_body_nested_too_deep_is_400_and_makes_no_task(client: httpx.Client, server: MockServer, depth: int) -> None:
    body = b'{"app": "infsh/echo", "input": ' + b'{"a": ' * depth + b"{}" + b"}" * depth + b"}"
    refused(client.post(RUN[server.config.profile], content=body), 400, "body_too_deep", server.config.profile)
    assert tasks(client) == 0


def test_the_deepest_accepted_input_is_answered_everywhere_and_its_webhook_delivered(
    client: httpx.Client, server: MockServer
) -> None:
    profile = server.config.profile
    deepest = nested(MAX_JSON_DEPTH - 1)  # the body around it is the last level
    with WebhookReceiver() as hook:
        wait = {"wait": True} if profile == "wire" else {}
        answer = client.post(RUN[profile], content=run_body(deepest, webhook=hook.url(), **wait))
        assert answer.status_code == 200, answer.text
        task = answer.json()["data"]
        read = client.get(f"/tasks/{task['id']}")
        assert read.status_code == 200
        assert read.json()["data"]["input"] == deepest
        assert hook.wait_until(lambda r: bool(r.acknowledged()), timeout_s=10)
    deadline = time.monotonic() + 5  # the mock records the attempt once the receiver's answer is back
    while not (attempts := client.get("/_mock/webhooks", params={"task_id": task["id"]}).json()["attempts"]):
        assert time.monotonic() < deadline, "the delivery was never recorded"
        time.sleep(0.01)
    assert [a["outcome"] for a in attempts] == ["delivered"]


@pytest.mark.parametrize(
    "body",
    [b"\xef\xbb\xbf" + b'{"app": "infsh/echo", "input": {}}',  # a BOM
     '{"app": "infsh/echo", "input": {}}'.encode("utf-16"),
     b'{"app": "infsh/echo", "input": {"x": "\xff"}}',  # not UTF-8
     b'{"app": "infsh/echo", "input": {"x": "\\ud800"}}',  # a lone surrogate
     b'{"app": "infsh/echo", "input": {"x": NaN}}', b'{"app": "infsh/echo", "input": {"x": 1e400}}'],
)  # fmt: skip
def test_a_body_that_is_not_utf8_json_is_400(client: httpx.Client, server: MockServer, body: bytes) -> None:
    refused(client.post(RUN[server.config.profile], content=body), 400, "invalid_json", server.config.profile)
    assert tasks(client) == 0


def test_a_declared_content_length_over_the_limit_is_refused_unread(server: MockServer) -> None:
    host, port = server.url.removeprefix("http://").rsplit(":", 1)
    limit = ServerLimits().max_body_bytes
    head = (f"POST {RUN[server.config.profile]} HTTP/1.1\r\nhost: mock\r\nauthorization: Bearer {KEY}\r\n"
            f"content-type: application/json\r\ncontent-length: {limit + 1}\r\n\r\n")  # fmt: skip
    with socket.create_connection((host, int(port)), timeout=5) as sock:
        sock.sendall(head.encode())  # and never the body: the answer must come anyway
        answer = read_until_closed(sock)
    assert answer.startswith(b"HTTP/1.1 400 ") and b"body_too_large" in answer


def test_a_chunked_body_over_the_limit_is_400(client: httpx.Client, server: MockServer) -> None:
    chunk = b" " * 65536

    def body() -> Iterator[bytes]:
        yield b'{"app": "infsh/echo", "input": {}'
        for _ in range(ServerLimits().max_body_bytes // len(chunk) + 2):
            yield chunk
        yield b"}"

    refused(client.post(RUN[server.config.profile], content=body()), 400, "body_too_large", server.config.profile)
    assert tasks(client) == 0


# --- headers, path and query -------------------------------------------------------------------
@pytest.mark.parametrize(("name", "value"), [("authorization", f"Bearer {KEY}"), ("content-type", "application/json")])
def test_a_repeated_single_header_is_400(client: httpx.Client, server: MockServer, name: str, value: str) -> None:
    headers = [(name, value), *AUTH.items(), ("content-type", "application/json")]
    answer = client.post(RUN[server.config.profile], content=run_body({}), headers=headers)
    refused(answer, 400, "invalid_header", server.config.profile)
    assert tasks(client) == 0


def test_a_list_header_may_repeat(client: httpx.Client, server: MockServer) -> None:
    headers = [("accept", "application/json"), ("accept", "*/*"), *AUTH.items()]
    assert client.post(RUN[server.config.profile], content=run_body({}), headers=headers).is_success


@pytest.mark.parametrize("second", [0, 1])
def test_two_content_lengths_are_400(client: httpx.Client, server: MockServer, second: int) -> None:
    body = run_body({})
    host, port = server.url.removeprefix("http://").rsplit(":", 1)
    head = (f"POST {RUN[server.config.profile]} HTTP/1.1\r\nhost: mock\r\nauthorization: Bearer {KEY}\r\n"
            f"content-length: {len(body)}\r\ncontent-length: {len(body) + second}\r\n\r\n")  # fmt: skip
    with socket.create_connection((host, int(port)), timeout=5) as sock:
        sock.sendall(head.encode() + body)
        answer = read_until_closed(sock)
    assert answer.startswith(b"HTTP/1.1 400 ") and b"invalid_http" in answer
    assert tasks(client) == 0


@pytest.mark.parametrize("path", ["/tasks/%ff", "/tasks/%zz", "/tasks/%", "/tasks/%e2%82"])
def test_a_badly_percent_encoded_path_is_400(client: httpx.Client, server: MockServer, path: str) -> None:
    refused(client.get(httpx.URL(server.url + path)), 400, "invalid_path", server.config.profile)


def test_a_well_encoded_path_reaches_the_route(client: httpx.Client, server: MockServer) -> None:
    answer = client.get(httpx.URL(server.url + "/tasks/%E2%82%AC"))
    assert answer.status_code == 404 and "€" in answer.text


@pytest.mark.parametrize("query", ["wait=%ff", "wait=%zz", "wait=true&wait=false", "wait=tr%"])
def test_a_bad_or_ambiguous_query_is_400(client: httpx.Client, server: MockServer, query: str) -> None:
    url = httpx.URL(f"{server.url}{RUN[server.config.profile]}?{query}")
    refused(client.post(url, content=run_body({})), 400, "invalid_query", server.config.profile)
    assert tasks(client) == 0


# --- the controls ------------------------------------------------------------------------------
@pytest.mark.parametrize("auth", [None, "Bearer inf_wrong_key", "Basic aW5mX3Rlc3Rfa2V5", "Bearer"])
@pytest.mark.parametrize(("method", "path"), [("POST", "/_mock/reset"), ("GET", "/_mock/faults"),
                                              ("PUT", "/_mock/faults"), ("GET", "/_mock/webhooks"),
                                              ("GET", "/_mock/timing"), ("PUT", "/_mock/timing"),
                                              ("GET", "/_mock/stats")])  # fmt: skip
def test_the_controls_need_an_accepted_key(server: MockServer, auth: str | None, method: str, path: str) -> None:
    headers = {"Authorization": auth} if auth else {}
    with httpx.Client(base_url=server.url, headers=headers, timeout=10, trust_env=False) as bare:
        answer = bare.request(method, path, json={"error_rate": 1} if method == "PUT" else None)
    refused(answer, 401, "unauthorized", server.config.profile)
    with httpx.Client(base_url=server.url, headers=AUTH, timeout=10, trust_env=False) as c:
        assert c.get("/_mock/faults").json()["error_rate"] == 0, "a refused control changed nothing"


def test_the_controls_take_every_accepted_key(server: MockServer) -> None:
    for key in server.config.keys:
        with httpx.Client(base_url=server.url, headers={"Authorization": f"Bearer {key}"}, trust_env=False) as c:
            assert c.get("/_mock/stats").status_code == 200

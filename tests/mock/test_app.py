"""The mock over real HTTP (uvicorn on 127.0.0.1, port 0): every documented route and error (version
1, the default, unless a test asks for 2), waiting, the ``/_mock/`` controls and graceful shutdown.

Routes, methods, optional fields, bounds and status numbers are read from the spec, so a spec change
flows into these tests.
"""

from __future__ import annotations

import asyncio
import logging
import random
import socket
import threading
import time
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from infsh_harness.mock.app import MockApp, create_app
from infsh_harness.mock.apps import load_catalog
from infsh_harness.mock.config import Faults, MockConfig, ServerLimits, WebhookPolicy
from infsh_harness.mock.models import FakeClock, MockBackend
from infsh_harness.mock.profiles.documented import iso_ms
from infsh_harness.mock.server import MockServer, serve_in_thread
from infsh_harness.spec import load_spec
from infsh_harness.webhooks.receiver import WebhookReceiver
from tests.mock.answers import data_of, error_of

SPEC = load_spec()
PHASES = tuple(s.varname for s in SPEC.statuses if not s.terminal)
KEY, OTHER_KEY = "inf_test_key", "inf_test_key_2"
AUTH = {"Authorization": f"Bearer {KEY}"}
COMPLETED, FAILED, CANCELLED = SPEC.status("COMPLETED"), SPEC.status("FAILED"), SPEC.status("CANCELLED")
TERMINAL = SPEC.terminal_statuses
ECHO = {"app": "infsh/echo", "input": {"prompt": "hi"}}
HTTP_METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS")


def sleep_run(seconds: float) -> dict[str, Any]:
    return {"app": "infsh/sleep", "input": {"seconds": seconds}}


@contextmanager
def own_server(config: MockConfig) -> Iterator[str]:
    srv = MockServer(config)
    try:
        yield srv.start()
    finally:
        srv.stop()


@pytest.fixture(scope="module")
def server() -> Iterator[MockServer]:
    srv = MockServer(MockConfig(seed=7))
    srv.start()
    yield srv
    srv.stop()



# every operation of the spec (the four pages'); tests/mock/test_documented.py holds the newer ones
# (versions, stream, sessions, rate limits) to the pages in detail
MOCK_OPERATIONS = tuple(SPEC.operations)


def assert_error(
    response: httpx.Response, status: int, code: str | None = None, reason: str | None = None
) -> dict[str, Any]:
    return error_of(response, status, code, reason)


def assert_task(response: httpx.Response) -> dict[str, Any]:
    body: dict[str, Any] = data_of(response)
    assert SPEC.validate("Task", body) == []
    return body


def concrete(path: str) -> str:
    return path.replace("{id}", "task_unknown")


# --- routes, methods and auth ------------------------------------------------------------------


@pytest.mark.parametrize("path", sorted({SPEC.operation(op_id).path for op_id in MOCK_OPERATIONS}))
def test_wrong_method_is_405_with_allow_header_and_json_body(client: httpx.Client, path: str) -> None:
    allowed = set(SPEC.allowed_methods(path))
    for method in sorted(set(HTTP_METHODS) - allowed):
        response = client.request(method, concrete(path))
        assert response.status_code == 405
        assert {m.strip() for m in response.headers["allow"].split(",")} == allowed
        if method != "HEAD":
            assert_error(response, 405, "method_not_allowed")


@pytest.mark.parametrize("op_id", sorted(MOCK_OPERATIONS))
@pytest.mark.parametrize("auth", [None, "Bearer inf_wrong_key", "Bearer", "Basic aW5mX3Rlc3Rfa2V5", KEY])
def test_every_operation_needs_a_valid_bearer_key(server: MockServer, op_id: str, auth: str | None) -> None:
    op = SPEC.operation(op_id)
    headers = {"Authorization": auth} if auth is not None else {}
    with httpx.Client(base_url=server.url, headers=headers, trust_env=False) as bare:
        response = bare.request(op.method, concrete(op.path), json=ECHO if op.method == "POST" else None)
    assert_error(response, 401, "unauthorized")


@pytest.mark.parametrize("path", ["/", "/runs", "/tasks", "/tasks/", "/tasks/a/b", "/tasks//cancel", "/_mock/nope"])
def test_unknown_paths_are_404_with_the_error_body(client: httpx.Client, path: str) -> None:
    assert_error(client.get(path), 404)


def test_control_endpoints_answer_405_with_allow(client: httpx.Client) -> None:
    response = client.get("/_mock/reset")
    assert_error(response, 405, "method_not_allowed")
    assert response.headers["allow"] == "POST"


# --- run, get, cancel --------------------------------------------------------------------------


def test_run_waits_by_default_until_terminal(client: httpx.Client) -> None:
    t0 = time.monotonic()
    body = assert_task(client.post("/run", json=sleep_run(0.3)))
    assert time.monotonic() - t0 >= 0.3
    assert body["status"] == COMPLETED
    assert body["output"] == {"slept": 0.3}
    assert body["input"] == {"seconds": 0.3}


@pytest.mark.parametrize(("app", "status"), [("infsh/echo", COMPLETED), ("infsh/flux@1.0", COMPLETED),
                                             ("infsh/fail", FAILED)])  # fmt: skip
def test_run_with_explicit_wait_true_returns_the_terminal_task(client: httpx.Client, app: str, status: int) -> None:
    body = assert_task(client.post("/run", params={"wait": "true"}, json={"app": app, "input": {"k": 1}}))
    assert body["status"] == status
    if status == FAILED:
        assert body["error"] and body["output"] is None
    else:
        assert isinstance(body["output"], dict)
    assert assert_task(client.get(f"/tasks/{body['id']}")) == body


def test_run_with_wait_false_returns_at_once(client: httpx.Client) -> None:
    t0 = time.monotonic()
    body = assert_task(client.post("/run", params={"wait": "false"}, json=sleep_run(5)))
    assert time.monotonic() - t0 < 2.0
    assert body["status"] not in TERMINAL
    again = assert_task(client.get(f"/tasks/{body['id']}"))
    assert (again["id"], again["created_at"], again["input"]) == (body["id"], body["created_at"], body["input"])
    assert SPEC.status_rank(again["status"]) >= SPEC.status_rank(body["status"])


def test_max_wait_bounds_a_waiting_run_and_returns_the_task_as_it_stands() -> None:
    with own_server(MockConfig(max_wait_s=0.3)) as url:
        with httpx.Client(base_url=url, headers=AUTH, timeout=20, trust_env=False) as c:
            t0 = time.monotonic()
            body = assert_task(c.post("/run", json=sleep_run(30)))
            elapsed = time.monotonic() - t0
            assert 0.3 <= elapsed < 5
            assert body["status"] == SPEC.status("RUNNING")
            assert c.get("/_mock/stats").json()["waiting_requests"] == 0


def test_cancel_running_task_is_cancelled_and_stays(client: httpx.Client) -> None:
    task = assert_task(client.post("/run?wait=false", json=sleep_run(30)))
    response = client.post(f"/tasks/{task['id']}/cancel")
    assert response.status_code == 200
    assert SPEC.validate("CancelResult", data_of(response)) == []
    assert data_of(response) == {"id": task["id"], "status": CANCELLED, "cancelled": True}
    for _ in range(3):
        assert assert_task(client.get(f"/tasks/{task['id']}"))["status"] == CANCELLED
        assert client.post(f"/tasks/{task['id']}/cancel").json() == response.json()


@pytest.mark.parametrize(("app", "status"), [("infsh/echo", COMPLETED), ("infsh/fail", FAILED)])
def test_cancel_of_a_terminal_task_changes_nothing(client: httpx.Client, app: str, status: int) -> None:
    task = assert_task(client.post("/run", json={"app": app, "input": {}}))
    for _ in range(3):
        answer = client.post(f"/tasks/{task['id']}/cancel")
        assert data_of(answer) == {"id": task["id"], "status": status, "cancelled": False}
    assert assert_task(client.get(f"/tasks/{task['id']}")) == task


def test_cancel_wakes_a_waiting_run(client: httpx.Client, server: MockServer) -> None:
    results: list[httpx.Response] = []
    waiter = threading.Thread(target=lambda: results.append(client.post("/run", json=sleep_run(30))))
    t0 = time.monotonic()
    waiter.start()
    task_id = _wait_for_one_task(server)
    assert data_of(client.post(f"/tasks/{task_id}/cancel"))["cancelled"] is True
    waiter.join(10)
    assert time.monotonic() - t0 < 5
    assert assert_task(results[0])["status"] == CANCELLED


def _wait_for_one_task(server: MockServer) -> str:
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        if server.app.backend.tasks and server.app.lifecycle.waiting:
            return next(iter(server.app.backend.tasks))
        time.sleep(0.01)
    raise AssertionError("no waiting task appeared")


@pytest.mark.parametrize("op", ["get", "cancel"])
def test_unknown_task_is_404(client: httpx.Client, op: str) -> None:
    response = client.get("/tasks/task_nope") if op == "get" else client.post("/tasks/task_nope/cancel")
    assert_error(response, 404, "not_found", "task_not_found")


def test_another_keys_task_is_404_and_untouched(client: httpx.Client) -> None:
    task = assert_task(client.post("/run?wait=false", json=sleep_run(30)))
    other = {"Authorization": f"Bearer {OTHER_KEY}"}
    assert_error(client.get(f"/tasks/{task['id']}", headers=other), 404, "not_found", "task_not_found")
    assert_error(client.post(f"/tasks/{task['id']}/cancel", headers=other), 404, "not_found", "task_not_found")
    assert assert_task(client.get(f"/tasks/{task['id']}"))["status"] not in TERMINAL


def test_unknown_app_is_404(client: httpx.Client) -> None:
    assert_error(client.post("/run", json={"app": "acme/nothing", "input": {}}), 404, "not_found", "app_not_found")


# --- sessions ----------------------------------------------------------------------------------


def test_session_new_and_continue(client: httpx.Client) -> None:
    first = assert_task(client.post("/run", json={**ECHO, "session": "new"}))
    assert first["session_id"]
    second = assert_task(client.post("/run", json={**ECHO, "session": first["session_id"]}))
    assert second["session_id"] == first["session_id"] and second["id"] != first["id"]
    assert assert_task(client.get(f"/tasks/{second['id']}"))["session_id"] == first["session_id"]
    assert assert_task(client.post("/run", json=ECHO))["session_id"] is None


def test_unknown_and_foreign_sessions_are_404(client: httpx.Client) -> None:
    assert_error(client.post("/run", json={**ECHO, "session": "sess_nope"}), 404, "SESSION_NOT_FOUND")
    sid = assert_task(client.post("/run", json={**ECHO, "session": "new"}))["session_id"]
    other = {"Authorization": f"Bearer {OTHER_KEY}"}
    assert_error(client.post("/run", json={**ECHO, "session": sid}, headers=other), 404, "SESSION_NOT_FOUND")


def _asgi(app: MockApp, body: Callable[[httpx.AsyncClient], Awaitable[None]]) -> None:
    async def main() -> None:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://mock", headers=AUTH) as c:
            await body(c)

    asyncio.run(main())


def test_expired_session_is_410() -> None:
    clock = FakeClock()
    config = MockConfig(seed=1)
    backend = MockBackend(config, load_catalog(PHASES), clock, random.Random(1))
    app = create_app(config, backend=backend)
    bounds = SPEC.rule("session-timeout-bounds").params

    async def body(c: httpx.AsyncClient) -> None:
        first = (await c.post("/run?wait=false", json={**ECHO, "session": "new", "session_timeout": bounds["minimum"]}))
        sid = data_of(first)["session_id"]
        clock.advance(1)  # the task is done; 1 s idle is still within the timeout
        assert data_of(await c.post("/run?wait=false", json={**ECHO, "session": sid}))["session_id"] == sid
        clock.advance(1.5)
        assert_error(await c.post("/run?wait=false", json={**ECHO, "session": sid}), 410, "SESSION_EXPIRED")

    _asgi(app, body)


# --- validation --------------------------------------------------------------------------------


@pytest.mark.parametrize("body", [b"{", b"not json", b"", b"\xff\xfe", b'{"app": "infsh/echo",}'])
def test_invalid_json_is_400(client: httpx.Client, body: bytes) -> None:
    response = client.post("/run", content=body, headers={"content-type": "application/json"})
    assert_error(response, 400, "invalid_request", "invalid_json")


@pytest.mark.parametrize("body", [b"[]", b"1", b'"x"', b"null"])
def test_json_that_is_not_an_object_is_400(client: httpx.Client, body: bytes) -> None:
    assert_error(client.post("/run", content=body), 400)


def test_oversized_body_is_400(client: httpx.Client) -> None:
    body = b'{"app": "infsh/echo", "input": {"x": "' + b"a" * ServerLimits().max_body_bytes + b'"}}'
    assert_error(client.post("/run", content=body), 400, "invalid_request", "body_too_large")


@pytest.mark.parametrize("wait", ["abc", "", "1", "yes", "TRUE"])
def test_bad_wait_parameter_is_400(client: httpx.Client, wait: str) -> None:
    assert_error(client.post("/run", params={"wait": wait}, json=ECHO), 400, "invalid_request")


@pytest.mark.parametrize("field", sorted(SPEC.schema("RunRequest")["properties"]))
def test_null_fields_are_400(client: httpx.Client, field: str) -> None:
    assert_error(client.post("/run", json={**ECHO, field: None}), 400, "invalid_request")


@pytest.mark.parametrize(
    "body",
    [
        {"input": {}},
        {"app": "infsh/echo"},
        {"app": "", "input": {}},
        {"app": "infsh/echo", "input": []},
        {"app": "infsh/echo", "input": {}, "infra": "moon"},
        {"app": "infsh/echo", "input": {}, "workers": [""]},
        {"app": "infsh/echo", "input": {}, "webhook": "not a url"},
        {"app": "infsh/echo", "input": {}, "session": ""},
    ],
)
def test_schema_violations_are_400(client: httpx.Client, body: dict[str, Any]) -> None:
    assert_error(client.post("/run", json=body), 400, "invalid_request")


def test_session_timeout_without_new_is_400(client: httpx.Client) -> None:
    sid = assert_task(client.post("/run", json={**ECHO, "session": "new"}))["session_id"]
    assert_error(client.post("/run", json={**ECHO, "session_timeout": 60}), 400, "invalid_request")
    assert_error(client.post("/run", json={**ECHO, "session": sid, "session_timeout": 60}), 400, "invalid_request")


def test_session_timeout_bounds_come_from_the_spec(client: httpx.Client) -> None:
    bounds = SPEC.rule("session-timeout-bounds").params
    low, high = bounds["minimum"], bounds["maximum"]
    for bad in (low - 0.5, high + 1, -1, "60"):
        answer = client.post("/run", json={**ECHO, "session": "new", "session_timeout": bad})
        assert_error(answer, 400, "invalid_request")
    for good in (low, high):
        assert assert_task(client.post("/run", json={**ECHO, "session": "new", "session_timeout": good}))["session_id"]


# --- /_mock/ controls --------------------------------------------------------------------------


def test_reset_forgets_tasks_faults_and_timing(client: httpx.Client) -> None:
    task = assert_task(client.post("/run", json=ECHO))
    client.put("/_mock/faults", json={"latency_ms_min": 1}).raise_for_status()
    client.put("/_mock/timing", json={"phase_ms": 500}).raise_for_status()
    assert client.post("/_mock/reset").json() == {"reset": True}
    assert_error(client.get(f"/tasks/{task['id']}"), 404)
    assert client.get("/_mock/faults").json() == Faults().__dict__
    assert client.get("/_mock/timing").json()["phase_ms"] is None
    assert client.get("/_mock/stats").json()["tasks"] == 0


def test_rate_limit_fault_is_429_with_retry_after(client: httpx.Client) -> None:
    client.put("/_mock/faults", json={"rate_limit_rate": 1, "retry_after_s": 7}).raise_for_status()
    response = client.post("/run", json=ECHO)
    assert_error(response, 429, "rate_limited")
    assert response.headers["retry-after"] == "7"
    assert client.get("/_mock/stats").status_code == 200  # controls are never faulted
    assert client.get("/_mock/stats").json()["tasks"] == 0


def test_error_fault_answers_the_chosen_5xx(client: httpx.Client) -> None:
    client.put("/_mock/faults", json={"error_rate": 1, "error_status": 503}).raise_for_status()
    assert_error(client.get("/tasks/task_x"), 503, "injected_fault")


def test_error_fault_rate_is_about_the_share_asked(client: httpx.Client) -> None:
    client.put("/_mock/faults", json={"error_rate": 0.3}).raise_for_status()
    statuses = [client.get("/tasks/task_x").status_code for _ in range(200)]
    assert set(statuses) == {404, 500}
    assert 30 <= statuses.count(500) <= 90


def test_latency_fault_delays_public_routes_only(client: httpx.Client) -> None:
    client.put("/_mock/faults", json={"latency_ms_min": 150, "latency_ms_max": 170}).raise_for_status()
    t0 = time.monotonic()
    client.get("/tasks/task_x")
    assert time.monotonic() - t0 >= 0.15
    t0 = time.monotonic()
    client.get("/_mock/stats")
    assert time.monotonic() - t0 < 0.15


@pytest.mark.parametrize(
    "faults",
    [{"error_rate": 2}, {"error_status": 404}, {"bogus": 1}, {"latency_ms_min": -1}, {"error_rate": "x"},
     {"latency_ms_min": 10, "latency_ms_max": 5}, {"retry_after_s": 1.5}],
)  # fmt: skip
def test_bad_fault_settings_are_400_and_change_nothing(client: httpx.Client, faults: dict[str, Any]) -> None:
    assert_error(client.put("/_mock/faults", json=faults), 400, "invalid_request")
    assert client.get("/_mock/faults").json() == Faults().__dict__


def test_control_bodies_that_are_not_json_objects_are_400(client: httpx.Client) -> None:
    assert_error(client.put("/_mock/faults", content=b"{"), 400)
    assert_error(client.put("/_mock/timing", content=b"[]"), 400)


def test_timing_phase_ms_sets_every_phase(client: httpx.Client) -> None:
    answer = client.put("/_mock/timing", json={"phase_ms": 40}).json()
    assert answer["phase_ms"] == 40 and answer["total_ms"] == 40 * len(PHASES)
    assert answer["phases"] == list(PHASES)
    t0 = time.monotonic()
    task = assert_task(client.post("/run?wait=false", json=ECHO))
    assert task["status"] not in TERMINAL
    done = assert_task(client.post("/run", json=ECHO))
    assert time.monotonic() - t0 >= 0.04 * len(PHASES)
    assert done["status"] == COMPLETED


def test_timing_profile_and_total_ms(client: httpx.Client) -> None:
    answer = client.put("/_mock/timing", json={"timing": "realistic"}).json()
    assert (answer["timing"], answer["phase_ms"]) == ("realistic", None)
    task = assert_task(client.post("/run?wait=false", json=ECHO))
    time.sleep(0.1)
    assert assert_task(client.get(f"/tasks/{task['id']}"))["status"] not in TERMINAL
    answer = client.put("/_mock/timing", json={"total_ms": 80}).json()
    assert answer["phase_ms"] == 80 / len(PHASES)
    assert client.get("/_mock/timing").json() == answer


@pytest.mark.parametrize("body", [{"timing": "glacial"}, {"phase_ms": -1}, {"phase_ms": "1"}, {"bogus": 1},
                                  {"timing": 3}, {"total_ms": True}])  # fmt: skip
def test_bad_timing_settings_are_400(client: httpx.Client, body: dict[str, Any]) -> None:
    assert_error(client.put("/_mock/timing", json=body), 400, "invalid_request")


def test_webhook_attempts_are_listed_and_filtered(client: httpx.Client) -> None:
    assert client.get("/_mock/webhooks").json() == {"attempts": [], "pending": 0}
    a = assert_task(client.post("/run", json={**ECHO, "webhook": "https://example.com/hook"}))
    b = assert_task(client.post("/run", json={**ECHO, "webhook": "http://10.0.0.1/hook"}))
    attempts = client.get("/_mock/webhooks").json()["attempts"]
    assert [x["task_id"] for x in attempts] == [a["id"], b["id"]]
    assert {"task_id", "url", "attempt", "status_code", "latency_ms", "outcome", "at"} <= set(attempts[0])
    assert {x["outcome"] for x in attempts} == {"refused"}
    only_b = client.get("/_mock/webhooks", params={"task_id": b["id"]}).json()["attempts"]
    assert [x["url"] for x in only_b] == ["http://10.0.0.1/hook"]


def test_stats_count_tasks_sessions_and_waiting_requests(client: httpx.Client, server: MockServer) -> None:
    for _ in range(3):
        assert_task(client.post("/run", json={**ECHO, "session": "new"}))
    stats = client.get("/_mock/stats").json()
    assert stats == {"tasks": 3, "sessions": 3, "webhooks_pending": 0, "waiting_requests": 0,
                     "profile": "documented"}  # fmt: skip
    waiter = threading.Thread(target=lambda: client.post("/run", json=sleep_run(30)))
    waiter.start()
    task_id = _wait_for_one_task_after(server, 3)
    assert client.get("/_mock/stats").json()["waiting_requests"] == 1
    client.post(f"/tasks/{task_id}/cancel")
    waiter.join(10)
    assert client.get("/_mock/stats").json()["waiting_requests"] == 0


def _wait_for_one_task_after(server: MockServer, known: int) -> str:
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        if len(server.app.backend.tasks) > known and server.app.lifecycle.waiting:
            return list(server.app.backend.tasks)[-1]
        time.sleep(0.01)
    raise AssertionError("no waiting task appeared")


# --- graceful shutdown -------------------------------------------------------------------------


def test_shutdown_answers_waiting_requests_and_reports_undelivered_webhooks(
    caplog: pytest.LogCaptureFixture,
) -> None:
    slow_retry = WebhookPolicy(backoff_initial_s=20, backoff_max_s=20, budget_s=300)
    with WebhookReceiver(status_code=500) as hook:
        srv = MockServer(MockConfig(webhooks=slow_retry))
        url = srv.start()
        results: list[httpx.Response] = []
        with httpx.Client(base_url=url, headers=AUTH, timeout=20, trust_env=False) as c:
            failing = assert_task(c.post("/run", json={**ECHO, "webhook": hook.url()}))
            assert hook.wait_until(lambda r: len(r.deliveries()) == 1)
            waiter = threading.Thread(target=lambda: results.append(c.post("/run", json=sleep_run(30))))
            waiter.start()
            _wait_for_one_task_after(srv, 1)
            t0 = time.monotonic()
            with caplog.at_level(logging.WARNING, logger="infsh_harness.mock"):
                srv.stop()
            waiter.join(10)
            assert time.monotonic() - t0 < 10
    body = assert_task(results[0])
    assert body["status"] not in TERMINAL
    outcomes = [(a.task_id, a.outcome) for a in srv.app.dispatcher.attempts]
    assert outcomes == [(failing["id"], "http_error"), (failing["id"], "undelivered")]
    assert any("undelivered" in r.getMessage() and failing["id"] in r.getMessage() for r in caplog.records)


# --- rendering -----------------------------------------------------------------------------------


def test_timestamps_render_exactly_as_datetime_isoformat() -> None:
    rng = random.Random(8)
    instants = [0.0, 1.0, 1705314600.0, 1705314600.123, 1705314600.9995, 1705314600.9999996, 253402300799.999]
    instants += [rng.uniform(0, 4e9) for _ in range(20000)]
    instants += [rng.randrange(4 * 10**9) + rng.randrange(1000) / 1000 for _ in range(20000)]
    for epoch in instants:
        expected = datetime.fromtimestamp(epoch, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
        assert iso_ms(epoch) == expected, epoch


# --- serving -------------------------------------------------------------------------------------


def test_start_on_a_busy_port_fails_at_once() -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        t0 = time.monotonic()
        with pytest.raises(RuntimeError, match="did not start"):
            MockServer(port=busy.getsockname()[1]).start()
        assert time.monotonic() - t0 < 5


def test_serve_in_thread_serves_the_asked_profile_on_loopback() -> None:
    with serve_in_thread(config=MockConfig(keys=("only_key",))) as url:
        assert url.startswith("http://127.0.0.1:")
        stats = httpx.get(f"{url}/_mock/stats", headers={"Authorization": "Bearer only_key"}, trust_env=False).json()
        assert stats["profile"] == "documented"
        answer = httpx.post(f"{url}/run", json=ECHO, headers={"Authorization": "Bearer only_key"}, trust_env=False)
        assert assert_task(answer)["status"] == COMPLETED
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"{url}/_mock/stats", trust_env=False)


def test_no_faults_is_one_shared_value() -> None:
    from infsh_harness.mock.config import NO_FAULTS

    assert Faults.from_mapping({}) is NO_FAULTS and Faults.from_mapping({"error_rate": 0}) is NO_FAULTS
    assert MockConfig(faults=Faults()).faults is NO_FAULTS
    assert create_app(MockConfig(faults=Faults(error_rate=0.5))).faults.active
    assert not create_app(MockConfig()).faults.active

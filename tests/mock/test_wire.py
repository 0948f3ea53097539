"""The mock's ``wire`` profile: its data file, the model's wire choices, and the routes over HTTP.

``fixtures/wire.yaml`` is checked against the official Python client's own enums and DTOs, so the
numbering and field lists cannot drift from what the client parses. The model is driven by a fake
clock; the HTTP tests run the mock on 127.0.0.1 with every request bounded by a timeout.
"""

from __future__ import annotations

import argparse
import random
import re
import threading
import time
from collections.abc import Iterator
from typing import Any

import httpx
import orjson
import pytest
from inferencesh import client as py_client
from inferencesh import types as py_types

from infsh_harness.cli import mock as mock_cli
from infsh_harness.mock.apps import load_catalog
from infsh_harness.mock.config import MockConfig
from infsh_harness.mock.errors import MockError
from infsh_harness.mock.models import CANCELLING, FakeClock, MockBackend, ModelOptions, Task
from infsh_harness.mock.profiles.wire import match as match_wire
from infsh_harness.mock.profiles.wire import wants_sse
from infsh_harness.mock.profiles.wire_render import WireIds, iso_us, load_wire
from infsh_harness.mock.server import MockServer, serve_in_thread
from infsh_harness.spec import load_spec
from infsh_harness.webhooks.receiver import WebhookReceiver

pytestmark = pytest.mark.timeout(30)

SPEC = load_spec()
WIRE = load_wire()
PHASES = tuple(s.varname for s in SPEC.statuses if not s.terminal)
KEY, OTHER_KEY = "inf_test_key", "inf_test_key_2"
AUTH = {"authorization": f"Bearer {KEY}"}
ID = re.compile(rf"[{re.escape(WIRE.id_alphabet)}]{{{WIRE.id_length}}}")
MICROSECONDS_UTC = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z")
CODE = {s.varname: s.code for s in WIRE.statuses if s.varname}
TEXT = {s.code: s.text for s in WIRE.statuses}
HEARTBEAT_S = 0.05


# --- the data file against the official client -----------------------------------------------------
def test_wire_statuses_are_the_official_clients_numbering() -> None:
    for status in WIRE.statuses:
        assert py_types.TaskStatus(status.code).name.lower() == status.text
        assert py_client.parse_status(status.text) == status.code
    assert WIRE.terminal_codes == {int(s) for s in py_client.TERMINAL_STATUSES}


def test_wire_statuses_cover_every_model_status() -> None:
    model_statuses = {s.varname for s in SPEC.statuses} | {CANCELLING}
    assert model_statuses <= set(CODE)
    assert [CODE[v] for v in PHASES] == sorted(CODE[v] for v in PHASES), "phases keep their order"
    assert {CODE[v] for v in ("COMPLETED", "FAILED", "CANCELLED")} <= WIRE.terminal_codes
    assert CODE[CANCELLING] not in WIRE.terminal_codes


def dto_keys(dto: Any) -> set[str]:
    return set(dto.__required_keys__ | dto.__optional_keys__)


def test_wire_field_lists_are_fields_of_the_official_dtos() -> None:
    assert set(WIRE.run_result_fields) <= dto_keys(py_types.TaskResultDTO)
    assert "input" not in WIRE.run_result_fields
    assert set(WIRE.full_task_fields) <= dto_keys(py_types.TaskDTO)
    assert set(WIRE.status_fields) == dto_keys(py_types.ResourceStatusDTO)


def test_wire_timestamps_have_microseconds_in_utc() -> None:
    assert iso_us(1_700_000_000.25) == "2023-11-14T22:13:20.250000Z"
    assert MICROSECONDS_UTC.fullmatch(iso_us(1_789_000_075.308496))


def test_wire_ids_are_26_lowercase_characters_without_prefix() -> None:
    ids = WireIds(random.Random(1), WIRE)
    made = {ids("task_") for _ in range(200)}
    assert len(made) == 200
    assert all(ID.fullmatch(i) for i in made)
    assert ids.stable("app:infsh/echo") == ids.stable("app:infsh/echo") != ids.stable("app:infsh/flux")


# --- the model's wire choices, on a fake clock --------------------------------------------------
def make_backend(
    *, cancel_s: float = 0.0, strict: bool = False, wire_ids: bool = False
) -> tuple[MockBackend, FakeClock]:
    clock = FakeClock(0.0)
    rng = random.Random(0)
    ids = WireIds(rng, WIRE) if wire_ids else None
    options = ModelOptions(id_factory=ids, cancel_s=cancel_s, strict_sessions=strict)
    return MockBackend(MockConfig(), load_catalog(PHASES), clock, rng, options), clock


def start(backend: MockBackend, app: str = "infsh/echo", **fields: Any) -> Task:
    return backend.create_task(KEY, {"app": app, "input": fields.pop("input", {}), **fields})


def test_model_documented_ids_are_unchanged_and_the_factory_replaces_them() -> None:
    backend, _ = make_backend()
    assert start(backend).id.startswith("task_")
    backend, _ = make_backend(wire_ids=True)
    task = start(backend, session="new")
    assert ID.fullmatch(task.id)
    assert task.session_id is not None and ID.fullmatch(task.session_id)


def test_model_cancel_in_flight_reads_cancelling_then_cancelled() -> None:
    backend, clock = make_backend(cancel_s=0.05)
    task = start(backend, "infsh/sleep", input={"seconds": 5})
    clock.advance(1.0)
    assert backend.view(task).status == "RUNNING"
    assert backend.cancel_task(KEY, task.id).status == CANCELLING
    assert backend.cancel_task(KEY, task.id).status == CANCELLING, "a second cancel changes nothing"
    assert backend.terminal_at(task) == pytest.approx(1.05)
    assert backend.next_change_at(task) == pytest.approx(1.05)
    clock.advance(0.049)
    view = backend.view(task)
    assert (view.status, view.terminal) == (CANCELLING, False)
    assert view.updated_at == pytest.approx(1.0), "Cancelling since the cancel was asked for"
    clock.t = backend.terminal_at(task)
    assert backend.view(task).status == "CANCELLED"
    assert backend.next_change_at(task) is None
    statuses = [s for s, _ in backend.history(task)]
    assert statuses == [*PHASES[: PHASES.index("RUNNING") + 1], CANCELLING, "CANCELLED"]


def test_model_cancel_without_interval_is_cancelled_at_once() -> None:
    backend, clock = make_backend()
    task = start(backend, "infsh/sleep", input={"seconds": 5})
    clock.advance(1.0)
    assert backend.cancel_task(KEY, task.id).status == "CANCELLED"
    assert CANCELLING not in [s for s, _ in backend.history(task)]


def test_model_history_follows_the_schedule() -> None:
    backend, clock = make_backend()
    task = start(backend)
    assert backend.history(task) == [(PHASES[0], 0.0)]
    clock.t = task.finishes_at
    history = backend.history(task)
    assert [s for s, _ in history] == [*PHASES, "COMPLETED"]
    assert [t for _, t in history] == [0.0, *(task.ends)]
    assert backend.next_change_at(task) is None


def test_model_next_change_is_the_next_phase_boundary() -> None:
    backend, clock = make_backend()
    task = start(backend)
    assert backend.next_change_at(task) == task.ends[0]
    clock.t = task.ends[2] + 1e-6
    assert backend.next_change_at(task) == task.ends[3]


def test_model_session_keepalive_end_and_expiry() -> None:
    backend, clock = make_backend()
    first = start(backend, session="new", session_timeout=10)
    session_id = first.session_id
    assert session_id is not None
    clock.t = first.finishes_at + 9
    session = backend.keepalive_session(KEY, session_id)
    assert session.expires_at == pytest.approx(clock.t + 10)
    clock.advance(10.5)
    assert backend.get_session(KEY, session_id).state(clock.now()) == "expired"
    for attempt in (
        lambda: backend.keepalive_session(KEY, session_id),
        lambda: start(backend, session=session_id),
    ):
        with pytest.raises(MockError) as expired:
            attempt()
        assert (expired.value.status_code, expired.value.reason) == (410, "session_expired")
    assert backend.end_session(KEY, session_id).state(clock.now()) == "expired", "ending changes nothing"


def test_model_ended_session_refuses_new_calls() -> None:
    backend, clock = make_backend()
    session_id = start(backend, session="new").session_id
    assert session_id is not None
    ended = backend.end_session(KEY, session_id)
    assert (ended.state(clock.now()), ended.ended_at) == ("ended", clock.now())
    clock.advance(1.0)
    assert backend.end_session(KEY, session_id).ended_at == 0.0, "ending twice keeps the first end"
    for attempt in (
        lambda: backend.keepalive_session(KEY, session_id),
        lambda: start(backend, session=session_id),
    ):
        with pytest.raises(MockError) as refused:
            attempt()
        assert (refused.value.status_code, refused.value.reason) == (410, "session_ended")
    with pytest.raises(MockError) as other:
        backend.end_session(OTHER_KEY, session_id)
    assert (other.value.status_code, other.value.reason) == (404, "session_not_found")


def test_model_strict_sessions_refuse_another_app_and_a_busy_worker() -> None:
    backend, clock = make_backend(strict=True)
    first = start(backend, "infsh/sleep", input={"seconds": 2}, session="new")
    session_id = first.session_id
    assert session_id is not None
    with pytest.raises(MockError) as busy:
        start(backend, "infsh/sleep", session=session_id)
    assert (busy.value.status_code, busy.value.reason) == (409, "worker_leased")
    clock.t = first.finishes_at
    with pytest.raises(MockError) as mismatch:
        start(backend, "infsh/echo", session=session_id)
    assert (mismatch.value.status_code, mismatch.value.reason) == (400, "app_mismatch")
    second = start(backend, "infsh/sleep@2", input={"seconds": 0}, session=session_id)
    assert second.session_id == session_id
    assert backend.get_session(KEY, session_id).calls == 2


def test_model_documented_sessions_pin_the_version_the_wire_does_not() -> None:
    """The Sessions page: a busy session takes the next run, but another version is 400."""
    backend, _ = make_backend()
    first = start(backend, "infsh/sleep", input={"seconds": 2}, session="new")
    assert start(backend, "infsh/sleep", session=first.session_id).session_id == first.session_id
    with pytest.raises(MockError) as mismatch:
        start(backend, "infsh/sleep@2", session=first.session_id)
    assert (mismatch.value.status_code, mismatch.value.code) == (400, "VERSION_MISMATCH")


# --- routing -----------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("/apps/run", ("run", {})),
        ("/tasks/abc", ("task", {"id": "abc"})),
        ("/tasks/abc/status", ("status", {"id": "abc"})),
        ("/tasks/abc/stream", ("stream", {"id": "abc"})),
        ("/tasks/abc/cancel", ("cancel", {"id": "abc"})),
        ("/sessions/s1", ("session", {"id": "s1"})),
        ("/sessions/s1/keepalive", ("keepalive", {"id": "s1"})),
        ("/run", None),
        ("/tasks/", None),
        ("/tasks/abc/logs", None),
        ("/sessions/s1/stream", None),
        ("/tasks/a/b/cancel", None),
    ],
)
def test_match_wire(path: str, expected: tuple[str, dict[str, str]] | None) -> None:
    assert match_wire(path) == expected


def test_wants_sse_only_when_asked_and_not_for_ndjson() -> None:
    assert wants_sse("text/event-stream")
    assert not wants_sse("application/x-ndjson")
    assert not wants_sse("application/x-ndjson, text/event-stream")
    assert not wants_sse("")


# --- over HTTP -----------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def wire_server() -> Iterator[MockServer]:
    server = MockServer(MockConfig(profile="wire", heartbeat_s=HEARTBEAT_S, seed=7))
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def http(wire_server: MockServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=wire_server.url, headers=AUTH, trust_env=False, timeout=10.0) as c:
        yield c


def data(response: httpx.Response, status: int = 200) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/json"
    body = response.json()
    assert body.keys() == {"success", "data", "messages"}
    assert body["success"] is True and body["messages"] == []
    result: dict[str, Any] = body["data"]
    return result


def problem(response: httpx.Response, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == WIRE.error_media_type
    body: dict[str, Any] = response.json()
    assert body["type"] == WIRE.error_type_base + code
    assert isinstance(body["title"], str) and body["title"]
    assert isinstance(body["detail"], str) and body["detail"]
    return body


def run(http: httpx.Client, app: str = "infsh/echo", **fields: Any) -> httpx.Response:
    return http.post("/apps/run", json={"app": app, "input": fields.pop("input", {}), **fields})


def assert_slim(task: dict[str, Any]) -> None:
    assert list(task) == list(WIRE.run_result_fields)
    assert ID.fullmatch(task["id"]) and task["short_id"] == task["id"][: WIRE.short_id_length]
    assert task["status_text"] == TEXT[task["status"]]
    for stamp in ("created_at", "updated_at"):
        assert MICROSECONDS_UTC.fullmatch(task[stamp])


def test_run_does_not_wait_by_default(http: httpx.Client) -> None:
    task = data(run(http, input={"a": 1}))
    assert_slim(task)
    assert task["status"] not in WIRE.terminal_codes
    assert task["output"] is None


def test_run_with_wait_in_the_body_answers_the_final_task(http: httpx.Client) -> None:
    task = data(run(http, input={"a": 1}, wait=True))
    assert_slim(task)
    assert (task["status"], task["output"], task["error"]) == (CODE["COMPLETED"], {"echo": {"a": 1}}, None)


def test_waited_failed_task_is_a_422_problem(http: httpx.Client) -> None:
    body = problem(run(http, "infsh/fail", input={"message": "boom"}, wait=True), 422, "task_failed")
    assert body["detail"] == "boom"
    assert body["task"]["status"] == CODE["FAILED"] and body["task"]["error"] == "boom"


def test_waited_cancelled_task_is_a_422_problem(http: httpx.Client, wire_server: MockServer) -> None:
    answers: list[httpx.Response] = []
    marker = f"waited-cancel-{time.monotonic_ns()}"

    def waiting_run() -> None:
        with httpx.Client(base_url=wire_server.url, headers=AUTH, trust_env=False, timeout=10.0) as other:
            answers.append(run(other, "infsh/sleep", input={"seconds": 5, "marker": marker}, wait=True))

    waiter = threading.Thread(target=waiting_run)
    waiter.start()
    try:
        task_id = wait_for_task(wire_server, marker)
        data(http.post(f"/tasks/{task_id}/cancel"))
    finally:
        waiter.join(10)
    body = problem(answers[0], 422, "task_cancelled")
    assert body["task"]["id"] == task_id
    assert body["task"]["status"] == CODE["CANCELLED"]


def wait_for_task(server: MockServer, marker: str, timeout_s: float = 5.0) -> str:
    """The id of the task whose input carries ``marker``, once the mock has it."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        for task in list(server.app.backend.tasks.values()):
            if task.input.get("marker") == marker:
                return task.id
        time.sleep(0.005)
    raise AssertionError(f"no task with marker {marker}")


def test_full_task_adds_the_request_to_the_run_result(http: httpx.Client) -> None:
    created = data(run(http, input={"a": 1}, setup={"gpu": 1}, function="main", infra="private_first"))
    task = data(http.get(f"/tasks/{created['id']}"))
    assert list(task) == [*WIRE.run_result_fields, *WIRE.full_task_fields]
    assert (task["id"], task["created_at"]) == (created["id"], created["created_at"])
    assert (task["input"], task["setup"], task["function"], task["infra"]) == (
        {"a": 1},
        {"gpu": 1},
        "main",
        "private_first",
    )
    assert ID.fullmatch(task["app_id"])
    assert task["logs"] == []
    events = task["events"]
    assert events and events[0]["status"] == CODE[PHASES[0]]
    assert all(e["task_id"] == task["id"] and MICROSECONDS_UTC.fullmatch(e["event_time"]) for e in events)


def test_status_endpoint_is_id_status_updated_at(http: httpx.Client) -> None:
    created = data(run(http, wait=True))
    status = data(http.get(f"/tasks/{created['id']}/status"))
    assert status == {k: created[k] for k in WIRE.status_fields}


@pytest.mark.parametrize(
    ("method", "path", "headers", "body", "status", "code"),
    [
        ("GET", "/tasks/zzzzzzzzzzzzzzzzzzzzzzzzzz", AUTH, None, 404, "not_found"),
        ("GET", "/tasks/zzzzzzzzzzzzzzzzzzzzzzzzzz/status", AUTH, None, 404, "not_found"),
        ("GET", "/tasks/zzzzzzzzzzzzzzzzzzzzzzzzzz/stream", AUTH, None, 404, "not_found"),
        ("POST", "/run", AUTH, b'{"app": "infsh/echo", "input": {}}', 404, "not_found"),
        ("POST", "/apps/run", AUTH, b'{"app": "no/such-app", "input": {}}', 404, "not_found"),
        ("POST", "/apps/run", {}, b'{"app": "infsh/echo", "input": {}}', 401, "unauthorized"),
        ("POST", "/apps/run", AUTH, b"{not json", 400, "invalid_json"),
        ("POST", "/apps/run", AUTH, b'{"app": "infsh/echo", "infra": "moon"}', 422, "validation_error"),
        ("POST", "/apps/run", AUTH, b'{"app": "infsh/echo", "session_timeout": 1.5}', 422, "validation_error"),
        ("GET", "/sessions/nope", AUTH, None, 404, "session_not_found"),
        ("POST", "/sessions/nope/keepalive", AUTH, None, 404, "session_not_found"),
        ("DELETE", "/sessions/nope", AUTH, None, 404, "session_not_found"),
    ],
)
def test_errors_are_problem_details(
    wire_server: MockServer,
    method: str,
    path: str,
    headers: dict[str, str],
    body: bytes | None,
    status: int,
    code: str,
) -> None:
    with httpx.Client(base_url=wire_server.url, trust_env=False, timeout=10.0) as c:
        problem(c.request(method, path, headers=headers, content=body), status, code)


def test_method_not_allowed_names_the_allowed_methods(http: httpx.Client) -> None:
    response = http.put("/tasks/abc/cancel")
    problem(response, 405, "method_not_allowed")
    assert response.headers["allow"] == "POST"


def test_tasks_belong_to_their_key(http: httpx.Client, wire_server: MockServer) -> None:
    created = data(run(http))
    other = {"authorization": f"Bearer {OTHER_KEY}"}
    with httpx.Client(base_url=wire_server.url, headers=other, trust_env=False, timeout=10.0) as c:
        problem(c.get(f"/tasks/{created['id']}"), 404, "not_found")
        problem(c.post(f"/tasks/{created['id']}/cancel"), 404, "not_found")


def read_stream(http: httpx.Client, task_id: str, accept: str) -> tuple[str, list[str]]:
    with http.stream("GET", f"/tasks/{task_id}/stream", headers={"accept": accept}) as response:
        assert response.status_code == 200
        return response.headers["content-type"], list(response.iter_lines())


def test_stream_ndjson_updates_heartbeats_final_task_then_close(http: httpx.Client) -> None:
    created = data(run(http, "infsh/sleep", input={"seconds": 4 * HEARTBEAT_S}))
    content_type, lines = read_stream(http, created["id"], "application/x-ndjson")
    assert content_type == "application/x-ndjson"
    items = [orjson.loads(line) for line in lines if line]
    first, final = items[0], items[-1]
    assert first["id"] == created["id"] and "input" in first, "the stream opens with the full task"
    assert (final["status"], final["output"]) == (CODE["COMPLETED"], {"slept": 4 * HEARTBEAT_S})
    assert final["status_text"] == "completed" and "events" in final
    partials = [i for i in items[1:-1] if "fields" in i]
    assert all(set(p["fields"]) <= set(p["data"]) and p["data"]["id"] == created["id"] for p in partials)
    seen = [first["status"], *(p["data"]["status"] for p in partials), final["status"]]
    assert seen == sorted(seen), "statuses only move forward"
    assert CODE["RUNNING"] in seen and CODE["UPLOADING"] in seen
    heartbeats = [i for i in items if i == {"type": "heartbeat"}]
    assert 1 <= len(heartbeats) <= 8
    assert len(heartbeats) + len(partials) + 2 == len(items)


def test_stream_sse_for_clients_that_ask_for_it(http: httpx.Client) -> None:
    created = data(run(http, "infsh/sleep", input={"seconds": 3 * HEARTBEAT_S}))
    content_type, lines = read_stream(http, created["id"], "text/event-stream")
    assert content_type == "text/event-stream"
    events = [orjson.loads(line.removeprefix("data: ")) for line in lines if line.startswith("data: ")]
    assert ": heartbeat" in lines
    assert all(line in ("", ": heartbeat") or line.startswith("data: ") for line in lines)
    assert events[0]["id"] == created["id"]
    assert events[-1]["status"] == CODE["COMPLETED"]


def test_stream_of_a_cancelled_task_shows_cancelling_then_cancelled(http: httpx.Client) -> None:
    created = data(run(http, "infsh/sleep", input={"seconds": 5}))
    received: list[dict[str, Any]] = []
    with http.stream("GET", f"/tasks/{created['id']}/stream") as response:
        for line in response.iter_lines():
            item = orjson.loads(line)
            received.append(item)
            status = item.get("data", item).get("status")
            if status == CODE["RUNNING"]:
                cancelled = data(http.post(f"/tasks/{created['id']}/cancel"))
                assert cancelled["status"] == CODE[CANCELLING]
    statuses = [i.get("data", i)["status"] for i in received if "status" in i.get("data", i)]
    assert statuses[-2:] == [CODE[CANCELLING], CODE["CANCELLED"]]
    final = data(http.get(f"/tasks/{created['id']}"))
    assert final["status"] == CODE["CANCELLED"]
    assert [e["status"] for e in final["events"]][-2:] == [CODE[CANCELLING], CODE["CANCELLED"]]


def test_stream_ends_when_the_client_hangs_up(http: httpx.Client, wire_server: MockServer) -> None:
    created = data(run(http, "infsh/sleep", input={"seconds": 10}))
    with http.stream("GET", f"/tasks/{created['id']}/stream") as response:
        next(response.iter_lines())
    deadline = time.monotonic() + 5
    while http.get("/_mock/stats").json()["waiting_requests"] and time.monotonic() < deadline:
        time.sleep(0.01)
    assert http.get("/_mock/stats").json()["waiting_requests"] == 0
    data(http.post(f"/tasks/{created['id']}/cancel"))


def test_cancel_of_a_finished_task_changes_nothing(http: httpx.Client) -> None:
    created = data(run(http, wait=True))
    after = data(http.post(f"/tasks/{created['id']}/cancel"))
    assert (after["status"], after["output"]) == (CODE["COMPLETED"], created["output"])


def test_session_get_keepalive_end(http: httpx.Client) -> None:
    first = data(run(http, session="new", session_timeout=60, wait=True))
    session_id = first["session_id"]
    assert ID.fullmatch(session_id)
    second = data(run(http, input={"n": 2}, session=session_id, wait=True))
    assert second["session_id"] == session_id
    info = data(http.get(f"/sessions/{session_id}"))
    assert (info["id"], info["status"], info["call_count"], info["idle_timeout"]) == (session_id, "active", 2, 60)
    assert info["task_id"] == second["id"]
    alive = data(http.post(f"/sessions/{session_id}/keepalive"))
    assert alive["expires_at"] >= info["expires_at"]
    ended = data(http.delete(f"/sessions/{session_id}"))
    assert ended["status"] == "ended" and MICROSECONDS_UTC.fullmatch(ended["ended_at"])
    assert data(http.delete(f"/sessions/{session_id}"))["ended_at"] == ended["ended_at"]
    problem(http.post(f"/sessions/{session_id}/keepalive"), 410, "session_ended")
    problem(run(http, session=session_id), 410, "session_ended")


def test_session_busy_worker_and_other_app(http: httpx.Client) -> None:
    first = data(run(http, "infsh/sleep", input={"seconds": 5}, session="new"))
    session_id = first["session_id"]
    problem(run(http, "infsh/sleep", session=session_id), 409, "worker_leased")
    data(http.post(f"/tasks/{first['id']}/cancel"))
    deadline = time.monotonic() + 5
    while data(http.get(f"/tasks/{first['id']}/status"))["status"] != CODE["CANCELLED"]:
        assert time.monotonic() < deadline
        time.sleep(0.01)
    problem(run(http, "infsh/echo", session=session_id), 400, "app_mismatch")
    assert data(run(http, "infsh/sleep", input={"seconds": 0}, session=session_id))["session_id"] == session_id


def test_webhook_carries_the_wire_task_once(http: httpx.Client) -> None:
    with WebhookReceiver() as hook:
        created = data(run(http, "infsh/flux", input={"prompt": "cat"}, webhook=hook.url()))
        assert hook.wait_until(lambda r: bool(r.acknowledged()), timeout_s=5)
        time.sleep(0.05)  # room for a (wrong) second delivery
        payloads = hook.acknowledged()[created["id"]]
    assert len(payloads) == 1
    payload = payloads[0]
    assert_slim(payload)
    assert payload["status"] == CODE["COMPLETED"]
    assert payload["output"]["image"]["uri"].endswith(".png")


def test_webhook_of_a_cancelled_task_waits_for_the_cancel_to_land(http: httpx.Client) -> None:
    with WebhookReceiver() as hook:
        created = data(run(http, "infsh/sleep", input={"seconds": 5}, webhook=hook.url()))
        assert data(http.post(f"/tasks/{created['id']}/cancel"))["status"] == CODE[CANCELLING]
        assert hook.wait_until(lambda r: bool(r.acknowledged()), timeout_s=5)
        payloads = hook.acknowledged()[created["id"]]
    assert [p["status"] for p in payloads] == [CODE["CANCELLED"]]


# --- configuration and the documented profile ----------------------------------------------------
def test_cancel_interval_and_heartbeat_are_configurable() -> None:
    config = MockConfig(profile="wire", cancel_ms=0, heartbeat_s=0.02)
    with serve_in_thread(profile="wire", config=config) as url:
        with httpx.Client(base_url=url, headers=AUTH, trust_env=False, timeout=10.0) as c:
            created = data(run(c, "infsh/sleep", input={"seconds": 0.2}))
            _, lines = read_stream(c, created["id"], "application/x-ndjson")
            assert lines.count('{"type":"heartbeat"}') >= 3
            sleeper = data(run(c, "infsh/sleep", input={"seconds": 5}))
            assert data(c.post(f"/tasks/{sleeper['id']}/cancel"))["status"] == CODE["CANCELLED"]


def test_config_keeps_wire_settings_to_the_wire_profile() -> None:
    with pytest.raises(ValueError, match="cancel_ms"):
        MockConfig(cancel_ms=10)
    with pytest.raises(ValueError, match="cancel_ms"):
        MockConfig(profile="wire", cancel_ms=-1)
    with pytest.raises(ValueError, match="heartbeat_s"):
        MockConfig(profile="wire", heartbeat_s=0)
    assert MockConfig(cancel_ms=0).cancel_ms == 0


def test_cli_passes_the_wire_settings() -> None:
    parser = argparse.ArgumentParser()
    mock_cli.add_parser(parser.add_subparsers())
    args = parser.parse_args(["mock", "--profile", "wire", "--cancel-ms", "5", "--heartbeat", "0.5"])
    config = mock_cli.config_from_args(args, (KEY,))
    assert (config.profile, config.cancel_ms, config.heartbeat_s) == ("wire", 5.0, 0.5)


def test_documented_profile_is_unchanged() -> None:
    """The documented profile beside it still speaks the documentation (version 2 here: bare objects)."""
    with serve_in_thread(profile="documented") as url:
        headers = {**AUTH, "X-API-Version": "2"}
        with httpx.Client(base_url=url, headers=headers, trust_env=False, timeout=10.0) as c:
            task = c.post("/run", params={"wait": "false"}, json={"app": "infsh/sleep", "input": {"seconds": 5}})
            assert task.status_code == 200
            body = task.json()
            assert body["id"].startswith("task_") and "data" not in body
            cancelled = c.post(f"/tasks/{body['id']}/cancel").json()
            assert (cancelled["status"], cancelled["cancelled"]) == (SPEC.status("CANCELLED"), True)
            missing = c.post("/apps/run", json={"app": "infsh/echo", "input": {}})
            assert missing.status_code == 404 and missing.headers["content-type"] == "application/problem+json"
            assert missing.json()["type"].endswith("/not_found")

"""The documented profile serves the four pages: both API versions of every operation and error, the
session endpoints, the task stream and the rate limits. In-process (ASGI) with a ``FakeClock``: no
sockets, no sleeping; the stream's live case alone runs a real server.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Awaitable, Callable
from typing import Any

import httpx
import orjson
import pytest

from infsh_harness.mock.app import MockApp, create_app
from infsh_harness.mock.apps import load_catalog
from infsh_harness.mock.config import MockConfig
from infsh_harness.mock.models import FakeClock, MockBackend
from infsh_harness.mock.server import serve_in_thread
from infsh_harness.spec import load_spec
from tests.mock.answers import V2, data_of, error_of

SPEC = load_spec()
PHASES = tuple(s.varname for s in SPEC.statuses if not s.terminal)
KEY, OTHER_KEY = "inf_test_key", "inf_test_key_2"
AUTH = {"Authorization": f"Bearer {KEY}"}
ECHO = {"app": "infsh/echo", "input": {"prompt": "hi"}}
SSE = "text/event-stream"
VERSIONS = {"1": {}, "2": V2, "other": {"X-API-Version": "3"}}
pytestmark = pytest.mark.timeout(30)
Body = Callable[[httpx.AsyncClient, FakeClock], Awaitable[None]]


def mock(config: MockConfig | None = None) -> tuple[MockApp, FakeClock]:
    config = config or MockConfig(seed=1)
    clock = FakeClock()
    backend = MockBackend(config, load_catalog(PHASES), clock, random.Random(1))
    return create_app(config, backend=backend), clock


def drive(body: Body, config: MockConfig | None = None, headers: dict[str, str] | None = None) -> None:
    app, clock = mock(config)

    async def main() -> None:
        transport = httpx.ASGITransport(app=app)
        sent = AUTH if headers is None else headers
        async with httpx.AsyncClient(transport=transport, base_url="http://mock", headers=sent) as c:
            await body(c, clock)

    asyncio.run(main())


# --- versions ------------------------------------------------------------------------------------
@pytest.mark.parametrize("version", sorted(VERSIONS))
def test_every_task_operation_answers_in_the_version_asked(version: str) -> None:
    headers = VERSIONS[version]

    async def body(c: httpx.AsyncClient, clock: FakeClock) -> None:
        ran = await c.post("/run", params={"wait": "false"}, json=ECHO, headers=headers)
        task = data_of(ran)
        assert SPEC.validate("Task", task) == []
        wanted = "2" if version == "2" else "1"
        assert SPEC.validate(SPEC.version_schema_name("runTask", "200", wanted) or "", ran.json()) == []
        read = data_of(await c.get(f"/tasks/{task['id']}", headers=headers))
        assert read["id"] == task["id"] and read["input"] == ECHO["input"]
        cancel = data_of(await c.post(f"/tasks/{task['id']}/cancel", headers=headers))
        assert SPEC.validate("CancelResult", cancel) == [] and cancel["cancelled"] is True

    drive(body)


def test_one_task_read_both_ways_has_the_same_fields() -> None:
    async def body(c: httpx.AsyncClient, clock: FakeClock) -> None:
        task = data_of(await c.post("/run?wait=false", json=ECHO))
        clock.advance(60)
        one = data_of(await c.get(f"/tasks/{task['id']}"))
        two = data_of(await c.get(f"/tasks/{task['id']}", headers=V2))
        assert one == two and set(one) == set(task) and one["id"] == task["id"]

    drive(body)


@pytest.mark.parametrize("version", sorted(VERSIONS))
@pytest.mark.parametrize(
    ("method", "path", "json", "status", "code"),
    [
        ("GET", "/tasks/task_nope", None, 404, "not_found"),
        ("POST", "/tasks/task_nope/cancel", None, 404, "not_found"),
        ("POST", "/run", {"app": "acme/nothing", "input": {}}, 404, "not_found"),
        ("POST", "/run", {"app": "infsh/echo"}, 400, "invalid_request"),
        ("POST", "/run", {**ECHO, "session": "sess_nope"}, 404, "SESSION_NOT_FOUND"),
        ("GET", "/nowhere", None, 404, "not_found"),
        ("DELETE", "/run", None, 405, "method_not_allowed"),
    ],
)
def test_every_error_answers_in_the_version_asked(
    version: str, method: str, path: str, json: Any, status: int, code: str
) -> None:
    async def body(c: httpx.AsyncClient, clock: FakeClock) -> None:
        answer = await c.request(method, path, json=json, headers=VERSIONS[version])
        error_of(answer, status, code)
        if status == 405:
            assert answer.headers["allow"] == "POST"

    drive(body)


@pytest.mark.parametrize("version", sorted(VERSIONS))
@pytest.mark.parametrize("auth", [None, "Bearer inf_wrong"])
def test_401_before_routing_answers_in_the_version_asked(version: str, auth: str | None) -> None:
    headers = {**VERSIONS[version], **({"Authorization": auth} if auth else {})}

    async def body(c: httpx.AsyncClient, clock: FakeClock) -> None:
        for method, path in (("GET", "/tasks/task_x"), ("POST", "/run"), ("GET", "/nowhere"), ("PUT", "/run")):
            answer = await c.request(method, path, headers=headers)
            error_of(answer, 401, "unauthorized")

    drive(body, headers={})


def test_an_unreadable_body_is_400_invalid_request_in_both_versions() -> None:
    async def body(c: httpx.AsyncClient, clock: FakeClock) -> None:
        for headers in VERSIONS.values():
            error_of(await c.post("/run", content=b"{nope", headers=headers), 400, "invalid_request", "invalid_json")

    drive(body)


def test_the_webhook_payload_is_bare_whatever_the_version() -> None:
    app, clock = mock()
    task = app.backend.create_task(KEY, ECHO)
    clock.advance(60)
    view = app.backend.view(task)
    for renderer in app.profile.versions.values():
        assert SPEC.validate("WebhookPayload", dict(renderer.webhook(view))) == []
    assert app.lifecycle._render_webhook(view) == app.profile.renderer_for("2").webhook(view)


# --- sessions ------------------------------------------------------------------------------------
NEW = {**ECHO, "session": "new"}


async def start_session(c: httpx.AsyncClient, **fields: Any) -> dict[str, Any]:
    task: dict[str, Any] = data_of(await c.post("/run?wait=false", json={**NEW, **fields}))
    return task


async def session_of(c: httpx.AsyncClient, session_id: str, headers: dict[str, str] | None = None) -> dict[str, Any]:
    session: dict[str, Any] = data_of(await c.get(f"/sessions/{session_id}", headers=headers))
    assert SPEC.validate("Session", session) == [], session
    return session


@pytest.mark.parametrize("version", sorted(VERSIONS))
def test_the_session_endpoints_answer_in_the_version_asked(version: str) -> None:
    headers = VERSIONS[version]

    async def body(c: httpx.AsyncClient, clock: FakeClock) -> None:
        task = await start_session(c)
        sid = task["session_id"]
        listed = await c.get("/sessions", headers=headers)
        wanted = "2" if version == "2" else "1"
        assert SPEC.validate(SPEC.version_schema_name("listSessions", "200", wanted) or "", listed.json()) == []
        assert [s["id"] for s in data_of(listed)] == [sid]
        got = await c.get(f"/sessions/{sid}", headers=headers)
        assert SPEC.validate(SPEC.version_schema_name("getSession", "200", wanted) or "", got.json()) == []
        alive = await c.post(f"/sessions/{sid}/keepalive", headers=headers)
        assert data_of(alive)["id"] == sid
        ended = await c.delete(f"/sessions/{sid}", headers=headers)
        assert ended.status_code == 204 and ended.content == b"" and "content-type" not in ended.headers
        error_of(await c.get("/sessions/sess_nope", headers=headers), 404, "SESSION_NOT_FOUND")
        error_of(await c.post(f"/sessions/{sid}/keepalive", headers=headers), 410, "SESSION_ENDED")

    drive(body)


def test_a_new_session_is_active_with_the_documented_fields_and_a_60_s_idle_timeout() -> None:
    async def body(c: httpx.AsyncClient, clock: FakeClock) -> None:
        task = await start_session(c, app="infsh/echo@1.2")
        session = await session_of(c, task["session_id"])
        assert session["status"] == "active" and session["idle_timeout"] == 60 and session["call_count"] == 1
        assert (session["app_id"], session["app_version_id"]) == ("infsh/echo", "infsh/echo@1.2")
        assert session["task_id"] == task["id"] and session["worker_id"]
        assert data_of(await c.get("/sessions", headers=V2)) == [session] == data_of(await c.get("/sessions"))
        other = await start_session(c, session_timeout=5)
        assert (await session_of(c, other["session_id"]))["idle_timeout"] == 5
        unversioned = await start_session(c)
        assert (await session_of(c, unversioned["session_id"]))["app_version_id"] == "infsh/echo@latest"

    drive(body)


def test_keepalive_and_runs_slide_the_expiry_and_only_runs_count() -> None:
    async def body(c: httpx.AsyncClient, clock: FakeClock) -> None:
        sid = (await start_session(c, session_timeout=10))["session_id"]
        clock.advance(8)
        before = await session_of(c, sid)
        alive = data_of(await c.post(f"/sessions/{sid}/keepalive"))
        assert alive["expires_at"] > before["expires_at"] and alive["call_count"] == before["call_count"] == 1
        clock.advance(9)  # 17 s after the start, 9 s after the keepalive: alive still
        data_of(await c.post("/run?wait=false", json={**ECHO, "session": sid}))
        after = await session_of(c, sid)
        assert after["expires_at"] > alive["expires_at"] and after["call_count"] == 2
        clock.advance(60)
        gone = await session_of(c, sid)
        assert gone["status"] == "expired"
        assert data_of(await c.get("/sessions")) == []
        error_of(await c.post(f"/sessions/{sid}/keepalive"), 410, "SESSION_EXPIRED")
        error_of(await c.post("/run", json={**ECHO, "session": sid}), 410, "SESSION_EXPIRED")
        error_of(await c.post("/run", json={**ECHO, "session": sid}, headers=V2), 410, "SESSION_EXPIRED")

    drive(body)


def test_ending_a_session_releases_its_worker_and_refuses_runs_and_keepalives() -> None:
    async def body(c: httpx.AsyncClient, clock: FakeClock) -> None:
        sid = (await start_session(c, workers=["worker_a"]))["session_id"]
        assert (await session_of(c, sid))["worker_id"] == "worker_a"
        leased = {**ECHO, "workers": ["worker_a"]}
        error_of(await c.post("/run", json={**leased, "session": "new"}), 409, "WORKER_LEASED")
        error_of(await c.post("/run", json=leased, headers=V2), 409, "WORKER_LEASED")
        assert data_of(await c.post("/run?wait=false", json={**leased, "session": sid}))["session_id"] == sid
        assert (await c.delete(f"/sessions/{sid}")).status_code == 204
        ended = await session_of(c, sid)
        assert (ended["status"], ended["worker_id"]) == ("ended", None)
        assert (await c.delete(f"/sessions/{sid}")).status_code == 204, "ending twice changes nothing"
        assert data_of(await c.get("/sessions")) == []
        error_of(await c.post("/run", json={**ECHO, "session": sid}), 410, "SESSION_ENDED")
        error_of(await c.post(f"/sessions/{sid}/keepalive", headers=V2), 410, "SESSION_ENDED")
        again = await start_session(c, workers=["worker_a"])  # the worker is free again
        assert (await session_of(c, again["session_id"]))["worker_id"] == "worker_a"

    drive(body)


def test_an_expired_session_frees_its_worker() -> None:
    async def body(c: httpx.AsyncClient, clock: FakeClock) -> None:
        await start_session(c, workers=["worker_b"], session_timeout=1)
        clock.advance(30)
        assert data_of(await c.post("/run?wait=false", json={**ECHO, "workers": ["worker_b"]}))["id"]

    drive(body)


def test_a_session_keeps_its_app_and_version() -> None:
    async def body(c: httpx.AsyncClient, clock: FakeClock) -> None:
        sid = (await start_session(c, app="infsh/echo@1"))["session_id"]
        for app in ("infsh/echo", "infsh/echo@1"):  # no version: the pinned one
            assert data_of(await c.post("/run?wait=false", json={**ECHO, "app": app, "session": sid}))["session_id"]
        error_of(await c.post("/run", json={**ECHO, "app": "infsh/echo@2", "session": sid}), 400, "VERSION_MISMATCH")
        other = {"app": "infsh/fail", "input": {}, "session": sid}
        error_of(await c.post("/run", json=other), 400, "APP_MISMATCH")
        error_of(await c.post("/run", json=other, headers=V2), 400, "APP_MISMATCH")
        assert (await session_of(c, sid))["call_count"] == 3

    drive(body)


@pytest.mark.parametrize(("method", "suffix"), [("GET", ""), ("POST", "/keepalive"), ("DELETE", "")])
def test_an_unknown_or_another_keys_session_is_404_session_not_found(method: str, suffix: str) -> None:
    async def body(c: httpx.AsyncClient, clock: FakeClock) -> None:
        sid = (await start_session(c))["session_id"]
        other = {"Authorization": f"Bearer {OTHER_KEY}"}
        for session_id, headers in (("sess_nope", AUTH), (sid, other), (sid, {**other, **V2})):
            answer = await c.request(method, f"/sessions/{session_id}{suffix}", headers=headers)
            error_of(answer, 404, "SESSION_NOT_FOUND")
        assert data_of(await c.get("/sessions", headers=other)) == []
        assert (await session_of(c, sid))["status"] == "active", "another key's calls change nothing"

    drive(body)


SCOPED = MockConfig(seed=1, keys=(KEY, "inf_reader=apps:read", "inf_runner=apps:execute", "inf_none="))


@pytest.mark.parametrize(
    ("key", "allowed"),
    [
        (KEY, {"list", "get", "keepalive", "end", "run"}),
        ("inf_reader", {"list", "get"}),
        ("inf_runner", {"keepalive", "end", "run"}),
        ("inf_none", set()),
    ],
)
def test_scopes_gate_the_session_endpoints_and_runs(key: str, allowed: set[str]) -> None:
    async def body(c: httpx.AsyncClient, clock: FakeClock) -> None:
        sid = (await start_session(c))["session_id"]
        headers = {"Authorization": f"Bearer {key}"}
        if key != KEY:  # the session is another key's: a scoped key sees its own only
            sid = "sess_nope"
        calls = {
            "list": ("GET", "/sessions", None),
            "get": ("GET", f"/sessions/{sid}", None),
            "keepalive": ("POST", f"/sessions/{sid}/keepalive", None),
            "end": ("DELETE", f"/sessions/{sid}", None),
            "run": ("POST", "/run?wait=false", ECHO),
        }
        for name, (method, path, json) in calls.items():
            for version in ({}, V2):
                answer = await c.request(method, path, json=json, headers={**headers, **version})
                if name in allowed:
                    assert answer.status_code != 403, (name, answer.text)
                else:
                    error_of(answer, 403, "forbidden")

    drive(body, SCOPED)


def test_a_key_entry_with_an_unknown_scope_is_refused() -> None:
    with pytest.raises(ValueError, match="apps:write"):
        MockConfig(keys=("inf_k=apps:write",))
    assert MockConfig(keys=("inf_k=apps:read+apps:execute", "inf_j")).scopes == {
        "inf_k": frozenset({"apps:read", "apps:execute"})
    }


# --- the stream ----------------------------------------------------------------------------------
def sse(text: str) -> list[dict[str, Any]]:
    """The events of an event stream: ``{"event", "id", "data"}`` each (comments left out)."""
    events = []
    for block in text.split("\n\n"):
        fields: dict[str, Any] = {}
        for line in block.split("\n"):
            if line and not line.startswith(":"):
                name, _, value = line.partition(": ")
                fields[name] = value
        if fields:
            fields["data"] = orjson.loads(fields["data"])
            events.append(fields)
    return events


async def finished(c: httpx.AsyncClient, clock: FakeClock, app: str = "infsh/echo") -> dict[str, Any]:
    task: dict[str, Any] = data_of(await c.post("/run?wait=false", json={"app": app, "input": {}}))
    clock.advance(60)
    return task


@pytest.mark.parametrize("version", sorted(VERSIONS))
def test_the_stream_gives_one_update_per_status_in_order_then_done(version: str) -> None:
    async def body(c: httpx.AsyncClient, clock: FakeClock) -> None:
        task = await finished(c, clock)
        answer = await c.get(f"/tasks/{task['id']}/stream", headers={**VERSIONS[version], "Accept": SSE})
        assert answer.status_code == 200 and answer.headers["content-type"] == SSE
        events = sse(answer.text)
        updates = [e for e in events if e["event"] == "update"]
        assert [u["data"]["status"] for u in updates] == [s.code for s in SPEC.statuses[: len(PHASES)]] + [
            SPEC.status("COMPLETED")
        ]
        assert all(SPEC.validate("TaskUpdate", u["data"]) == [] and u["data"]["id"] == task["id"] for u in updates)
        assert updates[-1]["data"]["output"] == {"echo": {}}
        assert events[-1]["event"] == "done" and events[-1]["data"] == {}
        assert [e["id"] for e in events] == [f"evt_{n}" for n in range(1, len(events) + 1)]

    drive(body)


@pytest.mark.parametrize("how", ["header", "query"])
def test_the_stream_resumes_after_the_last_event_id(how: str) -> None:
    async def body(c: httpx.AsyncClient, clock: FakeClock) -> None:
        task = await finished(c, clock)
        url = f"/tasks/{task['id']}/stream"
        every = sse((await c.get(url)).text)
        if how == "header":
            resumed = await c.get(url, headers={"Last-Event-ID": "evt_3"})
        else:
            resumed = await c.get(url, params={"last_event_id": "evt_3"})
        assert sse(resumed.text) == every[3:]
        after_done = await c.get(url, headers={"Last-Event-ID": every[-1]["id"]})
        assert after_done.status_code == 200 and sse(after_done.text) == []
        assert sse((await c.get(url, headers={"Last-Event-ID": "nonsense"})).text) == every, "an unknown id starts over"

    drive(body)


def test_a_failed_tasks_stream_has_its_error_then_done() -> None:
    async def body(c: httpx.AsyncClient, clock: FakeClock) -> None:
        task = await finished(c, clock, "infsh/fail")
        events = sse((await c.get(f"/tasks/{task['id']}/stream")).text)
        assert [e["event"] for e in events[-3:]] == ["update", "error", "done"]
        assert events[-3]["data"]["status"] == SPEC.status("FAILED") and events[-3]["data"]["error"]
        assert events[-2]["data"]["error"] == events[-3]["data"]["error"]

    drive(body)


@pytest.mark.parametrize("version", sorted(VERSIONS))
def test_the_stream_of_an_unknown_task_is_404_in_the_version_asked(version: str) -> None:
    async def body(c: httpx.AsyncClient, clock: FakeClock) -> None:
        error_of(await c.get("/tasks/task_nope/stream", headers=VERSIONS[version]), 404, "not_found")

    drive(body)


def test_a_live_stream_follows_the_task_with_heartbeats_and_ends() -> None:
    config = MockConfig(seed=2, phase_ms=20, heartbeat_s=0.05)
    with serve_in_thread(config=config) as url, httpx.Client(base_url=url, headers=AUTH, timeout=10) as c:
        task = data_of(c.post("/run?wait=false", json={"app": "infsh/sleep", "input": {"seconds": 0.3}}))
        with c.stream("GET", f"/tasks/{task['id']}/stream", headers={"Accept": SSE}) as answer:
            text = "".join(answer.iter_text())
        assert ": heartbeat" in text
        events = sse(text)
        statuses = [e["data"]["status"] for e in events if e["event"] == "update"]
        assert statuses == sorted(statuses) and statuses[-1] == SPEC.status("COMPLETED")
        assert events[-1]["event"] == "done"
        cancelled = data_of(c.post("/run?wait=false", json={"app": "infsh/sleep", "input": {"seconds": 30}}))
        with c.stream("GET", f"/tasks/{cancelled['id']}/stream") as answer:
            lines = answer.iter_lines()
            next(lines)
            c.post(f"/tasks/{cancelled['id']}/cancel")
            rest = "\n".join(lines)
        assert f'"status":{SPEC.status("CANCELLED")}' in rest and "event: done" in rest


# --- rate limits ---------------------------------------------------------------------------------
def test_runs_and_reads_carry_the_rate_limit_headers_and_other_operations_do_not() -> None:
    async def body(c: httpx.AsyncClient, clock: FakeClock) -> None:
        ran = await c.post("/run?wait=false", json=ECHO)
        read = await c.get(f"/tasks/{data_of(ran)['id']}", headers=V2)
        missing = await c.get("/tasks/task_nope")  # an error of a limited operation counts, and says so
        for answer, left in ((ran, 1_000_000 - 1), (read, 10_000_000 - 1), (missing, 10_000_000 - 2)):
            assert int(answer.headers["x-ratelimit-remaining"]) == left
            assert int(answer.headers["x-ratelimit-reset"]) == (int(clock.now()) // 60 + 1) * 60
        cancel = await c.post(f"/tasks/{data_of(ran)['id']}/cancel")
        assert "x-ratelimit-remaining" not in cancel.headers

    drive(body)


@pytest.mark.parametrize("version", sorted(VERSIONS))
def test_a_request_over_its_limit_is_429_rate_limited_until_the_window_resets(version: str) -> None:
    config = MockConfig(seed=1, rate_limit_scale=1, rate_limits={"runTask": 2})
    headers = VERSIONS[version]

    async def body(c: httpx.AsyncClient, clock: FakeClock) -> None:
        for left in (1, 0):
            answer = await c.post("/run?wait=false", json=ECHO, headers=headers)
            assert answer.status_code == 200 and answer.headers["x-ratelimit-remaining"] == str(left)
        refused = await c.post("/run?wait=false", json=ECHO, headers=headers)
        error_of(refused, 429, "rate_limited")
        reset = int(refused.headers["x-ratelimit-reset"])
        assert refused.headers["x-ratelimit-remaining"] == "0"
        assert 1 <= int(refused.headers["retry-after"]) <= 60 and reset - clock.now() <= int(
            refused.headers["retry-after"]
        )
        other = {"Authorization": f"Bearer {OTHER_KEY}", **headers}
        assert (await c.post("/run?wait=false", json=ECHO, headers=other)).status_code == 200, "per key"
        read = await c.get("/tasks/task_nope", headers=headers)
        assert read.headers["x-ratelimit-remaining"] == "999", "the page's 1000 a minute for reads"
        clock.t = float(reset)
        again = await c.post("/run?wait=false", json=ECHO, headers=headers)
        assert again.status_code == 200 and again.headers["x-ratelimit-remaining"] == "1"

    drive(body, config)


def test_the_mock_command_takes_rate_limits() -> None:
    import argparse

    from infsh_harness.cli import mock as mock_cli

    parser = argparse.ArgumentParser()
    mock_cli.add_parser(parser.add_subparsers())

    def config(*argv: str) -> MockConfig:
        return mock_cli.config_from_args(parser.parse_args(["mock", *argv]), (KEY,))

    assert (config().rate_limit_scale, config().rate_limits) == (10_000.0, {})
    documented = config("--rate-limit", "documented")
    assert (documented.rate_limit_scale, documented.rate_limits) == (1.0, {})
    both = config("--rate-limit", "runTask=5", "--rate-limit", "getTask=50")
    assert both.rate_limits == {"runTask": 5, "getTask": 50}
    for bad in ("cancelTask=5", "runTask=0", "runTask=x", "runTask"):
        with pytest.raises(SystemExit):
            parser.parse_args(["mock", "--rate-limit", bad])


def test_a_stream_that_runs_out_of_time_ends_with_an_error_to_resume_from() -> None:
    config = MockConfig(seed=3, max_wait_s=0.3)
    with serve_in_thread(config=config) as url, httpx.Client(base_url=url, headers=AUTH, timeout=10) as c:
        task = data_of(c.post("/run?wait=false", json={"app": "infsh/sleep", "input": {"seconds": 30}}))
        events = sse(c.get(f"/tasks/{task['id']}/stream").text)
        assert [e["event"] for e in events][-1] == "error" and "done" not in [e["event"] for e in events]
        assert events[-1]["id"] == events[-2]["id"], "the error names the last status event seen"
        resumed = sse(c.get(f"/tasks/{task['id']}/stream", headers={"Last-Event-ID": events[-1]["id"]}).text)
        assert [e["event"] for e in resumed] == ["error"], "nothing new happened, and nothing is replayed"


@pytest.mark.parametrize("version", sorted(VERSIONS))
def test_a_server_error_is_500_internal_error_in_the_version_asked(version: str) -> None:
    async def body(c: httpx.AsyncClient, clock: FakeClock) -> None:
        assert (await c.put("/_mock/faults", json={"error_rate": 1})).status_code == 200
        error_of(await c.get("/tasks/task_x", headers=VERSIONS[version]), 500, "internal_error")
        assert (await c.put("/_mock/faults", json={"error_rate": 1, "error_status": 503})).status_code == 200
        error_of(await c.get("/tasks/task_x", headers=VERSIONS[version]), 503, "injected_fault")

    drive(body)


@pytest.mark.parametrize("version", sorted(VERSIONS))
def test_every_session_error_answers_in_the_version_asked(version: str) -> None:
    headers = VERSIONS[version]

    async def body(c: httpx.AsyncClient, clock: FakeClock) -> None:
        pinned = (await start_session(c, app="infsh/echo@1", workers=["worker_v"]))["session_id"]
        run = {**ECHO, "session": pinned}
        error_of(await c.post("/run", json={**run, "app": "infsh/echo@2"}, headers=headers), 400, "VERSION_MISMATCH")
        error_of(await c.post("/run", json={**run, "app": "infsh/fail"}, headers=headers), 400, "APP_MISMATCH")
        leased = {**ECHO, "workers": ["worker_v"]}
        error_of(await c.post("/run", json=leased, headers=headers), 409, "WORKER_LEASED")
        error_of(await c.get("/sessions/sess_nope", headers=headers), 404, "SESSION_NOT_FOUND")
        short = (await start_session(c, session_timeout=1))["session_id"]
        clock.advance(5)
        error_of(await c.post(f"/sessions/{short}/keepalive", headers=headers), 410, "SESSION_EXPIRED")
        await c.delete(f"/sessions/{pinned}")
        error_of(await c.post("/run", json=run, headers=headers), 410, "SESSION_ENDED")

    drive(body)

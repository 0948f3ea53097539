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
import pytest

from infsh_harness.mock.app import MockApp, create_app
from infsh_harness.mock.apps import load_catalog
from infsh_harness.mock.config import MockConfig
from infsh_harness.mock.models import FakeClock, MockBackend
from infsh_harness.spec import load_spec
from tests.mock.answers import V2, data_of, error_of

SPEC = load_spec()
PHASES = tuple(s.varname for s in SPEC.statuses if not s.terminal)
KEY, OTHER_KEY = "inf_test_key", "inf_test_key_2"
AUTH = {"Authorization": f"Bearer {KEY}"}
ECHO = {"app": "infsh/echo", "input": {"prompt": "hi"}}
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

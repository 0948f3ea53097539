"""The Tasks API client against respx routes built from the spec's examples and documented responses.

Every test runs with the sync client and with the async one (driven through ``_Blocking``), so the
two cannot drift apart, and most run in both API versions (``version``: ``"2"`` bare bodies and RFC
9457 errors, ``"1"`` wrapped ones). What comes from the spec — operations, paths, examples, error
statuses, required fields, statuses — is read from it, so a spec change flows into these tests.
"""

from __future__ import annotations

import asyncio
import email.utils
import inspect
import json
import socket
from collections.abc import AsyncIterator, Callable, Iterator, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
import respx

from infsh_harness.client import (
    AsyncTasksClient,
    CancelResult,
    Session,
    StreamEvent,
    Task,
    TasksClient,
    WaitTimeout,
    parse_webhook,
)
from infsh_harness.client.errors import (
    APIError,
    AuthenticationError,
    ConflictError,
    GoneError,
    InvalidRequestError,
    NotFoundError,
    PermissionDeniedError,
    ProtocolError,
    RateLimitError,
    ServerError,
    TasksClientError,
    TransportError,
    TransportTimeout,
    error_code_and_message,
    parse_rate_limit_reset,
    parse_retry_after,
)
from infsh_harness.spec import load_spec

SPEC = load_spec()
BASE = "http://api.test"
KEY = "inf_secret_key_0123456789"
TASK_ID = "task_abc123"

# The independent oracle: which class each HTTP status must raise.
EXPECTED_CLASS: dict[int, type[APIError]] = {
    400: InvalidRequestError,
    401: AuthenticationError,
    403: PermissionDeniedError,
    404: NotFoundError,
    409: ConflictError,
    410: GoneError,
    422: InvalidRequestError,
    429: RateLimitError,
}
JSON, PROBLEM, EVENTS = "application/json", "application/problem+json", "text/event-stream"


def _expected_class(status: int) -> type[APIError]:
    return EXPECTED_CLASS.get(status) or (ServerError if status >= 500 else APIError)


# --- what the spec documents -------------------------------------------------------------------


def _version_of(schema_name: str) -> str:
    return str(SPEC.schema(schema_name).get("x-api-version", "2"))


def _response_examples(success: bool, version: str) -> list[tuple[str, int, str, str, Any]]:
    """``(operation_id, status, media type, example name, value)`` of every documented JSON
    response example of one API version."""
    found = []
    for op in SPEC.operations.values():
        prefix = f"{op.method} {op.path} "
        for where, schema, value in SPEC.examples():
            if not where.startswith(prefix) or " request " in where or _version_of(schema) != version:
                continue
            code, *media, _, name = where.removeprefix(prefix).split(" ")
            if (200 <= int(code) < 300) == success:
                found.append((op.operation_id, int(code), media[0] if media else JSON, name, value))
    return found


def _request_examples(operation_id: str) -> list[tuple[str, Any]]:
    op = SPEC.operation(operation_id)
    prefix = f"{op.method} {op.path} request example "
    return [(w.removeprefix(prefix), v) for w, _, v in SPEC.examples() if w.startswith(prefix)]


def _webhook_examples() -> list[tuple[str, Any]]:
    return [(where, value) for where, schema, value in SPEC.examples() if schema == "WebhookPayload"]


def _documented_statuses(success: bool) -> list[tuple[str, int]]:
    return [
        (op.operation_id, int(code))
        for op in SPEC.operations.values()
        for code in op.status_codes()
        if (200 <= int(code) < 300) == success
    ]


def _a_task(**changes: Any) -> dict[str, Any]:
    """A valid bare ``Task`` body: the documented example, changed."""
    value = next(ex[4] for ex in _response_examples(True, "2") if ex[0] == "getTask" and ex[1] == 200)
    return {**value, **changes}


def wrapped(body: Any, version: str) -> Any:
    """``body`` as a success of API ``version`` carries it."""
    return {"success": True, "status": 200, "data": body} if version == "1" else body


def error_body(version: str, status: int, code: str, message: str) -> tuple[Any, str]:
    """A documented error body of API ``version`` and its media type."""
    if version == "1":
        return {"success": False, "status": status, "error": {"code": code, "message": message}}, JSON
    problem = {"type": f"https://api.inference.sh/errors/{code}", "title": "Error", "status": status, "detail": message}
    return problem, PROBLEM


def _stream_example() -> str:
    media = SPEC.resolve(SPEC.operation("streamTask").responses["200"])["content"][EVENTS]
    return str(media["examples"]["documented"]["value"])


# --- clients, sync and async --------------------------------------------------------------------


class _Blocking:
    """An ``AsyncTasksClient`` with blocking methods: each coroutine runs in its own event loop."""

    def __init__(self, client: AsyncTasksClient) -> None:
        self._client = client

    def __getattr__(self, name: str) -> Any:
        attr = getattr(self._client, name)
        if inspect.isasyncgenfunction(attr):  # an async iterator: collected into a list in one loop
            return lambda *args, **kwargs: asyncio.run(_collect(attr(*args, **kwargs)))
        if not inspect.iscoroutinefunction(attr):
            return attr
        return lambda *args, **kwargs: asyncio.run(attr(*args, **kwargs))

    def close(self) -> None:
        asyncio.run(self._client.aclose())


async def _collect(items: AsyncIterator[Any]) -> list[Any]:
    return [item async for item in items]


ClientFactory = Callable[..., Any]


@pytest.fixture
def router() -> respx.Router:
    return respx.Router(base_url=BASE, assert_all_called=False)


@pytest.fixture(params=["2", "1"])
def version(request: pytest.FixtureRequest) -> str:
    """The API version the client speaks (``make_client``'s default)."""
    return str(request.param)


@pytest.fixture(params=["sync", "async"])
def make_client(request: pytest.FixtureRequest, router: respx.Router, version: str) -> Iterator[ClientFactory]:
    made: list[Any] = []

    def make(**kwargs: Any) -> Any:
        kwargs.setdefault("api_key", KEY)
        kwargs.setdefault("api_version", version)
        if request.param == "sync":
            client: Any = TasksClient(BASE, transport=httpx.MockTransport(router.handler), **kwargs)
        else:
            transport = httpx.MockTransport(router.async_handler)
            client = _Blocking(AsyncTasksClient(BASE, transport=transport, **kwargs))
        made.append(client)
        return client

    yield make
    for client in made:
        client.close()


def _route(router: respx.Router, operation_id: str) -> respx.Route:
    """A route for one operation, matched by its method and path template from the spec."""
    op = SPEC.operation(operation_id)
    return router.route(method=op.method, path__regex="^" + op.path.replace("{id}", "[^/]+") + "$")


def _respond(route: respx.Route, status: int, body: Any, media: str = JSON, **headers: str) -> respx.Route:
    return route.respond(status, content=json.dumps(body).encode(), headers={"Content-Type": media, **headers})


def _invoke(client: Any, operation_id: str) -> Any:
    calls: dict[str, Callable[[], Any]] = {
        "runTask": lambda: client.run("infsh/echo", {"prompt": "A sunset"}),
        "getTask": lambda: client.get(TASK_ID),
        "cancelTask": lambda: client.cancel(TASK_ID),
        "streamTask": lambda: list(client.stream(TASK_ID)),
        "listSessions": lambda: client.list_sessions(),
        "getSession": lambda: client.get_session("sess_abc123"),
        "keepaliveSession": lambda: client.keepalive("sess_abc123"),
        "endSession": lambda: client.end_session("sess_abc123"),
    }
    return calls[operation_id]()


# --- documented successes -----------------------------------------------------------------------


@pytest.mark.parametrize("example_version", ["1", "2"])
def test_client_reads_documented_success_examples(
    make_client: ClientFactory, router: respx.Router, version: str, example_version: str
) -> None:
    examples = _response_examples(True, example_version)
    operations = {e[0] for e in examples}
    assert operations == {"runTask", "getTask", "cancelTask", "listSessions", "getSession", "keepaliveSession"}
    if version != example_version:
        return  # the other version's examples: see test_client_refuses_the_other_versions_shape
    for operation_id, status, media, _, example in examples:
        _respond(_route(router, operation_id), status, example, media)
        result = _invoke(make_client(), operation_id)
        bare = example["data"] if version == "1" else example
        results = result if isinstance(result, list) else [result]
        assert [r.raw for r in results] == (bare if isinstance(bare, list) else [bare])
        for r in results:
            assert isinstance(r, Task | CancelResult | Session)
            if isinstance(r, Task | CancelResult):
                assert r.is_terminal == (r.status in SPEC.terminal_statuses)
                assert r.status_name == SPEC.status_info(r.status).varname  # type: ignore[union-attr]


@pytest.mark.parametrize("operation_id", ["getTask", "cancelTask", "getSession", "listSessions"])
def test_client_refuses_the_other_versions_shape(
    make_client: ClientFactory, router: respx.Router, version: str, operation_id: str
) -> None:
    other = "1" if version == "2" else "2"
    _, status, media, _, example = next(e for e in _response_examples(True, other) if e[0] == operation_id)
    _respond(_route(router, operation_id), status, example, media)
    with pytest.raises(ProtocolError, match=f"version {version}"):
        _invoke(make_client(), operation_id)


def test_client_sends_the_version_header_only_for_version_2(
    make_client: ClientFactory, router: respx.Router, version: str
) -> None:
    route = _respond(_route(router, "getTask"), 200, wrapped(_a_task(), version))
    client = make_client()
    client.get(TASK_ID)
    sent = route.calls.last.request.headers
    assert sent.get("X-API-Version") == ("2" if version == "2" else None)
    shown = repr(getattr(client, "_client", client))  # the async client inside its blocking wrapper
    assert client.api_version == version and shown.endswith(f"api_version={version!r})")


def test_client_defaults_to_version_2_and_refuses_unknown_versions(router: respx.Router) -> None:
    route = _respond(_route(router, "getTask"), 200, _a_task())
    with TasksClient(BASE, transport=httpx.MockTransport(router.handler)) as client:
        assert client.api_version == "2" and client.get(TASK_ID).id == TASK_ID
    assert route.calls.last.request.headers["X-API-Version"] == "2"
    with TasksClient(BASE, api_version=None, transport=httpx.MockTransport(router.handler)) as plain:
        assert plain.api_version == "1"
    with pytest.raises(ValueError, match="api_version"):
        TasksClient(BASE, api_version="3")


@pytest.mark.parametrize(("name", "example"), _request_examples("runTask"))
def test_client_run_sends_documented_request_examples(
    make_client: ClientFactory, router: respx.Router, version: str, name: str, example: dict[str, Any]
) -> None:
    route = _respond(_route(router, "runTask"), 200, wrapped(_a_task(input=example["input"]), version))
    app, input_, options = (
        example["app"],
        example["input"],
        {k: v for k, v in example.items() if k not in ("app", "input")},
    )
    task = make_client().run(app, input_, **options)
    sent = route.calls.last.request
    assert json.loads(sent.content) == example
    assert "wait" not in sent.url.params  # the documented default is to wait
    assert task.input == example["input"]


def test_client_run_no_wait_sends_wait_false(make_client: ClientFactory, router: respx.Router, version: str) -> None:
    route = _respond(_route(router, "runTask"), 200, wrapped(_a_task(status=min(SPEC.status_codes)), version))
    task = make_client().run("infsh/sleep", {"seconds": 5}, wait=False)
    assert route.calls.last.request.url.params["wait"] == "false"
    assert not task.is_terminal


def test_client_extra_fields_survive_in_raw(make_client: ClientFactory, router: respx.Router, version: str) -> None:
    body = _a_task(updated_at="2024-01-15T10:30:05Z", short_id="task_abc", nested={"a": [1, 2]})
    _respond(_route(router, "getTask"), 200, wrapped(body, version))
    task = make_client().get(TASK_ID)
    assert task.raw == body
    assert task.raw["short_id"] == "task_abc"


def test_client_sends_key_and_custom_headers(make_client: ClientFactory, router: respx.Router, version: str) -> None:
    route = _respond(_route(router, "getTask"), 200, wrapped(_a_task(), version))
    make_client(headers={"X-Trace": "t-1"}).get(TASK_ID)
    headers = route.calls.last.request.headers
    assert headers["Authorization"] == f"Bearer {KEY}"
    assert headers["X-Trace"] == "t-1"
    assert headers["Accept"] == "application/json"


def test_client_without_key_sends_no_authorization(make_client: ClientFactory, router: respx.Router) -> None:
    route = _respond(_route(router, "getTask"), 200, _a_task())
    make_client(api_key=None, api_version="2").get(TASK_ID)
    assert "Authorization" not in route.calls.last.request.headers


def test_client_quotes_task_id_into_one_path_segment(make_client: ClientFactory, router: respx.Router) -> None:
    route = router.route().respond(200, json=_a_task())
    make_client(api_version="2").get("a/b?c")
    assert route.calls.last.request.url.raw_path == b"/tasks/a%2Fb%3Fc"


@pytest.mark.parametrize("method", ["get", "cancel", "get_session", "keepalive", "end_session"])
def test_client_refuses_empty_ids(make_client: ClientFactory, method: str) -> None:
    with pytest.raises(ValueError, match="id must not be empty"):
        getattr(make_client(), method)("")


def test_client_closed_refuses_requests(router: respx.Router) -> None:
    _respond(_route(router, "getTask"), 200, _a_task())
    with TasksClient(BASE, api_key=KEY, transport=httpx.MockTransport(router.handler)) as client:
        assert client.get(TASK_ID).id == TASK_ID
    with pytest.raises(RuntimeError):
        client.get(TASK_ID)


# --- the task stream ----------------------------------------------------------------------------


def test_client_streams_the_documented_events(make_client: ClientFactory, router: respx.Router) -> None:
    route = _route(router, "streamTask").respond(200, text=_stream_example(), headers={"Content-Type": EVENTS})
    events = list(make_client().stream(TASK_ID))
    assert [e.event for e in events] == ["update", "update", "done"]
    assert all(isinstance(e, StreamEvent) for e in events) and events[-1].is_done
    first, second = events[0].update, events[1].update
    assert first is not None and second is not None and events[2].update is None
    assert (first.id, first.status, first.logs, first.is_terminal) == ("task_abc", 7, "Processing...", False)
    assert second.status == SPEC.status("COMPLETED") and second.is_terminal
    assert [e.id for e in events] == ["evt_1", "evt_2", "evt_3"]
    sent = route.calls.last.request.headers
    assert sent["Accept"] == EVENTS and "Last-Event-ID" not in sent


def test_client_resumes_a_stream_after_the_last_event_id(make_client: ClientFactory, router: respx.Router) -> None:
    rest = _stream_example().split("\n\n", 1)[1]  # the events after evt_1
    route = _route(router, "streamTask").respond(200, text=rest, headers={"Content-Type": EVENTS})
    events = list(make_client().stream(TASK_ID, last_event_id="evt_1"))
    assert route.calls.last.request.headers["Last-Event-ID"] == "evt_1"
    assert [e.id for e in events] == ["evt_2", "evt_3"]


def test_client_stream_errors_raise_by_status(make_client: ClientFactory, router: respx.Router, version: str) -> None:
    body, media = error_body(version, 404, "not_found", "task not found")
    _respond(_route(router, "streamTask"), 404, body, media)
    with pytest.raises(NotFoundError) as info:
        list(make_client().stream(TASK_ID))
    assert (info.value.code, info.value.message, info.value.body_problems) == ("not_found", "task not found", ())


@pytest.mark.parametrize(
    ("text", "content_type", "problem"),
    [
        ('{"type":"heartbeat"}\n', "application/x-ndjson", "not text/event-stream"),
        ("event: tick\ndata: {}\n\n", EVENTS, "'tick' is none of"),
        ("event: update\ndata: {nope\n\n", EVENTS, "not JSON"),
        ("event: update\ndata: [1]\n\n", EVENTS, "not a JSON object"),
        ('event: update\ndata: {"id": "t", "status": 99}\n\n', EVENTS, "breaks TaskUpdate"),
    ],
    ids=["json-lines", "unknown-event", "not-json", "not-an-object", "bad-update"],
)
def test_client_stream_refuses_what_the_page_does_not_document(
    make_client: ClientFactory, router: respx.Router, text: str, content_type: str, problem: str
) -> None:
    _route(router, "streamTask").respond(200, text=text, headers={"Content-Type": content_type})
    with pytest.raises(ProtocolError, match=problem):
        list(make_client().stream(TASK_ID))


def test_client_stream_transport_failure_is_a_transport_error(make_client: ClientFactory, router: respx.Router) -> None:
    _route(router, "streamTask").mock(side_effect=httpx.ReadError("connection reset"))
    with pytest.raises(TransportError):
        list(make_client().stream(TASK_ID))


# --- sessions -----------------------------------------------------------------------------------


def test_client_reads_sessions(make_client: ClientFactory, router: respx.Router, version: str) -> None:
    session = next(e[4] for e in _response_examples(True, "2") if e[0] == "getSession")
    later = {**session, "expires_at": "2024-01-15T10:32:00Z"}
    _respond(_route(router, "getSession"), 200, wrapped(session, version))
    _respond(_route(router, "keepaliveSession"), 200, wrapped(later, version))
    _respond(_route(router, "listSessions"), 200, wrapped([session, {**session, "id": "sess_2"}], version))
    client = make_client()
    one = client.get_session("sess_abc123")
    assert isinstance(one, Session) and one.raw == session and one.is_active
    assert (one.id, one.app_id, one.idle_timeout, one.call_count, one.task_id) == (
        "sess_abc123", "my-app", 60, 1, "task_abc123",
    )  # fmt: skip
    assert client.keepalive("sess_abc123").expires_at == "2024-01-15T10:32:00Z"
    assert [s.id for s in client.list_sessions()] == ["sess_abc123", "sess_2"]


def test_client_ends_a_session_with_204(make_client: ClientFactory, router: respx.Router) -> None:
    route = _route(router, "endSession").respond(204)
    assert make_client().end_session("sess_abc123") is None
    assert route.calls.last.request.method == "DELETE"


def test_client_refuses_undocumented_success_statuses_of_sessions(
    make_client: ClientFactory, router: respx.Router
) -> None:
    _route(router, "endSession").respond(200, json={"id": "sess_abc123"})
    with pytest.raises(ProtocolError, match="undocumented status 200"):
        make_client().end_session("sess_abc123")
    _route(router, "getSession").respond(204)
    with pytest.raises(ProtocolError, match="undocumented status 204"):
        make_client().get_session("sess_abc123")


@pytest.mark.parametrize(
    ("status", "code", "cls"),
    [
        (404, "SESSION_NOT_FOUND", NotFoundError),
        (410, "SESSION_EXPIRED", GoneError),
        (410, "SESSION_ENDED", GoneError),
        (409, "WORKER_LEASED", ConflictError),
        (400, "APP_MISMATCH", InvalidRequestError),
        (400, "VERSION_MISMATCH", InvalidRequestError),
    ],
)
def test_client_session_errors_on_a_run_raise_their_class(
    make_client: ClientFactory, router: respx.Router, version: str, status: int, code: str, cls: type[APIError]
) -> None:
    body, media = error_body(version, status, code, "session trouble")
    _respond(_route(router, "runTask"), status, body, media)
    with pytest.raises(cls) as info:
        make_client().run("my-app", {}, session="sess_abc123")
    assert (type(info.value), info.value.code, info.value.body_problems) == (cls, code, ())


def test_a_gone_session_is_not_a_conflict() -> None:
    assert not issubclass(GoneError, ConflictError) and not issubclass(ConflictError, GoneError)


# --- documented errors --------------------------------------------------------------------------


def test_client_every_documented_error_status_has_an_expected_class() -> None:
    undecided = {s for _, s in _documented_statuses(False) if s < 500 and s not in EXPECTED_CLASS}
    assert not undecided, f"decide which error class these documented statuses raise: {undecided}"


@pytest.mark.parametrize(("operation_id", "status"), _documented_statuses(False))
def test_client_documented_error_status_raises_its_class(
    make_client: ClientFactory, router: respx.Router, version: str, operation_id: str, status: int
) -> None:
    body, media = error_body(version, status, "some_code", "something went wrong")
    _respond(_route(router, operation_id), status, body, media)
    with pytest.raises(APIError) as info:
        _invoke(make_client(), operation_id)
    assert type(info.value) is _expected_class(status)
    assert (info.value.status_code, info.value.message, info.value.code) == (
        status,
        "something went wrong",
        "some_code",
    )
    assert info.value.body_problems == ()
    assert info.value.response.status_code == status


def test_client_documented_error_examples_keep_message_and_code(
    make_client: ClientFactory, router: respx.Router, version: str
) -> None:
    examples = _response_examples(False, version)
    assert len(examples) >= 20
    for operation_id, status, media, _, example in examples:
        _respond(_route(router, operation_id), status, example, media)
        with pytest.raises(APIError) as info:
            _invoke(make_client(), operation_id)
        code, message = error_code_and_message(example)
        assert type(info.value) is _expected_class(status)
        assert (info.value.code, info.value.message, info.value.body_problems) == (code, message, ())
        assert message is not None and message in str(info.value)


def test_client_reads_every_error_shape() -> None:
    problem = {"type": "https://api.inference.sh/errors/not_found", "title": "Not Found", "status": 404}
    assert error_code_and_message(problem) == ("not_found", "Not Found")
    assert error_code_and_message({**problem, "detail": "no such task"}) == ("not_found", "no such task")
    earlier = {"error": {"code": "invalid_request", "message": "bad"}}
    assert error_code_and_message(earlier) == ("invalid_request", "bad")
    legacy = {"error": "task not found", "code": "task_not_found"}
    assert error_code_and_message(legacy) == ("task_not_found", "task not found")
    assert error_code_and_message(["not", "an", "object"]) == (None, None)


def test_client_reads_an_undocumented_error_body_but_notes_it(
    make_client: ClientFactory, router: respx.Router, version: str
) -> None:
    _respond(_route(router, "getTask"), 404, {"error": "task not found", "code": "task_not_found"})
    with pytest.raises(NotFoundError) as info:
        make_client().get(TASK_ID)
    assert (info.value.code, info.value.message) == ("task_not_found", "task not found")
    assert info.value.body_problems
    if version == "2":  # version 2 errors are problem+json
        assert "not application/problem+json" in info.value.body_problems[0]


def test_client_notes_an_error_of_the_other_version(
    make_client: ClientFactory, router: respx.Router, version: str
) -> None:
    body, media = error_body("1" if version == "2" else "2", 401, "unauthorized", "Invalid or missing API key")
    _respond(_route(router, "getTask"), 401, body, media)
    with pytest.raises(AuthenticationError) as info:
        make_client().get(TASK_ID)
    assert (info.value.code, info.value.message) == ("unauthorized", "Invalid or missing API key")
    assert info.value.body_problems


@pytest.mark.parametrize("status", [500, 502, 503, 504])
def test_client_5xx_raises_server_error(make_client: ClientFactory, router: respx.Router, status: int) -> None:
    _respond(_route(router, "getTask"), status, {"error": "upstream failed"})
    with pytest.raises(ServerError) as info:
        make_client().get(TASK_ID)
    assert info.value.status_code == status
    assert info.value.code is None


def test_client_html_error_page_still_raises_by_status(make_client: ClientFactory, router: respx.Router) -> None:
    _route(router, "getTask").respond(502, text="<html>Bad gateway</html>", headers={"Content-Type": "text/html"})
    with pytest.raises(ServerError) as info:
        make_client().get(TASK_ID)
    assert info.value.message == "Bad Gateway"
    assert info.value.body_problems and "text/html" in info.value.body_problems[0]


def test_client_error_body_breaking_error_schema_is_noted(
    make_client: ClientFactory, router: respx.Router, version: str
) -> None:
    _respond(_route(router, "getTask"), 404, {"hint": "no such task"}, PROBLEM if version == "2" else JSON)
    with pytest.raises(NotFoundError) as info:
        make_client().get(TASK_ID)
    assert info.value.message == "Not Found" and info.value.code is None
    required = SPEC.schema("Problem" if version == "2" else "Error")["required"]
    assert all(any(name in problem for problem in info.value.body_problems) for name in required)


def test_client_undocumented_4xx_raises_plain_api_error(make_client: ClientFactory, router: respx.Router) -> None:
    _respond(_route(router, "cancelTask"), 418, {"error": "teapot"})
    with pytest.raises(APIError) as info:
        make_client().cancel(TASK_ID)
    assert type(info.value) is APIError
    assert info.value.status_code == 418


# --- 429: Retry-After and the rate-limit headers ------------------------------------------------


@pytest.mark.parametrize(("header", "expected"), [("7", 7.0), ("0", 0.0), (None, None), ("soon", None)])
def test_client_429_reads_retry_after_seconds(
    make_client: ClientFactory, router: respx.Router, version: str, header: str | None, expected: float | None
) -> None:
    headers = {"Retry-After": header} if header is not None else {}
    body, media = error_body(version, 429, "rate_limited", "Too many requests")
    _respond(_route(router, "runTask"), 429, body, media, **headers)
    with pytest.raises(RateLimitError) as info:
        make_client().run("infsh/echo", {})
    assert info.value.retry_after == expected
    assert info.value.code == "rate_limited"


def test_client_429_reads_retry_after_http_date(make_client: ClientFactory, router: respx.Router) -> None:
    when = email.utils.format_datetime(datetime.now(UTC) + timedelta(seconds=120), usegmt=True)
    _respond(_route(router, "getTask"), 429, {"error": "slow down"}, **{"Retry-After": when})
    with pytest.raises(RateLimitError) as info:
        make_client().get(TASK_ID)
    assert info.value.retry_after is not None
    assert 110 <= info.value.retry_after <= 120


def test_client_429_carries_the_rate_limit_headers(
    make_client: ClientFactory, router: respx.Router, version: str
) -> None:
    documented = SPEC.resolve(SPEC.operation("getTask").responses["429"])["headers"]
    headers = {
        name: str(SPEC.resolve(documented[name])["example"]) for name in ("X-RateLimit-Remaining", "X-RateLimit-Reset")
    }
    body, media = error_body(version, 429, "rate_limited", "Too many requests")
    _respond(_route(router, "getTask"), 429, body, media, **headers)
    with pytest.raises(RateLimitError) as info:
        make_client().get(TASK_ID)
    assert info.value.remaining == 95
    assert info.value.reset_at == datetime(2021, 12, 20, 11, 33, 20, tzinfo=UTC)  # 1640000000
    assert info.value.retry_after is None


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("1640000000", datetime(2021, 12, 20, 11, 33, 20, tzinfo=UTC)),
        (" 0 ", datetime(1970, 1, 1, tzinfo=UTC)),
        ("-5", None),
        ("soon", None),
        ("inf", None),
        ("1e30", None),
        (None, None),
    ],
)
def test_parse_rate_limit_reset_reads_unix_seconds(value: str | None, expected: datetime | None) -> None:
    assert parse_rate_limit_reset(value) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("120", 120.0),
        (" 3 ", 3.0),
        ("1.5", 1.5),
        ("-1", None),
        ("nan", None),
        ("", None),
        ("Wed, 21 Oct 2015 07:28:30 GMT", 30.0),
        ("Wed, 21 Oct 2015 07:27:00 GMT", 0.0),
        ("Wednesday, 21-Oct-15 07:29:00 GMT", 60.0),
        ("Wed Oct 21 07:28:10 2015", 10.0),
        ("Wed, 32 Oct 2015 07:28:00 GMT", None),
    ],
)
def test_parse_retry_after_reads_delta_seconds_and_http_dates(value: str, expected: float | None) -> None:
    assert parse_retry_after(value, now=datetime(2015, 10, 21, 7, 28, tzinfo=UTC)) == expected


# --- bodies the client cannot trust -------------------------------------------------------------


@pytest.mark.parametrize(
    ("content", "content_type", "problem"),
    [
        (b"<html>ok</html>", "text/html; charset=utf-8", "text/html"),
        (b'{"id": "t"}', None, "missing"),
        (b'{"id": "t",', "application/json", "not valid JSON"),
        (b'{"id": "t", "status": NaN}', "application/json", "NaN"),
        (b"", "application/json", "not valid JSON"),
    ],
)
def test_client_2xx_without_json_raises_protocol_error(
    make_client: ClientFactory, router: respx.Router, content: bytes, content_type: str | None, problem: str
) -> None:
    headers = {"Content-Type": content_type} if content_type else {}
    _route(router, "getTask").respond(200, content=content, headers=headers)
    with pytest.raises(ProtocolError, match=problem) as info:
        make_client().get(TASK_ID)
    assert info.value.response is not None and info.value.response.status_code == 200


def test_client_2xx_missing_required_field_raises_protocol_error(
    make_client: ClientFactory, router: respx.Router, version: str
) -> None:
    checked = 0
    for operation_id, status, media, _, example in _response_examples(True, version):
        schema = SPEC.version_schema_name(operation_id, str(status), version)
        bare = SPEC.response_schema_name(operation_id, str(status))
        assert schema is not None and bare is not None
        inner = example["data"] if version == "1" else example
        if not isinstance(inner, dict):
            continue
        for required in SPEC.required(bare):
            body = wrapped({k: v for k, v in inner.items() if k != required}, version)
            _respond(_route(router, operation_id), status, body, media)
            with pytest.raises(ProtocolError) as info:
                _invoke(make_client(), operation_id)
            assert any(required in problem for problem in info.value.problems)
            assert schema in str(info.value)
            checked += 1
    assert checked >= 15


@pytest.mark.parametrize("status", [0, max(SPEC.status_codes) + 1, "9", True])
def test_client_2xx_undocumented_status_value_raises_protocol_error(
    make_client: ClientFactory, router: respx.Router, version: str, status: Any
) -> None:
    _respond(_route(router, "getTask"), 200, wrapped(_a_task(status=status), version))
    with pytest.raises(ProtocolError, match="status"):
        make_client().get(TASK_ID)


def test_client_2xx_non_object_body_raises_protocol_error(make_client: ClientFactory, router: respx.Router) -> None:
    _respond(_route(router, "cancelTask"), 200, [1, 2])
    with pytest.raises(ProtocolError, match="CancelResult"):
        make_client().cancel(TASK_ID)


def test_client_undocumented_success_status_raises_protocol_error(
    make_client: ClientFactory, router: respx.Router
) -> None:
    _respond(_route(router, "runTask"), 202, _a_task())
    with pytest.raises(ProtocolError, match="undocumented status 202"):
        make_client().run("infsh/echo", {})


# --- transport failures -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raised", "expected"),
    [
        (httpx.ConnectError, TransportError),
        (httpx.ReadError, TransportError),
        (httpx.RemoteProtocolError, TransportError),
        (httpx.ConnectTimeout, TransportTimeout),
        (httpx.ReadTimeout, TransportTimeout),
        (httpx.PoolTimeout, TransportTimeout),
    ],
)
def test_client_transport_failures_raise_transport_errors(
    make_client: ClientFactory, router: respx.Router, raised: type[Exception], expected: type[Exception]
) -> None:
    _route(router, "getTask").mock(side_effect=raised)
    with pytest.raises(expected) as info:
        make_client().get(TASK_ID)
    assert isinstance(info.value.__cause__, raised)
    assert (expected is TransportTimeout) == isinstance(info.value, TransportTimeout)
    assert info.value.method == "GET"  # type: ignore[attr-defined]
    assert info.value.url == f"{BASE}/tasks/{TASK_ID}"  # type: ignore[attr-defined]


class _UnreadStream(httpx.SyncByteStream, httpx.AsyncByteStream):
    """A body respx does not read ahead, so decoding happens inside the client."""

    def __init__(self, content: bytes) -> None:
        self._content = content

    def __iter__(self) -> Iterator[bytes]:
        yield self._content

    async def __aiter__(self) -> AsyncIterator[bytes]:
        yield self._content


def test_client_bad_content_encoding_raises_protocol_error(make_client: ClientFactory, router: respx.Router) -> None:
    headers = {"Content-Encoding": "gzip", "Content-Type": "application/json"}
    response = httpx.Response(200, headers=headers, stream=_UnreadStream(b"not gzip"))
    _route(router, "getTask").mock(return_value=response)
    with pytest.raises(ProtocolError, match="decoded"):
        make_client().get(TASK_ID)


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


def test_client_refused_connection_raises_transport_error() -> None:
    with TasksClient(f"http://127.0.0.1:{_closed_port()}", api_key=KEY, timeout=2) as client:
        with pytest.raises(TransportError) as info:
            client.get(TASK_ID)
    assert not isinstance(info.value, TransportTimeout)
    assert isinstance(info.value.__cause__, httpx.ConnectError)


def test_client_silent_server_raises_transport_timeout() -> None:
    with socket.socket() as server:  # listens but never answers: the read times out
        server.bind(("127.0.0.1", 0))
        server.listen()
        base_url = f"http://127.0.0.1:{server.getsockname()[1]}"
        with TasksClient(base_url, api_key=KEY, timeout=0.2) as client:
            with pytest.raises(TransportTimeout) as info:
                client.get(TASK_ID)
    assert isinstance(info.value.__cause__, httpx.ReadTimeout)


def test_async_client_silent_server_raises_transport_timeout() -> None:
    async def main(base_url: str) -> None:
        async with AsyncTasksClient(base_url, api_key=KEY, timeout=0.2) as client:
            await client.get(TASK_ID)

    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen()
        with pytest.raises(TransportTimeout):
            asyncio.run(main(f"http://127.0.0.1:{server.getsockname()[1]}"))


# --- the API key stays secret -------------------------------------------------------------------


def _leaky_scenarios() -> dict[str, Callable[[respx.Router], None]]:
    def echoing_401(router: respx.Router) -> None:
        _route(router, "getTask").respond(401, json={"error": f"unknown key {KEY}", "code": KEY})

    def schema_breaking_200(router: respx.Router) -> None:
        _route(router, "getTask").respond(200, json=_a_task(id=KEY, status=KEY, created_at=KEY))

    def html_200(router: respx.Router) -> None:
        _route(router, "getTask").respond(200, text=f"<p>{KEY}</p>", headers={"Content-Type": "text/html"})

    def echoing_429(router: respx.Router) -> None:
        _route(router, "getTask").respond(429, json={"detail": KEY}, headers={"Retry-After": KEY})

    def connect_error(router: respx.Router) -> None:
        _route(router, "getTask").mock(side_effect=httpx.ConnectError(f"refused {KEY}"))

    return {f.__name__: f for f in (echoing_401, schema_breaking_200, html_200, echoing_429, connect_error)}


@pytest.mark.parametrize("scenario", sorted(_leaky_scenarios()))
def test_client_errors_never_show_the_api_key(make_client: ClientFactory, router: respx.Router, scenario: str) -> None:
    _leaky_scenarios()[scenario](router)
    client = make_client()
    with pytest.raises(TasksClientError) as info:
        client.get(TASK_ID)
    shown = [str(info.value), repr(info.value), repr(client), repr(getattr(info.value, "response", None))]
    shown += [*getattr(info.value, "problems", ()), *getattr(info.value, "body_problems", ())]
    shown += [str(getattr(info.value, "code", "")), str(getattr(info.value, "url", ""))]
    assert not [text for text in shown if KEY in text]


def test_wait_timeout_never_shows_the_api_key(make_client: ClientFactory, router: respx.Router, version: str) -> None:
    running = min(set(SPEC.status_codes) - SPEC.terminal_statuses)
    _respond(_route(router, "getTask"), 200, wrapped(_a_task(id=KEY, status=running), version))
    with pytest.raises(WaitTimeout) as info:
        make_client(sleep=lambda _: None).wait_for_terminal(KEY, deadline=0)
    assert KEY not in str(info.value) and KEY not in repr(info.value)


# --- webhooks -----------------------------------------------------------------------------------


@pytest.mark.parametrize(("where", "example"), _webhook_examples())
@pytest.mark.parametrize("form", ["bytes", "str", "dict"])
def test_parse_webhook_reads_documented_examples(where: str, example: dict[str, Any], form: str) -> None:
    text = json.dumps(example)
    forms: dict[str, bytes | str | dict[str, Any]] = {"bytes": text.encode(), "str": text, "dict": example}
    body = forms[form]
    payload = parse_webhook(body)
    assert payload.raw == example
    assert (payload.id, payload.status, payload.updated_at) == (
        example["id"],
        example["status"],
        example["updated_at"],
    )
    assert payload.is_terminal
    assert TasksClient.parse_webhook(body) == payload == AsyncTasksClient.parse_webhook(body)


def _webhook_breakers() -> list[tuple[str, Any]]:
    (_, example), *_ = _webhook_examples()
    required = SPEC.schema("WebhookPayload")["required"]
    cases: list[tuple[str, Any]] = [
        (f"missing {name}", {k: v for k, v in example.items() if k != name}) for name in required
    ]
    cases += [
        (f"non-terminal status {code}", {**example, "status": code})
        for code in sorted(set(SPEC.status_codes) - SPEC.terminal_statuses)
    ]
    cases += [("bad timestamp", {**example, "updated_at": "yesterday"}), ("a list", [example])]
    cases += [("not JSON", b"{oops"), ("empty", "")]
    return cases


@pytest.mark.parametrize(("case", "body"), _webhook_breakers())
def test_parse_webhook_rejects_what_breaks_the_schema(case: str, body: Any) -> None:
    with pytest.raises(ProtocolError) as info:
        parse_webhook(body)
    assert info.value.problems
    assert info.value.response is None


# --- native async use ---------------------------------------------------------------------------


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.mark.anyio
async def test_async_client_runs_requests_concurrently(router: respx.Router) -> None:
    route = _route(router, "getTask").respond(200, json=_a_task())
    transport = httpx.MockTransport(router.async_handler)
    async with AsyncTasksClient(BASE, api_key=KEY, transport=transport) as client:
        tasks = await asyncio.gather(*(client.get(f"task_{n}") for n in range(5)))
    assert [t.id for t in tasks] == [TASK_ID] * 5
    assert sorted(call.request.url.path for call in route.calls) == [f"/tasks/task_{n}" for n in range(5)]
    with pytest.raises(RuntimeError):
        await client.get(TASK_ID)


def test_result_types_compare_by_fields_not_raw() -> None:
    body: Mapping[str, Any] = _a_task()
    assert Task.from_json(body) == Task.from_json({**body, "extra": 1})
    assert KEY not in repr(Task.from_json({**body, "extra": KEY}))

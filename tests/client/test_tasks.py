"""The Tasks API client against respx routes built from the spec's examples and documented responses.

Every test runs with the sync client and with the async one (driven through ``_Blocking``), so the
two cannot drift apart. What comes from the spec — operations, paths, examples, error statuses,
required fields, statuses — is read from it, so a spec change flows into these tests.
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

from infsh_harness.client import AsyncTasksClient, CancelResult, Task, TasksClient, parse_webhook
from infsh_harness.client.errors import (
    APIError,
    AuthenticationError,
    ConflictError,
    HarnessError,
    NotFoundError,
    ProtocolError,
    RateLimitError,
    ServerError,
    TransportError,
    TransportTimeout,
    ValidationError,
    WaitTimeout,
    parse_retry_after,
)
from infsh_harness.spec import load_spec

SPEC = load_spec()
BASE = "http://api.test"
KEY = "inf_secret_key_0123456789"
TASK_ID = "task_abc123"

# The independent oracle: which class each HTTP status must raise.
EXPECTED_CLASS: dict[int, type[APIError]] = {
    400: ValidationError,
    401: AuthenticationError,
    404: NotFoundError,
    409: ConflictError,
    410: ConflictError,
    422: ValidationError,
    429: RateLimitError,
}


def _expected_class(status: int) -> type[APIError]:
    return EXPECTED_CLASS.get(status) or (ServerError if status >= 500 else APIError)


# --- what the spec documents --------------------------------------------------------------------


def _examples_by_location() -> dict[str, tuple[str, Any]]:
    return {where: (schema, value) for where, schema, value in SPEC.examples()}


def _response_examples(success: bool) -> list[tuple[str, int, str, Any]]:
    """``(operation_id, status, example name, value)`` for every documented response example."""
    found = []
    for op in SPEC.operations.values():
        for code, response in op.responses.items():
            status = int(code)
            if (200 <= status < 300) != success:
                continue
            media = SPEC.resolve(response).get("content", {}).get("application/json", {})
            for name, example in media.get("examples", {}).items():
                found.append((op.operation_id, status, name, SPEC.resolve(example)["value"]))
    return found


def _request_examples(operation_id: str) -> list[tuple[str, Any]]:
    op = SPEC.operation(operation_id)
    prefix = f"{op.method} {op.path} request example "
    return [(w.removeprefix(prefix), v) for w, (_, v) in _examples_by_location().items() if w.startswith(prefix)]


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
    """A valid ``Task`` body: the documented example, changed."""
    value = next(ex[3] for ex in _response_examples(True) if ex[0] == "getTask" and ex[1] == 200)
    return {**value, **changes}


# --- clients, sync and async --------------------------------------------------------------------


class _Blocking:
    """An ``AsyncTasksClient`` with blocking methods: each coroutine runs in its own event loop."""

    def __init__(self, client: AsyncTasksClient) -> None:
        self._client = client

    def __getattr__(self, name: str) -> Any:
        attr = getattr(self._client, name)
        if not inspect.iscoroutinefunction(attr):
            return attr
        return lambda *args, **kwargs: asyncio.run(attr(*args, **kwargs))

    def close(self) -> None:
        asyncio.run(self._client.aclose())


ClientFactory = Callable[..., Any]


@pytest.fixture
def router() -> respx.Router:
    return respx.Router(base_url=BASE, assert_all_called=False)


@pytest.fixture(params=["sync", "async"])
def make_client(request: pytest.FixtureRequest, router: respx.Router) -> Iterator[ClientFactory]:
    made: list[Any] = []

    def make(**kwargs: Any) -> Any:
        kwargs.setdefault("api_key", KEY)
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


def _invoke(client: Any, operation_id: str) -> Any:
    calls: dict[str, Callable[[], Any]] = {
        "runTask": lambda: client.run("infsh/echo", {"prompt": "A sunset"}),
        "getTask": lambda: client.get(TASK_ID),
        "cancelTask": lambda: client.cancel(TASK_ID),
    }
    return calls[operation_id]()


# --- documented successes -----------------------------------------------------------------------


@pytest.mark.parametrize(("operation_id", "status", "name", "example"), _response_examples(True))
def test_client_reads_documented_success_examples(
    make_client: ClientFactory, router: respx.Router, operation_id: str, status: int, name: str, example: Any
) -> None:
    _route(router, operation_id).respond(status, json=example)
    result = _invoke(make_client(), operation_id)
    assert isinstance(result, Task | CancelResult)
    assert result.raw == example
    assert (result.id, result.status) == (example["id"], example["status"])
    assert result.is_terminal == (example["status"] in SPEC.terminal_statuses)
    assert result.status_name == SPEC.status_info(example["status"]).varname  # type: ignore[union-attr]


@pytest.mark.parametrize(("name", "example"), _request_examples("runTask"))
def test_client_run_sends_documented_request_examples(
    make_client: ClientFactory, router: respx.Router, name: str, example: dict[str, Any]
) -> None:
    route = _route(router, "runTask").respond(200, json=_a_task(input=example["input"]))
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


def test_client_run_no_wait_sends_wait_false(make_client: ClientFactory, router: respx.Router) -> None:
    route = _route(router, "runTask").respond(200, json=_a_task(status=min(SPEC.status_codes)))
    task = make_client().run("infsh/sleep", {"seconds": 5}, wait=False)
    assert route.calls.last.request.url.params["wait"] == "false"
    assert not task.is_terminal


def test_client_extra_fields_survive_in_raw(make_client: ClientFactory, router: respx.Router) -> None:
    body = _a_task(updated_at="2024-01-15T10:30:05Z", short_id="task_abc", nested={"a": [1, 2]})
    _route(router, "getTask").respond(200, json=body)
    task = make_client().get(TASK_ID)
    assert task.raw == body
    assert task.raw["short_id"] == "task_abc"


def test_client_sends_key_and_custom_headers(make_client: ClientFactory, router: respx.Router) -> None:
    route = _route(router, "getTask").respond(200, json=_a_task())
    make_client(headers={"X-Trace": "t-1"}).get(TASK_ID)
    headers = route.calls.last.request.headers
    assert headers["Authorization"] == f"Bearer {KEY}"
    assert headers["X-Trace"] == "t-1"
    assert headers["Accept"] == "application/json"


def test_client_without_key_sends_no_authorization(make_client: ClientFactory, router: respx.Router) -> None:
    route = _route(router, "getTask").respond(200, json=_a_task())
    make_client(api_key=None).get(TASK_ID)
    assert "Authorization" not in route.calls.last.request.headers


def test_client_quotes_task_id_into_one_path_segment(make_client: ClientFactory, router: respx.Router) -> None:
    route = router.route().respond(200, json=_a_task())
    make_client().get("a/b?c")
    assert route.calls.last.request.url.raw_path == b"/tasks/a%2Fb%3Fc"


def test_client_refuses_empty_task_id(make_client: ClientFactory) -> None:
    with pytest.raises(ValueError, match="task_id"):
        make_client().get("")


def test_client_closed_refuses_requests(router: respx.Router) -> None:
    _route(router, "getTask").respond(200, json=_a_task())
    with TasksClient(BASE, api_key=KEY, transport=httpx.MockTransport(router.handler)) as client:
        assert client.get(TASK_ID).id == TASK_ID
    with pytest.raises(RuntimeError):
        client.get(TASK_ID)


# --- documented errors --------------------------------------------------------------------------


def test_client_every_documented_error_status_has_an_expected_class() -> None:
    undecided = {s for _, s in _documented_statuses(False) if s < 500 and s not in EXPECTED_CLASS}
    assert not undecided, f"decide which error class these documented statuses raise: {undecided}"


@pytest.mark.parametrize(("operation_id", "status"), _documented_statuses(False))
def test_client_documented_error_status_raises_its_class(
    make_client: ClientFactory, router: respx.Router, operation_id: str, status: int
) -> None:
    _route(router, operation_id).respond(status, json={"error": "something went wrong", "code": "some_code"})
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


@pytest.mark.parametrize(("operation_id", "status", "name", "example"), _response_examples(False))
def test_client_documented_error_examples_keep_message_and_code(
    make_client: ClientFactory, router: respx.Router, operation_id: str, status: int, name: str, example: Any
) -> None:
    _route(router, operation_id).respond(status, json=example)
    with pytest.raises(APIError) as info:
        _invoke(make_client(), operation_id)
    assert type(info.value) is _expected_class(status)
    assert info.value.message == example["error"]
    assert info.value.code == example.get("code")
    assert example["error"] in str(info.value)


@pytest.mark.parametrize("status", [500, 502, 503, 504])
def test_client_5xx_raises_server_error(make_client: ClientFactory, router: respx.Router, status: int) -> None:
    _route(router, "getTask").respond(status, json={"error": "upstream failed"})
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


def test_client_error_body_breaking_error_schema_is_noted(make_client: ClientFactory, router: respx.Router) -> None:
    _route(router, "getTask").respond(404, json={"detail": "no such task"})
    with pytest.raises(NotFoundError) as info:
        make_client().get(TASK_ID)
    assert info.value.message == "Not Found"
    assert any("error" in problem for problem in info.value.body_problems)


def test_client_undocumented_4xx_raises_plain_api_error(make_client: ClientFactory, router: respx.Router) -> None:
    _route(router, "cancelTask").respond(403, json={"error": "forbidden"})
    with pytest.raises(APIError) as info:
        make_client().cancel(TASK_ID)
    assert type(info.value) is APIError
    assert info.value.status_code == 403


# --- 429 and Retry-After ------------------------------------------------------------------------


@pytest.mark.parametrize(("header", "expected"), [("7", 7.0), ("0", 0.0), (None, None), ("soon", None)])
def test_client_429_reads_retry_after_seconds(
    make_client: ClientFactory, router: respx.Router, header: str | None, expected: float | None
) -> None:
    headers = {"Retry-After": header} if header is not None else {}
    _route(router, "runTask").respond(429, json={"error": "slow down", "code": "rate_limited"}, headers=headers)
    with pytest.raises(RateLimitError) as info:
        make_client().run("infsh/echo", {})
    assert info.value.retry_after == expected
    assert info.value.code == "rate_limited"


def test_client_429_reads_retry_after_http_date(make_client: ClientFactory, router: respx.Router) -> None:
    when = email.utils.format_datetime(datetime.now(UTC) + timedelta(seconds=120), usegmt=True)
    _route(router, "getTask").respond(429, json={"error": "slow down"}, headers={"Retry-After": when})
    with pytest.raises(RateLimitError) as info:
        make_client().get(TASK_ID)
    assert info.value.retry_after is not None
    assert 110 <= info.value.retry_after <= 120


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


@pytest.mark.parametrize(("operation_id", "status", "name", "example"), _response_examples(True))
def test_client_2xx_missing_required_field_raises_protocol_error(
    make_client: ClientFactory, router: respx.Router, operation_id: str, status: int, name: str, example: Any
) -> None:
    schema = SPEC.response_schema_name(operation_id, str(status))
    assert schema is not None
    for required in SPEC.schema(schema)["required"]:
        body = {k: v for k, v in example.items() if k != required}
        _route(router, operation_id).respond(status, json=body)
        with pytest.raises(ProtocolError) as info:
            _invoke(make_client(), operation_id)
        assert any(required in problem for problem in info.value.problems)
        assert schema in str(info.value)


@pytest.mark.parametrize("status", [0, max(SPEC.status_codes) + 1, "9", True])
def test_client_2xx_undocumented_status_value_raises_protocol_error(
    make_client: ClientFactory, router: respx.Router, status: Any
) -> None:
    _route(router, "getTask").respond(200, json=_a_task(status=status))
    with pytest.raises(ProtocolError, match="status"):
        make_client().get(TASK_ID)


def test_client_2xx_non_object_body_raises_protocol_error(make_client: ClientFactory, router: respx.Router) -> None:
    _route(router, "cancelTask").respond(200, json=[1, 2])
    with pytest.raises(ProtocolError, match="CancelResult"):
        make_client().cancel(TASK_ID)


def test_client_undocumented_success_status_raises_protocol_error(
    make_client: ClientFactory, router: respx.Router
) -> None:
    _route(router, "runTask").respond(202, json=_a_task())
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
    with pytest.raises(HarnessError) as info:
        client.get(TASK_ID)
    shown = [str(info.value), repr(info.value), repr(client), repr(getattr(info.value, "response", None))]
    shown += [*getattr(info.value, "problems", ()), *getattr(info.value, "body_problems", ())]
    shown += [str(getattr(info.value, "code", "")), str(getattr(info.value, "url", ""))]
    assert not [text for text in shown if KEY in text]


def test_wait_timeout_never_shows_the_api_key(make_client: ClientFactory, router: respx.Router) -> None:
    running = min(set(SPEC.status_codes) - SPEC.terminal_statuses)
    _route(router, "getTask").respond(200, json=_a_task(id=KEY, status=running))
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

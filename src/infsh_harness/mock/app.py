"""The mock's ASGI layer: read the request, call the profile's handler, render the answer.

No business rule lives here. The profile (``mock/profiles/``) says which paths exist and how the
model is rendered; the ``/_mock/`` controls are ``mock/control.py``; timers and waiting requests are
``mock/lifecycle.py``. Every failure is a ``MockError`` rendered by the profile's renderer, one
function, with its headers: a request the mock cannot read (too large, too deep, badly encoded,
an ambiguous header or query parameter) is a 4xx with the error body, never a 500 and never a task.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import random
import re
from collections.abc import AsyncGenerator, Awaitable, Callable, MutableMapping
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, unquote_to_bytes

from infsh_harness.mock.apps import load_catalog
from infsh_harness.mock.config import MockConfig
from infsh_harness.mock.control import PREFIX, ControlApi
from infsh_harness.mock.errors import BadRequest, BodyTooLarge, MethodNotAllowed, MockError, NotFound
from infsh_harness.mock.faults import FaultInjector
from infsh_harness.mock.http import Request, Response, StreamingResponse
from infsh_harness.mock.lifecycle import Lifecycle
from infsh_harness.mock.models import MockBackend
from infsh_harness.mock.profiles import Profile, build_profile
from infsh_harness.mock.profiles.profile import DEFAULT_VERSION, Handler, Services, api_version
from infsh_harness.mock.ratelimit import RateLimiter
from infsh_harness.mock.webhooks import WebhookDispatcher
from infsh_harness.spec import Spec

__all__ = ["MockApp", "create_app"]

log = logging.getLogger("infsh_harness.mock")

Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]

# headers a request may carry once (RFC 9110 §5.3: not lists); two of them is ambiguous
_SINGLE_HEADERS = frozenset({"authorization", "content-type", "content-length", "host"})
_BAD_ESCAPE = re.compile(r"%(?![0-9A-Fa-f]{2})")


class MockApp:
    """One ASGI application: the profile's public routes, plus the ``/_mock/`` controls."""

    def __init__(
        self,
        config: MockConfig,
        profile: Profile,
        backend: MockBackend,
        lifecycle: Lifecycle,
        faults: FaultInjector,
        limiter: RateLimiter | None = None,
    ) -> None:
        self.config = config
        self.profile = profile
        self.backend = backend
        self.lifecycle = lifecycle
        self.dispatcher = lifecycle.dispatcher
        self.faults = faults
        self.limiter = limiter or RateLimiter({}, backend.clock)
        self.services = Services(backend, lifecycle, config, self.limiter)
        self.control = ControlApi(config, profile.name, backend, lifecycle, faults, self.limiter)
        self.max_body_bytes = config.limits.max_body_bytes

    # --- ASGI ----------------------------------------------------------------------------
    # One coroutine per request apart from the handler's: every step that need not wait is a plain
    # call (a coroutine level costs each request about as much as a rate-limit header does).
    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            if scope["type"] == "lifespan":
                await self._lifespan(receive, send)
            return
        version = api_version(scope["headers"])
        request: Request | None = None
        try:
            request = self._read(scope)
            request.version = version
            message = await receive()
            body: bytes = message.get("body", b"")
            if len(body) > self.max_body_bytes:
                raise self._too_large()
            if message.get("more_body"):
                body = await self._read_more_body(receive, body)
            request.body = body
            if request.path.startswith(PREFIX):
                response = await self.control.handle(request)
            else:
                if self.faults.active:
                    await self.faults.on_request()
                response = await self._handler(request)(self.services, request)
        except MockError as exc:
            response = self.render_error(exc, version)
        except Exception:  # a bug in the mock must still answer with the error body, never hang
            log.exception("unhandled error on %s %s", scope.get("method"), scope.get("path"))
            response = self.render_error(MockError("internal error in the mock"), version)
        if request is not None and request.answer_headers:
            response.headers.extend(request.answer_headers)
        if isinstance(response, StreamingResponse) and response.chunks is not None:
            await _send_stream(send, receive, response, response.chunks)
        else:
            await _send(send, response)

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                self.lifecycle.begin_shutdown()
                await self.dispatcher.close()
                await send({"type": "lifespan.shutdown.complete"})
                return

    def render_error(self, exc: MockError, version: str = DEFAULT_VERSION) -> Response:
        """The one way an error becomes an answer: the body of the profile's renderer of the API
        ``version`` asked for, the error's headers."""
        response = self.profile.renderer_for(version).error(exc)
        response.headers.extend(exc.headers)
        return response

    def _handler(self, request: Request) -> Handler:
        """The profile's handler of a public request, once its key is known."""
        # the key first: without one, an unknown path or method is 401 too (nothing is told about routes)
        request.owner = self.backend.authenticate(request.headers.get("authorization"))
        matched = self.profile.match(request.path)
        if matched is None:
            raise NotFound(f"no such endpoint: {request.path}")
        name, request.params = matched
        methods = self.profile.routes[name]
        handler = methods.get(request.method)
        if handler is None:
            raise MethodNotAllowed(f"{request.method} is not allowed on {request.path}", tuple(methods))
        return handler

    # --- reading the request -------------------------------------------------------------
    def _read(self, scope: Scope) -> Request:
        """The request's line and headers (its body is read next)."""
        raw_headers = scope["headers"]
        # ASGI servers send header names lowercased already
        headers = {k.decode("latin-1"): v.decode("latin-1") for k, v in raw_headers}
        if len(headers) != len(raw_headers):
            _refuse_repeated(raw_headers)
        path: str = scope["path"]
        if "%" in path or "\ufffd" in path:
            _check_path(scope.get("raw_path") or path.encode("utf-8", "surrogateescape"))
        raw_query: bytes = scope["query_string"]
        query = _parse_query(raw_query) if raw_query else {}
        declared = headers.get("content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_body_bytes:
            raise self._too_large()
        return Request(scope["method"], path, {}, query, headers)

    def _too_large(self) -> BodyTooLarge:
        return BodyTooLarge(f"request body is larger than {self.max_body_bytes} bytes")

    async def _read_more_body(self, receive: Receive, body: bytes) -> bytes:
        """The rest of a body that came in more than one message (the usual one came whole)."""
        limit = self.max_body_bytes
        chunks: list[bytes] = [body]
        size = len(body)
        while True:
            message = await receive()
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > limit:
                raise self._too_large()
            chunks.append(chunk)
            if not message.get("more_body"):
                return b"".join(chunks)


def _refuse_repeated(raw_headers: list[tuple[bytes, bytes]]) -> None:
    seen: set[bytes] = set()
    for name, _ in raw_headers:
        if name in seen and name.decode("latin-1") in _SINGLE_HEADERS:
            raise BadRequest(f"the {name.decode('latin-1')} header is sent more than once", reason="invalid_header")
        seen.add(name)


def _check_path(raw_path: bytes) -> None:
    text = raw_path.decode("latin-1")
    try:
        if _BAD_ESCAPE.search(text):
            raise ValueError
        unquote_to_bytes(text).decode("utf-8")
    except ValueError:  # UnicodeDecodeError included
        raise BadRequest("the path is not valid percent-encoded UTF-8", reason="invalid_path") from None


@functools.lru_cache(maxsize=1024)
def _parse_query(raw: bytes) -> dict[str, str]:
    """The query string as a dict (cached: clients repeat the same few; callers must not mutate it).

    Percent-encoded UTF-8 only, each parameter once: anything else is ambiguous and refused."""
    try:
        text = raw.decode("ascii")
        if _BAD_ESCAPE.search(text):
            raise ValueError
        pairs = parse_qsl(text, keep_blank_values=True, errors="strict")
    except ValueError:  # UnicodeDecodeError included
        raise BadRequest("the query string is not valid percent-encoded UTF-8", reason="invalid_query") from None
    query = dict(pairs)
    if len(query) != len(pairs):
        repeated = next(name for name, _ in pairs if sum(1 for n, _ in pairs if n == name) > 1)
        raise BadRequest(f"query parameter {repeated} is given more than once", reason="invalid_query")
    return query


# --- sending the answer --------------------------------------------------------------------
async def _send(send: Send, response: Response) -> None:
    if response.status == 204:  # no content: no Content-Type, and no Content-Length (RFC 9110 §8.6)
        headers = list(response.headers)
    else:
        headers = [
            (b"content-type", _media_type(response.content_type)),
            (b"content-length", str(len(response.body)).encode()),
            *response.headers,
        ]
    await send({"type": "http.response.start", "status": response.status, "headers": headers})
    await send({"type": "http.response.body", "body": response.body})


@functools.lru_cache(maxsize=16)
def _media_type(content_type: str) -> bytes:
    return content_type.encode()


async def _send_stream(send: Send, receive: Receive, response: Response, chunks: AsyncGenerator[bytes, None]) -> None:
    headers = [(b"content-type", response.content_type.encode()), (b"cache-control", b"no-cache")]
    await send({"type": "http.response.start", "status": response.status, "headers": [*headers, *response.headers]})
    gone = asyncio.ensure_future(receive())  # resolves (http.disconnect) when the client hangs up
    try:
        while True:
            step = asyncio.ensure_future(anext(chunks))
            await asyncio.wait({step, gone}, return_when=asyncio.FIRST_COMPLETED)
            if not step.done():
                step.cancel()
                await asyncio.wait({step})  # let the generator finish unwinding before closing it
                return
            try:
                chunk = step.result()
            except StopAsyncIteration:
                break
            await send({"type": "http.response.body", "body": chunk, "more_body": True})
        await send({"type": "http.response.body", "body": b""})
    finally:
        gone.cancel()
        await chunks.aclose()


def create_app(
    config: MockConfig | None = None,
    spec: Spec | None = None,
    backend: MockBackend | None = None,
    dispatcher: WebhookDispatcher | None = None,
    profile: Profile | None = None,
) -> MockApp:
    """Build the mock from explicit parts; anything not given gets its default (``config.profile``)."""
    from infsh_harness.spec import load_spec

    config = config or MockConfig()
    spec = spec or load_spec()
    rng = random.Random(config.seed)
    profile = profile or build_profile(spec, config, rng)
    if backend is None:
        phases = [s.varname for s in spec.statuses if not s.terminal]
        catalog = load_catalog(phases, None if config.apps_file is None else Path(config.apps_file))
        backend = MockBackend(config, catalog, rng=rng, options=profile.model)
    faults = FaultInjector(config.faults, rng)
    if dispatcher is None:
        dispatcher = WebhookDispatcher(config.webhooks, faults, rng)
    lifecycle = Lifecycle(backend, dispatcher, profile.renderer.webhook)
    documented: dict[str, int] = dict(spec.rule("rate-limits").params["per-minute"])
    limiter = RateLimiter.scaled(documented, config.rate_limit_scale, config.rate_limits, backend.clock)
    return MockApp(config, profile, backend, lifecycle, faults, limiter)

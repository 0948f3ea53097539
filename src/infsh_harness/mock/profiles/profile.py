"""What a profile is: a route table, a renderer, a run-request validator and the model's options.

A profile is a value handed to ``create_app``; the ASGI layer (``mock/app.py``) matches the path
with ``match``, calls the handler ``routes[name][method]`` with the mock's ``Services`` and the
request, and renders any ``MockError`` with ``renderer.error``. Handlers parse, call the model (or
the lifecycle) and render; no business rule lives in them.

A new profile is a module beside ``documented.py`` and ``wire.py`` with a ``build(spec, config, rng)``
returning a ``Profile``, listed in ``profiles/__init__.py``. A second API version of a profile is a
second renderer, named in ``versions`` by the value of its ``X-API-Version``: the request's
``version`` (``api_version``) chooses it, for its handlers' answers and for its errors alike; any
other value, or none, gets ``renderer`` (the documented profile: version 1, the default).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

import jsonschema_rs
import orjson

from infsh_harness.mock.config import MockConfig
from infsh_harness.mock.errors import BadRequest, InvalidRequest, MockError
from infsh_harness.mock.http import Request, Response
from infsh_harness.mock.lifecycle import Lifecycle
from infsh_harness.mock.models import MockBackend, ModelOptions, TaskView
from infsh_harness.mock.ratelimit import RateLimiter

__all__ = [
    "DEFAULT_VERSION",
    "MAX_JSON_DEPTH",
    "Handler",
    "Matcher",
    "Profile",
    "Renderer",
    "RunValidator",
    "Services",
    "api_version",
    "parse_bool",
    "read_json_object",
]

# Deepest nesting of objects and arrays a request body may have (the body itself is level 1). Every
# rendering adds at most a few levels to the input it echoes, and orjson writes up to 254: a task
# made from an accepted request can always be answered and its webhook always sent.
MAX_JSON_DEPTH = 64
DEFAULT_VERSION = "1"
_VERSION_HEADER = b"x-api-version"


def api_version(raw_headers: Iterable[tuple[bytes, bytes]]) -> str:
    """The API version a request asks for: ``"2"`` with ``X-API-Version: 2``, else ``"1"``, the
    default (the REST overview names no other value). Read from the raw headers, so that an error
    found while reading the rest of the request is answered in the version asked for too; their
    names lowercased, as ASGI servers send them (and uvicorn's parser keeps them)."""
    for name, value in raw_headers:
        if name == _VERSION_HEADER and value.strip() == b"2":
            return "2"
    return DEFAULT_VERSION


class Renderer(Protocol):
    """The part of a profile's renderer the shared layers use; handlers use the rest."""

    def webhook(self, view: TaskView) -> Mapping[str, Any]: ...
    def error(self, exc: MockError) -> Response: ...


@dataclass(frozen=True)
class Services:
    """What a route handler may use: the model, the lifecycle around it, the configuration, the
    rate limits."""

    backend: MockBackend
    lifecycle: Lifecycle
    config: MockConfig
    limiter: RateLimiter


Handler = Callable[[Services, Request], Awaitable[Response]]
# path -> (route name, path parameters), or None: no such route
Matcher = Callable[[str], tuple[str, dict[str, str]] | None]


@dataclass(frozen=True)
class Profile:
    name: str
    match: Matcher
    routes: Mapping[str, Mapping[str, Handler]]  # route name -> method -> handler
    renderer: Renderer
    validate_run: Callable[[bytes], dict[str, Any]]  # a run body -> the accepted request, or a MockError
    model: ModelOptions
    # X-API-Version value -> its renderer; any other value (or none) gets ``renderer``
    versions: Mapping[str, Renderer] = field(default_factory=dict)

    def renderer_for(self, version: str) -> Renderer:
        return self.versions.get(version, self.renderer)


def _too_deep(value: Any, limit: int) -> bool:
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if depth > limit:
            return True
        children = item.values() if isinstance(item, dict) else item
        stack.extend((child, depth + 1) for child in children if isinstance(child, dict | list))
    return False


def read_json_object(body: bytes, what: str = "request body", max_depth: int = MAX_JSON_DEPTH) -> dict[str, Any]:
    """``body`` as a JSON object (UTF-8, at most ``max_depth`` levels deep), or ``BadRequest``."""
    try:
        data = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        if "depth limit" in str(exc) or "recursion" in str(exc):
            raise _too_deep_error(what, max_depth) from None
        raise BadRequest(f"{what} is not valid JSON (UTF-8)") from None
    if not isinstance(data, dict):
        raise BadRequest(f"{what} must be a JSON object", reason="invalid_body")
    # a body cannot be deeper than its brackets are many: the walk runs only for bodies that might be
    if body.count(b"{") + body.count(b"[") > max_depth and _too_deep(data, max_depth):
        raise _too_deep_error(what, max_depth)
    return data


def _too_deep_error(what: str, max_depth: int) -> BadRequest:
    return BadRequest(f"{what} is nested deeper than {max_depth} levels", reason="body_too_deep")


class RunValidator:
    """A run request's body: a JSON object valid against ``schema``, or the error saying why not."""

    def __init__(self, schema: Mapping[str, Any], *, validate_formats: bool = True) -> None:
        self._validator = jsonschema_rs.validator_for(dict(schema), validate_formats=validate_formats)

    def __call__(self, body: bytes) -> dict[str, Any]:
        data = read_json_object(body)
        if self._validator.is_valid(data):
            return data
        errors = [
            f"{'/'.join(map(str, e.instance_path)) or 'body'}: {e.message}" for e in self._validator.iter_errors(data)
        ]
        raise InvalidRequest("; ".join(errors[:5]))


def parse_bool(query: Mapping[str, str], name: str, default: bool) -> bool:
    value = query.get(name)
    if value is None:
        return default
    if value in ("true", "false"):
        return value == "true"
    raise InvalidRequest(f"query parameter {name} must be true or false, not {value!r}")

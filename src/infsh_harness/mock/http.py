"""The plain types the ASGI layer, the route handlers and the renderers share."""

from __future__ import annotations

from collections.abc import AsyncGenerator, Mapping
from dataclasses import dataclass, field
from typing import Any

import orjson

__all__ = ["JSON", "Headers", "Request", "Response", "StreamingResponse"]

JSON = "application/json"
Headers = tuple[tuple[bytes, bytes], ...]


@dataclass(slots=True)
class Request:
    method: str
    path: str
    params: dict[str, str]
    query: Mapping[str, str]
    headers: Mapping[str, str] = field(repr=False)  # Authorization holds a key: never in a repr
    body: bytes = field(default=b"", repr=False)
    owner: str = field(default="", repr=False)  # the key the request acts as, once authenticated
    version: str = "1"  # the API version asked for (``profiles.profile.api_version``)
    # headers the answer carries whatever it is, success or error (a rate-limited operation's quota)
    answer_headers: Headers = ()


@dataclass(slots=True)
class Response:
    status: int
    body: bytes = b""
    content_type: str = JSON
    headers: list[tuple[bytes, bytes]] = field(default_factory=list)

    @classmethod
    def json(cls, status: int, data: Any) -> Response:
        return cls(status, orjson.dumps(data))


@dataclass(slots=True)
class StreamingResponse(Response):
    """A response sent chunk by chunk (NDJSON, SSE) until ``chunks`` ends or the client goes away."""

    chunks: AsyncGenerator[bytes, None] | None = None

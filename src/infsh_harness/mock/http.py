"""The two plain types the ASGI layer and the renderers share."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import orjson

__all__ = ["JSON", "Request", "Response"]

JSON = "application/json"


@dataclass
class Request:
    method: str
    path: str
    params: dict[str, str]
    query: dict[str, str]
    headers: dict[str, str]
    body: bytes
    owner: str = ""


@dataclass
class Response:
    status: int
    body: bytes = b""
    content_type: str = JSON
    headers: list[tuple[bytes, bytes]] = field(default_factory=list)

    @classmethod
    def json(cls, status: int, data: Any) -> Response:
        return cls(status, orjson.dumps(data))

"""A target that answers every request with a body that never ends: a byte every half second, so
no read ever times out. Only a bound on the whole run ends a client's wait."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.routing import Route


async def _endless() -> AsyncIterator[bytes]:
    yield b'{"id": "'
    while True:
        await asyncio.sleep(0.5)
        yield b"x"


async def _answer(request: Request) -> Response:
    return StreamingResponse(_endless(), media_type="application/json")


def trickle_app() -> Starlette:
    return Starlette(routes=[Route("/{path:path}", _answer, methods=["GET", "POST", "PUT", "DELETE"])])

"""A target that stops answering: reads get a 404, a run is never answered."""

from __future__ import annotations

import asyncio

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route


async def _never(request: Request) -> Response:
    await asyncio.sleep(3600)
    return JSONResponse({"error": "too late", "code": "late"}, status_code=504)


async def _unknown(request: Request) -> Response:
    return JSONResponse({"error": "task not found", "code": "task_not_found"}, status_code=404)


def hanging_app() -> Starlette:
    return Starlette(routes=[
        Route("/run", _never, methods=["POST"]),
        Route("/tasks/{id}", _unknown, methods=["GET"]),
        Route("/tasks/{id}/cancel", _unknown, methods=["POST"]),
        Route("/", _unknown, methods=["GET"]),
    ])  # fmt: skip

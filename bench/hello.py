"""The baseline: a bare Starlette hello-world, served with the mock's own uvicorn settings.

``python -m bench.hello --port 0`` prints ``listening on http://HOST:PORT`` once it is ready.
"""

from __future__ import annotations

import argparse

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Route

from infsh_harness.mock.server import bind_socket, uvicorn_config


async def hello(request: Request) -> PlainTextResponse:
    return PlainTextResponse("Hello, world!")


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.hello", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    args = parser.parse_args()
    app = Starlette(routes=[Route("/", hello)])
    sock = bind_socket(args.host, args.port)
    host, port = sock.getsockname()[:2]
    server = uvicorn.Server(uvicorn_config(app, args.host, port))
    sock.listen(2048)  # the kernel queues connections from here on, before uvicorn takes the socket
    print(f"listening on http://{host}:{port}", flush=True)
    server.run(sockets=[sock])
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

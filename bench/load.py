"""A closed-loop HTTP/1.1 load generator on raw asyncio sockets: fast enough to saturate one core of server.

Each connection keeps one request in flight and sends the next as soon as the answer is complete, so
the rate measured is what the server sustains. Every answer's status is checked; the framing relies on
``content-length``, which uvicorn always sends for these fixed-size answers.

``python -m bench.load URL PATH [--method POST --body JSON] --seconds 3 --connections 64`` prints one
JSON line: {"requests", "errors", "seconds", "rps", "p50_ms", "p99_ms", "p999_ms", "max_ms", "statuses"}.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit


@dataclass
class Stats:
    requests: int = 0
    errors: int = 0
    statuses: Counter[bytes] = field(default_factory=Counter)
    latencies: list[float] = field(default_factory=list)


def build_request(method: str, host: str, path: str, headers: dict[str, str], body: bytes | None) -> bytes:
    lines = [f"{method} {path} HTTP/1.1", f"host: {host}", *(f"{k}: {v}" for k, v in headers.items())]
    if body is not None:
        lines += ["content-type: application/json", f"content-length: {len(body)}"]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + (body or b"")


class _Connection(asyncio.Protocol):
    def __init__(self, request: bytes, stats: Stats, measuring: list[bool], stop: asyncio.Event) -> None:
        self.request = request
        self.stats = stats
        self.measuring = measuring  # [warm-up over]; answers count only while measuring[0] is True
        self.stop = stop
        self.buffer = b""
        self.sent_at = 0.0
        self.transport: asyncio.Transport | None = None
        self.closed = asyncio.get_running_loop().create_future()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]  # uvloop's transports are not subclasses
        self._send()

    def _send(self) -> None:
        assert self.transport is not None
        if self.stop.is_set():
            self.transport.close()
            return
        self.sent_at = time.perf_counter()
        self.transport.write(self.request)

    def data_received(self, data: bytes) -> None:
        buffer = self.buffer + data if self.buffer else data
        while True:
            end = buffer.find(b"\r\n\r\n")
            if end < 0:
                break
            at = buffer.find(b"content-length:", 0, end)
            if at < 0:
                at = buffer.lower().find(b"content-length:", 0, end)
            length = int(buffer[at + 15 : buffer.index(b"\r\n", at)])
            total = end + 4 + length
            if len(buffer) < total:
                break
            status = buffer[9:12]
            buffer = buffer[total:]
            if self.measuring[0]:
                stats = self.stats
                stats.requests += 1
                stats.latencies.append(time.perf_counter() - self.sent_at)
                stats.statuses[status] += 1
                if status[0] != 50:  # not 2xx
                    stats.errors += 1
            self._send()
        self.buffer = buffer

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.closed.done():
            self.closed.set_result(None)


async def run_load(
    url: str, path: str, *, method: str = "GET", body: bytes | None = None, headers: dict[str, str] | None = None,
    seconds: float = 3.0, warmup_s: float = 0.5, connections: int = 64,
) -> dict[str, Any]:  # fmt: skip
    parts = urlsplit(url)
    host, port = parts.hostname or "127.0.0.1", parts.port or 80
    request = build_request(method, f"{host}:{port}", path, headers or {}, body)
    loop = asyncio.get_running_loop()
    stats, measuring, stop = Stats(), [False], asyncio.Event()
    conns: list[_Connection] = []
    for _ in range(connections):
        _, conn = await loop.create_connection(lambda: _Connection(request, stats, measuring, stop), host, port)
        conns.append(conn)
    await asyncio.sleep(warmup_s)
    measuring[0] = True
    t0 = time.perf_counter()
    await asyncio.sleep(seconds)
    measuring[0] = False
    elapsed = time.perf_counter() - t0
    stop.set()
    await asyncio.wait([c.closed for c in conns], timeout=5)
    latencies = sorted(stats.latencies)

    def pct(q: float) -> float:
        return round(latencies[min(len(latencies) - 1, int(q * len(latencies)))] * 1000, 3) if latencies else 0.0

    return {
        "requests": stats.requests,
        "errors": stats.errors,
        "seconds": round(elapsed, 3),
        "rps": round(stats.requests / elapsed, 1),
        "p50_ms": pct(0.50),
        "p99_ms": pct(0.99),
        "p999_ms": pct(0.999),
        "max_ms": round(latencies[-1] * 1000, 3) if latencies else 0.0,
        "statuses": {k.decode(): v for k, v in stats.statuses.items()},
    }


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.load", description=__doc__)
    parser.add_argument("url")
    parser.add_argument("path")
    parser.add_argument("--method", default="GET")
    parser.add_argument("--body", help="JSON request body")
    parser.add_argument("--header", action="append", default=[], metavar="NAME:VALUE")
    parser.add_argument("--seconds", type=float, default=3.0)
    parser.add_argument("--warmup", type=float, default=0.5)
    parser.add_argument("--connections", type=int, default=64)
    args = parser.parse_args()
    headers = dict(h.split(":", 1) for h in args.header)
    headers = {k.strip(): v.strip() for k, v in headers.items()}
    try:
        import uvloop

        runner: Any = uvloop.run
    except ImportError:  # the plain loop is slower, but still measures
        runner = asyncio.run
    result = runner(
        run_load(
            args.url, args.path, method=args.method, body=args.body.encode() if args.body else None,
            headers=headers, seconds=args.seconds, warmup_s=args.warmup, connections=args.connections,
        )  # fmt: skip
    )
    print(json.dumps(result), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

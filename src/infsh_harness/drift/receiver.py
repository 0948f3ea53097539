"""A webhook receiver for the probe: a tiny HTTP server on a free loopback port, in a thread.

It answers every POST with 200 and keeps what it got (at most ``max_deliveries`` bodies of at most
``max_body_bytes`` each), so a misbehaving target cannot make it grow without bound.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType

__all__ = ["Delivery", "WebhookReceiver"]


@dataclass(frozen=True)
class Delivery:
    method: str
    url: str
    headers: tuple[tuple[str, str], ...]
    body: bytes
    status_code: int
    at: float


class WebhookReceiver:
    """``with WebhookReceiver() as receiver: receiver.url`` — POSTs to it are kept in ``deliveries``."""

    def __init__(
        self,
        bind: str = "127.0.0.1",
        port: int = 0,
        advertise_host: str | None = None,
        max_deliveries: int = 100,
        max_body_bytes: int = 1 << 20,
    ) -> None:
        self._lock = threading.Lock()
        self._deliveries: list[Delivery] = []
        self._advertise_host = advertise_host or bind
        self._max_deliveries = max_deliveries
        self._max_body_bytes = max_body_bytes
        self._server = ThreadingHTTPServer((bind, port), self._handler_class())
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, name="drift-webhooks", daemon=True)

    @property
    def url(self) -> str:
        host = self._advertise_host
        host = f"[{host}]" if ":" in host else host
        return f"http://{host}:{self._server.server_address[1]}/drift-webhook"

    @property
    def deliveries(self) -> list[Delivery]:
        with self._lock:
            return list(self._deliveries)

    def wait_for(self, predicate: Callable[[list[Delivery]], bool], timeout_s: float) -> list[Delivery]:
        """Deliveries once ``predicate(deliveries)`` is true or ``timeout_s`` has passed (polls)."""
        deadline = time.monotonic() + timeout_s
        while True:
            got = self.deliveries
            if predicate(got) or time.monotonic() >= deadline:
                return got
            time.sleep(0.02)

    def _keep(self, delivery: Delivery) -> None:
        with self._lock:
            if len(self._deliveries) < self._max_deliveries:
                self._deliveries.append(delivery)

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - the name http.server dispatches to
                length = int(self.headers.get("content-length") or 0)
                if length > receiver._max_body_bytes:
                    self.send_response(413)
                    self.end_headers()
                    return
                body = self.rfile.read(length) if length else b""
                self.send_response(200)
                self.send_header("content-length", "0")
                self.end_headers()
                host = receiver._advertise_host
                url = f"http://{host}:{receiver._server.server_address[1]}{self.path}"
                receiver._keep(Delivery("POST", url, tuple(self.headers.items()), body, 200, time.time()))

            def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - the base's name
                pass  # the probe reports what arrived; no access log on stderr

        return Handler

    def __enter__(self) -> WebhookReceiver:
        self._thread.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(5)

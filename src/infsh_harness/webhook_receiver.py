"""A small webhook receiver: a threaded HTTP server that records every POST it gets.

Used by the contract suite (one delivery per terminal task), the drift probe and load runs::

    with WebhookReceiver() as receiver:          # 127.0.0.1, a free port
        url = receiver.url("task-a")             # http://127.0.0.1:PORT/hooks/task-a
        ...                                      # run a task with webhook=url
        [delivery] = receiver.wait_for("task-a", count=1, timeout_s=10)
        delivery.payload                         # the parsed JSON body

It binds 127.0.0.1 unless told otherwise; ``advertise_host``/``advertise_port`` set the address
put in URLs, for a server that reaches this machine by another name (a remote target). Every
delivery becomes an :class:`~infsh_harness.observation.Observation` at the boundary (keys redacted).
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import quote, unquote, urlsplit

from infsh_harness.observation import Observation

__all__ = ["HOOK_PREFIX", "MAX_BODY_BYTES", "Delivery", "WebhookReceiver"]

HOOK_PREFIX = "/hooks/"
MAX_BODY_BYTES = 1 << 20
_ACK = b'{"received":true}'


@dataclass(frozen=True)
class Delivery:
    """One POST the receiver got."""

    token: str  # the path part after /hooks/ ("" for any other path)
    received_at: float  # time.time() on arrival
    received_monotonic: float  # time.monotonic() on arrival, for latencies
    observation: Observation

    @property
    def payload(self) -> Any:
        """The parsed JSON body (the text when it is not JSON, ``None`` when empty)."""
        return self.observation.request_body


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.1"

    def do_POST(self) -> None:
        length = self.headers.get("content-length")
        if length is None or not length.isdigit() or int(length) > MAX_BODY_BYTES:
            self._answer(411 if length is None else 413, b'{"error":"a body with a valid content-length is needed"}')
            return
        body = self.rfile.read(int(length))
        status = self.server.receiver.status_code
        self.server.receiver._record(self.path, list(self.headers.items()), body, status)
        self._answer(status, _ACK)

    def _refuse(self) -> None:
        self._answer(405, b'{"error":"only POST is accepted"}', allow="POST")

    do_GET = do_PUT = do_PATCH = do_DELETE = _refuse

    def _answer(self, status: int, body: bytes, allow: str | None = None) -> None:
        self.send_response(status)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(body)))
        if allow:
            self.send_header("allow", allow)
        if status >= 400:  # a refused request's body may be unread: this connection cannot carry another
            self.send_header("connection", "close")
            self.close_connection = True
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        pass  # deliveries are recorded, not logged


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, address: tuple[str, int], receiver: WebhookReceiver) -> None:
        self.receiver = receiver
        super().__init__(address, _Handler)


class WebhookReceiver:
    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        advertise_host: str | None = None,
        advertise_port: int | None = None,
        status_code: int = 200,
        operation_id: str | None = None,
        max_deliveries: int = 100_000,
    ) -> None:
        self.host = host
        self.port = port
        self.advertise_host = advertise_host
        self.advertise_port = advertise_port
        self.status_code = status_code  # what every delivery is answered (set 500 to provoke retries)
        self.operation_id = operation_id  # tagged on every observation (the spec's webhook operationId)
        self._deliveries: deque[Delivery] = deque(maxlen=max_deliveries)
        self._changed = threading.Condition()
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self.base_url = ""

    # --- lifecycle ---------------------------------------------------------------------------
    def start(self) -> str:
        """Listen in a background thread; return the advertised base URL."""
        if self._server is not None:
            return self.base_url
        self._server = _Server((self.host, self.port), self)
        bound_port = self._server.server_address[1]
        host = self.advertise_host or self.host
        host = f"[{host}]" if ":" in host and not host.startswith("[") else host
        self.base_url = f"http://{host}:{self.advertise_port or bound_port}"
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.1}, name="webhook-receiver", daemon=True
        )
        self._thread.start()
        return self.base_url

    def stop(self) -> None:
        if self._server is None:
            return
        self._server.shutdown()
        self._server.server_close()
        if self._thread is not None:
            self._thread.join(5)
        self._server = self._thread = None

    def __enter__(self) -> WebhookReceiver:
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    # --- URLs and deliveries -----------------------------------------------------------------
    def url(self, token: str = "") -> str:
        """The URL whose deliveries are filed under ``token``."""
        if not self.base_url:
            raise RuntimeError("the receiver is not started")
        return f"{self.base_url}{HOOK_PREFIX}{quote(token, safe='')}"

    @staticmethod
    def token_of(url: str) -> str:
        """The token a URL made by :meth:`url` files its deliveries under."""
        route = urlsplit(url).path
        return unquote(route[len(HOOK_PREFIX) :]) if route.startswith(HOOK_PREFIX) else ""

    def _record(self, path: str, headers: list[tuple[str, str]], body: bytes, status: int) -> None:
        token = self.token_of(path)
        observation = Observation.from_received(
            method="POST",
            url=f"{self.base_url}{path}",
            headers=headers,
            body=body,
            status_code=status,
            operation_id=self.operation_id,
        )
        delivery = Delivery(token, time.time(), time.monotonic(), observation)
        with self._changed:
            self._deliveries.append(delivery)
            self._changed.notify_all()

    def deliveries(self, token: str | None = None) -> list[Delivery]:
        """Every delivery so far (only ``token``'s when given), in arrival order."""
        with self._changed:
            return [d for d in self._deliveries if token is None or d.token == token]

    def __iter__(self) -> Iterator[Delivery]:
        return iter(self.deliveries())

    def __len__(self) -> int:
        with self._changed:
            return len(self._deliveries)

    def wait_for(self, token: str | None, count: int = 1, timeout_s: float = 10.0) -> list[Delivery]:
        """``token``'s deliveries once there are ``count`` of them, or as they are when ``timeout_s`` runs out."""
        deadline = time.monotonic() + timeout_s
        with self._changed:
            while True:
                found = [d for d in self._deliveries if token is None or d.token == token]
                remaining = deadline - time.monotonic()
                if len(found) >= count or remaining <= 0:
                    return found
                self._changed.wait(remaining)

    def clear(self) -> None:
        with self._changed:
            self._deliveries.clear()

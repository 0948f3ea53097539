"""A webhook receiver on 127.0.0.1 for the mock's tests: records every POST and answers as told."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

__all__ = ["Delivery", "Receiver", "receiver"]


@dataclass(frozen=True)
class Delivery:
    path: str
    body: dict[str, Any]
    answered: int  # the status the receiver answered
    at: float  # time.time() when the request arrived


class _Server(ThreadingHTTPServer):
    request_queue_size = 256  # a burst of webhooks opens many connections at once


# decide(body, attempt number for this task id) -> (status to answer, seconds to stall first)
Decide = Callable[[dict[str, Any], int], tuple[int, float]]


class Receiver:
    def __init__(self, decide: Decide | None = None) -> None:
        self.decide: Decide = decide or (lambda body, n: (200, 0.0))
        self.requests: list[Delivery] = []
        self._lock = threading.Lock()
        self._changed = threading.Condition(self._lock)
        self._server = _Server(("127.0.0.1", 0), self._handler())
        self._server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}/hook"
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05})

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        owner = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:  # noqa: N802 - the stdlib's naming
                at = time.time()
                raw = self.rfile.read(int(self.headers.get("content-length") or 0))
                body = json.loads(raw)
                with owner._changed:
                    n = 1 + sum(1 for d in owner.requests if d.body.get("id") == body.get("id"))
                    status, stall = owner.decide(body, n)
                    owner.requests.append(Delivery(self.path, body, status, at))
                    owner._changed.notify_all()
                if stall:
                    time.sleep(stall)
                try:
                    self.send_response(status)
                    self.send_header("content-length", "2")
                    self.end_headers()
                    self.wfile.write(b"{}")
                except OSError:  # the sender gave up (a timeout test): nothing to answer
                    pass

            def log_message(self, format: str, *args: Any) -> None:
                pass

        return Handler

    def start(self) -> Receiver:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(5)

    def acknowledged(self) -> dict[str, list[dict[str, Any]]]:
        """Payloads answered with a 2xx, by task id."""
        out: dict[str, list[dict[str, Any]]] = {}
        with self._lock:
            for d in self.requests:
                if 200 <= d.answered < 300:
                    out.setdefault(d.body["id"], []).append(d.body)
        return out

    def wait_for(self, predicate: Callable[[Receiver], bool], timeout_s: float = 10.0) -> bool:
        deadline = time.monotonic() + timeout_s
        while not predicate(self):
            if time.monotonic() >= deadline:
                return False
            with self._changed:
                self._changed.wait(0.02)
        return True


@contextmanager
def receiver(decide: Decide | None = None) -> Iterator[Receiver]:
    r = Receiver(decide).start()
    try:
        yield r
    finally:
        r.stop()

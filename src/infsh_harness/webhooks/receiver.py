"""A small webhook receiver: a threaded HTTP server that records every POST it gets.

The project's one receiver: the contract suite (one delivery per terminal task), the drift probe
and the mock's tests use it (load runs keep their own inside locust, on gevent)::

    with WebhookReceiver() as receiver:          # 127.0.0.1, a free port
        url = receiver.url("task-a")             # http://127.0.0.1:PORT/hooks/task-a
        ...                                      # run a task with webhook=url
        [delivery] = receiver.wait_for("task-a", count=1, timeout_s=10)
        delivery.payload                         # the parsed JSON body

It binds 127.0.0.1 unless told otherwise; ``advertise_host``/``advertise_port`` set the address
put in URLs, for a server that reaches this machine by another name (a remote target). Every
delivery becomes an :class:`~infsh_harness.http.observation.Observation` at the boundary (keys redacted).

Every POST is answered ``status_code`` (200), or what ``decide(payload, attempt)`` says, to make a
sender retry on purpose: :func:`failing_first` and :func:`failing_share` are the usual policies.
"""

from __future__ import annotations

import dataclasses
import random
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import quote, unquote, urlsplit

from infsh_harness.http.observation import Observation

__all__ = [
    "HOOK_PREFIX",
    "MAX_BODY_BYTES",
    "Decide",
    "Delivery",
    "WebhookReceiver",
    "failing_first",
    "failing_share",
]

HOOK_PREFIX = "/hooks/"
MAX_BODY_BYTES = 1 << 20
_ACK = b'{"received":true}'

# decide(payload, attempt) -> (status to answer, seconds to stall before answering); ``attempt``
# counts the POSTs of the payload's task id (its ``id``), this one included. It is called under the
# receiver's lock, so a policy with state (a random generator) needs no lock of its own.
Decide = Callable[[Any, int], tuple[int, float]]


def failing_first(failures: int, status: int = 500, stall_s: float = 0.0) -> Decide:
    """Answer each task's first ``failures`` attempts with ``status`` (after ``stall_s``), then 200."""
    return lambda payload, attempt: (status, stall_s) if attempt <= failures else (200, 0.0)


def failing_share(share: float, seed: int, status: int = 500) -> Decide:
    """Answer a seeded random ``share`` of the POSTs with ``status``, the rest with 200."""
    rng = random.Random(seed)
    return lambda payload, attempt: (status, 0.0) if rng.random() < share else (200, 0.0)


def _task_id(payload: Any) -> Any:
    return payload.get("id") if isinstance(payload, Mapping) else None


@dataclass(frozen=True)
class Delivery:
    """One POST the receiver got."""

    token: str  # the path part after /hooks/ ("" for any other path)
    received_at: float  # time.time() on arrival
    received_monotonic: float  # time.monotonic() on arrival, for latencies
    observation: Observation
    body: bytes = b""  # the body as it came

    @property
    def payload(self) -> Any:
        """The parsed JSON body (the text when it is not JSON, ``None`` when empty)."""
        return self.observation.request_body

    @property
    def status_code(self) -> int:
        """What the receiver answered."""
        return self.observation.status_code


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.1"

    def do_POST(self) -> None:
        arrived = time.time(), time.monotonic()
        length = self.headers.get("content-length")
        if length is None or not length.isdigit() or int(length) > MAX_BODY_BYTES:
            self._answer(411 if length is None else 413, b'{"error":"a body with a valid content-length is needed"}')
            return
        body = self.rfile.read(int(length))
        status, stall_s = self.server.receiver._record(self.path, list(self.headers.items()), body, arrived)
        if stall_s > 0:
            time.sleep(stall_s)
        self._answer(status, _ACK)

    def _refuse(self) -> None:
        self._answer(405, b'{"error":"only POST is accepted"}', allow="POST")

    do_GET = do_PUT = do_PATCH = do_DELETE = _refuse

    def _answer(self, status: int, body: bytes, allow: str | None = None) -> None:
        try:
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
        except OSError:  # the sender gave up waiting (a stalled answer): nobody to answer
            self.close_connection = True

    def log_message(self, format: str, *args: Any) -> None:
        pass  # deliveries are recorded, not logged


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 256  # a burst of webhooks opens many connections at once

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
        decide: Decide | None = None,
        operation_id: str | None = None,
        scenario: str | None = None,
        max_deliveries: int = 100_000,
    ) -> None:
        self.host = host
        self.port = port
        self.advertise_host = advertise_host
        self.advertise_port = advertise_port
        self.status_code = status_code  # what every delivery is answered (set 500 to provoke retries)
        self.decide = decide  # when set, it chooses the answer instead of ``status_code``
        self.operation_id = operation_id  # tagged on every observation (the spec's webhook operationId)
        self.scenario = scenario  # likewise, for a probe that tags what it saw
        self._deliveries: deque[Delivery] = deque(maxlen=max_deliveries)
        self._changed = threading.Condition()  # an RLock: wait predicates may read the receiver
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

    def _record(
        self, path: str, headers: list[tuple[str, str]], body: bytes, arrived: tuple[float, float]
    ) -> tuple[int, float]:
        """File one POST; the status to answer it with and how long to stall first."""
        observation = Observation.from_received(
            method="POST",
            url=f"{self.base_url}{path}",
            headers=headers,
            body=body,
            status_code=self.status_code,
            scenario=self.scenario,
            operation_id=self.operation_id,
        )
        with self._changed:
            status, stall_s = self.status_code, 0.0
            if self.decide is not None:
                task_id = _task_id(observation.request_body)
                attempt = 1 + sum(1 for d in self._deliveries if _task_id(d.payload) == task_id)
                status, stall_s = self.decide(observation.request_body, attempt)
                observation = dataclasses.replace(observation, status_code=status)
            self._deliveries.append(Delivery(self.token_of(path), *arrived, observation, body))
            self._changed.notify_all()
        return status, stall_s

    def deliveries(self, token: str | None = None) -> list[Delivery]:
        """Every delivery so far (only ``token``'s when given), in arrival order."""
        with self._changed:
            return [d for d in self._deliveries if token is None or d.token == token]

    def acknowledged(self) -> dict[Any, list[Any]]:
        """The payloads answered with a 2xx, by their task id (the payload's ``id``)."""
        out: dict[Any, list[Any]] = {}
        for d in self.deliveries():
            if 200 <= d.status_code < 300:
                out.setdefault(_task_id(d.payload), []).append(d.payload)
        return out

    def __iter__(self) -> Iterator[Delivery]:
        return iter(self.deliveries())

    def __len__(self) -> int:
        with self._changed:
            return len(self._deliveries)

    def wait_until(self, predicate: Callable[[WebhookReceiver], bool], timeout_s: float = 10.0) -> bool:
        """Whether ``predicate(self)`` came true within ``timeout_s`` (checked on every delivery)."""
        deadline = time.monotonic() + timeout_s
        with self._changed:
            while not predicate(self):
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return False
                self._changed.wait(remaining)
            return True

    def wait_for(self, token: str | None, count: int = 1, timeout_s: float = 10.0) -> list[Delivery]:
        """``token``'s deliveries once there are ``count`` of them, or as they are when ``timeout_s`` runs out."""
        with self._changed:
            self.wait_until(lambda r: len(r.deliveries(token)) >= count, timeout_s)
            return self.deliveries(token)

    def clear(self) -> None:
        with self._changed:
            self._deliveries.clear()

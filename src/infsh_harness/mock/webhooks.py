"""Webhook delivery: off the request path, retried with backoff, every attempt recorded.

Only loopback hosts (127.0.0.0/8, ::1, ``localhost``) and hosts named in ``allow_hosts`` are ever
contacted, decided from the URL's literal host without resolving any name. Anything else is refused
and recorded: a fuzzed or mistyped webhook URL never sends traffic off the machine.
"""

from __future__ import annotations

import asyncio
import ipaddress
import logging
import random
import time
from collections import deque
from dataclasses import asdict, dataclass
from typing import Any

import httpx
import orjson

from infsh_harness.mock.config import WebhookPolicy
from infsh_harness.mock.faults import FaultInjector

__all__ = ["Attempt", "WebhookDispatcher", "host_allowed"]

log = logging.getLogger("infsh_harness.mock.webhooks")


def host_allowed(url: str, allow_hosts: frozenset[str]) -> bool:
    """True when ``url``'s literal host is loopback or explicitly allowed.

    The host is read with the parser of the client that sends the webhook, so the guard judges
    exactly the host that would be contacted (URL parsers disagree on odd inputs like ``a\\@b``).
    """
    try:
        parsed = httpx.URL(url)
    except (httpx.InvalidURL, TypeError, ValueError):
        return False
    if parsed.scheme not in ("http", "https"):
        return False
    host = parsed.host.lower()
    if not host:
        return False
    if host == "localhost" or host in allow_hosts:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


@dataclass(frozen=True)
class Attempt:
    task_id: str
    url: str
    attempt: int
    outcome: str  # delivered | http_error | connect_error | timeout | refused | dropped | undelivered | unencodable
    status_code: int | None
    latency_ms: float | None
    at: float
    final: bool

    def as_json(self) -> dict[str, Any]:
        return asdict(self)


class WebhookDispatcher:
    def __init__(
        self,
        policy: WebhookPolicy,
        faults: FaultInjector,
        rng: random.Random,
        client: httpx.AsyncClient | None = None,
    ) -> None:
        self.policy = policy
        self._faults = faults
        self._rng = rng
        self._client = client
        self.attempts: deque[Attempt] = deque(maxlen=policy.history)
        self._pending: dict[asyncio.Task[None], tuple[str, str]] = {}

    def _http(self) -> httpx.AsyncClient:
        if self._client is None:
            # trust_env=False: a proxy from the environment must never carry a webhook elsewhere
            self._client = httpx.AsyncClient(trust_env=False, timeout=self.policy.attempt_timeout_s)
        return self._client

    def _record(self, attempt: Attempt) -> None:
        self.attempts.append(attempt)
        if attempt.final and attempt.outcome != "delivered":
            log.warning("webhook for %s to %s not delivered: %s", attempt.task_id, attempt.url, attempt.outcome)

    def submit(self, task_id: str, url: str, payload: dict[str, Any]) -> None:
        """Queue one delivery (or, under a duplicate fault, two). Returns at once.

        Whatever happens to it is recorded: refused, dropped, a payload that cannot be encoded,
        and every attempt."""
        if not host_allowed(url, self.policy.allow_hosts):
            self._record(Attempt(task_id, url, 0, "refused", None, None, time.time(), True))
            return
        try:
            body = orjson.dumps(payload)
        except orjson.JSONEncodeError as exc:  # a request the mock accepted can always be rendered: a bug
            log.error("webhook for %s cannot be encoded: %s", task_id, exc)
            self._record(Attempt(task_id, url, 0, "unencodable", None, None, time.time(), True))
            return
        faults = self._faults.current
        if faults.webhook_drop_rate and self._rng.random() < faults.webhook_drop_rate:
            self._record(Attempt(task_id, url, 0, "dropped", None, None, time.time(), True))
            return
        copies = 2 if faults.webhook_duplicate_rate and self._rng.random() < faults.webhook_duplicate_rate else 1
        for _ in range(copies):
            job = asyncio.get_running_loop().create_task(self._deliver(task_id, url, body, faults.webhook_delay_ms))
            self._pending[job] = (task_id, url)
            job.add_done_callback(self._pending.pop)

    async def _deliver(self, task_id: str, url: str, body: bytes, delay_ms: float) -> None:
        if delay_ms:
            await asyncio.sleep(delay_ms / 1000.0)
        policy = self.policy
        started = time.monotonic()
        backoff = policy.backoff_initial_s
        for number in range(1, policy.max_attempts + 1):
            t0 = time.monotonic()
            status: int | None = None
            try:
                response = await self._http().post(
                    url, content=body, headers={"content-type": "application/json"}
                )
                status = response.status_code
                outcome = "delivered" if 200 <= status < 300 else "http_error"
            except httpx.TimeoutException:
                outcome = "timeout"
            except httpx.HTTPError:
                outcome = "connect_error"
            latency_ms = (time.monotonic() - t0) * 1000.0
            retryable = outcome in ("timeout", "connect_error") or (status is not None and status >= 500)
            out_of_budget = (
                number == policy.max_attempts or time.monotonic() - started + backoff > policy.budget_s
            )
            final = outcome == "delivered" or not retryable or out_of_budget
            self._record(Attempt(task_id, url, number, outcome, status, latency_ms, time.time(), final))
            if final:
                return
            await asyncio.sleep(backoff * (0.5 + self._rng.random() / 2))
            backoff = min(backoff * 2, policy.backoff_max_s)

    def history(self, task_id: str | None = None) -> list[dict[str, Any]]:
        return [a.as_json() for a in self.attempts if task_id is None or a.task_id == task_id]

    @property
    def pending(self) -> int:
        return len(self._pending)

    async def close(self, grace_s: float = 2.0) -> list[str]:
        """Give in-flight deliveries ``grace_s`` to finish; report and record the rest."""
        jobs = list(self._pending)
        if jobs:
            await asyncio.wait(jobs, timeout=grace_s)
        undelivered = []
        for job, (task_id, url) in list(self._pending.items()):
            job.cancel()
            undelivered.append(task_id)
            self._record(Attempt(task_id, url, 0, "undelivered", None, None, time.time(), True))
        if undelivered:
            log.warning("shutting down with %d undelivered webhooks: %s", len(undelivered), undelivered)
        if self._client is not None:
            await self._client.aclose()
        return undelivered

    async def drain(self, timeout_s: float) -> bool:
        """Wait until no delivery is in flight (for tests and shutdown); True if drained."""
        jobs = list(self._pending)
        if jobs:
            await asyncio.wait(jobs, timeout=timeout_s)
        return not self._pending

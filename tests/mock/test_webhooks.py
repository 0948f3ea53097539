"""Webhook delivery by the mock: once per terminal task, retried with backoff, every attempt recorded,
off the request path, loopback only unless a host is allowed, and the drop/duplicate/delay faults.

The end-to-end tests run the mock on 127.0.0.1 against a receiver on 127.0.0.1 (``WebhookReceiver``);
the guard tests use an ``httpx.MockTransport`` so that a refused URL provably never reaches a socket.
"""

from __future__ import annotations

import asyncio
import random
import socket
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Any

import httpx
import pytest

from infsh_harness.cli import build_parser
from infsh_harness.cli.mock import config_from_args
from infsh_harness.mock.config import NO_FAULTS, Faults, MockConfig, WebhookPolicy
from infsh_harness.mock.faults import FaultInjector
from infsh_harness.mock.server import MockServer
from infsh_harness.mock.webhooks import WebhookDispatcher, host_allowed
from infsh_harness.spec import load_spec
from infsh_harness.webhooks.receiver import WebhookReceiver, failing_first, failing_share
from tests.mock.answers import V2

SPEC = load_spec()
AUTH = {"Authorization": "Bearer inf_test_key"}
COMPLETED, FAILED, CANCELLED = SPEC.status("COMPLETED"), SPEC.status("FAILED"), SPEC.status("CANCELLED")
QUICK = WebhookPolicy(backoff_initial_s=0.02, backoff_max_s=0.1, attempt_timeout_s=2.0, budget_s=10.0)


@contextmanager
def mock(policy: WebhookPolicy = QUICK, **config: Any) -> Iterator[tuple[MockServer, httpx.Client]]:
    srv = MockServer(MockConfig(webhooks=policy, seed=3, **config))
    url = srv.start()
    try:
        with httpx.Client(base_url=url, headers={**AUTH, **V2}, timeout=20, trust_env=False) as client:
            yield srv, client
    finally:
        srv.stop()


def attempts(client: httpx.Client, task_id: str) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = client.get("/_mock/webhooks", params={"task_id": task_id}).json()["attempts"]
    return found


def settle(client: httpx.Client, timeout_s: float = 10.0) -> None:
    """Wait until the mock has no delivery in flight."""
    deadline = time.monotonic() + timeout_s
    while client.get("/_mock/stats").json()["webhooks_pending"]:
        assert time.monotonic() < deadline, "webhook deliveries did not settle"
        time.sleep(0.01)


def iso(text: str) -> float:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


# --- delivery ----------------------------------------------------------------------------------


@pytest.mark.parametrize(("app", "status"), [("infsh/echo", COMPLETED), ("infsh/fail", FAILED)])
def test_webhook_is_delivered_exactly_once_and_matches_the_task(app: str, status: int) -> None:
    with WebhookReceiver() as hook, mock() as (_, client):
        task = client.post("/run", json={"app": app, "input": {"message": "no"}, "webhook": hook.url()}).json()
        assert hook.wait_until(lambda r: bool(r.acknowledged()))
        settle(client)
        time.sleep(0.1)  # room for a wrong second delivery to show up
        assert [d.observation.url for d in hook.deliveries()] == [hook.url()]
        payload = hook.deliveries()[0].payload
        assert SPEC.validate("WebhookPayload", payload) == []
        final = client.get(f"/tasks/{task['id']}").json()
        assert (payload["id"], payload["status"], final["status"]) == (task["id"], status, status)
        assert payload["created_at"] == final["created_at"]
        assert iso(payload["updated_at"]) >= iso(payload["created_at"])
        if status == FAILED:
            assert payload["error"] == "no"
        else:
            assert payload["output"] == final["output"]
        [attempt] = attempts(client, task["id"])
        assert (attempt["attempt"], attempt["outcome"], attempt["status_code"], attempt["final"]) == (
            1, "delivered", 200, True,
        )  # fmt: skip
        assert attempt["url"] == hook.url() and attempt["latency_ms"] >= 0 and attempt["at"] > 0


def test_cancel_sends_one_cancelled_webhook_at_once() -> None:
    with WebhookReceiver() as hook, mock() as (_, client):
        task = client.post(
            "/run?wait=false", json={"app": "infsh/sleep", "input": {"seconds": 30}, "webhook": hook.url()}
        ).json()
        client.post(f"/tasks/{task['id']}/cancel")
        client.post(f"/tasks/{task['id']}/cancel")
        assert hook.wait_until(lambda r: bool(r.acknowledged()), timeout_s=5)
        settle(client)
        time.sleep(0.1)
        assert [d.payload["status"] for d in hook.deliveries()] == [CANCELLED]
        assert client.get(f"/tasks/{task['id']}").json()["status"] == CANCELLED


def test_no_webhook_without_a_webhook_url() -> None:
    with mock() as (_, client):
        client.post("/run", json={"app": "infsh/echo", "input": {}})
        assert client.get("/_mock/webhooks").json() == {"attempts": [], "pending": 0}


# --- retries -----------------------------------------------------------------------------------


def test_5xx_is_retried_with_exponential_backoff() -> None:
    policy = WebhookPolicy(backoff_initial_s=0.05, backoff_max_s=1.0, budget_s=10.0)
    with WebhookReceiver(decide=failing_first(3)) as hook, mock(policy) as (_, client):
        task = client.post("/run", json={"app": "infsh/echo", "input": {}, "webhook": hook.url()}).json()
        assert hook.wait_until(lambda r: bool(r.acknowledged()))
        settle(client)
        assert [d.status_code for d in hook.deliveries()] == [500, 500, 500, 200]
        recorded = attempts(client, task["id"])
        assert [(a["attempt"], a["outcome"], a["status_code"], a["final"]) for a in recorded] == [
            (1, "http_error", 500, False), (2, "http_error", 500, False), (3, "http_error", 500, False),
            (4, "delivered", 200, True),
        ]  # fmt: skip
        arrivals = [d.received_at for d in hook.deliveries()]
        gaps = [b - a for a, b in zip(arrivals, arrivals[1:], strict=False)]
        for k, gap in enumerate(gaps):  # the k-th wait is backoff * 2**k, jittered into [half, whole]
            base = policy.backoff_initial_s * 2**k
            assert base / 2 - 0.005 <= gap <= base + 0.5


def test_connection_errors_are_retried_until_max_attempts() -> None:
    with socket.socket() as s:  # a port that was just free: nothing listens on it
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    policy = WebhookPolicy(max_attempts=3, backoff_initial_s=0.01, budget_s=10.0)
    with mock(policy) as (_, client):
        task = client.post(
            "/run", json={"app": "infsh/echo", "input": {}, "webhook": f"http://127.0.0.1:{port}/hook"}
        ).json()
        settle(client)
        recorded = attempts(client, task["id"])
        assert [(a["attempt"], a["outcome"], a["final"]) for a in recorded] == [
            (1, "connect_error", False), (2, "connect_error", False), (3, "connect_error", True),
        ]  # fmt: skip


def test_timeouts_are_retried() -> None:
    policy = WebhookPolicy(attempt_timeout_s=0.2, backoff_initial_s=0.01, budget_s=10.0)
    with WebhookReceiver(decide=failing_first(1, status=504, stall_s=0.6)) as hook, mock(policy) as (_, client):
        task = client.post("/run", json={"app": "infsh/echo", "input": {}, "webhook": hook.url()}).json()
        assert hook.wait_until(lambda r: bool(r.acknowledged()))
        settle(client)
        assert [a["outcome"] for a in attempts(client, task["id"])] == ["timeout", "delivered"]


def test_4xx_is_not_retried() -> None:
    with WebhookReceiver(status_code=410) as hook, mock() as (_, client):
        task = client.post("/run", json={"app": "infsh/echo", "input": {}, "webhook": hook.url()}).json()
        assert hook.wait_until(lambda r: len(r.deliveries()) == 1)
        settle(client)
        time.sleep(0.1)
        assert len(hook.deliveries()) == 1
        assert [(a["outcome"], a["status_code"], a["final"]) for a in attempts(client, task["id"])] == [
            ("http_error", 410, True)
        ]


def test_retries_stop_within_the_budget() -> None:
    policy = WebhookPolicy(max_attempts=1000, backoff_initial_s=0.05, backoff_max_s=0.1, budget_s=0.4)
    with WebhookReceiver(status_code=503) as hook, mock(policy) as (_, client):
        task = client.post("/run", json={"app": "infsh/echo", "input": {}, "webhook": hook.url()}).json()
        settle(client)
        recorded = attempts(client, task["id"])
        assert 2 <= len(recorded) <= 20
        assert [a["final"] for a in recorded] == [False] * (len(recorded) - 1) + [True]
        assert recorded[-1]["at"] - recorded[0]["at"] <= policy.budget_s + 0.2
        assert len(hook.deliveries()) == len(recorded)


def test_delivery_is_never_on_the_request_path() -> None:
    with WebhookReceiver(decide=lambda payload, attempt: (200, 1.0)) as hook, mock() as (_, client):
        t0 = time.monotonic()
        done = client.post("/run", json={"app": "infsh/echo", "input": {}, "webhook": hook.url()}).json()
        running = client.post(
            "/run?wait=false", json={"app": "infsh/sleep", "input": {"seconds": 30}, "webhook": hook.url()}
        ).json()
        client.post(f"/tasks/{running['id']}/cancel")
        assert time.monotonic() - t0 < 0.8  # the receiver takes 1 s for each
        assert client.get("/_mock/stats").json()["webhooks_pending"] >= 1
        assert hook.wait_until(lambda r: set(r.acknowledged()) == {done["id"], running["id"]}, timeout_s=10)


def test_the_receiver_counts_one_delivery_per_task_under_30_percent_failures() -> None:
    policy = WebhookPolicy(max_attempts=12, backoff_initial_s=0.01, backoff_max_s=0.08, budget_s=5.0)
    with WebhookReceiver(decide=failing_share(0.3, seed=20240115)) as hook, mock(policy) as (_, client):
        runs = [{"app": "infsh/echo", "input": {"i": i}, "webhook": hook.url()} for i in range(100)]
        ids = [client.post("/run?wait=false", json=run).json()["id"] for run in runs]
        assert hook.wait_until(lambda r: len(r.acknowledged()) == 100, timeout_s=policy.budget_s + 5)
        settle(client)
        acked = hook.acknowledged()
        assert sorted(acked) == sorted(ids)
        assert all(len(payloads) == 1 for payloads in acked.values())
        failures = [d for d in hook.deliveries() if d.status_code == 500]
        assert len(failures) >= 10  # the retry path really ran
        history = client.get("/_mock/webhooks").json()["attempts"]
        unanswered = [a for a in history if a["outcome"] not in ("delivered", "http_error")]
        assert {a["outcome"] for a in unanswered} <= {"connect_error"}  # a full accept queue, retried too
        assert len(history) - len(unanswered) == len(hook.deliveries())
        assert sum(a["outcome"] == "delivered" for a in history) == 100
        for task_id in ids:
            times = [d.received_at for d in hook.deliveries() if d.payload["id"] == task_id]
            assert max(times) - min(times) <= policy.budget_s


# --- faults ------------------------------------------------------------------------------------


def test_drop_fault_sends_nothing_and_records_it() -> None:
    with WebhookReceiver() as hook, mock(faults=Faults(webhook_drop_rate=1.0)) as (_, client):
        task = client.post("/run", json={"app": "infsh/echo", "input": {}, "webhook": hook.url()}).json()
        time.sleep(0.2)
        assert hook.deliveries() == []
        assert [(a["outcome"], a["final"]) for a in attempts(client, task["id"])] == [("dropped", True)]


def test_duplicate_fault_delivers_twice() -> None:
    with WebhookReceiver() as hook, mock() as (_, client):
        client.put("/_mock/faults", json={"webhook_duplicate_rate": 1}).raise_for_status()
        task = client.post("/run", json={"app": "infsh/echo", "input": {}, "webhook": hook.url()}).json()
        assert hook.wait_until(lambda r: len(r.acknowledged().get(task["id"], [])) == 2)
        settle(client)
        first, second = hook.acknowledged()[task["id"]]
        assert first == second
        assert [a["outcome"] for a in attempts(client, task["id"])] == ["delivered", "delivered"]


def test_delay_fault_holds_the_delivery_back() -> None:
    with WebhookReceiver() as hook, mock() as (_, client):
        client.put("/_mock/faults", json={"webhook_delay_ms": 300}).raise_for_status()
        client.post("/run", json={"app": "infsh/echo", "input": {}, "webhook": hook.url()})
        assert hook.wait_until(lambda r: bool(r.acknowledged()))
        [delivery] = hook.deliveries()
        assert delivery.received_at - iso(delivery.payload["updated_at"]) >= 0.29


# --- the loopback guard ------------------------------------------------------------------------

LOOPBACK = [
    "http://127.0.0.1:8000/hook", "https://127.0.0.1/hook", "http://127.9.8.7/x", "http://[::1]:9000/",
    "http://localhost:1/", "HTTP://LOCALHOST/", "http://evil.example\\@127.0.0.1/",
]  # fmt: skip
ELSEWHERE = [
    "http://10.0.0.1/hook", "https://example.com/hook", "http://localhost.example.com/", "http://127.0.0.1.nip.io/",
    "http://127.0.0.1@example.com/", "http://127.0.0.1\\@example.com/", "http://example.com#@127.0.0.1",
    "http://2130706433/", "http://0x7f000001/", "http://0177.0.0.1/", "http://[::ffff:7f00:1]/", "http://0.0.0.0/",
    "ftp://127.0.0.1/", "127.0.0.1", "", "http://", "http://[::1/",
]  # fmt: skip


@pytest.fixture
def no_name_resolution(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("the guard resolved a name")

    for name in ("getaddrinfo", "gethostbyname", "gethostbyname_ex", "gethostbyaddr"):
        monkeypatch.setattr(socket, name, refuse)


@pytest.mark.usefixtures("no_name_resolution")
@pytest.mark.parametrize("url", LOOPBACK)
def test_guard_allows_loopback_literals(url: str) -> None:
    assert host_allowed(url, frozenset())
    assert httpx.URL(url).host in ("127.0.0.1", "127.9.8.7", "::1", "localhost")


@pytest.mark.usefixtures("no_name_resolution")
@pytest.mark.parametrize("url", ELSEWHERE)
def test_guard_refuses_everything_else_without_resolving(url: str) -> None:
    assert not host_allowed(url, frozenset())


@pytest.mark.usefixtures("no_name_resolution")
def test_guard_allows_a_named_host() -> None:
    allow = frozenset({"hooks.example"})
    assert host_allowed("https://hooks.example/x", allow)
    assert host_allowed("https://HOOKS.example:8443/x", allow)
    assert not host_allowed("https://hooks.example.evil/x", allow)
    assert not host_allowed("https://other.example/x", allow)


def test_webhook_allow_flag_names_hosts_in_the_policy() -> None:
    args = build_parser().parse_args(["mock", "--webhook-allow", "Hooks.Example", "--webhook-allow", "10.0.0.7"])
    config = config_from_args(args, ("inf_test_key",))
    assert config.webhooks.allow_hosts == frozenset({"hooks.example", "10.0.0.7"})


def _dispatch(policy: WebhookPolicy, urls: list[str]) -> tuple[list[str], list[tuple[str, str]]]:
    """Submit one delivery per URL through a transport that records every request it is handed."""
    sent: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        sent.append(str(request.url))
        return httpx.Response(200)

    async def main() -> list[tuple[str, str]]:
        client = httpx.AsyncClient(transport=httpx.MockTransport(handler))
        rng = random.Random(0)
        dispatcher = WebhookDispatcher(policy, FaultInjector(NO_FAULTS, rng), rng, client=client)
        for i, url in enumerate(urls):
            dispatcher.submit(f"task_{i}", url, {"id": f"task_{i}"})
        assert await dispatcher.drain(5)
        await dispatcher.close()
        return [(a.url, a.outcome) for a in dispatcher.attempts]

    return sent, asyncio.run(main())


@pytest.mark.usefixtures("no_name_resolution")
def test_refused_webhooks_are_recorded_and_never_contacted() -> None:
    sent, outcomes = _dispatch(QUICK, ["http://10.1.2.3/hook", "https://hooks.example/x", "http://127.0.0.1:9/ok"])
    assert sent == ["http://127.0.0.1:9/ok"]
    assert sorted(outcomes) == sorted([
        ("http://10.1.2.3/hook", "refused"), ("https://hooks.example/x", "refused"),
        ("http://127.0.0.1:9/ok", "delivered"),
    ])  # fmt: skip


@pytest.mark.usefixtures("no_name_resolution")
def test_an_allowed_host_is_contacted() -> None:
    policy = WebhookPolicy(allow_hosts=frozenset({"hooks.example"}))
    sent, outcomes = _dispatch(policy, ["https://hooks.example/x", "http://10.1.2.3/hook"])
    assert sent == ["https://hooks.example/x"]
    assert sorted(outcomes) == [("http://10.1.2.3/hook", "refused"), ("https://hooks.example/x", "delivered")]


def test_refused_webhook_over_http_is_recorded() -> None:
    with mock() as (_, client):
        task = client.post("/run", json={"app": "infsh/echo", "input": {}, "webhook": "http://192.0.2.1/hook"}).json()
        assert [(a["outcome"], a["attempt"], a["final"]) for a in attempts(client, task["id"])] == [
            ("refused", 0, True)
        ]



def test_a_payload_that_cannot_be_encoded_is_recorded_not_lost() -> None:
    async def main() -> list[tuple[str, str, bool]]:
        rng = random.Random(0)
        dispatcher = WebhookDispatcher(WebhookPolicy(), FaultInjector(NO_FAULTS, rng), rng)
        dispatcher.submit("task_x", "http://127.0.0.1:9/hook", {"output": {1, 2}})  # a set: no JSON for it
        await dispatcher.close()
        return [(a.task_id, a.outcome, a.final) for a in dispatcher.attempts]

    assert asyncio.run(main()) == [("task_x", "unencodable", True)]

"""The webhook receiver: records every POST by token, waits for deliveries, answers what it is told
(a fixed status, or a policy that fails some attempts on purpose)."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import httpx
import pytest

from infsh_harness.mock.config import MockConfig
from infsh_harness.mock.server import serve_in_thread
from infsh_harness.webhooks.receiver import WebhookReceiver, failing_first, failing_share


@pytest.fixture
def receiver() -> Iterator[WebhookReceiver]:
    with WebhookReceiver(operation_id="taskCompleted") as receiver:
        yield receiver


def test_receiver_records_a_post_under_its_token(receiver: WebhookReceiver) -> None:
    answer = httpx.post(receiver.url("task-a"), json={"id": "task_1", "status": 9}, timeout=5)
    assert answer.status_code == 200 and answer.headers["content-type"] == "application/json"
    [delivery] = receiver.wait_for("task-a", count=1, timeout_s=5)
    assert delivery.token == "task-a" == receiver.token_of(receiver.url("task-a"))
    assert delivery.payload == {"id": "task_1", "status": 9}
    assert delivery.observation.operation_id == "taskCompleted"
    assert delivery.observation.method == "POST" and delivery.observation.request_body_is_json
    assert receiver.deliveries("other") == [] and len(receiver) == 1


def test_receiver_binds_loopback_and_advertises_another_host() -> None:
    with WebhookReceiver(advertise_host="hooks.example", advertise_port=8443) as receiver:
        assert receiver.url("x") == "http://hooks.example:8443/hooks/x"
        assert receiver._server is not None and receiver._server.server_address[0] == "127.0.0.1"


def test_receiver_wait_for_returns_what_came_when_time_runs_out(receiver: WebhookReceiver) -> None:
    assert receiver.wait_for("nothing", count=1, timeout_s=0.05) == []


def test_receiver_wait_for_wakes_on_a_delivery(receiver: WebhookReceiver) -> None:
    timer = threading.Timer(0.05, lambda: httpx.post(receiver.url("late"), json={}, timeout=5))
    timer.start()
    try:
        assert len(receiver.wait_for("late", count=1, timeout_s=5)) == 1
    finally:
        timer.join()


def test_receiver_refuses_other_methods_and_answers_the_configured_status(receiver: WebhookReceiver) -> None:
    refused = httpx.get(receiver.url("x"), timeout=5)
    assert refused.status_code == 405 and refused.headers["allow"] == "POST"
    receiver.status_code = 503
    assert httpx.post(receiver.url("x"), json={}, timeout=5).status_code == 503
    assert [d.observation.status_code for d in receiver.deliveries("x")] == [503]
    receiver.clear()
    assert receiver.deliveries() == []


def test_receiver_redacts_keys_in_what_it_records(receiver: WebhookReceiver) -> None:
    httpx.post(receiver.url("k"), json={"note": "inf_secret_key"}, headers={"authorization": "Bearer inf_x"}, timeout=5)
    [delivery] = receiver.wait_for("k", timeout_s=5)
    assert "inf_secret_key" not in str(delivery.payload)
    assert "inf_x" not in delivery.observation.request_headers["authorization"]


def test_receiver_gets_the_mocks_webhook(receiver: WebhookReceiver) -> None:
    with serve_in_thread(config=MockConfig(keys=("inf_receiver_key",))) as url:
        run = httpx.post(
            f"{url}/run",
            json={"app": "infsh/echo", "input": {"prompt": "hi"}, "webhook": receiver.url("echo")},
            headers={"authorization": "Bearer inf_receiver_key"},
            timeout=10,
        )
        [delivery] = receiver.wait_for("echo", count=1, timeout_s=5)
    task = run.json()["data"]  # version 1, the default: the task in the envelope; the webhook is bare
    assert delivery.payload["id"] == task["id"] and delivery.payload["status"] == task["status"]


def test_receiver_stop_is_idempotent_and_url_needs_a_start() -> None:
    receiver = WebhookReceiver()
    with pytest.raises(RuntimeError):
        receiver.url()
    receiver.start()
    receiver.stop()
    receiver.stop()


def test_receiver_helper_counts_only_acknowledged() -> None:
    with WebhookReceiver(decide=failing_first(1)) as hook:
        for _ in range(2):
            httpx.post(hook.url(), json={"id": "t"}, trust_env=False)
        assert [d.status_code for d in hook.deliveries()] == [500, 200]
        assert hook.acknowledged() == {"t": [{"id": "t"}]}


def test_receiver_counts_attempts_per_task_and_stalls_as_told() -> None:
    with WebhookReceiver(decide=failing_first(1, status=504, stall_s=0.2)) as hook:
        t0 = time.monotonic()
        first = httpx.post(hook.url(), json={"id": "a"}, timeout=5)
        assert first.status_code == 504 and time.monotonic() - t0 >= 0.2
        assert httpx.post(hook.url(), json={"id": "b"}, timeout=5).status_code == 504  # b's first attempt
        assert httpx.post(hook.url(), json={"id": "a"}, timeout=5).status_code == 200
        assert [d.body for d in hook.deliveries()] == [b'{"id":"a"}', b'{"id":"b"}', b'{"id":"a"}']


def test_failing_share_is_seeded() -> None:
    policies = [failing_share(0.3, seed=7), failing_share(0.3, seed=7)]
    answers = [[decide(None, 1)[0] for _ in range(200)] for decide in policies]
    assert answers[0] == answers[1]
    assert set(answers[0]) == {200, 500} and 30 <= answers[0].count(500) <= 90


def test_receiver_tags_every_observation_and_waits_until_told() -> None:
    with WebhookReceiver(operation_id="taskCompleted", scenario="webhook-delivery") as tagged:
        assert not tagged.wait_until(lambda r: len(r) > 0, timeout_s=0.05)
        httpx.post(tagged.url("s"), json={}, timeout=5)
        assert tagged.wait_until(lambda r: len(r) == 1, timeout_s=5)
        [delivery] = tagged.deliveries()
    assert (delivery.observation.scenario, delivery.observation.operation_id) == ("webhook-delivery", "taskCompleted")

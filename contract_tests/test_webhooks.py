"""Webhooks: every task of the journeys was created with a webhook URL on the session's receiver.

Each must cause exactly one delivery, within ``--webhook-deadline`` of the task ending (no second
one within ``--webhook-grace`` after), whose payload is a valid ``WebhookPayload`` reporting the
terminal status ``GET`` read.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import pytest

from infsh_harness.checks.journeys import Journey, walked
from infsh_harness.checks.settings import SuiteSettings
from infsh_harness.checks.target import TargetError
from infsh_harness.checks.violation import violation
from infsh_harness.checks.webhooks import check_one_webhook, check_webhook_matches_task
from infsh_harness.spec import Spec
from infsh_harness.webhook_receiver import Delivery, WebhookReceiver


@dataclass(frozen=True)
class Received:
    journey: Journey
    deliveries: list[Delivery]
    late_by_s: float | None  # how far past the deadline the first delivery came, if it did


@pytest.fixture(scope="module")
def received(journeys: dict[str, Journey], receiver: WebhookReceiver, settings: SuiteSettings) -> dict[str, Received]:
    """Per ended journey, what the receiver got: waited for up to the deadline, then for duplicates."""
    ended = [j for j in walked(journeys) if j.terminal_seen_at is not None]  # an endless task owes no webhook
    if not ended:
        raise TargetError("no task of the journeys ever read as ended: no webhook to expect")
    for journey in ended:
        assert journey.terminal_seen_at is not None
        left = settings.webhook_deadline_s - (time.monotonic() - journey.terminal_seen_at)
        receiver.wait_for(receiver.token_of(journey.webhook_url), count=1, timeout_s=max(left, 0.0))
    time.sleep(settings.webhook_grace_s)
    out = {}
    for journey in ended:
        deliveries = receiver.deliveries(receiver.token_of(journey.webhook_url))
        late = None
        if deliveries and journey.terminal_seen_at is not None:
            overdue = deliveries[0].received_monotonic - journey.terminal_seen_at - settings.webhook_deadline_s
            late = overdue if overdue > 0 else None
        out[journey.name] = Received(journey, deliveries, late)
    return out


@pytest.mark.rule("one-webhook")
def test_one_webhook(spec: Spec, received: dict[str, Received], settings: SuiteSettings) -> None:
    for got in received.values():
        check_one_webhook(
            spec, got.journey.task_id, [d.observation for d in got.deliveries], settings.webhook_deadline_s
        )
        if got.late_by_s is not None:
            detail = (
                f"the webhook for task {got.journey.task_id} came {got.late_by_s:.1f} s after "
                f"the {settings.webhook_deadline_s:g} s deadline"
            )
            raise violation(spec, "one-webhook", detail, got.deliveries[0].observation)


@pytest.mark.rule("webhook-matches-task")
def test_webhook_matches_task(spec: Spec, received: dict[str, Received]) -> None:
    checked = 0
    for got in received.values():
        if got.deliveries and got.journey.terminal_body is not None:
            check_webhook_matches_task(spec, got.journey.terminal_body, got.deliveries[0].observation)
            checked += 1
    if not checked:
        raise TargetError("no webhook arrived: nothing to compare with the tasks")

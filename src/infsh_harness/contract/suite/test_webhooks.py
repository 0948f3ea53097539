"""Webhooks: every task of the journeys was created with a webhook URL on the session's receiver.

Each must cause exactly one delivery, within ``--webhook-deadline`` of the task ending (no second
one within ``--webhook-grace`` after), whose payload is a valid ``WebhookPayload`` reporting the
terminal status ``GET`` read (``received`` fixture, in ``conftest.py``).
"""

from __future__ import annotations

import pytest

from infsh_harness.contract.journeys import Journey, Received, walked
from infsh_harness.contract.settings import SuiteSettings
from infsh_harness.http.driver import TargetError
from infsh_harness.rules.violation import violation
from infsh_harness.rules.webhooks import check_one_webhook, check_webhook_matches_task
from infsh_harness.spec import Spec


def ended(received: dict[str, Received], journeys: dict[str, Journey]) -> list[Received]:
    if not received:
        for _ in walked(journeys):  # a walk the target could not be driven through says why
            pass
        raise TargetError("no task of the journeys ever read as ended: no webhook to expect")
    return list(received.values())


@pytest.mark.rule("one-webhook")
def test_one_webhook(
    spec: Spec, received: dict[str, Received], journeys: dict[str, Journey], settings: SuiteSettings
) -> None:
    for got in ended(received, journeys):
        check_one_webhook(
            spec, got.journey.task_id, [d.observation for d in got.deliveries], settings.webhook_deadline_s
        )
        if got.late_by_s is not None:
            detail = (
                f"the webhook for task {got.journey.task_id} came {got.late_by_s:.1f} s after "
                f"the {settings.webhook_deadline_s:g} s deadline"
            )
            raise violation(spec, "one-webhook", detail, got.deliveries[0].observation)
    for _ in walked(journeys):
        pass


@pytest.mark.rule("webhook-matches-task")
def test_webhook_matches_task(spec: Spec, received: dict[str, Received], journeys: dict[str, Journey]) -> None:
    checked = 0
    for got in ended(received, journeys):
        if got.deliveries and got.journey.terminal_body is not None:
            check_webhook_matches_task(spec, got.journey.terminal_body, got.deliveries[0].observation)
            checked += 1
    if not checked:
        raise TargetError("no webhook arrived: nothing to compare with the tasks")
    for _ in walked(journeys):
        pass

"""Webhooks: every task of the journeys was created with a webhook URL on the session's receiver.

Each must cause exactly one delivery, within ``--webhook-deadline`` of the task ending (no second
one within ``--webhook-grace`` after), whose payload is a valid ``WebhookPayload`` reporting the
terminal status ``GET`` read (``received`` fixture, in ``conftest.py``).
"""

from __future__ import annotations

import pytest

from infsh_harness.contract.evidence import Evidence
from infsh_harness.contract.journeys import Journey, Received, walked
from infsh_harness.contract.settings import SuiteSettings
from infsh_harness.rules.violation import violation
from infsh_harness.rules.webhooks import check_one_webhook, check_webhook_matches_task
from infsh_harness.spec import Spec


def ended(received: dict[str, Received], journeys: dict[str, Journey]) -> list[Received]:
    """The journeys whose task read as ended (a walk the target could not be driven through says why)."""
    if not received:
        for _ in walked(journeys):
            pass
    return list(received.values())


@pytest.mark.rule("one-webhook")
def test_one_webhook(
    spec: Spec, received: dict[str, Received], journeys: dict[str, Journey], settings: SuiteSettings, evidence: Evidence
) -> None:
    for got in ended(received, journeys):
        deliveries = [d.observation for d in got.deliveries]
        if evidence.expect("one-webhook", check_one_webhook, spec, got.journey.task_id, deliveries,
                           settings.webhook_deadline_s) and got.late_by_s is not None:  # fmt: skip
            detail = (
                f"the webhook for task {got.journey.task_id} came {got.late_by_s:.1f} s after "
                f"the {settings.webhook_deadline_s:g} s deadline"
            )
            evidence.found(violation(spec, "one-webhook", detail, got.deliveries[0].observation))
    evidence.minimum("one-webhook", 1, "no task of the journeys read as ended: no webhook to expect")
    for _ in walked(journeys):
        pass
    evidence.finish()


@pytest.mark.rule("webhook-matches-task")
def test_webhook_matches_task(
    spec: Spec, received: dict[str, Received], journeys: dict[str, Journey], evidence: Evidence
) -> None:
    for got in ended(received, journeys):
        if got.deliveries and got.journey.terminal_body is not None:
            evidence.expect(
                "webhook-matches-task", check_webhook_matches_task, spec, got.journey.terminal_body,
                got.deliveries[0].observation,
            )  # fmt: skip
    evidence.minimum("webhook-matches-task", 1, "no webhook arrived to compare with its task")
    for _ in walked(journeys):
        pass
    evidence.finish()

"""Rules about the webhook a terminal task causes: exactly one delivery, reporting the final state."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from infsh_harness.http.observation import Observation
from infsh_harness.rules import predicates
from infsh_harness.rules.responses import parse_timestamp, same_value, status_label
from infsh_harness.rules.violation import violation
from infsh_harness.spec import Spec

__all__ = ["WEBHOOK_SCHEMA", "check_one_webhook", "check_webhook_matches_task"]

WEBHOOK_SCHEMA = "WebhookPayload"


def check_one_webhook(spec: Spec, task_id: str, deliveries: Sequence[Observation], deadline_s: float) -> bool:
    """``deliveries`` are every POST received for the task up to ``deadline_s`` after it was terminal."""
    if predicates.one_delivery(len(deliveries)):
        return True
    if not deliveries:
        detail = f"no webhook for terminal task {task_id} within {deadline_s:g} s"
    else:
        detail = f"{len(deliveries)} webhooks for task {task_id}, not one"
    raise violation(spec, "one-webhook", detail, deliveries[-1] if deliveries else None)


def check_webhook_matches_task(spec: Spec, final: Mapping[str, Any], delivery: Observation) -> bool:
    """The payload is a valid ``WebhookPayload`` (as far as the page states it; the timestamps' RFC 3339
    profile is rule ``timestamps-offset``'s) for the task ``final``, its terminal ``GET`` body."""
    task_id = final.get("id")
    payload = delivery.request_body if delivery.request_body_is_json else None
    if not isinstance(payload, Mapping):
        raise violation(spec, "webhook-matches-task", f"the webhook for task {task_id} is not a JSON object", delivery)
    problems = spec.validate(WEBHOOK_SCHEMA, dict(payload), conventions=False)
    if problems:
        detail = f"the webhook for task {task_id} is not a valid {WEBHOOK_SCHEMA}: {'; '.join(problems[:3])}"
        raise violation(spec, "webhook-matches-task", detail, delivery)
    if payload["id"] != task_id:
        raise violation(
            spec, "webhook-matches-task", f"the webhook for task {task_id} names task {payload['id']}", delivery
        )
    if not predicates.webhook_status_matches(payload["status"], final.get("status")):
        detail = (
            f"the webhook for task {task_id} reports {status_label(spec, payload['status'])}, "
            f"GET reads {status_label(spec, final.get('status'))}"
        )
        raise violation(spec, "webhook-matches-task", detail, delivery)
    for name in _stable_fields(spec):
        if not same_value(spec, name, final.get(name), payload.get(name)):
            detail = (
                f"the webhook for task {task_id} has {name} {payload.get(name)!r}, GET reads {final.get(name)!r}"
            )
            raise violation(spec, "webhook-matches-task", detail, delivery)
    created = parse_timestamp(spec, payload["created_at"])
    updated = parse_timestamp(spec, payload["updated_at"])
    if created is not None and updated is not None and updated < created:
        detail = (
            f"the webhook for task {task_id} has updated_at {payload['updated_at']} "
            f"before created_at {payload['created_at']}"
        )
        raise violation(spec, "webhook-matches-task", detail, delivery)
    return True


def _stable_fields(spec: Spec) -> list[str]:
    """The fields every read of a task shows the same (rule ``stable-fields``) that a webhook carries too."""
    carried = spec.schema(WEBHOOK_SCHEMA).get("properties", {})
    return [name for name in spec.rule("stable-fields").params.get("fields", ()) if name in carried and name != "id"]

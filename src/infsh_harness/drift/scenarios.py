"""The probe's scenarios: what each exercises and what the documentation says it must answer.

The probe tags every observation with a scenario name; :func:`~infsh_harness.drift.diff.diff`
reads the expectations back from here. Rule ids are the spec's ``x-contract-rules`` ids.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

__all__ = ["SCENARIOS", "WEBHOOK_DELIVERY", "WEBHOOK_RUNS", "Scenario", "task_document"]


@dataclass(frozen=True)
class Scenario:
    name: str
    operation_id: str | None  # None: a request outside the documented operations
    expected_status: int | None  # None: any documented status will do
    rule: str | None = None
    summary: str = ""

    @property
    def expects_success(self) -> bool:
        return self.expected_status is not None and 200 <= self.expected_status < 300


# the scenario tag of a webhook delivery the probe's receiver got
WEBHOOK_DELIVERY = "webhook-delivery"
# runs that asked for a webhook the receiver must get
WEBHOOK_RUNS = frozenset({"webhook-run", "webhook-run-fallback"})

_ALL = (
    Scenario("run-default-wait", "runTask", 200, "run-waits-by-default", "a run without `wait` waits"),
    Scenario("run-wait-true", "runTask", 200, "run-waits-by-default", "a run with `wait=true` waits"),
    Scenario("run-no-wait", "runTask", 200, "run-no-wait", "a long run with `wait=false` answers at once"),
    Scenario("run-fail", "runTask", 200, "failed-has-error", "running an app that fails"),
    Scenario("get-task", "getTask", 200, None, "reading a task"),
    Scenario("cancel-terminal", "cancelTask", 200, "cancel-idempotent", "cancelling a finished task"),
    Scenario("cancel-running", "cancelTask", 200, "cancel-running", "cancelling a running task"),
    Scenario("get-after-cancel", "getTask", 200, "cancel-running", "reading a cancelled task"),
    Scenario("get-settled", "getTask", 200, "cancel-running", "reading a cancelled task once it settles"),
    Scenario("session-new", "runTask", 200, "session-new", "starting a session"),
    Scenario("session-continue", "runTask", 200, "session-continue", "continuing a session"),
    Scenario("session-unknown", "runTask", 404, "session-unknown-404", "continuing a session that does not exist"),
    Scenario("session-expired", "runTask", 410, "session-gone-410", "continuing a session past its idle timeout"),
    Scenario("session-timeout-without-new", "runTask", 400, "session-timeout-with-new-only",
             "`session_timeout` without `session: \"new\"`"),
    Scenario("session-get", "getSession", 200, "session-object", "reading a session"),
    Scenario("session-list", "listSessions", 200, "session-list-active", "listing the active sessions"),
    Scenario("session-keepalive", "keepaliveSession", 200, "session-keepalive", "keeping a session alive"),
    Scenario("session-end", "endSession", 204, "session-end", "ending a session"),
    Scenario("session-ended-run", "runTask", 410, "session-gone-410", "continuing a session that was ended"),
    Scenario("session-get-unknown", "getSession", 404, "session-unknown-404", "reading a session that does not exist"),
    Scenario("stream-task", "streamTask", 200, "stream-events", "streaming a finished task's events"),
    Scenario("stream-resume", "streamTask", 200, "stream-resume", "resuming a stream after its first event"),
    Scenario("stream-unknown", "streamTask", 404, "unknown-task-404", "streaming an unknown task id"),
    Scenario("bad-json", "runTask", 400, "invalid-run-refused", "a body that is not JSON"),
    Scenario("unknown-app", "runTask", 404, "unknown-app-404", "running an app that does not exist"),
    Scenario("no-auth", "getTask", 401, "auth-required", "a request without a key"),
    Scenario("unknown-id-get", "getTask", 404, "unknown-task-404", "reading an unknown task id"),
    Scenario("unknown-id-cancel", "cancelTask", 404, "unknown-task-404", "cancelling an unknown task id"),
    Scenario("other-key", "getTask", 404, "task-isolation", "reading another key's task"),
    Scenario("webhook-run", "runTask", 200, "one-webhook", "a run with a webhook to a local receiver"),
    Scenario("webhook-run-unchecked", "runTask", 200, None,
             "a run with a webhook the target may not be able to reach"),
    # when the documented run is not served, tasks for the get, cancel and webhook scenarios are
    # created where the official clients create them; these requests are not judged themselves
    Scenario("create-fallback", None, None, None, "creating a task where the official clients do"),
    Scenario("webhook-run-fallback", None, None, "one-webhook", "the same, with a webhook to a receiver"),
    Scenario(WEBHOOK_DELIVERY, "taskCompleted", None, "webhook-matches-task", "the webhook delivery"),
)  # fmt: skip

SCENARIOS: Mapping[str, Scenario] = {s.name: s for s in _ALL}


def task_document(body: Any) -> Mapping[str, Any] | None:
    """The task object in a body: the body itself, or the one object member holding an ``id``.

    Lenient on purpose: the probe must find a task id to go on with even in a body that has
    drifted (wrapped in an envelope), and ``diff`` must find it to pair a run with its webhook.
    """
    if not isinstance(body, Mapping):
        return None
    if "id" in body:
        return body
    inner = [v for v in body.values() if isinstance(v, Mapping) and "id" in v]
    return inner[0] if len(inner) == 1 else None

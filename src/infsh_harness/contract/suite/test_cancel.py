"""Cancelling: a running task becomes Cancelled and stays so; cancelling an ended task changes nothing."""

from __future__ import annotations

import time

import pytest

from infsh_harness.contract.evidence import Evidence
from infsh_harness.contract.journeys import App, Journey, walked
from infsh_harness.contract.target import SuiteDriver
from infsh_harness.http.driver import TargetError
from infsh_harness.rules import predicates
from infsh_harness.rules.exchange import is_success, status_code
from infsh_harness.rules.history import TaskLedger
from infsh_harness.rules.responses import check_cancel_flag, status_label
from infsh_harness.rules.violation import violation
from infsh_harness.spec import Spec


@pytest.mark.rule("cancel-running")
def test_cancel_running(spec: Spec, journeys: dict[str, Journey], apps: dict[str, App], evidence: Evidence) -> None:
    """The long task, read running, is cancelled: the answer is Cancelled, and so is every later read."""
    journey = journeys["cancelled"].require("cancel-running")
    before = [o for o in journey.exchanges if o.operation_id == "getTask"][:4]
    if any(isinstance(o.body, dict) and status_code(o.body.get("status")) in spec.terminal_statuses for o in before):
        raise TargetError(f"{apps['long'].name} ended before it was cancelled: make it run longer (--long-input)")
    answer = journey.first("cancelTask")
    body = answer.body if isinstance(answer.body, dict) else {}
    cancelled = spec.status("CANCELLED")
    if not predicates.cancelled_by_cancel(status_code(body.get("status")), body.get("cancelled"), cancelled):
        shown = f"status {status_label(spec, body.get('status'))}, cancelled={body.get('cancelled')!r}"
        detail = f"cancelling running task {journey.task_id} answered {shown}"
        evidence.found(violation(spec, "cancel-running", detail, answer))
    ledger = evidence.replay(TaskLedger(spec), journey.exchanges, ["cancel-running"])
    record = ledger.get(journey.task_id)
    seen = evidence.here["cancel-running"] if record is not None and record.cancelled_by_request else 0
    evidence.minimum("cancel-running", 2, "a cancel of a running task and a read after it", got=seen)
    evidence.finish()


@pytest.mark.rule("cancel-idempotent")
def test_cancel_idempotent(spec: Spec, journeys: dict[str, Journey], evidence: Evidence) -> None:
    """Cancel an ended task twice (Completed, Failed, Cancelled): each cancel is answered with its
    unchanged status (an error answer is a refusal), the same every time."""
    for journey in walked(journeys, ("completed", "failed", "cancelled")):
        evidence.replay(TaskLedger(spec), journey.exchanges, ["cancel-idempotent"])
    evidence.minimum("cancel-idempotent", 1, "no task was cancelled after it ended")
    evidence.finish()


@pytest.mark.rule("cancel-flag")
def test_cancel_flag(spec: Spec, journeys: dict[str, Journey], evidence: Evidence) -> None:
    """Every cancel answered with success says ``cancelled`` exactly when its status is Cancelled;
    judging needs one such answer with another status (a task that had already ended otherwise)."""
    others = 0
    for journey in walked(journeys, ("completed", "failed", "cancelled")):
        for obs in journey.of("cancelTask"):
            if evidence.expect("cancel-flag", check_cancel_flag, spec, obs) and is_success(obs):
                others += status_code(obs.body.get("status")) != spec.status("CANCELLED")
    evidence.minimum("cancel-flag", 1, "no cancel of a task that had ended otherwise was answered with success",
                     got=others)  # fmt: skip
    evidence.finish()


@pytest.mark.slow
@pytest.mark.rule("cancel-running", "terminal-final")
def test_cancel_at_any_point(spec: Spec, api: SuiteDriver, apps: dict[str, App], evidence: Evidence) -> None:
    """Cancel the completing app at staggered moments of its run: the cancel answers Cancelled, or
    the end the task reached first, and every later read shows that same status."""
    app = apps["complete"]
    rules = ["cancel-running", "terminal-final"]
    for attempt in range(8):
        ledger = TaskLedger(spec)
        run = api.run(app.name, app.input, wait=False)
        task_id = api.task_of(run, f"running {app.name}")["id"]
        evidence.replay(ledger, [run], rules)
        time.sleep(attempt * 0.003)
        evidence.replay(ledger, [api.cancel(task_id), api.get(task_id), api.get(task_id)], rules)
    evidence.finish()

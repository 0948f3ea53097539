"""Cancelling: a running task becomes Cancelled and stays so; cancelling an ended task changes nothing."""

from __future__ import annotations

import time

import pytest

from infsh_harness.contract.journeys import App, Journey, replay, walked
from infsh_harness.http.driver import Driver, TargetError
from infsh_harness.rules.exchange import is_success, status_code
from infsh_harness.rules.history import TaskLedger
from infsh_harness.rules.responses import check_cancel_flag, status_label
from infsh_harness.rules.violation import violation
from infsh_harness.spec import Spec


@pytest.mark.rule("cancel-running")
def test_cancel_running(spec: Spec, journeys: dict[str, Journey], apps: dict[str, App]) -> None:
    journey = journeys["cancelled"].require()
    before = [o for o in journey.exchanges if o.operation_id == "getTask"][:4]
    if any(isinstance(o.body, dict) and o.body.get("status") in spec.terminal_statuses for o in before):
        raise TargetError(f"{apps['long'].name} ended before it was cancelled: make it run longer (--long-input)")
    answer = journey.first("cancelTask")
    body = answer.body if isinstance(answer.body, dict) else {}
    if body.get("status") != spec.status("CANCELLED") or body.get("cancelled") is not True:
        shown = f"status {status_label(spec, body.get('status'))}, cancelled={body.get('cancelled')!r}"
        raise violation(spec, "cancel-running", f"cancelling running task {journey.task_id} answered {shown}", answer)
    replay(spec, journey, "cancel-running")


def require_answered(spec: Spec, journey: Journey) -> None:
    """Every cancel after a read showed the task ended was answered with success, not refused."""
    ended = None
    for obs in journey.exchanges:
        if ended is not None and obs.operation_id == "cancelTask" and not is_success(obs):
            detail = f"cancelling task {journey.task_id}, already {status_label(spec, ended)}, got {obs.status_code}"
            raise violation(spec, "cancel-idempotent", detail, obs)
        status = status_code(obs.body.get("status")) if isinstance(obs.body, dict) and is_success(obs) else None
        if ended is None and status in spec.terminal_statuses:
            ended = status


@pytest.mark.rule("cancel-idempotent")
def test_cancel_idempotent(spec: Spec, journeys: dict[str, Journey]) -> None:
    """Cancel an ended task twice (Completed, Failed, Cancelled): same status, ``cancelled`` only if Cancelled."""
    for journey in walked(journeys, ("completed", "failed", "cancelled")):
        require_answered(spec, journey)
        for obs in journey.of("cancelTask"):
            check_cancel_flag(spec, obs)
        replay(spec, journey, "cancel-idempotent")


@pytest.mark.slow
@pytest.mark.rule("cancel-running", "terminal-final")
def test_cancel_at_any_point(spec: Spec, api: Driver, apps: dict[str, App]) -> None:
    """Cancel the completing app at staggered moments of its run: the cancel answers Cancelled, or
    the end the task reached first, and every later read shows that same status."""
    app = apps["complete"]
    rules = {"cancel-running", "terminal-final"}
    for attempt in range(8):
        ledger = TaskLedger(spec)
        run = api.run(app.name, app.input, wait=False)
        task_id = api.task_of(run, f"running {app.name}")["id"]
        ledger.record(run, rules=rules)
        time.sleep(attempt * 0.003)
        for obs in (api.cancel(task_id), api.get(task_id), api.get(task_id)):
            ledger.record(obs, rules=rules)

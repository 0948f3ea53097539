"""A task's lifecycle: statuses, their order and finality, output and error, waiting, stable fields.

Every test reads the session's task journeys (``journeys`` fixture): a task run with the default
wait, a failing task, a task polled from creation to its end, and a long task cancelled while
running; each is read again after it ended, and cancelled again. A test checks its own rule only.
"""

from __future__ import annotations

import pytest

from infsh_harness.checks.history import TaskLedger
from infsh_harness.checks.journeys import App, Journey, replay, walked
from infsh_harness.checks.responses import (
    check_completed_has_output,
    check_failed_has_error,
    check_input_echoed,
    check_run_waits_by_default,
    check_status_known,
    check_timestamps,
    status_label,
)
from infsh_harness.checks.target import Target, TargetError
from infsh_harness.checks.violation import violation
from infsh_harness.spec import Spec


def statuses_read(journey: Journey) -> set[object]:
    return {o.body.get("status") for o in journey.exchanges if isinstance(o.body, dict)}


@pytest.mark.rule("status-known")
def test_status_known(spec: Spec, journeys: dict[str, Journey]) -> None:
    for journey in walked(journeys):
        for obs in journey.exchanges:
            check_status_known(spec, obs)


@pytest.mark.rule("status-order")
def test_status_order(spec: Spec, journeys: dict[str, Journey]) -> None:
    for journey in walked(journeys):
        replay(spec, journey, "status-order")


@pytest.mark.rule("terminal-final")
def test_terminal_final(spec: Spec, journeys: dict[str, Journey]) -> None:
    """Read again after the end and after a cancel: the terminal status never changes."""
    for journey in walked(journeys):
        replay(spec, journey, "terminal-final")


@pytest.mark.rule("completed-has-output")
def test_completed_has_output(spec: Spec, journeys: dict[str, Journey], apps: dict[str, App]) -> None:
    for journey in walked(journeys):
        for obs in journey.exchanges:
            check_completed_has_output(spec, obs)
    if not any(spec.status("COMPLETED") in statuses_read(j) for j in journeys.values()):
        raise TargetError(f"{apps['complete'].name} never read as Completed: nothing to check")


@pytest.mark.rule("failed-has-error")
def test_failed_has_error(spec: Spec, journeys: dict[str, Journey], apps: dict[str, App]) -> None:
    for journey in walked(journeys):
        for obs in journey.exchanges:
            check_failed_has_error(spec, obs)
    if not any(spec.status("FAILED") in statuses_read(j) for j in journeys.values()):
        raise TargetError(f"{apps['fail'].name} never read as Failed: nothing to check")


@pytest.mark.rule("run-waits-by-default")
def test_run_waits_by_default(spec: Spec, journeys: dict[str, Journey], api: Target, apps: dict[str, App]) -> None:
    for journey in walked(journeys, ("completed", "failed")):
        check_run_waits_by_default(spec, journey.first("runTask"))
    check_run_waits_by_default(spec, api.run(apps["complete"].name, apps["complete"].input, wait=True))


@pytest.mark.rule("run-no-wait")
def test_run_no_wait(spec: Spec, journeys: dict[str, Journey], apps: dict[str, App]) -> None:
    """The long task's ``wait=false`` run answered (within ``--no-wait-deadline``) before it ended."""
    journey = journeys["cancelled"].require()  # its wait=false run answered within --no-wait-deadline
    answer = journey.first("runTask")
    status = answer.body.get("status") if isinstance(answer.body, dict) else None
    if status in spec.terminal_statuses:
        detail = f"wait=false returned {apps['long'].name} already {status_label(spec, status)}"
        raise violation(spec, "run-no-wait", detail, answer)


@pytest.mark.rule("stable-fields")
def test_stable_fields(spec: Spec, journeys: dict[str, Journey], api: Target, apps: dict[str, App]) -> None:
    """``id``, ``created_at``, ``input`` and ``session_id`` never change, and ``input`` is what was sent."""
    for journey in walked(journeys):
        check_input_echoed(spec, journey.first("runTask"))
        replay(spec, journey, "stable-fields")
    app = apps["complete"]
    ledger = TaskLedger(spec)
    run = api.run(app.name, app.input, session="new")
    task = api.task_of(run, f"running {app.name} in a new session")
    check_input_echoed(spec, run)
    for obs in (run, api.get(task["id"]), api.get(task["id"])):
        ledger.record(obs, rules={"stable-fields"})


@pytest.mark.rule("timestamps-iso8601")
def test_timestamps_iso8601(spec: Spec, journeys: dict[str, Journey]) -> None:
    for journey in walked(journeys):
        for obs in journey.exchanges:
            check_timestamps(spec, obs)

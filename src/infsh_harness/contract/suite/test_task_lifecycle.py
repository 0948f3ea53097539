"""A task's lifecycle: statuses, their order and finality, output and error, waiting, stable fields.

Every test reads the session's task journeys (``journeys`` fixture): a task run with the default
wait, a failing task, a task polled from creation to its end, and a long task cancelled while
running; each is read again after it ended, and cancelled again. A rule that also applies to the
webhook (``applies-to`` names ``taskCompleted``) is checked on the webhooks those tasks caused. A
test checks its own rule only.
"""

from __future__ import annotations

import pytest

from infsh_harness.contract.journeys import App, Journey, recorded, start_without_waiting, walked
from infsh_harness.contract.settings import SuiteSettings
from infsh_harness.http.driver import Driver, TargetError
from infsh_harness.http.observation import Observation
from infsh_harness.rules.history import TaskLedger
from infsh_harness.rules.responses import (
    check_completed_has_output,
    check_failed_has_error,
    check_input_echoed,
    check_run_waits_by_default,
    check_status_known,
    check_timestamps,
    status_label,
)
from infsh_harness.rules.violation import violation
from infsh_harness.spec import Spec


def statuses_read(journey: Journey) -> set[object]:
    return {o.body.get("status") for o in journey.exchanges if isinstance(o.body, dict)}


@pytest.mark.rule("status-known")
def test_status_known(spec: Spec, journeys: dict[str, Journey], webhook_deliveries: list[Observation]) -> None:
    for obs in recorded(journeys, also=webhook_deliveries):
        check_status_known(spec, obs)


@pytest.mark.rule("status-order")
def test_status_order(spec: Spec, journeys: dict[str, Journey]) -> None:
    ledger = TaskLedger(spec)
    for obs in recorded(journeys):
        ledger.record(obs, rules={"status-order"})


@pytest.mark.rule("terminal-final")
def test_terminal_final(spec: Spec, journeys: dict[str, Journey]) -> None:
    """Read again after the end and after a cancel: the terminal status never changes."""
    ledger = TaskLedger(spec)
    for obs in recorded(journeys):
        ledger.record(obs, rules={"terminal-final"})


@pytest.mark.rule("completed-has-output")
def test_completed_has_output(
    spec: Spec, journeys: dict[str, Journey], apps: dict[str, App], webhook_deliveries: list[Observation]
) -> None:
    for obs in recorded(journeys, also=webhook_deliveries):
        check_completed_has_output(spec, obs)
    if not any(spec.status("COMPLETED") in statuses_read(j) for j in journeys.values()):
        raise TargetError(f"{apps['complete'].name} never read as Completed: nothing to check")


@pytest.mark.rule("failed-has-error")
def test_failed_has_error(
    spec: Spec, journeys: dict[str, Journey], apps: dict[str, App], webhook_deliveries: list[Observation]
) -> None:
    for obs in recorded(journeys, also=webhook_deliveries):
        check_failed_has_error(spec, obs)
    if not any(spec.status("FAILED") in statuses_read(j) for j in journeys.values()):
        raise TargetError(f"{apps['fail'].name} never read as Failed: nothing to check")


@pytest.mark.rule("run-waits-by-default")
def test_run_waits_by_default(spec: Spec, journeys: dict[str, Journey], api: Driver, apps: dict[str, App]) -> None:
    for journey in walked(journeys, ("completed", "failed")):
        check_run_waits_by_default(spec, journey.first("runTask"))
    app = apps["complete"]
    check_run_waits_by_default(spec, api.run(app.name, app.input, wait=True))
    check_run_waits_by_default(spec, api.run(app.name, app.input, session="new"))


@pytest.mark.rule("run-no-wait")
def test_run_no_wait(
    spec: Spec, journeys: dict[str, Journey], api: Driver, apps: dict[str, App], settings: SuiteSettings
) -> None:
    """The long task's ``wait=false`` runs, alone and in a new session, answered (within
    ``--no-wait-deadline``) before it ended."""
    journey = journeys["cancelled"].require()  # its wait=false run answered within --no-wait-deadline
    app = apps["long"]
    in_session = start_without_waiting(api, app, settings.no_wait_deadline_s, session="new")
    task = api.task_of(in_session, f"running {app.name} in a new session")
    try:
        for answer in (journey.first("runTask"), in_session):
            status = answer.body.get("status") if isinstance(answer.body, dict) else None
            if status in spec.terminal_statuses:
                detail = f"wait=false returned {app.name} already {status_label(spec, status)}"
                raise violation(spec, "run-no-wait", detail, answer)
    finally:
        api.cancel(task["id"])


@pytest.mark.rule("stable-fields")
def test_stable_fields(spec: Spec, journeys: dict[str, Journey], api: Driver, apps: dict[str, App]) -> None:
    """``id``, ``created_at``, ``input`` and ``session_id`` never change, and ``input`` is what was sent.

    Each journey's task is read once more after the last one was created: a read names its task."""
    ledger = TaskLedger(spec)
    ran = list(walked(journeys))
    for journey in ran:
        check_input_echoed(spec, journey.first("runTask"))
        for obs in journey.exchanges:
            ledger.record(obs, rules={"stable-fields"})
    for journey in ran:
        ledger.record(api.get(journey.task_id), rules={"stable-fields"})
    app = apps["complete"]
    run = api.run(app.name, app.input, session="new")
    task = api.task_of(run, f"running {app.name} in a new session")
    check_input_echoed(spec, run)
    for obs in (run, api.get(task["id"]), api.get(task["id"])):
        ledger.record(obs, rules={"stable-fields"})


@pytest.mark.rule("timestamps-iso8601")
def test_timestamps_iso8601(
    spec: Spec, journeys: dict[str, Journey], webhook_deliveries: list[Observation]
) -> None:
    for obs in recorded(journeys, also=webhook_deliveries):
        check_timestamps(spec, obs)

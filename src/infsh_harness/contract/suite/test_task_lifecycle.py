"""A task's lifecycle: statuses, their order and finality, output and error, waiting, stable fields.

Every test reads the session's task journeys (``journeys`` fixture): a task run with the default
wait, a failing task, a task polled from creation to its end, and a long task cancelled while
running; each is read again after it ended, and cancelled again. A rule that also applies to the
webhook (``applies-to`` names ``taskCompleted``) is checked on the webhooks those tasks caused. A
test checks its own rule only, and says what it needs to have seen to judge it.
"""

from __future__ import annotations

import time
from collections.abc import Iterator

import httpx
import pytest

from infsh_harness.contract.evidence import Evidence
from infsh_harness.contract.journeys import App, Journey, recorded, start_without_waiting, walked
from infsh_harness.contract.settings import SuiteSettings
from infsh_harness.contract.target import SuiteDriver
from infsh_harness.http.observation import Observation
from infsh_harness.rules import predicates
from infsh_harness.rules.exchange import status_code
from infsh_harness.rules.history import TaskLedger
from infsh_harness.rules.responses import (
    check_completed_has_output,
    check_failed_has_error,
    check_input_echoed,
    check_run_waits_by_default,
    check_status_known,
    check_timestamps,
    check_timestamps_offset,
    status_label,
)
from infsh_harness.rules.violation import violation
from infsh_harness.spec import Spec

PHASE_MS = 40  # how slow the mock's phases are made, where it can be (/_mock/timing)


def over(evidence: Evidence, rule_id: str, check: object, spec: Spec, observations: Iterator[Observation]) -> None:
    for obs in observations:
        evidence.expect(rule_id, check, spec, obs)  # type: ignore[arg-type]


@pytest.mark.rule("status-known")
def test_status_known(
    spec: Spec, journeys: dict[str, Journey], webhook_deliveries: list[Observation], evidence: Evidence
) -> None:
    over(evidence, "status-known", check_status_known, spec, recorded(journeys, also=webhook_deliveries))
    evidence.minimum("status-known", 1, "no task status was read")
    evidence.finish()


def _distinct_phases(spec: Spec, ledger: TaskLedger) -> int:
    """The most distinct non-terminal statuses any one task was read in."""
    counts = [
        len({s for s in record.statuses if s in spec.status_codes and s not in spec.terminal_statuses})
        for record in ledger.tasks.values()
    ]
    return max(counts, default=0)


def _phase_walk(api: SuiteDriver, app: App, settings: SuiteSettings, spec: Spec) -> Iterator[Observation]:
    """A task run without waiting and read until it ends, every few milliseconds."""
    run = start_without_waiting(api, app, settings.no_wait_deadline_s)
    yield run
    task_id = api.task_of(run, f"running {app.name}")["id"]
    deadline = time.monotonic() + min(settings.task_deadline_s, 10.0)
    while time.monotonic() < deadline:
        obs = api.get(task_id)
        yield obs
        if status_code(obs.body.get("status") if isinstance(obs.body, dict) else None) in spec.terminal_statuses:
            return
        time.sleep(PHASE_MS / 4000)


def _slowed(target_url: str, mock_controls: bool, api_key: str) -> Iterator[None]:
    """The mock's phases made slow for the walk, and restored after (a target without controls keeps its pace)."""
    if not mock_controls:
        yield
        return
    headers = {"Authorization": f"Bearer {api_key}"}  # the controls answer only a key the mock accepts
    with httpx.Client(base_url=target_url, headers=headers, timeout=10, trust_env=False) as admin:
        before = admin.get("/_mock/timing").raise_for_status().json()
        admin.put("/_mock/timing", json={"phase_ms": PHASE_MS}).raise_for_status()
        try:
            yield
        finally:
            admin.put("/_mock/timing", json={"timing": before["timing"], "phase_ms": before["phase_ms"]})


@pytest.mark.rule("status-order")
def test_status_order(
    spec: Spec,
    journeys: dict[str, Journey],
    api: SuiteDriver,
    apps: dict[str, App],
    settings: SuiteSettings,
    target_url: str,
    mock_controls: bool,
    evidence: Evidence,
) -> None:
    """The journeys' reads, and one more task polled every few milliseconds from its start (on the
    mock, with its phases slowed through ``/_mock/timing``): no read goes back. Judging needs one
    task read in at least two statuses before its end."""
    ledger = evidence.replay(TaskLedger(spec), recorded(journeys), ["status-order"])
    walk = _slowed(target_url, mock_controls, settings.api_key)
    next(walk)
    try:
        evidence.replay(ledger, _phase_walk(api, apps["complete"], settings, spec), ["status-order"])
    finally:
        next(walk, None)
    evidence.minimum(
        "status-order", 2, "no task was read in two statuses before its end", got=_distinct_phases(spec, ledger)
    )
    evidence.finish()


@pytest.mark.rule("terminal-final")
def test_terminal_final(spec: Spec, journeys: dict[str, Journey], evidence: Evidence) -> None:
    """Read again after the end and after a cancel: the terminal status never changes."""
    evidence.replay(TaskLedger(spec), recorded(journeys), ["terminal-final"])
    evidence.minimum("terminal-final", 1, "no task was read again after it ended")
    evidence.finish()


@pytest.mark.rule("completed-has-output")
def test_completed_has_output(
    spec: Spec, journeys: dict[str, Journey], webhook_deliveries: list[Observation], evidence: Evidence
) -> None:
    seen = recorded(journeys, also=webhook_deliveries)
    over(evidence, "completed-has-output", check_completed_has_output, spec, seen)
    status = status_label(spec, spec.rule("completed-has-output").params["status"])
    evidence.minimum("completed-has-output", 1, f"no task read as {status}")
    evidence.finish()


@pytest.mark.rule("failed-has-error")
def test_failed_has_error(
    spec: Spec, journeys: dict[str, Journey], webhook_deliveries: list[Observation], evidence: Evidence
) -> None:
    over(evidence, "failed-has-error", check_failed_has_error, spec, recorded(journeys, also=webhook_deliveries))
    status = status_label(spec, spec.rule("failed-has-error").params["status"])
    evidence.minimum("failed-has-error", 1, f"no task read as {status}")
    evidence.finish()


@pytest.mark.rule("run-waits-by-default")
def test_run_waits_by_default(
    spec: Spec, journeys: dict[str, Journey], api: SuiteDriver, apps: dict[str, App], evidence: Evidence
) -> None:
    app = apps["complete"]
    runs = [journey.first("runTask") for journey in walked(journeys, ("completed", "failed"))]
    runs += [api.run(app.name, app.input, wait=True), api.run(app.name, app.input, session="new")]
    for obs in runs:
        evidence.expect("run-waits-by-default", check_run_waits_by_default, spec, obs)
    evidence.minimum("run-waits-by-default", 1, "no waited run was answered with a task")
    evidence.finish()


@pytest.mark.rule("run-no-wait")
def test_run_no_wait(
    spec: Spec,
    journeys: dict[str, Journey],
    api: SuiteDriver,
    apps: dict[str, App],
    settings: SuiteSettings,
    evidence: Evidence,
) -> None:
    """The long task's ``wait=false`` runs, alone and in a new session, answered (within
    ``--no-wait-deadline``) before it ended."""
    journey = journeys["cancelled"].require("run-no-wait")  # its wait=false run answered within the deadline
    app = apps["long"]
    in_session = start_without_waiting(api, app, settings.no_wait_deadline_s, session="new")
    task = api.task_of(in_session, f"running {app.name} in a new session")
    try:
        for answer in (journey.first("runTask"), in_session):
            status = status_code(answer.body.get("status")) if isinstance(answer.body, dict) else None
            if not predicates.run_did_not_wait(status, spec.terminal_statuses):
                detail = f"wait=false returned {app.name} already {status_label(spec, status)}"
                evidence.found(violation(spec, "run-no-wait", detail, answer))
            else:
                evidence.ran("run-no-wait")
    finally:
        api.cancel(task["id"])
    evidence.finish()


@pytest.mark.rule("stable-fields")
def test_stable_fields(
    spec: Spec, journeys: dict[str, Journey], api: SuiteDriver, apps: dict[str, App], evidence: Evidence
) -> None:
    """``id``, ``created_at``, ``input`` and ``session_id`` never change, and ``input`` is what was sent.

    Each journey's task is read once more after the last one was created: a read names its task."""
    ledger = TaskLedger(spec)
    ran = list(walked(journeys))
    for journey in ran:
        evidence.expect("stable-fields", check_input_echoed, spec, journey.first("runTask"))
        evidence.replay(ledger, journey.exchanges, ["stable-fields"])
    evidence.replay(ledger, [api.get(journey.task_id) for journey in ran], ["stable-fields"])
    app = apps["complete"]
    run = api.run(app.name, app.input, session="new")
    task = api.task_of(run, f"running {app.name} in a new session")
    evidence.expect("stable-fields", check_input_echoed, spec, run)
    evidence.replay(ledger, [run, api.get(task["id"]), api.get(task["id"])], ["stable-fields"])
    evidence.minimum("stable-fields", 2, "reads of one task compared")
    evidence.finish()


@pytest.mark.rule("timestamps-iso8601")
def test_timestamps_iso8601(
    spec: Spec, journeys: dict[str, Journey], webhook_deliveries: list[Observation], evidence: Evidence
) -> None:
    over(evidence, "timestamps-iso8601", check_timestamps, spec, recorded(journeys, also=webhook_deliveries))
    evidence.minimum("timestamps-iso8601", 1, "no timestamp was read")
    evidence.finish()


@pytest.mark.rule("timestamps-offset")
def test_timestamps_offset(
    spec: Spec, journeys: dict[str, Journey], webhook_deliveries: list[Observation], evidence: Evidence
) -> None:
    over(evidence, "timestamps-offset", check_timestamps_offset, spec, recorded(journeys, also=webhook_deliveries))
    evidence.minimum("timestamps-offset", 1, "no ISO 8601 timestamp was read")
    evidence.finish()

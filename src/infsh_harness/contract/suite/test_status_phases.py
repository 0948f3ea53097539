"""On the mock: slow every phase down and poll a task through all of them, in order."""

from __future__ import annotations

import time
from collections.abc import Iterator

import httpx
import pytest

from infsh_harness.contract.journeys import App, start_without_waiting
from infsh_harness.contract.settings import SuiteSettings
from infsh_harness.http.driver import Driver, TargetError
from infsh_harness.rules.history import TaskLedger
from infsh_harness.spec import Spec

PHASE_MS = 40


@pytest.fixture
def slow_phases(mock_admin: httpx.Client) -> Iterator[None]:
    before = mock_admin.get("/_mock/timing").raise_for_status().json()
    mock_admin.put("/_mock/timing", json={"phase_ms": PHASE_MS}).raise_for_status()
    try:
        yield
    finally:
        mock_admin.put("/_mock/timing", json={"timing": before["timing"], "phase_ms": before["phase_ms"]})


@pytest.mark.mock_only
@pytest.mark.rule("status-order")
def test_status_order_through_every_phase(
    spec: Spec, api: Driver, apps: dict[str, App], settings: SuiteSettings, slow_phases: None
) -> None:
    app = apps["complete"]
    ledger = TaskLedger(spec)
    run = start_without_waiting(api, app, settings.no_wait_deadline_s)
    task_id = api.task_of(run, f"running {app.name}")["id"]
    ledger.record(run, rules={"status-order"})
    seen = []
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        obs = api.get(task_id)
        ledger.record(obs, rules={"status-order"})
        status = obs.body.get("status") if isinstance(obs.body, dict) else None
        seen.append(status)
        if status in spec.terminal_statuses:
            break
        time.sleep(PHASE_MS / 4000)
    non_terminal = {s for s in seen if s not in spec.terminal_statuses}
    if len(non_terminal) < 3 or seen[-1] not in spec.terminal_statuses:
        raise TargetError(f"polling saw too little of the lifecycle to judge its order: {seen}")

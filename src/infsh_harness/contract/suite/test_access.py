"""Who may see what: keys, unknown ids, and other keys' tasks."""

from __future__ import annotations

import random
from collections.abc import Callable

import pytest

from infsh_harness.contract.evidence import Evidence
from infsh_harness.contract.journeys import App, start_without_waiting
from infsh_harness.contract.settings import SuiteSettings
from infsh_harness.contract.target import SuiteDriver
from infsh_harness.http.driver import NO_KEY, TargetError
from infsh_harness.http.observation import Observation
from infsh_harness.rules.exchange import status_code
from infsh_harness.rules.requests import check_isolated, check_isolation_404, check_not_found
from infsh_harness.rules.responses import status_label
from infsh_harness.rules.violation import violation
from infsh_harness.spec import Spec


@pytest.fixture
def unknown_id(rng: random.Random) -> str:
    return f"task_contract_unknown_{rng.getrandbits(64):016x}"


@pytest.mark.rule("unknown-task-404")
def test_unknown_task_404(spec: Spec, api: SuiteDriver, unknown_id: str, evidence: Evidence) -> None:
    for obs in (api.get(unknown_id), api.cancel(unknown_id)):
        what = f"{obs.operation_id} of unknown task id {unknown_id}"
        evidence.expect("unknown-task-404", check_not_found, spec, "unknown-task-404", obs, what)
    evidence.minimum("unknown-task-404", 2, "a get and a cancel of an unknown id")
    evidence.finish()


@pytest.mark.rule("auth-required")
def test_auth_required(
    spec: Spec, api: SuiteDriver, apps: dict[str, App], rng: random.Random, evidence: Evidence
) -> None:
    """No key, or a key the server never issued, gets 401 on every operation."""
    app = apps["complete"]
    task_id = api.task_of(api.run(app.name, app.input), f"running {app.name}")["id"]
    bad_key = f"inf_contract_not_a_key_{rng.getrandbits(64):016x}"
    calls: dict[str, Callable[..., Observation]] = {
        "runTask": lambda key: api.run(app.name, app.input, key=key),
        "getTask": lambda key: api.get(task_id, key=key),
        "cancelTask": lambda key: api.cancel(task_id, key=key),
    }
    for operation_id, call in calls.items():
        for key, what in ((NO_KEY, "no key"), (bad_key, "an unknown key")):
            obs = call(key)
            if obs.status_code != 401:
                detail = f"{operation_id} with {what} got {obs.status_code}, not 401"
                evidence.found(violation(spec, "auth-required", detail, obs))
            else:
                evidence.ran("auth-required")
    evidence.finish()


@pytest.mark.rule("task-isolation", "isolation-404")
def test_task_isolation(
    spec: Spec,
    api: SuiteDriver,
    api_2: SuiteDriver,
    apps: dict[str, App],
    settings: SuiteSettings,
    evidence: Evidence,
) -> None:
    """Another key can neither read nor cancel a task: it is refused (task-isolation), with 404, as
    for an unknown id (isolation-404), and the task runs on."""
    app = apps["long"]
    started = start_without_waiting(api, app, settings.no_wait_deadline_s)
    task_id = api.task_of(started, f"running {app.name}")["id"]
    try:
        for obs in (api_2.get(task_id), api_2.cancel(task_id)):
            evidence.expect("task-isolation", check_isolated, spec, obs, task_id)
            evidence.expect("isolation-404", check_isolation_404, spec, obs, task_id)
        after = api.get(task_id)
        status = status_code(after.body.get("status")) if isinstance(after.body, dict) else None
        if status == spec.status("CANCELLED"):
            evidence.found(violation(spec, "task-isolation", f"another key's cancel ended task {task_id}", after))
        elif status is None or status in spec.terminal_statuses:
            raise TargetError(f"{app.name} read as {status_label(spec, status)}: it should still be running")
        else:
            evidence.ran("task-isolation")
    finally:
        api.cancel(task_id)
    evidence.minimum("task-isolation", 3, "another key's get and cancel, and a read after them")
    evidence.minimum("isolation-404", 2, "another key's get and cancel")
    evidence.finish()

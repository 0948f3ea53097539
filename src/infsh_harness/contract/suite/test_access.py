"""Who may see what: keys, unknown ids, other keys' tasks, and JSON on every answer."""

from __future__ import annotations

import random
from collections.abc import Callable

import pytest

from infsh_harness.contract.journeys import App, Journey, recorded, start_without_waiting
from infsh_harness.contract.settings import SuiteSettings
from infsh_harness.http.driver import NO_KEY, Driver, TargetError
from infsh_harness.http.observation import Observation
from infsh_harness.rules.responses import check_json_content_type, error_body_problems, status_label
from infsh_harness.rules.violation import violation
from infsh_harness.spec import Spec


@pytest.fixture
def unknown_id(rng: random.Random) -> str:
    return f"task_contract_unknown_{rng.getrandbits(64):016x}"


def require_not_found(spec: Spec, rule_id: str, obs: Observation, what: str) -> None:
    """``obs`` is the documented 404 answer: status 404 and the body the spec gives it."""
    if obs.status_code != 404:
        raise violation(spec, rule_id, f"{what} got {obs.status_code}, not 404", obs)
    problems = error_body_problems(spec, obs)
    if problems:
        raise violation(spec, rule_id, f"{what} got 404 without the documented body: {'; '.join(problems[:2])}", obs)


@pytest.mark.rule("unknown-task-404")
def test_unknown_task_404(spec: Spec, api: Driver, unknown_id: str) -> None:
    for obs in (api.get(unknown_id), api.cancel(unknown_id)):
        require_not_found(spec, "unknown-task-404", obs, f"{obs.operation_id} of unknown task id {unknown_id}")


@pytest.mark.rule("auth-required")
def test_auth_required(spec: Spec, api: Driver, apps: dict[str, App], rng: random.Random) -> None:
    """No key, or a key the server never issued, gets 401 and the error body on every operation."""
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
                raise violation(spec, "auth-required", f"{operation_id} with {what} got {obs.status_code}", obs)
            problems = error_body_problems(spec, obs)
            if problems:
                detail = f"{operation_id} with {what} got 401 without the error body: {'; '.join(problems[:2])}"
                raise violation(spec, "auth-required", detail, obs)


@pytest.mark.rule("task-isolation")
def test_task_isolation(spec: Spec, api: Driver, api_2: Driver, apps: dict[str, App], settings: SuiteSettings) -> None:
    """Another key can neither read nor cancel a task: it gets 404, as for an unknown id."""
    app = apps["long"]
    started = start_without_waiting(api, app, settings.no_wait_deadline_s)
    task_id = api.task_of(started, f"running {app.name}")["id"]
    try:
        for obs in (api_2.get(task_id), api_2.cancel(task_id)):
            require_not_found(spec, "task-isolation", obs, f"another key's {obs.operation_id} of task {task_id}")
        after = api.get(task_id)
        status = after.body.get("status") if isinstance(after.body, dict) else None
        if status == spec.status("CANCELLED"):
            raise violation(spec, "task-isolation", f"another key's cancel ended task {task_id}", after)
        if status is None or status in spec.terminal_statuses:
            raise TargetError(f"{app.name} read as {status_label(spec, status)}: it should still be running")
    finally:
        api.cancel(task_id)


@pytest.mark.rule("json-content-type")
def test_json_content_type(
    spec: Spec, api: Driver, journeys: dict[str, Journey], apps: dict[str, App], unknown_id: str
) -> None:
    """Successes and the documented errors (400, 401, 404, 422) come as ``application/json``.

    The statuses themselves are other rules' business: whatever comes back, its body is JSON. The
    journeys' answers are checked even where a walk stopped (on an answer it could not read, say)."""
    app = apps["complete"]
    answers = [
        api.get(unknown_id),
        api.cancel(unknown_id),
        api.run(app.name, app.input, key=NO_KEY),
        api.call("runTask", content=b"{not json", params=None),
        api.call("runTask", json={"input": {}}),
        api.run(f"contract-unknown/{unknown_id.replace('_', '-')}", {}),
    ]
    for obs in recorded(journeys, also=answers):
        check_json_content_type(spec, obs)

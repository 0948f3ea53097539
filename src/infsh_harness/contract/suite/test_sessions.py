"""Sessions: ``session: "new"`` starts one, passing its id continues it, ``session_timeout`` is bounded."""

from __future__ import annotations

from typing import Any

import pytest

from infsh_harness.contract.evidence import Evidence
from infsh_harness.contract.journeys import App
from infsh_harness.contract.target import SuiteDriver
from infsh_harness.http.observation import Observation
from infsh_harness.rules.exchange import is_success
from infsh_harness.rules.predicates import is_client_error
from infsh_harness.rules.responses import (
    check_session_continue,
    check_session_new,
    check_session_timeout_bounds,
    check_session_timeout_with_new_only,
)
from infsh_harness.rules.violation import violation
from infsh_harness.spec import Spec


def new_session(api: SuiteDriver, app: App, **fields: Any) -> tuple[Observation, str | None]:
    obs = api.run(app.name, app.input, session="new", **fields)
    task = api.task_of(obs, f'running {app.name} with session "new"')
    session_id = task.get("session_id")
    return obs, session_id if isinstance(session_id, str) and session_id else None


@pytest.mark.rule("session-new")
def test_session_new(spec: Spec, api: SuiteDriver, apps: dict[str, App], evidence: Evidence) -> None:
    obs, _ = new_session(api, apps["complete"])
    evidence.expect("session-new", check_session_new, spec, obs)
    evidence.minimum("session-new", 1, 'a run with session "new" answered')
    evidence.finish()


@pytest.mark.rule("session-continue")
def test_session_continue(spec: Spec, api: SuiteDriver, apps: dict[str, App], evidence: Evidence) -> None:
    app = apps["complete"]
    _, session_id = new_session(api, app)
    if session_id is not None:
        for _ in range(2):
            obs = api.run(app.name, app.input, session=session_id)
            if not is_success(obs):  # the session was made moments ago: it exists
                detail = f"continuing session {session_id}, started moments ago, got {obs.status_code}"
                evidence.found(violation(spec, "session-continue", detail, obs))
            else:
                evidence.expect("session-continue", check_session_continue, spec, obs)
    evidence.minimum("session-continue", 1, 'no session to continue: session "new" answered no session_id')
    evidence.finish()


@pytest.mark.rule("session-timeout-bounds")
def test_session_timeout_bounds(spec: Spec, api: SuiteDriver, apps: dict[str, App], evidence: Evidence) -> None:
    """The bounds and a fraction between them are accepted; just outside them (by a whole unit or a
    fraction of one) is refused with a 4xx."""
    rule = spec.rule("session-timeout-bounds")
    low, high = rule.params["minimum"], rule.params["maximum"]
    app = apps["complete"]
    for timeout in (low, (low + high) / 2 + 0.25, high):
        obs = api.run(app.name, app.input, session="new", session_timeout=timeout)
        if not is_success(obs):
            evidence.found(violation(spec, "session-timeout-bounds", f"session_timeout {timeout} was refused", obs))
        else:
            evidence.ran("session-timeout-bounds")
    for timeout in (low - 1, low / 2, high + 0.5, high + 1):
        obs = api.run(app.name, app.input, session="new", session_timeout=timeout)
        if evidence.expect("session-timeout-bounds", check_session_timeout_bounds, spec, obs) and not is_client_error(
            obs.status_code
        ):
            detail = f"session_timeout {timeout} got {obs.status_code}, not a 4xx"
            evidence.found(violation(spec, "session-timeout-bounds", detail, obs))
    evidence.finish()


@pytest.mark.rule("session-timeout-with-new-only")
def test_session_timeout_with_new_only(spec: Spec, api: SuiteDriver, apps: dict[str, App], evidence: Evidence) -> None:
    app = apps["complete"]
    _, session_id = new_session(api, app)
    attempts = [api.run(app.name, app.input, session_timeout=60)]
    if session_id is not None:
        attempts.append(api.run(app.name, app.input, session=session_id, session_timeout=60))
    for obs in attempts:
        applied = evidence.expect("session-timeout-with-new-only", check_session_timeout_with_new_only, spec, obs)
        if applied and not is_client_error(obs.status_code):
            session = obs.request_body.get("session") if isinstance(obs.request_body, dict) else None
            detail = f"session_timeout with session {session!r} got {obs.status_code}, not a 4xx"
            evidence.found(violation(spec, "session-timeout-with-new-only", detail, obs))
    evidence.minimum("session-timeout-with-new-only", 1, "a run with session_timeout and no new session")
    evidence.finish()

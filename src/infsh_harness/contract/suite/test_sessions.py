"""Sessions: ``session: "new"`` starts one, passing its id continues it, ``session_timeout`` is bounded."""

from __future__ import annotations

from typing import Any

import pytest

from infsh_harness.contract.journeys import App
from infsh_harness.http.driver import Driver
from infsh_harness.http.observation import Observation
from infsh_harness.rules.responses import (
    check_session_continue,
    check_session_new,
    check_session_timeout_bounds,
    check_session_timeout_with_new_only,
)
from infsh_harness.rules.violation import violation
from infsh_harness.spec import Spec


def new_session(api: Driver, app: App, **fields: Any) -> tuple[Observation, str | None]:
    obs = api.run(app.name, app.input, session="new", **fields)
    task = api.task_of(obs, f'running {app.name} with session "new"')
    session_id = task.get("session_id")
    return obs, session_id if isinstance(session_id, str) and session_id else None


def refused(obs: Observation) -> bool:
    return 400 <= obs.status_code < 500


@pytest.mark.rule("session-new")
def test_session_new(spec: Spec, api: Driver, apps: dict[str, App]) -> None:
    obs, _ = new_session(api, apps["complete"])
    check_session_new(spec, obs)


@pytest.mark.rule("session-continue")
def test_session_continue(spec: Spec, api: Driver, apps: dict[str, App]) -> None:
    app = apps["complete"]
    first, session_id = new_session(api, app)
    check_session_new(spec, first)
    assert session_id is not None
    for _ in range(2):
        obs = api.run(app.name, app.input, session=session_id)
        if not 200 <= obs.status_code < 300:  # the session was made moments ago: it exists
            detail = f"continuing session {session_id}, started moments ago, got {obs.status_code}"
            raise violation(spec, "session-continue", detail, obs)
        check_session_continue(spec, obs)


@pytest.mark.rule("session-timeout-bounds")
def test_session_timeout_bounds(spec: Spec, api: Driver, apps: dict[str, App]) -> None:
    """The bounds and a fraction between them are accepted; just outside them (by a whole unit or a
    fraction of one) is refused with a 4xx."""
    rule = spec.rule("session-timeout-bounds")
    low, high = rule.params["minimum"], rule.params["maximum"]
    app = apps["complete"]
    for timeout in (low, (low + high) / 2 + 0.25, high):
        obs = api.run(app.name, app.input, session="new", session_timeout=timeout)
        if not 200 <= obs.status_code < 300:
            raise violation(spec, "session-timeout-bounds", f"session_timeout {timeout} was refused", obs)
    for timeout in (low - 1, low / 2, high + 0.5, high + 1):
        obs = api.run(app.name, app.input, session="new", session_timeout=timeout)
        check_session_timeout_bounds(spec, obs)
        if not refused(obs):
            raise violation(spec, "session-timeout-bounds", f"session_timeout {timeout} got {obs.status_code}", obs)


@pytest.mark.rule("session-timeout-with-new-only")
def test_session_timeout_with_new_only(spec: Spec, api: Driver, apps: dict[str, App]) -> None:
    app = apps["complete"]
    _, session_id = new_session(api, app)
    attempts = [api.run(app.name, app.input, session_timeout=60)]
    if session_id is not None:
        attempts.append(api.run(app.name, app.input, session=session_id, session_timeout=60))
    for obs in attempts:
        check_session_timeout_with_new_only(spec, obs)
        if not refused(obs):
            detail = f"session_timeout with session {obs.request_body.get('session')!r} got {obs.status_code}"
            raise violation(spec, "session-timeout-with-new-only", detail, obs)

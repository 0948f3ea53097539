"""Run requests the spec refuses: bodies breaking ``RunRequest``, and apps that do not exist."""

from __future__ import annotations

import random

import pytest

from infsh_harness.contract.journeys import App
from infsh_harness.contract.run_requests import (
    check_invalid_runs_refused,
    check_unknown_app_404,
    invalid_run_requests,
    unknown_app_names,
)
from infsh_harness.http.driver import Driver, TargetError
from infsh_harness.spec import Spec


def valid_body(app: App) -> dict[str, object]:
    return {"app": app.name, "input": dict(app.input)}


@pytest.mark.rule("invalid-run-refused")
def test_invalid_run_refused(spec: Spec, api: Driver, apps: dict[str, App]) -> None:
    """Bodies derived from the spec's ``RunRequest``, each breaking it one way, around the app that
    completes (so the app lookup passes): every one gets a 4xx and the error body. They are sent with
    ``wait=false``: a server that wrongly takes one answers at once."""
    try:
        cases = invalid_run_requests(spec, valid_body(apps["complete"]))
    except ValueError as exc:
        raise TargetError(f"--complete-app/--complete-input: {exc}") from None
    assert cases, "the spec's RunRequest gave no invalid body to send"
    check_invalid_runs_refused(spec, [api.run_raw(case.body, wait=False) for case in cases])


@pytest.mark.rule("unknown-app-404")
def test_unknown_app_404(spec: Spec, api: Driver, apps: dict[str, App], rng: random.Random) -> None:
    """Apps that surely do not exist (valid names, unique to the run) give 404 and the error body."""
    base = valid_body(apps["complete"])
    for name in unknown_app_names(spec, base, f"{rng.getrandbits(48):012x}"):
        check_unknown_app_404(spec, api.run(name, apps["complete"].input, wait=False))

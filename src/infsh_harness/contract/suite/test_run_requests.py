"""Run requests the spec refuses: bodies breaking ``RunRequest``, a ``wait`` that is no boolean, and
apps that do not exist. Each invalid body counts under the rule its constraint comes from: what the
page states (``invalid-run-refused``), or a constraint of ours (``run-constraints-refused``)."""

from __future__ import annotations

import random

import pytest

from infsh_harness.contract.evidence import Evidence
from infsh_harness.contract.journeys import App
from infsh_harness.contract.run_requests import InvalidRun, invalid_run_requests, unknown_app_names
from infsh_harness.contract.target import SuiteDriver
from infsh_harness.http.driver import TargetError
from infsh_harness.rules.requests import INVALID_RUN, RUN_CONSTRAINTS, check_run_refused, check_unknown_app_404
from infsh_harness.spec import Spec


def valid_body(app: App) -> dict[str, object]:
    return {"app": app.name, "input": dict(app.input)}


def cases_of(spec: Spec, app: App, rule_id: str) -> list[InvalidRun]:
    try:
        cases = invalid_run_requests(spec, valid_body(app))
    except ValueError as exc:
        raise TargetError(f"--complete-app/--complete-input: {exc}") from None
    return [case for case in cases if case.rule_id == rule_id]


@pytest.mark.rule(INVALID_RUN)
def test_invalid_run_refused(spec: Spec, api: SuiteDriver, apps: dict[str, App], evidence: Evidence) -> None:
    """Bodies derived from the spec's ``RunRequest``, each breaking what the page states of it one way,
    around the app that completes (so the app lookup passes): every one gets a 4xx. They are sent
    with ``wait=false``: a server that wrongly takes one answers at once."""
    cases = cases_of(spec, apps["complete"], INVALID_RUN)
    assert cases, "the spec's RunRequest gave no invalid body to send"
    for case in cases:
        evidence.expect(INVALID_RUN, check_run_refused, spec, api.run_raw(case.body, wait=False))
    evidence.minimum(INVALID_RUN, len(cases), "invalid bodies answered")
    evidence.finish()


@pytest.mark.rule(RUN_CONSTRAINTS)
def test_run_constraints_refused(spec: Spec, api: SuiteDriver, apps: dict[str, App], evidence: Evidence) -> None:
    """Bodies breaking only a constraint of ours (a webhook's scheme or length, an empty worker id or
    session, the app name's shape), and a ``wait`` that is neither true nor false: each gets a 4xx."""
    cases = cases_of(spec, apps["complete"], RUN_CONSTRAINTS)
    answers = [api.run_raw(case.body, wait=False) for case in cases]
    app = apps["complete"]
    answers.append(api.call("runTask", json=valid_body(app), params={"wait": "maybe"}))
    for obs in answers:
        evidence.expect(RUN_CONSTRAINTS, check_run_refused, spec, obs)
    evidence.minimum(RUN_CONSTRAINTS, len(answers), "invalid requests answered")
    evidence.finish()


@pytest.mark.rule("unknown-app-404")
def test_unknown_app_404(
    spec: Spec, api: SuiteDriver, apps: dict[str, App], rng: random.Random, evidence: Evidence
) -> None:
    """Apps that surely do not exist (valid names, unique to the run) give 404."""
    base = valid_body(apps["complete"])
    for name in unknown_app_names(spec, base, f"{rng.getrandbits(48):012x}"):
        obs = api.run(name, apps["complete"].input, wait=False)
        evidence.expect("unknown-app-404", check_unknown_app_404, spec, obs)
    evidence.minimum("unknown-app-404", 1, "a run of an app that does not exist")
    evidence.finish()

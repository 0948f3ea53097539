"""Rules about every answer the run received: no 5xx, JSON bodies, the documented statuses, the
error body, the shape of a success, 405 with ``Allow``. These tests run last, over every answer
the suite's drivers got (``answers``), after a few requests of their own (``probes``): unknown ids,
no key, a body that is not JSON, a missing field, an unknown app, methods the paths lack, and a path
the API does not have.
"""

from __future__ import annotations

import random

import pytest

from infsh_harness.contract.evidence import Evidence
from infsh_harness.contract.journeys import App
from infsh_harness.contract.target import AnswerLog, SuiteDriver
from infsh_harness.http.driver import NO_KEY
from infsh_harness.http.observation import Observation
from infsh_harness.rules.responses import (
    check_allow_header,
    check_documented_response,
    check_error_body,
    check_json_content_type,
    check_no_server_error,
    check_response_shape,
)
from infsh_harness.spec import Spec

pytestmark = pytest.mark.every_answer


@pytest.fixture(scope="session")
def probes(api: SuiteDriver, apps: dict[str, App], rng: random.Random) -> list[Observation]:
    """A few answers every target owes, whichever other tests ran."""
    app, token = apps["complete"], f"{rng.getrandbits(64):016x}"
    unknown = f"task_contract_unknown_{token}"
    return [
        api.run(app.name, app.input),
        api.get(unknown),
        api.cancel(unknown),
        api.run(app.name, app.input, key=NO_KEY),
        api.call("runTask", content=b"{not json", params={"wait": "false"}, content_type="application/json"),
        api.call("runTask", json={"input": {}}, params={"wait": "false"}),
        api.run(f"contract-unknown-{token}/app", {}, wait=False),
        api.request("DELETE", "/run"),
        api.request("PATCH", f"/tasks/{unknown}"),
        api.request("DELETE", f"/tasks/{unknown}/cancel"),
        api.request("GET", f"/contract-unknown-{token}"),
    ]


@pytest.mark.rule("no-server-error")
def test_no_server_error(spec: Spec, probes: list[Observation], answers: AnswerLog, evidence: Evidence) -> None:
    evidence.expect_every("no-server-error", check_no_server_error, spec, answers.all())
    evidence.minimum("no-server-error", 1, "no answer was received")
    evidence.finish()


@pytest.mark.rule("json-content-type")
def test_json_content_type(spec: Spec, probes: list[Observation], answers: AnswerLog, evidence: Evidence) -> None:
    """Successes and errors of the documented operations come as JSON (``application/json`` or a ``+json``
    type). The statuses themselves are other rules' business."""
    evidence.expect_every("json-content-type", check_json_content_type, spec, answers.all())
    evidence.minimum("json-content-type", 1, "no answer with a body was received")
    evidence.finish()


@pytest.mark.rule("error-body")
def test_error_body(spec: Spec, probes: list[Observation], answers: AnswerLog, evidence: Evidence) -> None:
    """The errors of requests that reach no documented operation carry the documented body too (those
    of the operations are rule ``error-shape``'s)."""
    evidence.expect_every("error-body", check_error_body, spec, answers.all())
    evidence.minimum("error-body", 1, "no error answer to a request outside the documented operations was received")
    evidence.finish()


@pytest.mark.rule("documented-responses")
def test_documented_responses(spec: Spec, probes: list[Observation], answers: AnswerLog, evidence: Evidence) -> None:
    evidence.expect_every("documented-responses", check_documented_response, spec, answers.all())
    evidence.minimum("documented-responses", 1, "no answer of a documented operation was received")
    evidence.finish()


@pytest.mark.rule("response-shape")
def test_response_shape(spec: Spec, probes: list[Observation], answers: AnswerLog, evidence: Evidence) -> None:
    evidence.expect_every("response-shape", check_response_shape, spec, answers.all())
    evidence.minimum("response-shape", 1, "no successful answer was received")
    evidence.finish()


@pytest.mark.rule("method-not-allowed")
def test_method_not_allowed(spec: Spec, probes: list[Observation], answers: AnswerLog, evidence: Evidence) -> None:
    evidence.expect_every("method-not-allowed", check_allow_header, spec, answers.all())
    evidence.minimum("method-not-allowed", 1, "the server answered no method a path lacks with 405")
    evidence.finish()

"""The contract rules as schemathesis checks, loaded by ``st`` through ``SCHEMATHESIS_HOOKS``.

Each per-exchange rule of :data:`~infsh_harness.rules.responses.RESPONSE_RULES` becomes one check
named after its rule (``status-known`` -> ``status_known``), the refusal of invalid runs becomes
``run_refused`` (naming ``invalid-run-refused`` or ``run-constraints-refused`` by the source of the
constraint the request broke: it stands in for schemathesis' own ``negative_data_rejection``, which
cannot tell them apart), and the task ledger becomes the class-based check ``task_history``
(status order, terminal statuses final, stable fields, cancel), so every phase — stateful runs
through the spec's links included — is held to the same rules as the lifecycle tests. A failure
message starts with the rule's id and title. An exchange is tagged with its operation only when
it used the operation's own method (schemathesis also sends others, to see them refused).

This module is an entry point of the ``st`` process: like ``conftest.py`` it may read the
environment. ``INFSH_CONTRACT_WEBHOOK_SINK``, when set, replaces every valid ``webhook`` URL a
case is about to send with that URL, so testing a remote server never makes it call a random host
(an invalid URL is left alone: it is there to be refused). The keys (``INFSH_API_KEY``,
``INFSH_API_KEY_2``) are scrubbed from every observation by value.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import httpx
import schemathesis

from infsh_harness.contract.schemathesis_run import KEY_2_ENV, KEY_ENV, SINK_ENV
from infsh_harness.http.observation import Observation
from infsh_harness.redact import secrets_of
from infsh_harness.rules.history import TaskLedger
from infsh_harness.rules.requests import check_run_refused
from infsh_harness.rules.responses import RESPONSE_RULES, ResponseRule
from infsh_harness.spec import Spec, load_spec

__all__ = ["CHECK_NAMES", "check_name", "observation_from_schemathesis"]

SPEC: Spec = load_spec()
SECRETS = secrets_of([os.environ.get(KEY_ENV), os.environ.get(KEY_2_ENV)])


def check_name(rule_id: str) -> str:
    return rule_id.replace("-", "_")


def observation_from_schemathesis(response: Any, case: Any) -> Observation:
    """The exchange schemathesis made, as the harness' one ``Observation`` type (keys redacted)."""
    sent = response.request
    raw = sent.body
    request = httpx.Request(
        str(sent.method),
        str(sent.url),
        headers=list(sent.headers.items()),
        content=raw.encode() if isinstance(raw, str) else raw or b"",
    )
    headers = [
        (name, value)
        for name, values in response.headers.items()
        if name.lower() != "content-encoding"  # the content is already decoded
        for value in values
    ]
    answer = httpx.Response(
        int(response.status_code), headers=headers, content=response.content or b"", request=request
    )
    answer.elapsed = timedelta(seconds=float(response.elapsed))
    obs = Observation.from_httpx(answer, source="schemathesis", secrets=SECRETS)
    if str(sent.method).upper() != str(case.operation.method).upper():
        return obs  # another method on the operation's path: no documented operation
    return obs.tagged(operation_id=case.operation.definition.raw.get("operationId"))


def _register(rule_id: str, rule: ResponseRule) -> Callable[..., None]:
    def check(ctx: Any, response: Any, case: Any) -> None:
        rule(SPEC, observation_from_schemathesis(response, case))

    check.__name__ = check.__qualname__ = check_name(rule_id)
    check.__doc__ = SPEC.rule(rule_id).describe()
    schemathesis.check(check)
    return check


CHECK_NAMES: tuple[str, ...] = (*(check_name(rule_id) for rule_id in RESPONSE_RULES), "run_refused")
for _rule_id, _rule in RESPONSE_RULES.items():
    _register(_rule_id, _rule)


@schemathesis.check
def run_refused(ctx: Any, response: Any, case: Any) -> None:
    """[invalid-run-refused] [run-constraints-refused] A run breaking RunRequest or ``wait`` gets a 4xx."""
    check_run_refused(SPEC, observation_from_schemathesis(response, case))


@schemathesis.check
class task_history:  # noqa: N801 - a check's class name is its name in reports
    """[status-order] [terminal-final] [stable-fields] [cancel-running] [cancel-idempotent] across reads."""

    def __init__(self) -> None:
        self.ledger = TaskLedger(SPEC)

    def after_response(self, ctx: Any, response: Any, case: Any) -> None:
        self.ledger.record(observation_from_schemathesis(response, case))


def _webhook_problems(value: str) -> list[str]:
    return SPEC.validate("RunRequest", {"app": "a", "input": {}, "webhook": value})


@schemathesis.hook
def before_call(context: Any, case: Any, kwargs: dict[str, Any]) -> None:
    """Point every valid ``webhook`` URL at the sink (when one is set), in every phase."""
    sink = os.environ.get(SINK_ENV)
    body = case.body
    if sink and isinstance(body, dict) and isinstance(body.get("webhook"), str):
        if not _webhook_problems(body["webhook"]):
            body["webhook"] = sink

"""The documented contract's rules as small typed checks, each raising a :class:`ContractViolation`.

* ``responses``  rules one exchange can break, ``(spec, observation) -> None``, by rule id
* ``history``    rules spanning reads of one task: a ledger fed exchanges in the order answered
* ``webhooks``   one delivery per terminal task, reporting its final state
* ``target``     a raw driver of the server under test, answering observations
* ``journeys``   the scripted task walks the lifecycle tests read
* ``run_requests`` run bodies the spec refuses (derived from its request schema), and the checks of refusing them
* ``schemathesis_checks`` / ``schemathesis_run``  the same rules inside schemathesis, and running ``st``
* ``settings`` / ``summary``  one run of the suite: how it is set up, and its Markdown/JSON summary

Rules, statuses and field lists come from ``openapi/tasks.yaml`` (``x-contract-rules``); a failure's
message starts with the rule's id and title. ``contract_tests/`` is the suite built from these.
"""

from infsh_harness.rules.history import HISTORY_RULES, TaskLedger
from infsh_harness.rules.responses import RESPONSE_RULES
from infsh_harness.rules.violation import ContractViolation, violation
from infsh_harness.rules.webhooks import check_one_webhook, check_webhook_matches_task

__all__ = [
    "HISTORY_RULES",
    "RESPONSE_RULES",
    "ContractViolation",
    "TaskLedger",
    "check_one_webhook",
    "check_webhook_matches_task",
    "violation",
]

"""Every rule of the contract once, as small typed functions; each failure names its rule and source.

* ``predicates``  each rule's decision on plain values (the load validators and the drift reporter
  call these directly, for speed and for one answer everywhere)
* ``responses``   rules one exchange can break, ``(spec, observation) -> bool``, by rule id
* ``requests``    requests a server must refuse: invalid runs (by the source of the constraint they
  break), unknown apps and tasks, other keys' tasks
* ``history``     rules spanning reads of one task: a ledger fed exchanges in the order answered
* ``webhooks``    one delivery per terminal task, reporting its final state
* ``versions``    the REST overview's two formats and error model, and which versions a server speaks
* ``rate_limits`` the REST overview's rate limits: the headers, 429 and ``Retry-After``
* ``stream``      the Streaming page's rules over a task stream's events (and the one SSE parser)
* ``sessions``    the Sessions pages' rules: the session object, its endpoints, errors and scopes
* ``verdicts``    honoured / broken / differs / unchecked, from what the checks found and where each
  rule comes from (``documented``, ``http`` or ``convention``), and a run's exit code

Rules, statuses and field lists come from ``openapi/tasks.yaml`` (``x-contract-rules``); a failure's
message starts with the rule's id and title, and the violation carries the rule with its source.
"""

from infsh_harness.rules.history import HISTORY_RULES, TaskLedger
from infsh_harness.rules.responses import RESPONSE_RULES
from infsh_harness.rules.verdicts import RuleResult, Tally, Verdict, exit_code, fails_run
from infsh_harness.rules.violation import ContractViolation, violation
from infsh_harness.rules.webhooks import check_one_webhook, check_webhook_matches_task

__all__ = [
    "HISTORY_RULES",
    "RESPONSE_RULES",
    "ContractViolation",
    "RuleResult",
    "Tally",
    "TaskLedger",
    "Verdict",
    "check_one_webhook",
    "check_webhook_matches_task",
    "exit_code",
    "fails_run",
    "violation",
]

"""Rules that span several reads of one task, checked by a ledger fed every exchange in order.

``TaskLedger.observe`` remembers, per task id, the statuses seen, the fields that must not change,
and whether a cancel answered Cancelled; it returns every rule the new exchange breaks given what
came before. ``record`` raises the first of them (optionally only for some rules), which is what
the lifecycle tests and the schemathesis check call. Feed it exchanges in the order they were
answered: the ledger reads "later" as "fed later". ``checks`` counts, per rule, the comparisons
made (a read compared with an earlier one): the evidence a verdict counts. The decisions are
:mod:`~infsh_harness.rules.predicates`.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from typing import Any

from infsh_harness.http.observation import Observation
from infsh_harness.rules import predicates
from infsh_harness.rules.exchange import is_success, operation_of, path_params, payload_of, status_code
from infsh_harness.rules.responses import same_value, status_label
from infsh_harness.rules.violation import ContractViolation, violation
from infsh_harness.spec import Spec

__all__ = ["HISTORY_RULES", "TaskLedger", "TaskRecord"]

HISTORY_RULES = ("status-order", "terminal-final", "stable-fields", "cancel-running", "cancel-idempotent")
_MISSING = object()


@dataclass
class TaskRecord:
    """What the ledger knows about one task."""

    task_id: str
    statuses: list[int] = field(default_factory=list)
    highest: int | None = None  # highest documented rank seen
    terminal: int | None = None  # the first terminal status seen
    cancelled_by_request: bool = False  # a cancel of the running task answered Cancelled
    stable: dict[str, Any] = field(default_factory=dict)
    terminal_cancel: Mapping[str, Any] | None = None  # first answer to cancelling it once terminal


class TaskLedger:
    def __init__(self, spec: Spec) -> None:
        self.spec = spec
        self.tasks: dict[str, TaskRecord] = {}
        self.checks: Counter[str] = Counter()
        self._lock = threading.Lock()
        self._stable_fields: tuple[str, ...] = tuple(spec.rule("stable-fields").params.get("fields", ()))
        self._cancelled = spec.status("CANCELLED")

    def record(self, obs: Observation, rules: Collection[str] | None = None) -> None:
        """Feed ``obs``; raise the first violation of ``rules`` (default: all history rules)."""
        for found in self.observe(obs):
            if rules is None or found.rule_id in rules:
                raise found

    def observe(self, obs: Observation) -> list[ContractViolation]:
        payload = payload_of(self.spec, obs)
        operation_id = operation_of(self.spec, obs)
        if operation_id == "cancelTask" and payload is None and not is_success(obs):
            return self._refused_cancel(obs)
        if payload is None or operation_id not in ("runTask", "getTask", "cancelTask"):
            return []
        task_id, status = payload.get("id"), status_code(payload.get("status"))
        if not isinstance(task_id, str) or status is None:
            return []
        asked = path_params(self.spec, obs).get("id", task_id)  # a read or cancel is about the task it names
        if asked != task_id and operation_id == "getTask":
            detail = f"reading task {asked} answered task {task_id}"
            return [violation(self.spec, "stable-fields", detail, obs)]
        with self._lock:
            record = self.tasks.setdefault(asked, TaskRecord(asked))
            found = self._status_rules(record, status, obs)
            if operation_id == "cancelTask":
                found += self._cancel_rules(record, status, payload, obs)
            else:
                found += self._stable_rules(record, payload, obs)
            self._remember(record, status, operation_id, payload)
        return found

    def get(self, task_id: str) -> TaskRecord | None:
        return self.tasks.get(task_id)

    def _refused_cancel(self, obs: Observation) -> list[ContractViolation]:
        """A cancel of a task the ledger saw end, answered with an error (a 409, say)."""
        record = self.tasks.get(path_params(self.spec, obs).get("id", ""))
        if record is None or record.terminal is None or obs.status_code in (401, 403, 404):
            return []
        with self._lock:
            self.checks["cancel-idempotent"] += 1
        detail = (
            f"cancelling task {record.task_id}, already {status_label(self.spec, record.terminal)}, "
            f"got {obs.status_code}"
        )
        return [violation(self.spec, "cancel-idempotent", detail, obs)]

    # --- the rules ------------------------------------------------------------------------------
    def _status_rules(self, record: TaskRecord, status: int, obs: Observation) -> list[ContractViolation]:
        spec, task = self.spec, record.task_id
        before = status_label(spec, record.terminal)
        if record.terminal is not None:
            self.checks["cancel-running" if record.cancelled_by_request else "terminal-final"] += 1
        if not predicates.terminal_kept(record.terminal, status):
            if record.cancelled_by_request:
                now = status_label(spec, status)
                detail = f"task {task} was cancelled (the cancel answered {before}) but now reads {now}"
                return [violation(spec, "cancel-running", detail, obs)]
            detail = f"task {task} was {before} and is now {status_label(spec, status)}"
            return [violation(spec, "terminal-final", detail, obs)]
        if status not in spec.status_codes or record.highest is None:
            return []
        self.checks["status-order"] += 1
        if not predicates.status_advances(record.highest, spec.status_rank(status)):
            seen = " -> ".join(str(s) for s in [*record.statuses[-4:], status])
            detail = f"task {task} went back to {status_label(spec, status)} (statuses read: {seen})"
            return [violation(spec, "status-order", detail, obs)]
        return []

    def _cancel_rules(
        self, record: TaskRecord, status: int, payload: Mapping[str, Any], obs: Observation
    ) -> list[ContractViolation]:
        spec, found = self.spec, []
        if record.terminal is None:
            self.checks["cancel-running"] += 1
            # the task may have finished first (a race, not a bug): then it answers that end
            if status not in spec.terminal_statuses:
                detail = f"cancelling running task {record.task_id} answered {status_label(spec, status)}"
                found.append(violation(spec, "cancel-running", detail, obs))
        if record.terminal is not None:
            self.checks["cancel-idempotent"] += 1
            answer = {"status": status, "cancelled": payload.get("cancelled")}
            if record.terminal_cancel is not None and answer != record.terminal_cancel:
                detail = (
                    f"cancelling task {record.task_id} again answered {answer}, first {dict(record.terminal_cancel)}"
                )
                found.append(violation(spec, "cancel-idempotent", detail, obs))
            elif status != record.terminal:
                detail = (
                    f"cancelling task {record.task_id}, already {status_label(spec, record.terminal)}, "
                    f"answered {status_label(spec, status)}"
                )
                found.append(violation(spec, "cancel-idempotent", detail, obs))
        return found

    def _stable_rules(
        self, record: TaskRecord, payload: Mapping[str, Any], obs: Observation
    ) -> list[ContractViolation]:
        found = []
        if record.stable:
            self.checks["stable-fields"] += 1
        for name in self._stable_fields:
            before = record.stable.get(name, _MISSING)
            now = payload.get(name)
            if before is not _MISSING and not same_value(self.spec, name, before, now):
                detail = f"{name} of task {record.task_id} changed from {before!r} to {now!r}"
                found.append(violation(self.spec, "stable-fields", detail, obs))
        return found

    def _remember(self, record: TaskRecord, status: int, operation_id: str, payload: Mapping[str, Any]) -> None:
        spec = self.spec
        if operation_id == "cancelTask":
            if record.terminal is None and status == self._cancelled and payload.get("cancelled") is True:
                record.cancelled_by_request = True
            elif record.terminal is not None and record.terminal_cancel is None:
                record.terminal_cancel = {"status": status, "cancelled": payload.get("cancelled")}
        else:
            for name in self._stable_fields:
                record.stable.setdefault(name, payload.get(name))
        record.statuses.append(status)
        if status in spec.status_codes:
            rank = spec.status_rank(status)
            record.highest = rank if record.highest is None else max(record.highest, rank)
        if record.terminal is None and status in spec.terminal_statuses:
            record.terminal = status

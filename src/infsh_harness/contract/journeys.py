"""Scripted walks of tasks through their lifecycle; the lifecycle tests read what each walk saw.

A journey creates one task (with a webhook URL), reads and cancels it in a fixed order and keeps
every exchange in the order it was answered. The four journeys cover the three ways a task ends
(Completed, Failed, Cancelled) and a task polled from creation to its end; together they give
each lifecycle rule the reads it needs, so the suite creates a handful of tasks, not one per rule.

Every exchange is checked against the rules over a task's reads as it comes: a read that breaks
one (a finished task read back as Running, say) stops the walk at once, naming the rule, instead
of waiting out a deadline. A convention done differently is kept (``Journey.differences``) and the
walk goes on.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import httpx

from infsh_harness.http.driver import Driver, TargetError
from infsh_harness.http.observation import Observation
from infsh_harness.rules.exchange import is_success, status_code
from infsh_harness.rules.history import TaskLedger
from infsh_harness.rules.responses import check_status_known
from infsh_harness.rules.violation import ContractViolation, violation
from infsh_harness.spec import Spec
from infsh_harness.webhooks.receiver import Delivery

__all__ = [
    "JOURNEYS",
    "App",
    "Journey",
    "JourneyPlan",
    "Received",
    "recorded",
    "replay",
    "run_journeys",
    "start_without_waiting",
    "walked",
]


@dataclass(frozen=True)
class App:
    """An app the suite drives, and the input it sends it."""

    name: str
    input: Mapping[str, Any]


def _always(found: ContractViolation) -> bool:
    return True


@dataclass(frozen=True)
class JourneyPlan:
    complete: App  # completes
    long: App  # runs long enough to be cancelled
    fail: App  # fails
    webhook_url: Callable[[str], str]  # journey name -> the URL its task reports to
    task_deadline_s: float = 60.0  # how long a task may take to end
    no_wait_deadline_s: float = 5.0  # how long a wait=false run may take to answer
    poll_interval_s: float = 0.02
    max_polls: int = 500
    stops: Callable[[ContractViolation], bool] = _always  # whether a violation ends the walk


@dataclass
class Journey:
    name: str
    webhook_url: str
    exchanges: list[Observation] = field(default_factory=list)
    task_id: str = ""
    terminal_body: Mapping[str, Any] | None = None  # the first terminal task a GET read
    terminal_seen_at: float | None = None  # time.monotonic() of that read
    error: Exception | None = None  # what stopped the walk, if anything did
    differences: list[ContractViolation] = field(default_factory=list)  # conventions done otherwise

    def require(self, *rules: str) -> Journey:
        """This journey, or the failure that stopped it, raised again for the test that needs it: a
        violation of one of ``rules`` as it is; one of another rule (reported already) as the reason
        the test could not judge its own."""
        if isinstance(self.error, ContractViolation) and self.error.rule_id not in rules:
            raise TargetError(f"the {self.name} journey stopped at a broken rule: {self.error}")
        if self.error is not None:
            raise self.error
        return self

    def of(self, *operation_ids: str) -> list[Observation]:
        return [o for o in self.exchanges if o.operation_id in operation_ids]

    def first(self, operation_id: str) -> Observation:
        return self.of(operation_id)[0]


class _Walk:
    """Drives one journey: every call is recorded, terminal reads are noted."""

    def __init__(self, target: Driver, journey: Journey, plan: JourneyPlan) -> None:
        self.target = target
        self.journey = journey
        self.plan = plan
        self.terminal = target.spec.terminal_statuses
        self.ledger = TaskLedger(target.spec)

    def keep(self, obs: Observation) -> Observation:
        self.journey.exchanges.append(obs)
        found = self.ledger.observe(obs)
        try:
            check_status_known(self.target.spec, obs)  # a status no one can read the end of: say so now
        except ContractViolation as unknown:
            found.append(unknown)
        for violation_found in found:
            if self.plan.stops(violation_found):
                raise violation_found
            self.journey.differences.append(violation_found)
        body = obs.body if isinstance(obs.body, dict) else {}
        status = status_code(body.get("status"))
        if obs.operation_id == "getTask" and self.journey.terminal_body is None and status in self.terminal:
            self.journey.terminal_body = body
            self.journey.terminal_seen_at = time.monotonic()
        return obs

    def start(self, app: App, *, wait: bool | None = None) -> str:
        webhook = self.journey.webhook_url
        if wait is False:
            obs = self.keep(start_without_waiting(self.target, app, self.plan.no_wait_deadline_s, webhook=webhook))
        else:
            obs = self.keep(self.target.run(app.name, app.input, wait=wait, webhook=webhook))
        self.journey.task_id = self.target.task_of(obs, f"running {app.name} ({self.journey.name} journey)")["id"]
        return self.journey.task_id

    def get(self) -> Observation:
        return self.keep(self.target.get(self.journey.task_id))

    def cancel(self) -> Observation:
        return self.keep(self.target.cancel(self.journey.task_id))

    def poll_until_terminal(self, plan: JourneyPlan) -> None:
        """Read until the task ends: quickly at first (to see its statuses), backing off to 1 s."""
        deadline = time.monotonic() + plan.task_deadline_s
        interval = plan.poll_interval_s
        for _ in range(plan.max_polls):
            obs = self.get()
            status = obs.body.get("status") if isinstance(obs.body, dict) else None
            if status_code(status) in self.terminal:
                return
            if is_success(obs) and status_code(status) not in self.target.spec.status_codes:
                # an undocumented status never ends: stop here, the status-known test names it
                raise TargetError(f"task {self.journey.task_id} read as status {status!r}: cannot tell when it ends")
            if time.monotonic() >= deadline:
                break
            time.sleep(interval)
            interval = min(interval * 1.2, 1.0)
        raise TargetError(f"task {self.journey.task_id} did not end within {plan.task_deadline_s:g} s")

    def reads(self, count: int, gap_s: float) -> None:
        for _ in range(count):
            self.get()
            time.sleep(gap_s)


def _completed(walk: _Walk, plan: JourneyPlan) -> None:
    walk.start(plan.complete)  # the documented default: wait
    walk.poll_until_terminal(plan)  # one read if it did wait; the end either way
    walk.get()
    walk.cancel()
    walk.get()
    walk.cancel()
    walk.get()


def _failed(walk: _Walk, plan: JourneyPlan) -> None:
    walk.start(plan.fail)
    walk.poll_until_terminal(plan)
    walk.cancel()
    walk.get()


def _polled(walk: _Walk, plan: JourneyPlan) -> None:
    walk.start(plan.complete, wait=False)
    walk.poll_until_terminal(plan)
    walk.get()


@dataclass(frozen=True)
class Received:
    """What a journey's webhook URL received."""

    journey: Journey
    deliveries: list[Delivery]
    late_by_s: float | None  # how far past the deadline the first delivery came, if it did


def start_without_waiting(target: Driver, app: App, deadline_s: float, **fields: Any) -> Observation:
    """``POST /run?wait=false``; not answering within ``deadline_s`` breaks rule ``run-no-wait``."""
    try:
        return target.run(app.name, app.input, wait=False, timeout_s=deadline_s, **fields)
    except httpx.TimeoutException:
        detail = f"POST /run?wait=false of {app.name} did not answer within {deadline_s:g} s"
        raise violation(target.spec, "run-no-wait", detail) from None


def _cancelled(walk: _Walk, plan: JourneyPlan) -> None:
    walk.start(plan.long, wait=False)
    walk.reads(4, plan.poll_interval_s)
    walk.cancel()
    walk.reads(2, plan.poll_interval_s)
    walk.cancel()
    walk.get()


JOURNEYS: dict[str, Callable[[_Walk, JourneyPlan], None]] = {
    "completed": _completed,
    "failed": _failed,
    "polled": _polled,
    "cancelled": _cancelled,
}


def run_journeys(target: Driver, plan: JourneyPlan, names: Iterable[str] = JOURNEYS) -> dict[str, Journey]:
    """Walk each named journey in turn; a walk that fails keeps its failure in ``Journey.error``.

    Once a walk stopped at a broken rule the others are not walked: the run fails already, and a
    server that breaks one rule may hold the next walk to its deadline (a task that ended read
    back as running, say, never seems to end)."""
    done: dict[str, Journey] = {}
    broken: ContractViolation | None = None
    for name in names:
        journey = done[name] = Journey(name, plan.webhook_url(name))
        if broken is not None:  # not walked: left out of the tests like the walk that broke
            journey.error = broken
            continue
        try:
            JOURNEYS[name](_Walk(target, journey, plan), plan)
        except (AssertionError, httpx.HTTPError) as exc:
            journey.error = exc
            broken = exc if isinstance(exc, ContractViolation) else None
    return done


def walked(journeys: Mapping[str, Journey], names: Iterable[str] = JOURNEYS) -> Iterator[Journey]:
    """The named journeys that ran to their end; then the failure of one that could not, if any.

    A walk stopped by a broken rule is left out silently: the test of that rule reports it (one
    failure per broken rule). Any other stop (the target could not be driven) is raised, once the
    test has checked its rule on every journey it could."""
    cut_short = []
    for name in names:
        journey = journeys[name]
        if journey.error is None:
            yield journey
        elif not isinstance(journey.error, ContractViolation):
            cut_short.append(journey)
    for journey in cut_short:
        journey.require()


def recorded(
    journeys: Mapping[str, Journey], names: Iterable[str] = JOURNEYS, also: Iterable[Observation] = ()
) -> Iterator[Observation]:
    """Every exchange of the named journeys, walks cut short included (what they read is evidence too),
    then ``also`` (the webhooks they caused); last, like :func:`walked`, the failure of a walk the
    target could not be driven through."""
    names = list(names)
    for name in names:
        yield from list(journeys[name].exchanges)
    yield from also
    for _ in walked(journeys, names):
        pass


def replay(spec: Spec, journey: Journey, rule_id: str) -> None:
    """Feed a journey's exchanges, in order, to a fresh ledger; raise the first breach of ``rule_id``."""
    ledger = TaskLedger(spec)
    for obs in journey.exchanges:
        ledger.record(obs, rules={rule_id})

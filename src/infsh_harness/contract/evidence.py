"""What the test that is running checked: the suite's side of the run's :class:`~infsh_harness.rules.Tally`.

A test of the suite calls each check through :meth:`Evidence.expect` (or records its own counts with
:meth:`Evidence.ran`), then states the minimum its rule needs to be judged with
:meth:`Evidence.minimum`: two statuses of one task compared, a webhook received, a body refused...
A violation is recorded at once and the test goes on checking (more evidence, and the other rules
of a test with several); :meth:`Evidence.finish` then fails the test with the first violation that
fails the run (a ``documented`` or ``http`` rule, or any rule in ``strict`` mode). A convention done
differently fails nothing: it is noted. A test that did not see a minimum ends skipped, its rule
``unchecked`` with why.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable
from typing import Any

import pytest

from infsh_harness.http.observation import Observation
from infsh_harness.rules.history import TaskLedger
from infsh_harness.rules.verdicts import Tally
from infsh_harness.rules.violation import ContractViolation

__all__ = ["Evidence"]


class Evidence:
    def __init__(self, tally: Tally) -> None:
        self.tally = tally
        self.test = ""
        self.rules: tuple[str, ...] = ()
        self.here: Counter[str] = Counter()  # checks of each rule by the running test
        self.lacking: dict[str, str] = {}  # rule -> why the running test could not judge it
        self.finished = False  # the test ended through finish(): its rules are judged already
        self.failing: list[ContractViolation] = []  # what the running test found that fails the run

    # --- the running test ----------------------------------------------------------------------
    def begin(self, test: str, rules: Iterable[str]) -> None:
        self.test, self.rules = test, tuple(rules)
        self.here.clear()
        self.lacking.clear()
        self.finished = False
        self.failing.clear()
        for rule_id in self.rules:
            self.tally.tested_by(rule_id, test)

    def end_unchecked(self, reason: str) -> None:
        """The running test stopped before judging (skipped, or the target could not be driven):
        each of its rules it had not judged yet is unchecked with ``reason``."""
        if self.finished:
            return
        for rule_id in self.rules:
            if rule_id not in self.lacking and not self.tally.violations(rule_id):
                self.tally.unchecked(rule_id, reason)

    # --- checks --------------------------------------------------------------------------------
    def found(self, violation: ContractViolation) -> None:
        """Record ``violation`` (the test fails with it at :meth:`finish` if it fails the run)."""
        self.tally.saw(violation)
        self.here[violation.rule_id] += 1
        if self.tally.fails(violation):
            self.failing.append(violation)

    def ran(self, rule_id: str, count: int = 1) -> None:
        if count:
            self.tally.ran(rule_id, count)
            self.here[rule_id] += count

    def expect(self, rule_id: str, check: Callable[..., bool], *args: Any) -> bool:
        """Run one check of ``rule_id``: ``True`` when it applied and held, ``False`` when it did not
        apply or found a violation (recorded)."""
        try:
            applied = check(*args)
        except ContractViolation as violation:
            self.found(violation)
            return False
        if applied:
            self.ran(rule_id)
        return bool(applied)

    def expect_every(
        self, rule_id: str, check: Callable[..., bool], spec: Any, observations: Iterable[Any], *args: Any
    ) -> int:
        """Run ``check(spec, obs, *args)`` of ``rule_id`` over every observation: how many it applied to and held."""
        return sum(self.expect(rule_id, check, spec, obs, *args) for obs in observations)

    def expect_all(self, violations: Iterable[ContractViolation]) -> None:
        for violation in violations:
            self.found(violation)

    def replay(self, ledger: TaskLedger, observations: Iterable[Observation], rules: Iterable[str]) -> TaskLedger:
        """Feed ``observations`` to ``ledger`` in order, counting its comparisons of ``rules`` and
        recording what breaks them."""
        wanted = tuple(rules)
        for obs in observations:
            before = {r: ledger.checks[r] for r in wanted}
            found = [v for v in ledger.observe(obs) if v.rule_id in wanted]
            for rule_id in wanted:
                made = ledger.checks[rule_id] - before[rule_id] - sum(v.rule_id == rule_id for v in found)
                self.ran(rule_id, max(made, 0))
            for violation in found:
                self.found(violation)
        return ledger

    # --- minimums ------------------------------------------------------------------------------
    def minimum(self, rule_id: str, need: int, what: str, got: int | None = None) -> bool:
        """Whether the running test saw at least ``need`` of ``what`` for ``rule_id`` (its checks so
        far, or ``got``); if not, and it found no violation of it, the rule is unchecked with why."""
        seen = self.here[rule_id] if got is None else got
        if seen >= need or self.tally.violations(rule_id):
            return True
        reason = f"{what} ({seen} of {need} needed)" if need > 1 else what
        self.lacking[rule_id] = reason
        self.tally.unchecked(rule_id, reason)
        return False

    def finish(self) -> None:
        """End the test: failed with the first violation that fails the run, if any; else skipped,
        naming what it lacked, if any of its rules saw less than its minimum."""
        self.finished = True
        if self.failing:
            raise self.failing[0]
        if self.lacking:
            pytest.skip("; ".join(f"[{r}] {why}" for r, why in self.lacking.items()))

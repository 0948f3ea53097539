"""Verdicts: what the checks of each rule found, judged by where the rule comes from.

* ``honoured``  every check of the rule ran, saw its stated minimum, and found nothing wrong;
* ``broken``    a check found it broken, and the rule is ``documented`` or ``http`` (or the mode is
  ``strict``, which holds conventions as rules too);
* ``differs``   a check found a ``convention`` done differently (default mode): reported, not failing;
* ``unchecked`` a check could not run or did not see its minimum (no second key, the server never
  showed two statuses of one task...), with the reason.

A :class:`Tally` collects, per rule, the number of checks that ran (the evidence), the violations
and the reasons a check could not judge; :func:`judge` turns it into a :class:`RuleResult`, and
:func:`exit_code` the results of one run into its exit code.
"""

from __future__ import annotations

import enum
import threading
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from infsh_harness.rules.violation import ContractViolation
from infsh_harness.spec import Rule, Spec

__all__ = [
    "MODES",
    "EXIT_BROKEN",
    "EXIT_INTERRUPTED",
    "EXIT_NOT_RUN",
    "EXIT_OK",
    "RuleResult",
    "Tally",
    "Verdict",
    "exit_code",
    "fails_run",
    "judge",
]

MODES = ("default", "strict")
EXIT_OK, EXIT_BROKEN, EXIT_NOT_RUN, EXIT_INTERRUPTED = 0, 1, 2, 130


class Verdict(enum.StrEnum):
    HONOURED = "honoured"
    BROKEN = "broken"
    DIFFERS = "differs"
    UNCHECKED = "unchecked"


def fails_run(rule: Rule, mode: str) -> bool:
    """Whether a violation of ``rule`` fails a run in ``mode``: always, except a convention by default."""
    return mode == "strict" or not rule.is_convention


@dataclass
class _RuleTally:
    rule: Rule
    checks: int = 0
    violations: list[ContractViolation] = field(default_factory=list)
    unchecked: list[str] = field(default_factory=list)
    tests: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class RuleResult:
    rule: Rule
    verdict: Verdict
    evidence: int  # how many checks of the rule ran
    reason: str  # why: the first violation, or why it could not be checked
    tests: tuple[str, ...] = ()
    violations: tuple[str, ...] = ()

    def as_json(self) -> dict[str, Any]:
        return {
            "id": self.rule.id,
            "title": self.rule.title,
            "source": self.rule.source.as_json(),
            "verdict": str(self.verdict),
            "evidence": self.evidence,
            "reason": self.reason,
            "tests": list(self.tests),
            "violations": list(self.violations),
        }


class Tally:
    """What the checks of one run found, per rule (thread-safe: webhooks arrive on other threads)."""

    def __init__(self, spec: Spec, mode: str = "default") -> None:
        if mode not in MODES:
            raise ValueError(f"unknown mode {mode!r} (choose from {', '.join(MODES)})")
        self.spec = spec
        self.mode = mode
        self._rules = {rule_id: _RuleTally(rule) for rule_id, rule in spec.rules.items()}
        self._lock = threading.Lock()

    def fails(self, found: ContractViolation) -> bool:
        return fails_run(found.rule, self.mode)

    def ran(self, rule_id: str, count: int = 1) -> None:
        """``count`` more checks of ``rule_id`` ran."""
        with self._lock:
            self._rules[rule_id].checks += count

    def saw(self, found: ContractViolation) -> bool:
        """Record a violation (once per distinct message; it counts as a check that ran); answer whether
        it is new."""
        with self._lock:
            tally = self._rules[found.rule_id]
            if any(str(v) == str(found) for v in tally.violations):
                return False
            tally.violations.append(found)
            tally.checks += 1
            return True

    def unchecked(self, rule_id: str, reason: str) -> None:
        with self._lock:
            reasons = self._rules[rule_id].unchecked
            if reason not in reasons:
                reasons.append(reason)

    def tested_by(self, rule_id: str, test: str) -> None:
        with self._lock:
            tests = self._rules[rule_id].tests
            if test not in tests:
                tests.append(test)

    def checks(self, rule_id: str) -> int:
        return self._rules[rule_id].checks

    def violations(self, rule_id: str) -> list[ContractViolation]:
        return list(self._rules[rule_id].violations)

    def touched(self) -> list[str]:
        """The rules some test was about, or some check found broken, in the spec's order."""
        return [r for r, t in self._rules.items() if t.tests or t.violations]

    def results(self, rule_ids: Iterable[str] | None = None) -> list[RuleResult]:
        wanted = self.touched() if rule_ids is None else list(rule_ids)
        with self._lock:
            return [judge(self._rules[r], self.mode) for r in self._rules if r in wanted]


def judge(tally: _RuleTally, mode: str) -> RuleResult:
    """The verdict on one rule from what its checks found."""
    rule, found = tally.rule, tally.violations
    shown = tuple(str(v) for v in found)
    tests = tuple(tally.tests)
    if found:
        verdict = Verdict.BROKEN if fails_run(rule, mode) else Verdict.DIFFERS
        return RuleResult(rule, verdict, tally.checks, found[0].detail, tests, shown)
    if tally.unchecked:
        return RuleResult(rule, Verdict.UNCHECKED, tally.checks, "; ".join(tally.unchecked), tests)
    if not tests:
        return RuleResult(rule, Verdict.UNCHECKED, tally.checks, "no test of it ran", tests)
    if tally.checks == 0:
        return RuleResult(rule, Verdict.UNCHECKED, 0, "its tests ran no check of it", tests)
    return RuleResult(rule, Verdict.HONOURED, tally.checks, "", tests)


def exit_code(
    results: Sequence[RuleResult],
    *,
    require_all: bool = False,
    could_not_run: bool = False,
    interrupted: bool = False,
) -> int:
    """0: nothing failed; 1: a rule broken (or, with ``require_all``, unchecked); 2: the run could not
    complete or judged nothing; 130: interrupted."""
    if interrupted:
        return EXIT_INTERRUPTED
    if any(r.verdict is Verdict.BROKEN for r in results):
        return EXIT_BROKEN
    if could_not_run or not any(r.verdict is not Verdict.UNCHECKED for r in results):
        return EXIT_NOT_RUN
    if require_all and any(r.verdict is Verdict.UNCHECKED for r in results):
        return EXIT_BROKEN
    return EXIT_OK


def counts(results: Iterable[RuleResult]) -> Mapping[str, int]:
    """How many rules got each verdict."""
    out = dict.fromkeys((str(v) for v in Verdict), 0)
    for r in results:
        out[str(r.verdict)] += 1
    return out

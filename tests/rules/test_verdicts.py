"""Verdicts: honoured only with evidence, broken or differs by the rule's source and the mode, and exit codes."""

from __future__ import annotations

import pytest

from infsh_harness.rules import Tally, Verdict, exit_code, fails_run, violation
from infsh_harness.rules.verdicts import RuleResult
from infsh_harness.spec import load_spec

SPEC = load_spec()


def results(tally: Tally, *rule_ids: str) -> dict[str, RuleResult]:
    return {r.rule.id: r for r in tally.results(rule_ids)}


def test_a_rule_is_honoured_only_when_its_checks_ran() -> None:
    tally = Tally(SPEC)
    tally.tested_by("status-known", "t::a")
    tally.tested_by("terminal-final", "t::b")
    tally.ran("status-known", 3)
    judged = results(tally, "status-known", "terminal-final", "session-new")
    assert (judged["status-known"].verdict, judged["status-known"].evidence) == (Verdict.HONOURED, 3)
    assert judged["terminal-final"].verdict is Verdict.UNCHECKED and "no check" in judged["terminal-final"].reason
    assert judged["session-new"].verdict is Verdict.UNCHECKED and "no test" in judged["session-new"].reason


def test_an_unmet_minimum_is_unchecked_with_its_reason_even_with_checks() -> None:
    tally = Tally(SPEC)
    tally.tested_by("status-order", "t::a")
    tally.ran("status-order", 5)
    tally.unchecked("status-order", "no task was read in two statuses before its end")
    judged = results(tally, "status-order")["status-order"]
    assert judged.verdict is Verdict.UNCHECKED and judged.reason.startswith("no task was read")


@pytest.mark.parametrize(
    ("rule_id", "mode", "verdict"),
    [
        ("terminal-final", "default", Verdict.BROKEN),  # documented
        ("no-server-error", "default", Verdict.BROKEN),  # http
        ("cancel-idempotent", "default", Verdict.DIFFERS),  # convention
        ("cancel-idempotent", "strict", Verdict.BROKEN),
    ],
)
def test_a_violation_is_judged_by_its_source_and_the_mode(rule_id: str, mode: str, verdict: Verdict) -> None:
    tally = Tally(SPEC, mode)
    found = violation(SPEC, rule_id, "seen")
    assert tally.saw(found) and not tally.saw(violation(SPEC, rule_id, "seen"))  # once per message
    tally.unchecked(rule_id, "a violation outweighs a missing minimum")
    judged = results(tally, rule_id)[rule_id]
    assert (judged.verdict, judged.evidence, judged.reason) == (verdict, 1, "seen")
    assert fails_run(SPEC.rule(rule_id), mode) is (verdict is Verdict.BROKEN)


def test_the_summary_shape_of_a_rule() -> None:
    tally = Tally(SPEC)
    tally.tested_by("cancel-flag", "t::a")
    tally.saw(violation(SPEC, "cancel-flag", "cancelled=True with status 9"))
    data = results(tally, "cancel-flag")["cancel-flag"].as_json()
    assert set(data) >= {"id", "title", "source", "verdict", "evidence", "reason", "tests"}
    assert data["source"] == {"kind": "convention", "reason": SPEC.rule("cancel-flag").source.reason}
    assert (data["verdict"], data["evidence"], data["tests"]) == ("differs", 1, ["t::a"])


def test_exit_codes() -> None:
    tally = Tally(SPEC)
    for rule_id in ("status-known", "session-new", "cancel-flag"):
        tally.tested_by(rule_id, "t")
    tally.ran("status-known")
    tally.saw(violation(SPEC, "cancel-flag", "differs"))
    some = tally.results(["status-known", "session-new", "cancel-flag"])  # honoured, unchecked, differs
    assert exit_code(some) == 0
    assert exit_code(some, require_all=True) == 1
    assert exit_code(some, could_not_run=True) == 2
    assert exit_code(some, interrupted=True) == 130
    assert exit_code(tally.results(["session-new"])) == 2  # judged nothing: never a pass
    tally.saw(violation(SPEC, "status-known", "broken"))
    assert exit_code(tally.results(["status-known"]), could_not_run=True) == 1


def test_an_unknown_mode_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown mode 'lenient'"):
        Tally(SPEC, "lenient")

"""What a test of the suite ended as: its outcome for the summary, and its report scrubbed of the keys."""

from __future__ import annotations

import pytest

from infsh_harness.contract.summary import ItemOutcome, named_rules
from infsh_harness.redact import redact_text
from infsh_harness.rules.violation import ContractViolation
from infsh_harness.spec import load_spec

__all__ = ["first_line", "item_outcome", "rules_of", "scrub_report"]


def rules_of(item: pytest.Item) -> tuple[str, ...]:
    """The rules a test is marked to check (``@pytest.mark.rule(...)``)."""
    return tuple(r for m in item.iter_markers("rule") for r in m.args)


def scrub_report(report: pytest.TestReport, secrets: tuple[str, ...]) -> None:
    """No key in what pytest prints: the failure text and every captured section."""
    if report.longrepr is not None and not isinstance(report.longrepr, tuple):
        text = str(report.longrepr) if isinstance(report.longrepr, str) else report.longreprtext
        report.longrepr = redact_text(text, secrets)
    elif isinstance(report.longrepr, tuple):
        path, line, message = report.longrepr
        report.longrepr = (path, line, redact_text(message, secrets))
    report.sections = [(name, redact_text(text, secrets)) for name, text in report.sections]


def item_outcome(item: pytest.Item, report: pytest.TestReport, kind: str, error: BaseException | None) -> ItemOutcome:
    rules = rules_of(item)
    if isinstance(error, ContractViolation):
        return ItemOutcome(item.nodeid, kind, rules, (error.rule_id,), first_line(str(error)), report.duration)
    if report.skipped:
        reason = str(report.longrepr[-1]) if isinstance(report.longrepr, tuple) else ""
        return ItemOutcome(item.nodeid, "skipped", rules, (), reason.removeprefix("Skipped: "), report.duration)
    if kind in ("failed", "error"):
        text = str(report.longrepr) if report.longrepr is not None else ""
        violated = tuple(named_rules(load_spec(), text))
        return ItemOutcome(item.nodeid, kind, rules, violated, first_line(text), report.duration)
    return ItemOutcome(item.nodeid, kind, rules, (), "", report.duration)


def first_line(text: str) -> str:
    for line in text.splitlines():
        if line.strip():
            return line.strip()[:400]
    return ""

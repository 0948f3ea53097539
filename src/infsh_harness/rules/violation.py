"""The one failure every contract check raises: :class:`ContractViolation`, naming a rule and its source."""

from __future__ import annotations

from infsh_harness.http.observation import Observation
from infsh_harness.spec import Rule, Source, Spec

__all__ = ["ContractViolation", "violation"]


class ContractViolation(AssertionError):
    """A server broke rule ``rule`` of ``x-contract-rules``.

    The message starts with the rule's id and title (``[status-order] A task's statuses only
    advance...: detail``), so a failure names the rule wherever it is printed: pytest, a
    schemathesis report, the Markdown summary; the rule carries its source (documented, http or
    convention), which decides whether the violation fails a run. It subclasses ``AssertionError``
    because that is what pytest and schemathesis both treat as a failed check (not a crash).
    """

    def __init__(self, rule: Rule, detail: str, evidence: Observation | None = None) -> None:
        self.rule = rule
        self.detail = detail
        self.evidence = evidence
        where = f" ({evidence.method} {evidence.path} -> {evidence.status_code})" if evidence is not None else ""
        super().__init__(f"{rule.describe()}: {detail}{where}")

    @property
    def rule_id(self) -> str:
        return self.rule.id

    @property
    def source(self) -> Source:
        return self.rule.source


def violation(spec: Spec, rule_id: str, detail: str, evidence: Observation | None = None) -> ContractViolation:
    """The failure for ``rule_id`` (its title and source read from the spec)."""
    return ContractViolation(spec.rule(rule_id), detail, evidence)

"""What a drift report is made of: findings with a kind, a severity, a location and a stable id.

A finding's id hashes what makes the drift *this* drift (its kind, where it is, and a stable detail
such as the unexpected enum value or content type) and never what changes from run to run (task
ids, timestamps, counts), so a committed baseline keeps matching.
"""

from __future__ import annotations

import dataclasses
import hashlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

__all__ = ["SEVERITY_OF", "DriftReport", "Finding", "Kind", "Location", "Severity", "merge"]


class Severity(StrEnum):
    BREAKING = "breaking"
    WARNING = "warning"
    INFO = "info"

    @property
    def rank(self) -> int:
        """0 for the most severe."""
        return list(Severity).index(self)

    def at_least(self, threshold: Severity) -> bool:
        return self.rank <= threshold.rank


class Kind(StrEnum):
    MISSING_OPERATION = "missing-operation"
    UNDOCUMENTED_OPERATION = "undocumented-operation"
    UNDOCUMENTED_STATUS = "undocumented-status-code"
    UNDOCUMENTED_CONTENT_TYPE = "undocumented-content-type"
    MISSING_FIELD = "missing-field"
    UNDOCUMENTED_FIELD = "undocumented-field"
    TYPE_MISMATCH = "type-mismatch"
    FORMAT_MISMATCH = "format-mismatch"
    ENUM_VIOLATION = "enum-violation"
    NULLABILITY = "nullability"
    ENVELOPE = "envelope"
    WEBHOOK_PAYLOAD = "webhook-payload"
    BEHAVIOUR = "behaviour"
    VERSION_SHAPE = "version-shape"  # the answer has the other API version's shape
    DOC_CONFLICT = "doc-conflict"  # the documentation's pages contradict each other (no server involved)


SEVERITY_OF: Mapping[Kind, Severity] = {
    Kind.MISSING_OPERATION: Severity.BREAKING,
    Kind.MISSING_FIELD: Severity.BREAKING,
    Kind.TYPE_MISMATCH: Severity.BREAKING,
    Kind.ENUM_VIOLATION: Severity.BREAKING,
    Kind.ENVELOPE: Severity.BREAKING,
    Kind.BEHAVIOUR: Severity.BREAKING,
    Kind.VERSION_SHAPE: Severity.BREAKING,
    Kind.UNDOCUMENTED_STATUS: Severity.WARNING,
    Kind.DOC_CONFLICT: Severity.WARNING,
    Kind.UNDOCUMENTED_CONTENT_TYPE: Severity.WARNING,
    Kind.FORMAT_MISMATCH: Severity.WARNING,
    Kind.NULLABILITY: Severity.WARNING,
    Kind.UNDOCUMENTED_FIELD: Severity.INFO,
    Kind.UNDOCUMENTED_OPERATION: Severity.INFO,
    # a webhook finding takes the severity of its aspect (the shape kind it is about)
    Kind.WEBHOOK_PAYLOAD: Severity.BREAKING,
}


@dataclass(frozen=True)
class Location:
    """Where: the operation (``None`` if undocumented), its endpoint, a status code, a JSON path."""

    endpoint: str
    operation: str | None = None
    status_code: str | None = None
    json_path: str | None = None

    def __str__(self) -> str:
        where = f"{self.operation} ({self.endpoint})" if self.operation else self.endpoint
        parts = [where, self.status_code, self.json_path]
        return " ".join(p for p in parts if p)

    def to_dict(self) -> dict[str, str | None]:
        return dataclasses.asdict(self)


@dataclass(frozen=True)
class Finding:
    """One distinct drift; ``count`` observations showed it, ``evidence`` is the first of them."""

    kind: Kind
    location: Location
    expected: str
    observed: str
    key: str = ""  # the stable detail that tells two drifts at one location apart
    severity: Severity | None = None  # None: the kind's (or aspect's) default
    aspect: Kind | None = None  # for webhook payload findings: which shape drift
    rule: str | None = None  # the x-contract-rules id the drift breaks, if any
    count: int = 1
    evidence: Mapping[str, Any] | None = None
    sources: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if self.severity is None:
            object.__setattr__(self, "severity", SEVERITY_OF[self.aspect or self.kind])

    @property
    def level(self) -> Severity:
        assert self.severity is not None  # set in __post_init__
        return self.severity

    @property
    def id(self) -> str:
        loc = self.location
        parts = [
            self.kind,
            self.aspect or "",
            loc.endpoint,
            loc.status_code or "",
            loc.json_path or "",
            self.key,
        ]
        digest = hashlib.sha256("\x1f".join(parts).encode()).hexdigest()[:12]
        return f"{self.kind}-{digest}"

    @property
    def title(self) -> str:
        label = f"{self.kind} ({self.aspect})" if self.aspect else str(self.kind)
        return f"{label} at {self.location}"

    def sort_key(self) -> tuple[int, int, str, str]:
        return (self.level.rank, list(Kind).index(self.kind), str(self.location), self.key)

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "kind": str(self.kind),
            "aspect": str(self.aspect) if self.aspect else None,
            "severity": str(self.level),
            "location": self.location.to_dict(),
            "expected": self.expected,
            "observed": self.observed,
            "rule": self.rule,
            "count": self.count,
            "sources": list(self.sources),
            "evidence": dict(self.evidence) if self.evidence is not None else None,
        }


def merge(findings: Iterable[Finding]) -> list[Finding]:
    """One finding per id (counts added, first evidence kept, sources joined), most severe first."""
    merged: dict[str, Finding] = {}
    for finding in findings:
        seen = merged.get(finding.id)
        if seen is None:
            merged[finding.id] = finding
            continue
        sources = seen.sources + tuple(s for s in finding.sources if s not in seen.sources)
        merged[finding.id] = dataclasses.replace(seen, count=seen.count + finding.count, sources=sources)
    return sorted(merged.values(), key=Finding.sort_key)


@dataclass(frozen=True)
class DriftReport:
    """The findings of one run, judged against a baseline of accepted finding ids.

    ``conflicts`` are where the documentation contradicts itself (``Kind.DOC_CONFLICT``): shown in
    every report, apart from the server's drift, and failing the run only with ``fail_on_conflicts``.
    """

    findings: tuple[Finding, ...]
    accepted: frozenset[str] = frozenset()
    fail_on: Severity = Severity.INFO
    notes: tuple[str, ...] = ()
    sources: tuple[str, ...] = ()
    conflicts: tuple[Finding, ...] = ()
    fail_on_conflicts: bool = False
    interrupted: bool = False  # Ctrl-C: the findings are of what was observed before
    stopped: str | None = None  # why the run ended before its end (its deadline): the findings are partial

    @property
    def verdict(self) -> str:
        """pass | fail | interrupted | error (stopped before its end): the run as a whole."""
        if self.interrupted:
            return "interrupted"
        if self.stopped is not None:
            return "error"
        return "fail" if self.failing else "pass"

    def is_new(self, finding: Finding) -> bool:
        return finding.id not in self.accepted

    def fails(self, finding: Finding) -> bool:
        """New and at least as severe as ``fail_on``: this finding fails the run (a documentation
        conflict only with ``fail_on_conflicts``)."""
        if finding.kind is Kind.DOC_CONFLICT:
            return self.fail_on_conflicts
        return self.is_new(finding) and finding.level.at_least(self.fail_on)

    @property
    def new_findings(self) -> list[Finding]:
        return [f for f in self.findings if self.is_new(f)]

    @property
    def failing(self) -> list[Finding]:
        return [f for f in (*self.findings, *self.conflicts) if self.fails(f)]

    @property
    def resolved(self) -> list[str]:
        """Accepted ids no longer seen: drift that went away (the baseline can be trimmed)."""
        seen = {f.id for f in self.findings}
        return sorted(self.accepted - seen)

    def counts(self) -> dict[str, int]:
        counts = {str(s): 0 for s in Severity}
        for f in self.findings:
            counts[str(f.level)] += 1
        return counts

    def summary(self) -> dict[str, Any]:
        return {
            "verdict": self.verdict,
            "stopped": self.stopped,
            "findings": len(self.findings),
            "new": len(self.new_findings),
            "failing": len(self.failing),
            "accepted": len(self.findings) - len(self.new_findings),
            "resolved": len(self.resolved),
            "by_severity": self.counts(),
            "fail_on": str(self.fail_on),
            "doc_conflicts": len(self.conflicts),
            "fail_on_doc_conflicts": self.fail_on_conflicts,
        }

"""schemathesis' findings, folded into the rule verdicts with the rules' own sources.

``st`` reports each failure with a stable code (``ST101`` a 5xx, ``ST103`` an undocumented status,
``ST901`` a custom check...). Each code maps to the rule it is evidence about, so a finding is judged
like any other violation of that rule: an undocumented 409 is ``documented-responses``, a
convention (``differs`` by default); a 5xx is ``no-server-error``, an HTTP standard (``broken``); our
own checks name their rule in their message (``[status-known] ...``). A code this module does not
know is reported as such: the run cannot judge it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from infsh_harness.contract.schemathesis_run import SchemathesisResult
from infsh_harness.http.observation import is_json_media_type
from infsh_harness.rules.violation import ContractViolation, violation
from infsh_harness.spec import Spec

__all__ = ["BY_CODE", "StFinding", "fold", "parse_findings", "rule_of"]

# code -> rule, where the code alone decides it (ST104..ST110: the body is not what its Content-Type says)
BY_CODE: dict[str, str] = {
    "ST101": "no-server-error",
    "ST102": "no-server-error",
    "ST103": "documented-responses",
    "ST104": "json-content-type",
    "ST106": "json-content-type",
    "ST107": "documented-responses",
    "ST109": "json-content-type",
    "ST110": "json-content-type",
    "ST111": "response-shape",
    "ST202": "documented-responses",  # a valid request refused with a status the spec does not expect
    "ST203": "auth-required",
    "ST205": "documented-responses",  # Allow lists other methods than the spec (HEAD beside GET, say)
    "ST301": "stable-fields",
    "ST302": "stable-fields",  # a task a run created reads as 404
    "ST401": "auth-required",
    "ST402": "task-isolation",
}
_ITEM = re.compile(r"^- (ST\d{3}) (.+)$")
_STATUS = re.compile(r"^\[(\d{3})\] ")
_CASE = re.compile(r"^\d+\. Test Case ID: ")
_RULE_MENTION = re.compile(r"\[([a-z0-9]+(?:-[a-z0-9]+)*)\]")
_CHECK_NAME = re.compile(r"`([a-z0-9_]+)`")
_RECEIVED = re.compile(r"Received: (\S+)")


@dataclass(frozen=True)
class StFinding:
    label: str  # the operation ("POST /run") or "Stateful tests"
    code: str
    title: str
    details: str
    status: int | None  # the answer's status the failure showed


def _items(label: str, text: str) -> Iterator[StFinding]:
    """The findings of one JUnit failure text: ``- STxxx Title`` items, then the case's ``[status]``."""
    pending: list[tuple[str, str, list[str]]] = []
    status: int | None = None

    def flush() -> Iterator[StFinding]:
        for code, title, lines in pending:
            yield StFinding(label, code, title.strip(), "\n".join(lines).strip(), status)

    reading = False
    for line in text.splitlines():
        if _CASE.match(line):
            yield from flush()
            pending, status, reading = [], None, False
        elif found := _ITEM.match(line):
            pending.append((found.group(1), found.group(2), []))
            reading = True
        elif found := _STATUS.match(line):
            status, reading = int(found.group(1)), False
        elif line.startswith("Reproduce with:"):
            reading = False
        elif reading and pending:
            pending[-1][2].append(line.strip())
    yield from flush()


def parse_findings(result: SchemathesisResult) -> list[StFinding]:
    """Every finding of a run, failures and errors alike (errors have no code: ``ST000``)."""
    out: list[StFinding] = []
    for label, texts in result.failures.items():
        for text in texts:
            out.extend(_items(label, text))
    for label, texts in result.errors.items():
        out.extend(StFinding(label, "ST000", "error", text.strip(), None) for text in texts)
    return out


def rule_of(spec: Spec, finding: StFinding) -> str | None:
    """The rule a finding is evidence about (``None``: a finding this harness does not know)."""
    code, details = finding.code, finding.details
    if code in BY_CODE:
        return BY_CODE[code]
    if code == "ST105":  # an undocumented content type: JSON of another kind, or not JSON at all
        received = _RECEIVED.search(details)
        media = received.group(1).split(";", 1)[0].lower() if received else ""
        return "documented-responses" if is_json_media_type(media) else "json-content-type"
    if code == "ST108":  # only when the built-in schema check was not replaced
        return "response-shape" if finding.status is not None and finding.status < 400 else "error-body"
    if code == "ST204":  # an undeclared method: a 405 must name the allowed ones (RFC); 405 at all is ours
        return "method-not-allowed" if "without required `Allow`" in details else "documented-responses"
    if code == "ST901":
        named = [r for r in _RULE_MENTION.findall(details) if r in spec.rules]
        if named:
            return str(named[0])
        checks = [c.replace("_", "-") for c in _CHECK_NAME.findall(finding.title)]
        return next((c for c in checks if c in spec.rules), None)
    return None


def _detail(spec: Spec, finding: StFinding, rule_id: str) -> str:
    text = finding.details.splitlines()[0] if finding.details else finding.title
    prefix = spec.rule(rule_id).describe() + ": "
    if text.startswith(prefix):  # our own check: its message already names the rule
        text = text[len(prefix) :]
    status = f" (answered {finding.status})" if finding.status is not None else ""
    return f"schemathesis {finding.code} {finding.title} on {finding.label}{status}: {text}"[:600]


def fold(spec: Spec, findings: Iterable[StFinding]) -> tuple[list[ContractViolation], list[StFinding]]:
    """``(violations, findings no rule covers)``."""
    found, unknown = [], []
    for finding in findings:
        rule_id = rule_of(spec, finding)
        if rule_id is None:
            unknown.append(finding)
        else:
            found.append(violation(spec, rule_id, _detail(spec, finding, rule_id)))
    return found, unknown

"""The contract part as the page reads it, from ``contract/summary.json``.

Expected keys (absent optional ones are shown as absent, never guessed)::

    mode: "default" | "strict"          exit_code: 0 | 1 | 2          target, seed, seconds
    rules: [{id, title,
             source: {kind: "documented" | "http" | "convention", page?, quote?, cite?, reason?},
             verdict: "honoured" | "broken" | "differs" | "unchecked",
             evidence: <number of checks that ran>, reason, tests: [test id]}]
    schemathesis: {exit_code, scenarios: {label: passed}} | null

The earlier summary (``rules`` a mapping ``id -> {verdict, tests}``, pytest's ``exit_status``) is
read too, with its verdict words mapped onto the four above, the titles of the packaged spec and no
source.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from infsh_harness.report.fields import Unreadable, integer, load_document, mapping, number, sequence, text
from infsh_harness.report.model import Missing, Verdict, could_not_run
from infsh_harness.report.redact import Redactor

__all__ = ["SOURCE_KINDS", "VERDICTS", "ContractPart", "RuleRow", "Source", "read_contract"]

SUMMARY = "summary.json"
VERDICTS = ("broken", "differs", "unchecked", "honoured")  # worst first: the table's default order
SOURCE_KINDS = ("documented", "http", "convention")
NO_SOURCE = "not stated"
_EARLIER_VERDICTS = {"BROKEN": "broken", "honoured": "honoured"}  # anything else: unchecked


@dataclass(frozen=True)
class Source:
    kind: str  # documented | http | convention | not stated
    page: str = ""
    quote: str = ""
    cite: str = ""
    reason: str = ""


@dataclass(frozen=True)
class RuleRow:
    id: str
    title: str
    source: Source
    verdict: str  # one of VERDICTS
    evidence: int | None  # checks that ran
    reason: str
    tests: tuple[str, ...]

    @property
    def rank(self) -> int:
        return VERDICTS.index(self.verdict)


@dataclass(frozen=True)
class ContractPart:
    verdict: Verdict
    mode: str
    target: str
    seed: int | None
    seconds: float | None
    rules: tuple[RuleRow, ...]
    schemathesis: tuple[tuple[str, bool], ...] | None  # None: not run
    schemathesis_exit: int | None

    kind = "contract"
    part = "contract"

    def count(self, verdict: str) -> int:
        return sum(1 for r in self.rules if r.verdict == verdict)

    @property
    def sources(self) -> tuple[str, ...]:
        """The source kinds present, in the documented order."""
        present = {r.source.kind for r in self.rules}
        return tuple(k for k in (*SOURCE_KINDS, NO_SOURCE) if k in present)


def _source(raw: Any) -> Source:
    if not isinstance(raw, Mapping):
        return Source(NO_SOURCE)
    kind = text(raw, "kind") or NO_SOURCE
    return Source(kind, text(raw, "page"), text(raw, "quote"), text(raw, "cite"), text(raw, "reason"))


def _verdict_word(raw: str) -> str:
    return raw if raw in VERDICTS else "unchecked"


def _rules(document: Mapping[str, Any]) -> list[RuleRow]:
    raw = document.get("rules")
    if isinstance(raw, Mapping):
        return _rules_of_earlier_shape(raw)
    rows = []
    for item in sequence(document, "rules"):
        if not isinstance(item, Mapping) or not text(item, "id"):
            continue
        rows.append(
            RuleRow(
                id=text(item, "id"),
                title=text(item, "title"),
                source=_source(item.get("source")),
                verdict=_verdict_word(text(item, "verdict")),
                evidence=integer(item, "evidence"),
                reason=text(item, "reason"),
                tests=tuple(str(t) for t in sequence(item, "tests")),
            )
        )
    return rows


def _spec_titles() -> dict[str, str]:
    """Rule titles from the packaged spec (the earlier summary has none)."""
    from infsh_harness.spec import SpecError, load_spec

    try:
        return {rule_id: rule.title for rule_id, rule in load_spec().rules.items()}
    except SpecError:
        return {}


def _rules_of_earlier_shape(raw: Mapping[str, Any]) -> list[RuleRow]:
    titles = _spec_titles()
    rows = []
    for rule_id, item in raw.items():
        item = item if isinstance(item, Mapping) else {}
        word = text(item, "verdict")
        verdict = _EARLIER_VERDICTS.get(word, "unchecked")
        reason = "" if verdict != "unchecked" else word
        tests = tuple(str(t) for t in sequence(item, "tests"))
        title = titles.get(str(rule_id), "")
        rows.append(RuleRow(str(rule_id), title, Source(NO_SOURCE), verdict, None, reason, tests))
    return rows


def _exit_code(document: Mapping[str, Any], given: int | None) -> int | None:
    code = integer(document, "exit_code")
    if code is not None:
        return code
    pytest_status = integer(document, "exit_status")  # the earlier summary: pytest's own
    if pytest_status is not None:
        return pytest_status if pytest_status in (0, 1) else 2
    return given


def _verdict(rules: list[RuleRow], exit_code: int | None, mode: str) -> Verdict:
    broken = [r.id for r in rules if r.verdict == "broken"]
    differs = [r.id for r in rules if r.verdict == "differs"]
    unchecked = [r.id for r in rules if r.verdict == "unchecked"]
    notes = []
    if differs:
        fails = " (strict mode: they fail the run)" if mode == "strict" else ""
        notes.append(f"{len(differs)} differ{'s' if len(differs) == 1 else ''} from our conventions{fails}")
    if unchecked:
        notes.append(f"{len(unchecked)} could not be checked")
    tail = ("; " + "; ".join(notes)) if notes else ""
    if exit_code not in (None, 0, 1):
        return Verdict("could not run", "bad", f"The suite did not complete (exit {exit_code}){tail}.")
    if broken:
        return Verdict("fail", "bad", f"{len(broken)} of {len(rules)} rules broken: {', '.join(broken)}{tail}.")
    if exit_code == 1:
        return Verdict("fail", "bad", f"The suite failed{tail}.")
    honoured = sum(1 for r in rules if r.verdict == "honoured")
    return Verdict("pass", "good", f"No rule broken: {honoured} of {len(rules)} honoured{tail}.")


def read_contract(folder: Path, redactor: Redactor, exit_code: int | None = None) -> ContractPart | Missing:
    """The contract part of ``folder``; ``exit_code`` is the command's, used when the summary has none."""
    try:
        document = load_document(folder / SUMMARY, redactor)
    except Unreadable as exc:
        why = f"The contract suite left no readable summary: {exc}."
        if exit_code is not None:
            why = f"The contract suite exited {exit_code}. {why}"
        return could_not_run("contract", why)
    rules = sorted(_rules(document), key=lambda r: (r.rank, r.id))
    mode = text(document, "mode", "default")
    code = _exit_code(document, exit_code)
    raw_st = document.get("schemathesis")
    schemathesis = None
    schemathesis_exit = None
    if isinstance(raw_st, Mapping):
        scenarios = mapping(raw_st, "scenarios")
        schemathesis = tuple((str(label), bool(ok)) for label, ok in scenarios.items())
        schemathesis_exit = integer(raw_st, "exit_code")
    return ContractPart(
        verdict=_verdict(rules, code, mode),
        mode=mode,
        target=text(document, "target"),
        seed=integer(document, "seed"),
        seconds=number(document, "seconds"),
        rules=tuple(rules),
        schemathesis=schemathesis,
        schemathesis_exit=schemathesis_exit,
    )

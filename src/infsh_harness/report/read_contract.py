"""The contract part as the page reads it, from ``contract/summary.json``.

The keys as ``infsh-harness contract`` writes them (``contract/summary.py``)::

    mode: "default" | "strict"    exit_code: 0 | 1 | 2 | 130    verdict: pass | fail | error | interrupted
    target, profile, seed, seconds, require_all, selected: [rule id]
    counts: {honoured, broken, differs, unchecked}    broken, differs, unchecked: [rule id]
    rules: [{id, title,
             source: {kind: "documented", page, quote: str | [str]} | {kind: "http", cite}
                     | {kind: "convention", reason},
             verdict: "honoured" | "broken" | "differs" | "unchecked",
             evidence: <number of checks that ran>, reason, tests: [test id], violations: [str]}]
    interrupted: bool    stopped: {reason, test, rules: [rule id]} | null
    tests: [{id, outcome, rules, violated, message}]
    schemathesis: {exit_code, seconds, scenarios: {label: passed}} | null

A summary whose ``rules`` is not that list is not a contract summary of this version: the part
says so rather than guess at it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from infsh_harness.report.fields import (
    Unreadable,
    boolean,
    integer,
    load_document,
    mapping,
    number,
    sequence,
    text,
)
from infsh_harness.report.model import Missing, Verdict, could_not_run
from infsh_harness.report.redact import Redactor

__all__ = ["SOURCE_KINDS", "VERDICTS", "ContractPart", "RuleRow", "Source", "read_contract"]

SUMMARY = "summary.json"
VERDICTS = ("broken", "differs", "unchecked", "honoured")  # worst first: the table's default order
SOURCE_KINDS = ("documented", "http", "convention")
NO_SOURCE = "not stated"
VIOLATIONS_SHOWN = 5


@dataclass(frozen=True)
class Source:
    kind: str  # documented | http | convention | not stated
    page: str = ""
    quotes: tuple[str, ...] = ()  # documented: the sentences it rests on
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
    violations: tuple[str, ...] = ()  # what the checks found (broken, differs), the first few

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
    profile: str = ""
    require_all: bool = False
    selected: tuple[str, ...] = ()

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
    quote = raw.get("quote")
    quotes = (quote,) if isinstance(quote, str) else tuple(str(q) for q in sequence(raw, "quote"))
    return Source(kind, text(raw, "page"), tuple(q for q in quotes if q), text(raw, "cite"), text(raw, "reason"))


def _verdict_word(raw: str) -> str:
    return raw if raw in VERDICTS else "unchecked"


def _rules(document: Mapping[str, Any]) -> list[RuleRow]:
    if not isinstance(document.get("rules"), list):
        raise Unreadable("summary.json has no list of rules: it is not a contract summary of this version")
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
                violations=tuple(str(v) for v in sequence(item, "violations")[:VIOLATIONS_SHOWN]),
            )
        )
    return rows


def _stopped(document: Mapping[str, Any]) -> str:
    """Where the run stopped before its end, in words ("" when it did not)."""
    stopped = mapping(document, "stopped")
    if not stopped:
        return ""
    rules = ", ".join(str(r) for r in sequence(stopped, "rules"))
    test = text(stopped, "test").split("::")[-1]
    where = f" while checking {rules}" if rules else (f" during {test}" if test else "")
    return f"{text(stopped, 'reason', 'it stopped')}{where}"


def _verdict(document: Mapping[str, Any], rules: list[RuleRow], exit_code: int | None, mode: str) -> Verdict:
    broken = [r.id for r in rules if r.verdict == "broken"]
    differs = [r.id for r in rules if r.verdict == "differs"]
    unchecked = [r.id for r in rules if r.verdict == "unchecked"]
    notes = []
    if differs:
        notes.append(f"{len(differs)} differ{'s' if len(differs) == 1 else ''} from our conventions")
    if unchecked:
        fails = " (--require-all: they fail the run)" if document.get("require_all") is True else ""
        notes.append(f"{len(unchecked)} could not be checked{fails}")
    tail = ("; " + "; ".join(notes)) if notes else ""
    if document.get("interrupted") is True:
        return Verdict("interrupted", "warn", f"Interrupted: the verdicts below are what was judged before{tail}.")
    stopped = _stopped(document)
    if stopped or exit_code not in (0, 1):
        why = stopped or f"exit {exit_code}"
        return Verdict("could not run", "bad", f"The suite could not complete: {why}{tail}.")
    if broken:
        strict = " (strict mode: our conventions count)" if mode == "strict" else ""
        return Verdict("fail", "bad", f"{len(broken)} of {len(rules)} rules broken{strict}: {', '.join(broken)}{tail}.")
    if exit_code == 1:
        return Verdict("fail", "bad", f"The suite failed{tail}.")
    honoured = sum(1 for r in rules if r.verdict == "honoured")
    return Verdict("pass", "good", f"No rule broken: {honoured} of {len(rules)} honoured{tail}.")


def read_contract(folder: Path, redactor: Redactor, exit_code: int | None = None,
                  not_before: float | None = None) -> ContractPart | Missing:  # fmt: skip
    """The contract part of ``folder``; ``exit_code`` is the command's, used when the summary has none.

    ``not_before``: a summary written before this time is an earlier run's, not read."""
    try:
        document = load_document(folder / SUMMARY, redactor, not_before)
        found = _rules(document)
    except Unreadable as exc:
        why = f"The contract suite left no readable summary: {exc}."
        if exit_code is not None:
            why = f"The contract suite exited {exit_code}. {why}"
        return could_not_run("contract", why)
    rules = sorted(found, key=lambda r: (r.rank, r.id))
    mode = text(document, "mode", "default")
    code = integer(document, "exit_code")
    code = exit_code if code is None else code
    raw_st = document.get("schemathesis")
    schemathesis = None
    schemathesis_exit = None
    if isinstance(raw_st, Mapping):
        scenarios = mapping(raw_st, "scenarios")
        schemathesis = tuple((str(label), ok is True) for label, ok in scenarios.items())
        schemathesis_exit = integer(raw_st, "exit_code")
    return ContractPart(
        verdict=_verdict(document, rules, code, mode),
        mode=mode,
        target=text(document, "target"),
        seed=integer(document, "seed"),
        seconds=number(document, "seconds"),
        rules=tuple(rules),
        schemathesis=schemathesis,
        schemathesis_exit=schemathesis_exit,
        profile=text(document, "profile"),
        require_all=boolean(document, "require_all") is True,
        selected=tuple(str(r) for r in sequence(document, "selected")),
    )

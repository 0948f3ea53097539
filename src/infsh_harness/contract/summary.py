"""One result of a contract run, and its three renderings: ``summary.md``, ``summary.json``, ``junit.xml``.

Each rule has one verdict (:mod:`infsh_harness.rules.verdicts`); the three files are written from
the same :class:`SuiteResult`, so they never disagree. Every text is scrubbed of the keys before it
is written (:mod:`infsh_harness.redact`).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any
from xml.etree import ElementTree

from infsh_harness.contract.schemathesis_run import SchemathesisResult
from infsh_harness.rules.verdicts import RuleResult, Verdict, counts
from infsh_harness.spec import Spec

__all__ = [
    "EXPLANATION",
    "ItemOutcome",
    "RunInfo",
    "SuiteResult",
    "junit_xml",
    "named_rules",
    "render_summary",
    "summary_data",
]

_RULE_MENTION = re.compile(r"\[([a-z0-9]+(?:-[a-z0-9]+)*)\]")
_ST_FAILURE_TITLE = re.compile(r"^- (.+)$", re.MULTILINE)

EXPLANATION = """\
Every rule says where it comes from: **documented** (a sentence of a documentation page, quoted),
**http** (an HTTP standard any API keeps, RFC 9110) or **convention** (this project's choice where
the pages are silent, with the reason). Only the first two fail a server by default.

- **honoured**: every check of the rule ran, saw its minimum (statuses compared, webhooks received,
  bodies refused...) and found nothing wrong;
- **broken**: a check found a documented or http rule broken (with `--strict`, a convention too);
- **differs**: the server does a convention differently (reported with its evidence, not failing);
- **unchecked**: a check could not run or did not see its minimum; the reason says why
  (`--require-all` fails them).
"""


def named_rules(spec: Spec, text: str) -> list[str]:
    """The documented rules a failure message names (``[rule-id] ...``), in order, once each."""
    found = [m for m in _RULE_MENTION.findall(text) if m in spec.rules]
    return list(dict.fromkeys(found))


@dataclass(frozen=True)
class ItemOutcome:
    nodeid: str
    outcome: str  # passed | failed | skipped | error | differs
    rules: tuple[str, ...] = ()  # the rules the test is marked to check
    violated: tuple[str, ...] = ()  # the rules its failure names
    message: str = ""  # the first line of its failure or skip reason
    seconds: float = 0.0


@dataclass(frozen=True)
class RunInfo:
    target: str
    profile: str
    seed: int
    seconds: float
    mode: str = "default"
    require_all: bool = False
    selected: tuple[str, ...] = ()  # --rule ids (empty: every rule)
    reports: Mapping[str, str] = field(default_factory=dict)  # name -> path relative to the summary
    stopped: str | None = None  # why the run ended before its end (the target, the deadline, an error)
    stopped_test: str | None = None  # the test that was running then
    stopped_rules: tuple[str, ...] = ()  # the rules it was checking
    interrupted: bool = False  # Ctrl-C


@dataclass(frozen=True)
class SuiteResult:
    info: RunInfo
    rules: Sequence[RuleResult]
    exit_code: int
    tests: Sequence[ItemOutcome] = ()
    schemathesis: SchemathesisResult | None = None

    @property
    def verdict(self) -> str:
        """pass | fail | error | interrupted: the run as a whole."""
        if self.info.interrupted:
            return "interrupted"
        return {0: "pass", 1: "fail"}.get(self.exit_code, "error")

    def of(self, verdict: Verdict) -> list[str]:
        return [r.rule.id for r in self.rules if r.verdict is verdict]


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _where(info: RunInfo) -> str:
    rules = ", ".join(f"`{r}`" for r in info.stopped_rules)
    test = f"`{info.stopped_test.split('::')[-1]}`" if info.stopped_test else "setting up"
    return f"while checking {rules} ({test})" if rules else f"during {test}"


def _headline(result: SuiteResult) -> str:
    info = result.info
    broken, differs, unchecked = (result.of(v) for v in (Verdict.BROKEN, Verdict.DIFFERS, Verdict.UNCHECKED))
    if info.interrupted:
        return f"**Interrupted** {_where(info)}: the verdicts below are what was judged before."
    parts = []
    if info.stopped:
        parts.append(f"**The run could not complete: {info.stopped}**, {_where(info)}.")
    if broken:
        strict = " (strict: conventions count)" if info.mode == "strict" else ""
        parts.append(f"**{len(broken)} rule(s) broken{strict}: {', '.join(broken)}.**")
    elif not info.stopped:
        parts.append("**No rule broken.**" if result.exit_code == 0 or unchecked else "**Nothing was judged.**")
    if differs:
        parts.append(f"{len(differs)} convention(s) done differently: {', '.join(differs)}.")
    if unchecked:
        fails = " (`--require-all`: this fails the run)" if info.require_all else ""
        parts.append(f"{len(unchecked)} unchecked{fails}: {', '.join(unchecked)}.")
    if not any(r.verdict is not Verdict.UNCHECKED for r in result.rules):
        parts.append("No rule could be checked: the run judged nothing.")
    return " ".join(parts)


def _schemathesis_section(result: SchemathesisResult | None) -> list[str]:
    if result is None:
        return ["## schemathesis", "", "Not run (deselected)."]
    lines = ["## schemathesis", "", f"`st run` exit code {result.exit_code}, {result.seconds:.1f} s.", ""]
    if result.crashed:
        return [*lines, f"schemathesis produced no report; see `{result.output_path.name}`."]
    lines += ["| scenario | result | failures |", "|---|---|---|"]
    for label in result.labels:
        texts = [*result.failures.get(label, ()), *result.errors.get(label, ())]
        titles = sorted({t.strip() for text in texts for t in _ST_FAILURE_TITLE.findall(text)})
        verdict = "findings" if texts else "clean"
        lines.append(f"| {_cell(label)} | {verdict} | {_cell('; '.join(titles))} |")
    lines += ["", "Each finding is folded into the rule it is evidence about (the table above)."]
    return lines


def render_summary(result: SuiteResult) -> str:
    info = result.info
    tally = counts(result.rules)
    scope = f" · rules {', '.join(info.selected)}" if info.selected else ""
    lines = [
        "# Contract suite",
        "",
        f"Target `{info.target}` · profile `{info.profile}` · mode `{info.mode}` · seed `{info.seed}`"
        f"{scope} · {info.seconds:.1f} s · exit code {result.exit_code}",
        "",
        _headline(result),
        "",
        "Rules: " + ", ".join(f"{n} {v}" for v, n in tally.items()) + ".",
        "",
        EXPLANATION,
        "## Rules (`x-contract-rules`)",
        "",
        "| rule | source | verdict | evidence | why | tests |",
        "|---|---|---|---|---|---|",
    ]
    for r in result.rules:
        tests = ", ".join(f"`{t.split('::')[-1]}`" for t in r.tests) or "-"
        verdict = f"**{r.verdict}**" if r.verdict in (Verdict.BROKEN, Verdict.DIFFERS) else str(r.verdict)
        why = r.reason if r.verdict is not Verdict.HONOURED else ""
        lines.append(
            f"| `{r.rule.id}` {_cell(r.rule.title)} | {r.rule.source.kind} | {verdict} | {r.evidence} "
            f"| {_cell(why[:300])} | {tests} |"
        )
    sourced = [r for r in result.rules if r.verdict in (Verdict.BROKEN, Verdict.DIFFERS)]
    if sourced:
        lines += ["", "## Broken and differing rules, with their sources", ""]
        for r in sourced:
            lines.append(f"- `{r.rule.id}` ({r.verdict}) — {_cell(r.rule.source.describe())}")
            lines += [f"  - {_cell(v[:500])}" for v in r.violations[:5]]
    failing = [o for o in result.tests if o.outcome in ("failed", "error")]
    if failing:
        lines += ["", "## Failed tests", ""]
        lines += [f"- `{o.nodeid}`: {_cell(o.message)}" for o in failing]
    lines += ["", *_schemathesis_section(result.schemathesis)]
    if info.reports:
        lines += ["", "## Reports", ""]
        lines += [f"- {name}: [{path}]({path})" for name, path in info.reports.items()]
    return "\n".join(lines) + "\n"


def summary_data(result: SuiteResult) -> dict[str, Any]:
    """The same summary as JSON-ready data (``summary.json``), for CI and other tools."""
    info, st = result.info, result.schemathesis
    return {
        "mode": info.mode,
        "exit_code": result.exit_code,
        "verdict": result.verdict,
        "target": info.target,
        "profile": info.profile,
        "seed": info.seed,
        "seconds": round(info.seconds, 3),
        "require_all": info.require_all,
        "selected": list(info.selected),
        "counts": dict(counts(result.rules)),
        "broken": result.of(Verdict.BROKEN),
        "differs": result.of(Verdict.DIFFERS),
        "unchecked": result.of(Verdict.UNCHECKED),
        "rules": [r.as_json() for r in result.rules],
        "interrupted": info.interrupted,
        "stopped": None
        if info.stopped is None
        else {"reason": info.stopped, "test": info.stopped_test, "rules": list(info.stopped_rules)},
        "tests": [
            {"id": o.nodeid, "outcome": o.outcome, "rules": list(o.rules), "violated": list(o.violated),
             "message": o.message}
            for o in result.tests
        ],  # fmt: skip
        "schemathesis": None
        if st is None
        else {
            "exit_code": st.exit_code,
            "seconds": round(st.seconds, 3),
            "scenarios": {label: label not in st.failures and label not in st.errors for label in st.labels},
        },
    }


def junit_xml(result: SuiteResult) -> str:
    """One test case per rule (``classname`` the rule's source kind), and one for the run if it stopped."""
    suite = ElementTree.Element(
        "testsuite",
        name="infsh-harness contract rules",
        tests=str(len(result.rules)),
        failures=str(len(result.of(Verdict.BROKEN))),
        skipped=str(len(result.of(Verdict.UNCHECKED))),
        errors="1" if result.info.stopped or result.info.interrupted else "0",
        time=f"{result.info.seconds:.3f}",
    )
    for r in result.rules:
        case = ElementTree.SubElement(suite, "testcase", classname=f"contract.{r.rule.source.kind}", name=r.rule.id)
        text = f"{r.rule.title}\nsource: {r.rule.source.describe()}\nevidence: {r.evidence} check(s)"
        if r.verdict is Verdict.BROKEN:
            failure = ElementTree.SubElement(case, "failure", message=r.reason[:500], type="broken")
            failure.text = "\n".join([text, *r.violations])
        elif r.verdict is Verdict.UNCHECKED:
            ElementTree.SubElement(case, "skipped", message=r.reason[:500])
        out = ElementTree.SubElement(case, "system-out")
        extra = [f"differs: {v}" for v in r.violations] if r.verdict is Verdict.DIFFERS else []
        out.text = "\n".join([f"verdict: {r.verdict}", text, *extra])
    if result.info.stopped or result.info.interrupted:
        case = ElementTree.SubElement(suite, "testcase", classname="contract.run", name="run")
        reason = "interrupted" if result.info.interrupted else str(result.info.stopped)
        error = ElementTree.SubElement(case, "error", message=reason, type="interrupted" if result.info.interrupted
                                       else "stopped")  # fmt: skip
        error.text = f"{reason} {_where(result.info)}"
    root = ElementTree.Element("testsuites")
    root.append(suite)
    ElementTree.indent(root)
    return '<?xml version="1.0" encoding="utf-8"?>\n' + ElementTree.tostring(root, encoding="unicode") + "\n"

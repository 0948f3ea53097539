"""The Markdown summary of a contract run: one row per documented rule, then what failed and why."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from infsh_harness.contract.schemathesis_run import SchemathesisResult
from infsh_harness.spec import Spec

__all__ = ["RunInfo", "ItemOutcome", "named_rules", "render_summary", "rule_verdicts", "summary_data"]

_RULE_MENTION = re.compile(r"\[([a-z0-9]+(?:-[a-z0-9]+)*)\]")
_ST_FAILURE_TITLE = re.compile(r"^- (.+)$", re.MULTILINE)


def named_rules(spec: Spec, text: str) -> list[str]:
    """The documented rules a failure message names (``[rule-id] ...``), in order, once each."""
    found = [m for m in _RULE_MENTION.findall(text) if m in spec.rules]
    return list(dict.fromkeys(found))


@dataclass(frozen=True)
class ItemOutcome:
    nodeid: str
    outcome: str  # passed | failed | skipped | error
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
    reports: Mapping[str, str] = field(default_factory=dict)  # name -> path relative to the summary
    exit_status: int = 0  # pytest's: 0 passed, 1 failed, anything else: the run did not complete


def rule_verdicts(spec: Spec, outcomes: Iterable[ItemOutcome]) -> dict[str, tuple[str, list[str]]]:
    """Per rule id: ``(verdict, test ids)``; a rule is broken when any failure names it."""
    outcomes = list(outcomes)
    verdicts: dict[str, tuple[str, list[str]]] = {}
    for rule_id in spec.rules:
        tests = [o for o in outcomes if rule_id in o.rules]
        names = [o.nodeid for o in tests]
        if any(rule_id in o.violated for o in outcomes):
            verdict = "BROKEN"
        elif any(o.outcome in ("failed", "error") for o in tests):
            verdict = "not checked (test error)"
        elif any(o.outcome == "passed" for o in tests):
            verdict = "honoured"
        elif tests:
            verdict = "skipped"
        else:
            verdict = "not run"
        verdicts[rule_id] = (verdict, names)
    return verdicts


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


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
        verdict = "FAIL" if texts else "pass"
        lines.append(f"| {_cell(label)} | {verdict} | {_cell('; '.join(titles))} |")
    return lines


def render_summary(
    spec: Spec,
    outcomes: Sequence[ItemOutcome],
    info: RunInfo,
    schemathesis: SchemathesisResult | None = None,
) -> str:
    verdicts = rule_verdicts(spec, outcomes)
    broken = [r for r, (v, _) in verdicts.items() if v == "BROKEN"]
    unchecked = [r for r, (v, _) in verdicts.items() if v.startswith("not checked")]
    counts = {k: sum(1 for o in outcomes if o.outcome == k) for k in ("passed", "failed", "error", "skipped")}
    if info.exit_status not in (0, 1):
        headline = f"**The suite did not complete (pytest exit status {info.exit_status}): see its output.**"
    elif broken:
        headline = f"**{len(broken)} documented rule(s) broken: {', '.join(broken)}**"
    elif unchecked:
        headline = f"**No rule found broken, but {len(unchecked)} could not be checked: {', '.join(unchecked)}**"
    else:
        headline = "**No rule broken.**"
    lines = [
        "# Contract suite",
        "",
        f"Target `{info.target}` · profile `{info.profile}` · seed `{info.seed}` · {info.seconds:.1f} s",
        "",
        headline,
        "",
        f"Tests: {counts['passed']} passed, {counts['failed']} failed, {counts['error']} errors, "
        f"{counts['skipped']} skipped.",
        "",
        "## Rules (`x-contract-rules`)",
        "",
        "| rule | title | verdict | tests |",
        "|---|---|---|---|",
    ]
    for rule_id, (verdict, tests) in verdicts.items():
        shown = ", ".join(f"`{t.split('::')[-1]}`" for t in tests) or "-"
        lines.append(f"| `{rule_id}` | {_cell(spec.rule(rule_id).title)} | {verdict} | {shown} |")
    failing = [o for o in outcomes if o.outcome in ("failed", "error")]
    if failing:
        lines += ["", "## Failures", ""]
        lines += [f"- `{o.nodeid}`: {_cell(o.message)}" for o in failing]
    skipped = [o for o in outcomes if o.outcome == "skipped"]
    if skipped:
        lines += ["", "## Skipped", ""]
        lines += [f"- `{o.nodeid}`: {_cell(o.message)}" for o in skipped]
    lines += ["", *_schemathesis_section(schemathesis)]
    if info.reports:
        lines += ["", "## Reports", ""]
        lines += [f"- {name}: [{path}]({path})" for name, path in info.reports.items()]
    return "\n".join(lines) + "\n"


def summary_data(
    spec: Spec,
    outcomes: Sequence[ItemOutcome],
    info: RunInfo,
    schemathesis: SchemathesisResult | None = None,
) -> dict[str, Any]:
    """The same summary as JSON-ready data (``summary.json``), for CI and other tools."""
    verdicts = rule_verdicts(spec, outcomes)
    return {
        "target": info.target,
        "profile": info.profile,
        "seed": info.seed,
        "seconds": round(info.seconds, 3),
        "exit_status": info.exit_status,
        "broken": [r for r, (v, _) in verdicts.items() if v == "BROKEN"],
        "rules": {r: {"verdict": v, "tests": tests} for r, (v, tests) in verdicts.items()},
        "tests": [
            {
                "id": o.nodeid,
                "outcome": o.outcome,
                "rules": list(o.rules),
                "violated": list(o.violated),
                "message": o.message,
            }
            for o in outcomes
        ],
        "schemathesis": None
        if schemathesis is None
        else {
            "exit_code": schemathesis.exit_code,
            "scenarios": {
                label: label not in schemathesis.failures and label not in schemathesis.errors
                for label in schemathesis.labels
            },
        },
    }
